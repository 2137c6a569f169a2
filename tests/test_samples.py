"""Recognition keyed by sample: one clip per annotated expression, cut from its video by its own
onset..offset, on the real CAS(ME)^3 sheet and on a generic long video; per-dataset settings."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
import yaml
from workflow_runner import planned_jobs, snakemake

CASME3_ME = "wangzhifengharrison__HTNet/casme3_part_A_edited.csv"


def _workdir(root: Path, cfg: dict) -> Path:
    (root / "config").mkdir(parents=True)
    (root / "config/config.yaml").write_text(yaml.safe_dump(cfg))
    return root


def _casme3_frames(sheet: pd.DataFrame, root: Path) -> None:
    """Empty stand-in frame folders <root>/<subject>/<clip>/color for every row of the sheet."""
    for subject, clip in sheet[["Subject", "Filename"]].astype(str).drop_duplicates().itertuples(index=False):
        (root / subject / clip / "color").mkdir(parents=True, exist_ok=True)


@pytest.mark.slow
def test_casme3_me_sheet_plans_one_clip_per_sample(real, tmp_path):
    """687 samples in 378 videos. Jobs handle chunks (batching.clips_per_job, 20 by default):
    the videos holding one expression 20 to a job, each video holding several in a job of its
    own, its clips in the same chunk of the motion stages. (One row's apex lies outside its
    interval: under on_bad_row skip it is kept with apex unknown, so all 687 are kept.)"""
    sheet = pd.read_csv(real / CASME3_ME)
    assert (len(sheet), sheet.groupby(["Subject", "Filename"]).ngroups) == (687, 378)
    _casme3_frames(sheet, tmp_path / "frames")
    wd = _workdir(tmp_path / "wd", {"datasets": {"casme3": {"format": "casme3", "annotations": str(real / CASME3_ME), "root": str(tmp_path / "frames"),
                                                            "on_bad_row": "skip", "recognition": {"class_set": "casme3_7"}}}})
    jobs = planned_jobs(snakemake(wd, "-n", "results/casme3_loso_metrics.csv").stdout)
    per_video = sheet.groupby(["Subject", "Filename"]).size()
    short, long = int((per_video == 1).sum()), int((per_video > 1).sum())
    assert short > 20 and long > 1
    chunks = -(-short // 20) + long
    assert jobs["detect_landmarks"] == jobs["align_faces"] == chunks
    assert jobs["normalise_clip"] == jobs["magnify_motion"] == jobs["compute_flow"] == chunks
    wd1 = _workdir(tmp_path / "wd1", yaml.safe_load((wd / "config/config.yaml").read_text()) | {"batching": {"clips_per_job": 1}})
    jobs = planned_jobs(snakemake(wd1, "-n", "results/casme3_loso_metrics.csv").stdout)
    assert jobs["detect_landmarks"] == jobs["normalise_clip"] == 378, "clips_per_job 1: one job per video, as before chunks"
    assert jobs["train_fold"] == sheet.Subject.nunique() and jobs["build_inputs"] == 1


def _faces_store(path: Path, numbers: np.ndarray, size: int = 24) -> None:
    """A faces store whose frame k shows the grey level ``numbers[k] % 251`` everywhere, so a
    clip's frames tell which video frames they were cut from."""
    from mexp_lib.io.h5store import write_store

    frames = np.broadcast_to((numbers % 251).astype(np.uint8)[:, None, None], (len(numbers), size, size)).copy()
    lm = np.tile(np.stack(np.meshgrid(np.linspace(4, size - 4, 17), np.linspace(4, size - 4, 4))[::-1], -1).reshape(-1, 2)[:68], (len(numbers), 1, 1))
    write_store(path, {"frames": frames, "numbers": numbers, "landmarks": lm.astype(np.float32), "found": np.ones(len(numbers), bool)},
                {"stage": "faces", "video": path.stem, "strategy": "long"})


