"""The spotting stress sweep (benchmarks/bench_spotting_stress.py) and the generator keys it
sweeps (mexp_lib.datasets.demo): fast checks, no face stage."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mexp_lib.datasets.demo_plan import DEFAULTS, NUISANCE, expression_counts, plan_demo, settings
from mexp_lib.datasets.demo_render import render_video

REPO = Path(__file__).resolve().parents[1]
# one long video; the expressions' ranges these tests were written with (the generator's defaults now are the demo's)
PLAN = {"seed": 4, "subjects": 1, "clips_per_class": 0, "frame_size": 128, "long_seconds": 20.0, "micro_amplitude": [0.8, 3.0], "macro_seconds": [0.8, 1.8]}


def bench():
    sys.path.insert(0, str(REPO / "benchmarks"))
    spec = importlib.util.spec_from_file_location("bench_spotting_stress", REPO / "benchmarks/bench_spotting_stress.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def long_plan(**over):
    g = {**PLAN, **over}
    return plan_demo(g)[0]


def test_every_factor_has_buckets_and_every_bucket_fits():
    b = bench()
    names = [x.name for x in b.BUCKETS]
    assert names[0] == "middle" and len(names) == len(set(names))
    assert {x.factor for x in b.BUCKETS[1:]} == set(b.FACTORS)
    for part in b.PARTS:  # every bucket's expressions fit in its videos (no render needed)
        for x in b.BUCKETS:
            plan_demo(b.generator(part, x.settings, b.PARTS[part]["seed"]))


def test_parts_are_disjoint_and_the_middle_is_the_issue_s():
    b = bench()
    assert not set(b.PARTS["dev"]["subjects"]) & set(b.PARTS["test"]["subjects"])
    assert b.PARTS["dev"]["seed"] != b.PARTS["test"]["seed"]
    g = b.generator("dev", b.MIDDLE, 301)
    assert g["long_fps"] == 30 and 2 <= g["noise_sigma"] <= 3 and g["jpeg_quality"] and 1 <= g["micro_amplitude"][0] <= g["micro_amplitude"][1] <= 2
    assert g["micro_seconds"] == [8 / 30, 14 / 30] and g["head_motion"] == pytest.approx(2.5 / 1.5)


def test_markdown_names_the_worst_bucket_and_a_loss():
    b = bench()
    rows = [("middle", b.DEFAULT, 0.7), ("middle", b.FLOOR, 0.5), ("micro_px=0.3-0.8", b.DEFAULT, 0.3), ("micro_px=0.3-0.8", b.FLOOR, 0.4)]
    runs = pd.DataFrame([{"part": "dev", "bucket": k, "method": m, "f1": f, "f1_std": np.nan} for k, m, f in rows])
    text = b.markdown(runs)
    assert f"worst bucket of {b.DEFAULT}: micro_px=0.3-0.8 (F1 0.300)" in text
    assert "+0.20" in text and "-0.10 (loses)" in text


def test_unknown_bucket_is_refused():
    from mexp_lib.errors import ConfigError

    with pytest.raises(ConfigError, match="unknown stress bucket"):
        bench().main(["--buckets", "micro_px=9", "--dry-run"])


def test_default_keys_change_nothing():
    """The new keys' defaults, given explicitly, plan and render what no keys do."""
    new = {k: DEFAULTS[k] for k in ("head_rotation", "blink_interval", "expressions_per_minute", "nuisance_per_minute", "nuisance_kinds", "nuisance_amplitude")}
    a, b = long_plan(), long_plan(**new)
    assert a == b
    assert all(e.type != "nuisance" for e in a.events)


def test_expressions_per_minute_and_blink_interval():
    assert expression_counts(settings({"micro_per_long": 3, "macro_per_long": 2, "long_seconds": 20.0, "expressions_per_minute": 24})) == (5, 3)
    assert expression_counts(settings({"micro_per_long": 3, "macro_per_long": 2, "long_seconds": 20.0})) == (3, 2)
    blinks = lambda p: sum(e.type == "blink" for e in p.events)  # noqa: E731
    assert blinks(long_plan(blink_interval=[0.5, 0.8])) > blinks(long_plan()) > blinks(long_plan(blink_interval=[6.0, 8.0]))


def test_nuisance_motions_are_planned_apart_and_never_annotated(tmp_path):
    from mexp_lib.datasets.demo_plan import demo_samples

    p = long_plan(nuisance_per_minute=15.0)
    nuis = [e for e in p.events if e.type == "nuisance"]
    expr = [e for e in p.events if e.type in ("micro", "macro")]
    assert nuis and {e.kind for e in nuis} <= set(NUISANCE)
    assert all(n.offset < x.onset or n.onset > x.offset for n in nuis for x in expr)
    samples = demo_samples("demo", tmp_path, {**PLAN, "nuisance_per_minute": 15.0})
    assert len(samples) == len(expr)


@pytest.mark.parametrize("kind", sorted(NUISANCE))
def test_nuisance_motion_is_localised_and_timed(kind):
    """A nuisance motion moves the face only while it lasts (frames before it render as without it)."""
    from mexp_lib.datasets.demo_plan import Event, VideoPlan
    from mexp_lib.datasets.demo_render import base_face

    img, lm = base_face(128)
    plan = VideoPlan(0, "v", "v", 40, 1, 30.0, [Event(kind, "nuisance", 10, 20, 30, 3.0, hz=4.0)], seed=1)
    still = VideoPlan(0, "v", "v", 40, 1, 30.0, [], seed=1)
    with_, without = list(render_video(img, lm, plan, 0.0)), list(render_video(img, lm, still, 0.0))
    assert all(np.array_equal(with_[i], without[i]) for i in list(range(0, 10)) + list(range(31, 40)))
    assert max(np.abs(with_[i].astype(int) - without[i]).max() for i in range(11, 30)) > 10


