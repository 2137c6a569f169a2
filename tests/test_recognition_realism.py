"""The default recognition pipeline on a tiny realistic render: real faces, noise, JPEG frames.

Four subjects' short clips (two per class and subject, 60 fps) are rendered from the real face
crops in ../shared (AU-like motions of 0.5-3 px on a 224 px face, blinks, small head motion,
illumination drift, noise sigma 3, JPEG quality 80; subjects in neither part of
benchmarks/bench_recognition_realism.py). They go through the workflow's own stage functions
(mexp_lib.recognition.pipeline) with config/config.yaml's settings, leave-one-subject-out.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
SUBJECTS = ["sub14", "018", "s14", "sub15"]


def default_config(**datasets) -> dict:
    """The settings a user gets: config/config.yaml (its datasets replaced) resolved against the schema."""
    from mexp_lib.config import resolve_config

    cfg = yaml.safe_load((REPO / "config/config.yaml").read_text())
    cfg["datasets"] = datasets
    return resolve_config(cfg)


@pytest.mark.slow
def test_default_pipeline_beats_chance_on_realistic_clips(tmp_path, real):
    from mexp_lib.datasets import load_dataset
    from mexp_lib.datasets.demo import generate_demo
    from mexp_lib.recognition.pipeline import pooled, run_recognition

    videos = tmp_path / "videos"
    generate_demo(videos, {
        "seed": 5, "subjects": len(SUBJECTS), "clips_per_class": 2, "frame_size": 360, "clip_fps": 60.0, "long_videos_per_subject": 0,
        "micro_amplitude": [0.5, 3.0], "noise_sigma": 3.0, "jpeg_quality": 80,
        "faces": str(real / "wangzhifengharrison__HTNet/combined_datasets_whole"), "face_subjects": SUBJECTS,
    }, layout="generic")
    entry = {"format": "generic", "root": str(videos), "annotations": str(videos / "annotations.csv"), "fps": 60.0, "task": "recognition"}
    cfg = default_config(tiny=entry)
    samples, _ = load_dataset("tiny", cfg["datasets"]["tiny"])
    assert len(samples) == 24 and samples.subject.nunique() == 4
    table, fresh = run_recognition(samples, cfg, tmp_path / "work")
    res = pooled(table)
    assert fresh and res["n"] == 24
    # three balanced classes: chance is UF1 = UAR = 1/3; each subject is predicted by a model
    # trained on the three others only
    assert res["uf1"] >= 0.6 and res["uar"] >= 0.6, res