@pytest.mark.slow
def test_casme3_clips_hold_their_own_samples_interval(real, tmp_path):
    """The workflow's clip stage on the real sheet's rows of three videos holding several
    expressions each: every clip's stored interval is its own sample's onset and offset, and its
    first and last frames are those video frames (not the video's first expression's)."""
    from mexp_lib.chunks import chunk_of, plan_chunks
    from mexp_lib.datasets import load_dataset
    from mexp_lib.motion.stage import clip_interval

    sheet = pd.read_csv(real / CASME3_ME, dtype=str, keep_default_na=False)
    sizes = sheet.groupby(["Subject", "Filename"]).size()
    chosen = sizes[sizes >= 3].index[:3]
    part = sheet[[k in set(chosen) for k in zip(sheet.Subject, sheet.Filename, strict=True)]]
    assert len(part) >= 9
    part.to_csv(tmp_path / "part.csv", index=False)
    _casme3_frames(part, tmp_path / "frames")
    dcfg = {"format": "casme3", "annotations": str(tmp_path / "part.csv"), "root": str(tmp_path / "frames")}
    wd = _workdir(tmp_path / "wd", {"datasets": {"c3": dcfg}, "interpolation": {"method": "linear", "n_frames": 4}})
    samples, _ = load_dataset("c3", dcfg)
    chunk = chunk_of(plan_chunks(samples.video, long=samples.video, clips_per_job=20))  # videos of several expressions: a chunk each
    for video, rows in samples.groupby("video"):  # the face stage's output, given: only the clip stage runs
        _faces_store(wd / f"results/faces/c3/{chunk[video]}/{video}.h5", np.arange(rows.onset.min() - 20, rows.offset.max() + 21))
    targets = sorted({f"results/tim/c3/{chunk[v]}" for v in samples.video})
    snakemake(wd, *targets, "--allowed-rules", "normalise_clip")
    assert len(targets) == 3 and len(list(wd.glob("results/tim/c3/*/*.h5"))) == len(samples) == len(part)
    for r in samples.itertuples():
        path = wd / f"results/tim/c3/{chunk[r.video]}/{r.sample}.h5"
        assert clip_interval(path) == (r.sample, r.onset, r.offset)
        with h5py.File(path) as h:
            times, first, last = h["times"][()], h["frames"][0], h["frames"][-1]
        assert (times[0], times[-1]) == (r.onset, r.offset)
        assert np.allclose(first, r.onset % 251) and np.allclose(last, r.offset % 251)


def _render_generic(root: Path) -> pd.DataFrame:
    """Two long videos (two subjects), each with a happiness, a disgust and a surprise
    micro-expression, as a generic dataset: <root>/v<k>/<0001>.png and the annotation rows."""
    import cv2

    from mexp_lib.datasets.demo_plan import Event, VideoPlan
    from mexp_lib.datasets.demo_render import base_face, make_identity, render_video

    base, lm = base_face(160)
    rows = []
    for s in range(2):
        identity, ilm = make_identity(base, lm, np.random.default_rng([5, s]))
        events = [Event(e, "micro", o, o + 5, o + 12, 3.0) for e, o in (("happiness", 12 + s), ("disgust", 48 - s), ("surprise", 84 + 2 * s))]
        plan = VideoPlan(s, f"v{s + 1}", f"v{s + 1}", 112, 1, 30.0, events, seed=s)
        (root / plan.video).mkdir(parents=True)
        for i, img in enumerate(render_video(identity, ilm, plan, 1.0)):
            cv2.imwrite(str(root / plan.video / f"{i + 1:04d}.png"), img)
        rows += [{"subject": f"p{s + 1}", "video": plan.video, "onset": e.onset + 1, "apex": e.apex + 1, "offset": e.offset + 1, "type": "micro", "emotion": e.kind}
                 for e in events]
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def generic_run(tmp_path_factory):
    """One workflow run on two datasets reading the same generic long videos: g3 on the global
    composite 3-class set, g2 on its own binary class set and its own number of epochs."""
    root = tmp_path_factory.mktemp("generic")
    ann = _render_generic(root / "videos")
    ann.to_csv(root / "ann.csv", index=False)
    entry = {"format": "generic", "annotations": str(root / "ann.csv"), "root": str(root / "videos"), "fps": 30}
    cfg = {"datasets": {"g3": entry, "g2": entry | {"recognition": {"class_set": "binary"}, "training": {"epochs": 2}}},
           "training": {"epochs": 3, "seeds": [0]}, "interpolation": {"n_frames": 6}, "flow": {"method": "dis"}}
    wd = _workdir(root / "wd", cfg)
    jobs = planned_jobs(snakemake(wd, "-n").stdout)
    snakemake(wd)
    return wd, ann, jobs