def test_head_rotation_is_its_own_key():
    from mexp_lib.datasets.demo_plan import VideoPlan
    from mexp_lib.datasets.demo_render import base_face

    img, lm = base_face(128)
    plan = VideoPlan(0, "v", "v", 200, 1, 30.0, [], seed=1)
    still = list(render_video(img, lm, plan, 0.0, head_motion=0.0))
    a = list(render_video(img, lm, plan, 0.0, head_motion=0.0, head_rotation=0.0))
    b = list(render_video(img, lm, plan, 0.0, head_motion=0.0, head_rotation=3.0))
    assert all(np.array_equal(x, y) for x, y in zip(still, a, strict=True))  # no drift, no rotation: the same frames
    assert any(not np.array_equal(x, y) for x, y in zip(a, b, strict=True))  # rotation alone moves the head


def real_video_bench():
    sys.path.insert(0, str(REPO / "benchmarks"))
    spec = importlib.util.spec_from_file_location("bench_spotting_real_video", REPO / "benchmarks/bench_spotting_real_video.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_semi_synthetic_rows_pool_seeds_and_real_videos():
    """The semi-synthetic rows: all injected copies pooled, then per injection seed and per real
    video; ``touched`` counts events any prediction overlaps, whatever its type and IoU."""
    mod = real_video_bench()
    gt = pd.DataFrame({"subject": ["a", "a", "b"], "video": ["a_i0", "a_i1", "b_i0"], "onset": [10, 10, 50], "apex": [12, 12, 60],
                       "offset": [15, 15, 80], "type": ["micro", "micro", "macro"], "emotion": ["happiness"] * 3})
    pred = pd.DataFrame({"video": ["a_i0", "a_i1", "b_i0"], "onset": [10, 14, 200], "offset": [15, 30, 220], "type": ["micro", "macro", "macro"]})
    rows = {r["video"]: r for r in mod.semi_rows("dev", "x", gt, pred)}
    assert list(rows) == ["all", "seed 0", "seed 1", "a", "b"]
    assert (rows["all"]["tp"], rows["all"]["fp"], rows["all"]["fn"], rows["all"]["touched"]) == (1, 2, 2, 2)
    assert (rows["seed 1"]["tp"], rows["seed 1"]["touched"]) == (0, 1) and rows["b"]["touched"] == 0


def test_real_video_benchmark_names_only_known_videos():
    """The real-video benchmark's neutral stretches, injections and held smile refer to videos
    it reads (and SOURCES.md lists, where ../shared is present)."""
    mod = real_video_bench()
    assert set(mod.NEUTRAL) | set(mod.INJECT) | {mod.SMILE[0]} <= set(mod.VIDEOS)
    if (mod.REAL / "SOURCES.md").exists():
        listed = (mod.REAL / "SOURCES.md").read_text()
        assert all(v in listed for v in mod.VIDEOS)


def test_readme_block_is_the_table_of_every_test_part_run():
    """The README's stress table is what `--from-csv benchmarks/spotting_stress_test*.csv --readme`
    writes: every committed test-part run, none left out, nothing typed by hand."""
    from mexp_lib.report import read_runs

    b = bench()
    runs = sorted(REPO.glob("benchmarks/spotting_stress_test*.csv"))
    assert runs, "no committed test-part runs"
    text = (REPO / "README.md").read_text()
    block = text.split(b.BEGIN, 1)[1].split(b.END, 1)[0]
    assert block.strip() == b.readme_block(read_runs([str(r) for r in runs], "test"), "test").strip()


def test_the_benchmarks_crop_faces_as_the_workflow_does_and_cache_each_crop_apart(monkeypatch, tmp_path):
    """spotting_common.FACE is config/config.yaml's face section (the one source of defaults),
    and the cached faces are kept per face setting: a changed margin reads its own folder, the
    missing-face policy (which changes no crop) does not; --set tries a face setting on the
    development part only, and its rows say so."""
    import yaml

    from mexp_lib.config import resolve_config
    from mexp_lib.errors import ConfigError

    b = bench()
    common = sys.modules["spotting_common"]
    assert common.FACE == resolve_config(yaml.safe_load((REPO / "config/config.yaml").read_text()))["face"]
    base = common.faces_dir(tmp_path)
    assert base.parent == tmp_path / "faces"
    assert common.faces_dir(tmp_path, {"on_missing_face": "skip"}) == base
    assert common.faces_dir(tmp_path, {"margin": 0}) != base
    monkeypatch.setattr(common, "FACE", dict(common.FACE))
    assert b.face_trial(["face.margin=0"], "dev") == "face.margin 0"
    assert common.FACE["margin"] == 0 and common.faces_dir(tmp_path) != base
    with pytest.raises(ConfigError, match="development part only"):
        b.face_trial(["face.margin=0"], "test")
    with pytest.raises(ConfigError, match="only face settings"):
        b.face_trial(["spotting.spotter=classical"], "dev")


def test_the_readme_s_tight_crop_count_is_the_dev_trials():
    """"score above the 0.1 crop in 4 of 5 buckets" (README): the default's rows labelled
    face.margin 0 against its plain rows of the same buckets in the development trials file."""
    t = pd.read_csv(REPO / "benchmarks/spotting_stress_dev_trials.csv")
    label = "default (learned micro, classical macro)"
    tight = t[t.method == f"{label}, face.margin 0"].groupby("bucket").f1.last()
    plain = t[t.method == label].groupby("bucket").f1.last().reindex(tight.index)
    text = " ".join((REPO / "README.md").read_text().split())
    assert f"score above the 0.1 crop in {(tight > plain).sum()} of {len(tight)} buckets" in text
