"""The spotter that ships with mexp (`mexp spot` without --model) and short videos' windows."""

import importlib.util
import json
import logging
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _stress_parts():
    sys.path.insert(0, str(REPO / "benchmarks"))
    spec = importlib.util.spec_from_file_location("bench_spotting_stress", REPO / "benchmarks/bench_spotting_stress.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.PARTS


def test_the_shipped_spotter_loads_and_names_the_development_part():
    from mexp_lib.config import default
    from mexp_lib.spotting.stage import DEFAULT_MODEL, read_model_provenance, read_spotting_model

    assert DEFAULT_MODEL.is_file() and DEFAULT_MODEL.stat().st_size < 300_000, "a small model inside the package"
    cfg, th, net = read_spotting_model(DEFAULT_MODEL)
    prov = read_model_provenance(DEFAULT_MODEL)
    parts = _stress_parts()
    assert prov["part"] == "dev" and prov["seed"] == parts["dev"]["seed"] and prov["face_subjects"] == parts["dev"]["subjects"]
    assert not set(prov["face_subjects"]) & set(parts["test"]["subjects"]), "never fitted on the test part's faces"
    assert cfg["spotter"] == "select" and cfg["select_from"] == [prov["spotter"]] and prov["spotter"] in default("spotting.select_from")
    assert set(prov["inner_f1"]) == set(default("spotting.select_from")), "chosen by inner leave-one-subject-out among every candidate"
    assert (net is not None) == (prov["spotter"] == "learned") and set(th) == {"micro", "macro"}
    assert prov["mexp_version"] and prov["date"] and prov["builder"] == "benchmarks/build_spot_model.py"
    assert json.loads(DEFAULT_MODEL.with_suffix(".json").read_text()) == prov, "the provenance beside the model is the one inside it"
    pyproject = (REPO / "pyproject.toml").read_text()
    assert '"spotting/models/*.pt"' in pyproject, "package data: a non-editable install carries it"


def _spy_features(monkeypatch):
    """Record the spotting settings each feature computation of `mexp spot` runs with."""
    import mexp_lib.spotting.stage as stage

    seen = []
    real = stage.compute_spotting_features

    def spy(faces_h5, *, fps, cfg, out):
        seen.append(dict(cfg))
        return real(faces_h5, fps=fps, cfg=cfg, out=out)

    monkeypatch.setattr(stage, "compute_spotting_features", spy)
    return seen


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    from test_spotting import _write_face_video

    return _write_face_video(tmp_path_factory.mktemp("clip") / "expr", 150, expression_at=80)


@pytest.fixture
def mexp_log():
    """`mexp` sends mexp_lib's log to the stderr of its call: put the logger back afterwards."""
    log = logging.getLogger("mexp_lib")
    handlers, level, propagate = list(log.handlers), log.level, log.propagate
    yield
    log.handlers[:], log.propagate = handlers, propagate
    log.setLevel(level)


def test_mexp_spot_without_model_uses_the_shipped_spotter(clip, tmp_path, monkeypatch, capsys, mexp_log):
    """Without --model: the shipped model's settings (not MDMD's fixed path), said in the log;
    --no-model: MDMD with fixed thresholds; an explicit --model wins over both."""
    import torch

    from mexp_lib.cli import main
    from mexp_lib.spotting.stage import DEFAULT_MODEL, read_spotting_model

    shipped = read_spotting_model(DEFAULT_MODEL)[0]
    seen = _spy_features(monkeypatch)
    assert main(["spot", str(clip), "-o", str(tmp_path / "a.csv"), "--fps", "30"]) == 0
    assert seen[-1] == shipped and seen[-1]["method"] != "mdmd"
    log = capsys.readouterr().err
    assert "the default spotter shipped with mexp" in log and "dev part" in log, log
    assert (tmp_path / "a.csv").read_text().startswith("video,onset,offset,type")

    assert main(["spot", str(clip), "-o", str(tmp_path / "b.csv"), "--fps", "30", "--no-model"]) == 0
    assert seen[-1]["method"] == "mdmd" and seen[-1]["default_floor"] == 4.0, "--no-model: MDMD, fixed thresholds"

    d = torch.load(DEFAULT_MODEL, weights_only=True)
    d["spotting"] = {**d["spotting"], "grid": 4}
    torch.save(d, tmp_path / "other.pt")
    assert main(["spot", str(clip), "-o", str(tmp_path / "c.csv"), "--fps", "30", "--model", str(tmp_path / "other.pt")]) == 0
    assert seen[-1]["grid"] == 4 != shipped["grid"], "an explicit --model wins"


def test_mexp_spot_set_needs_no_model(clip, tmp_path, capsys, mexp_log):
    from mexp_lib.cli import main

    assert main(["spot", str(clip), "-o", str(tmp_path / "s.csv"), "--fps", "30", "--set", "grid=4"]) == 2
    assert "--set grid=4: spotting settings apply with --no-model only" in capsys.readouterr().err
    assert not (tmp_path / "s.csv").exists()


def test_mexp_spot_says_a_configs_spotting_section_is_not_used_with_a_model(clip, tmp_path, monkeypatch, capsys, mexp_log):
    """--config gives the face section; its spotting section is the model's business (said),
    and --no-model spots with it."""
    from mexp_lib.cli import main

    cfg = tmp_path / "c.yaml"
    cfg.write_text("spotting:\n  grid: 4\n")
    seen = _spy_features(monkeypatch)
    assert main(["spot", str(clip), "-o", str(tmp_path / "a.csv"), "--fps", "30", "--config", str(cfg)]) == 0
    assert seen[-1]["grid"] != 4 and "its spotting section is not used" in capsys.readouterr().err
    assert main(["spot", str(clip), "-o", str(tmp_path / "b.csv"), "--fps", "30", "--config", str(cfg), "--no-model"]) == 0
    assert seen[-1]["grid"] == 4 and seen[-1]["method"] == "mdmd"


@pytest.mark.parametrize(("frames", "k"), [(72, 18), (143, 35), (144, 36), (600, 36), (None, 36), (3, 1)])
def test_a_short_video_gets_a_window_it_can_score(frames, k):
    """1.2 s at 30 fps is k = 36 frames; a video shorter than 4 k (single_face.mp4: 72 frames,
    which had no macro score at all) gets k = frames // 4; a longer one keeps k."""
    from mexp_lib.spotting.settings import half_window

    assert half_window(30.0, 1.2, frames) == k


def test_a_short_clip_has_a_macro_score(tmp_path):
    """72 frames at 30 fps (a held expression's clip): a macro score over its middle half."""
    from test_spotting import _write_face_video

    from mexp_lib.face.stage import align_faces, detect_landmarks
    from mexp_lib.spotting.stage import compute_spotting_features, load_scores

    clip = _write_face_video(tmp_path / "short", 72, expression_at=30, half=20)
    face = {"grey": True, "detect_every": 10}
    detect_landmarks(str(clip), video="short", numbering="position", strategy="long", face_cfg=face, out=tmp_path / "short.json")
    align_faces(str(clip), str(tmp_path / "short.json"), numbering="position", face_cfg=face, out=tmp_path / "short_faces.h5")
    compute_spotting_features(str(tmp_path / "short_faces.h5"), fps=30.0, cfg={"boundaries": "fixed"}, out=tmp_path / "short.h5")
    sc = load_scores([str(tmp_path / "short.h5")])["short"]
    assert int(sc["k_macro"]) == 18
    assert (sc["macro"][18:54] > 0).all() and not sc["macro"][:18].any(), "scored over the middle half (before: not at all)"


def test_a_short_clip_held_expression_passes_the_noise_floor():
    """A 72-frame clip scored over its middle half (k = 18), most of it a held expression: its
    median is the expression's level, so floor x median (4, the shipped macro floor) would keep
    nothing; the lower quartile is its noise. A still clip of the same length keeps nothing."""
    import numpy as np

    from mexp_lib.spotting.intervals import Thresholds, find_candidates

    rng = np.random.default_rng(0)
    still = np.zeros(72)
    still[18:54] = np.abs(rng.normal(0.1, 0.02, 36))
    held = still.copy()
    held[18:38] = 1.0
    held[35] = 1.2
    th = Thresholds(0.5, 4.0)
    assert list(find_candidates(held, 18, th)) == [35]
    assert not len(find_candidates(still, 18, th))
    long = np.r_[np.zeros(18), np.abs(rng.normal(0.1, 0.02, 300)), held[18:54], np.zeros(18)]
    assert not len(find_candidates(long[:300], 18, th)), "a long video keeps the median: noise alone stays below the floor"
    assert list(find_candidates(long, 18, th)) == [318 + 17], "and the same expression passes it there"


SINGLE_FACE = REPO.parent / "shared/data/real_video/single_face.mp4"


@pytest.mark.skipif(not SINGLE_FACE.is_file(), reason="the real videos of ../shared are not here")
def test_mexp_spot_finds_the_held_smile_as_one_macro_expression(tmp_path, mexp_log):
    """single_face.mp4 (72 frames, neutral to about frame 16, then a smile held to the end; see
    SOURCES.md there): `mexp spot` with the shipped spotter gives one macro-expression starting
    at the smile's onset (it gave nothing: the 1.2 s macro window had no score on 2.4 s)."""
    from mexp_lib.cli import main

    assert main(["spot", str(SINGLE_FACE), "-o", str(tmp_path / "s.csv"), "--fps", "30"]) == 0
    import pandas as pd

    pred = pd.read_csv(tmp_path / "s.csv")
    assert len(pred) == 1 and pred.type.iloc[0] == "macro" and 12 <= pred.onset.iloc[0] <= 25 and pred.offset.iloc[0] > 30, pred