@pytest.mark.slow
def test_generic_long_video_trains_on_three_distinct_clips(generic_run):
    from mexp_lib.motion.stage import clip_interval
    from mexp_lib.recognition.inputs import read_input_pack

    wd, ann, jobs = generic_run
    # a long video is a chunk of its own (2 videos x 2 datasets), its clips share its chunk
    assert jobs["detect_landmarks"] == 4 and jobs["normalise_clip"] == 4
    v1 = ann[ann.video == "v1"].reset_index(drop=True)
    ids = [f"v1_{k}" for k in (1, 2, 3)]
    for smp, r in zip(ids, v1.itertuples(), strict=True):
        for stage in ("tim", "magnified", "flow"):
            assert clip_interval(wd / f"results/{stage}/g3/000/{smp}.h5") == (smp, r.onset, r.offset)
    for g, kept in (("g3", 6), ("g2", 4)):  # a clip per kept sample (g2's binary class set keeps 4)
        assert len(list(wd.glob(f"results/flow/{g}/*/*.h5"))) == kept
    pack, _ = read_input_pack(wd / "results/inputs/g3.h5")
    assert set(pack) == {f"v{s}_{k}" for s in (1, 2) for k in (1, 2, 3)}
    for a in range(3):
        for b in range(a + 1, 3):
            assert not np.allclose(pack[ids[a]], pack[ids[b]]), (ids[a], ids[b])
    preds = pd.read_csv(wd / "results/recognition/g3/predictions.csv")
    labels = preds[preds["sample"].isin(ids)].set_index("sample").label.to_dict()
    assert labels == {"v1_1": "positive", "v1_2": "negative", "v1_3": "surprise"}


@pytest.mark.slow
def test_two_datasets_on_different_class_sets_run_side_by_side(generic_run):
    import json

    import torch

    wd, _, _ = generic_run
    prov = {d: json.loads((wd / f"results/{d}_loso_metrics.provenance.json").read_text()) for d in ("g3", "g2")}
    assert prov["g3"]["classes"] == ["negative", "positive", "surprise"] and prov["g3"]["samples_predicted"] == 6
    assert prov["g2"]["classes"] == ["negative", "positive"] and prov["g2"]["samples_predicted"] == 4
    assert prov["g2"]["excluded_by_class_set"] == {"surprise": 2} and prov["g3"]["excluded_by_class_set"] == {}
    assert prov["g2"]["config"]["recognition"]["class_set"] == "binary" and prov["g3"]["config"]["recognition"]["class_set"] == "composite3"
    for d, epochs in (("g3", 3), ("g2", 2)):
        table = pd.read_csv(wd / f"results/{d}_loso_metrics.csv", dtype={"fold": str})
        assert table.fold.tolist() == ["p1", "p2", "mean", "ensemble", "all"]
        ck = torch.load(wd / f"results/train/{d}/p1/model.pt", weights_only=False)
        assert ck["config"]["epochs"] == epochs and ck["classes"] == prov[d]["classes"]


def test_dataset_settings_override_without_defaults_of_their_own():
    """A dataset's recognition/training entry holds only what it sets (the rest comes from the
    global sections), and its keys are checked like the global ones."""
    from jsonschema.exceptions import ValidationError
    from snakemake.utils import validate
    from workflow_runner import REPO

    schema = str(REPO / "mexp_lib/schemas/config.schema.yaml")
    cfg = {"datasets": {"a": {"format": "generic", "recognition": {"class_set": "casme2_5"}, "training": {"epochs": 5}}}}
    validate(cfg, schema, set_default=True)
    assert cfg["datasets"]["a"]["recognition"] == {"class_set": "casme2_5"} and cfg["datasets"]["a"]["training"] == {"epochs": 5}
    assert cfg["recognition"]["class_set"] == "composite3" and cfg["training"]["epochs"] == 60
    for bad in ({"recognition": {"protocol": "kfold"}}, {"training": {"epochs": 0}}, {"training": {"epoch": 5}}):
        with pytest.raises((ValidationError, Exception)):
            validate({"datasets": {"a": {"format": "generic", **bad}}}, schema, set_default=True)


def test_select_samples_long_videos_and_class_set():
    """Short clips only by default; with long_videos the long videos' expressions too, by the
    class set's column (CAS(ME)^2's objective emotion)."""
    from mexp_lib.recognition.samples import select_samples

    s = pd.DataFrame({"sample": ["c1", "l1", "l2", "l3"], "task": ["recognition", "spotting", "spotting", "spotting"],
                      "emotion": ["happiness", "disgust", "fear", "pain"], "objective_class": ["", "negative", "others", "positive"]})
    kept, _ = select_samples(s, {"class_set": "composite3", "long_videos": False})
    assert kept["sample"].tolist() == ["c1"]
    kept, excl = select_samples(s, {"class_set": "composite3", "long_videos": True})
    assert kept["sample"].tolist() == ["c1", "l1", "l2"] and excl.set_index("emotion").excluded.to_dict() == {"pain": 1}
    kept, excl = select_samples(s, {"class_set": "casme_sq_objective", "long_videos": True})
    assert kept.set_index("sample").label.to_dict() == {"l1": "negative", "l2": "others", "l3": "positive"}


@pytest.mark.parametrize(("onset", "offset", "context", "cut"), [(130, 140, 0, (130, 140)), (130, 140, 5, (125, 145)), (102, 110, 5, (100, 115))])
def test_clip_cut_by_its_interval_with_context(tmp_path, onset, offset, context, cut):
    """A sample's clip is its onset..offset, widened by ``context`` frames where the video has
    them; the stored interval stays the annotated one."""
    from mexp_lib.motion.stage import clip_interval, normalise_clip

    _faces_store(tmp_path / "v.h5", np.arange(100, 201))
    normalise_clip(str(tmp_path / "v.h5"), sample="v_1", onset=onset, apex=onset + 3, offset=offset, fps=30.0, context=context,
                   cfg={"method": "linear", "n_frames": 5}, out=tmp_path / "t.h5")
    assert clip_interval(tmp_path / "t.h5") == ("v_1", onset, offset)
    with h5py.File(tmp_path / "t.h5") as h:
        assert (int(h.attrs["first"]), int(h.attrs["last"])) == cut and (h["times"][0], h["times"][-1]) == cut
        assert np.allclose(h["frames"][0], cut[0] % 251) and np.allclose(h["frames"][-1], cut[1] % 251)


def test_clip_outside_its_video_is_an_error_naming_the_sample(tmp_path):
    from mexp_lib.errors import DataError
    from mexp_lib.motion.stage import normalise_clip

    _faces_store(tmp_path / "v.h5", np.arange(100, 201))
    with pytest.raises(DataError, match=r"v.h5: sample v_9: frames 300..310 give 0 frame\(s\) \(the video holds frames 100..200\)"):
        normalise_clip(str(tmp_path / "v.h5"), sample="v_9", onset=300, apex=-1, offset=310, fps=30.0, cfg={"method": "linear", "n_frames": 5}, out=tmp_path / "t.h5")


@pytest.mark.parametrize(("fmt", "path", "class_set", "counts"), [
    ("casme_sq", "genbing99__MTSN-Spot-ME-MaE/megc2021-ground-truth/CASME_sq_gt.xlsx", "casme_sq_objective",
     {"negative": 126, "positive": 124, "others": 82, "surprise": 25}),
    ("smic", "davidnvq__me_recognition/datasets/SMIC-HS-E_annotation.xlsx", "composite3", {"negative": 77, "positive": 51, "surprise": 43}),
    ("casme3", "genbing99__SFAMNet/annotation/CASME3_part_A_v2.xls", "objective",
     {"VII": 2656, "III": 729, "II": 395, "I": 197, "V": 125, "IV": 77, "VI": 27}),
    ("samm_lv", "genbing99__MTSN-Spot-ME-MaE/megc2021-ground-truth/SAMMLV_gt.xlsx", "composite3", {}),  # its sheet codes no emotion
])
def test_long_video_expressions_of_the_real_sheets_feed_recognition(real, fmt, path, class_set, counts):
    from mexp_lib.datasets import load_dataset
    from mexp_lib.recognition.samples import select_samples

    samples, _ = load_dataset(fmt, {"format": fmt, "annotations": str(real / path), "on_bad_row": "skip"})
    assert (samples.task == "spotting").all()
    assert select_samples(samples, {"class_set": class_set, "long_videos": False})[0].empty
    kept, excluded = select_samples(samples, {"class_set": class_set, "long_videos": True})
    assert kept.label.value_counts().to_dict() == counts
    assert len(kept) + int(excluded.excluded.sum()) == len(samples)


def test_a_dataset_whose_class_set_keeps_nothing_is_named(real, tmp_path):
    """SAMM-LV's expressions have no emotion: asking for its recognition table says why."""
    dcfg = {"format": "samm_lv", "annotations": str(real / "genbing99__MTSN-Spot-ME-MaE/megc2021-ground-truth/SAMMLV_gt.xlsx"),
            "recognition": {"long_videos": True}}
    wd = _workdir(tmp_path, {"datasets": {"slv": dcfg}})
    out = snakemake(wd, "-n", "results/slv_loso_metrics.csv", check=False)
    assert out.returncode != 0
    assert "datasets.slv: no recognition samples: class set 'composite3' keeps none of its expressions; left out: {'': 502}" in out.stdout + out.stderr
