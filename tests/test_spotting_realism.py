"""The default spotter on a realistic long video: real faces, sensor noise, JPEG frames.

Four subjects' 40 s videos are rendered from the real face crops in ../shared (blinks, head
drift, illumination drift, noise sigma 3, JPEG quality 80, 30 fps), with micro- and
macro-expressions in their first half only. They go through the workflow's own stage functions
(landmarks -> aligned faces -> spotting features) and leave-one-subject-out spotting with the
configured default spotting settings (each subject's thresholds and network fitted on the others).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from mexp_lib.metrics import spotting_scores

REPO = Path(__file__).resolve().parents[1]
FACE = {"size": 128, "margin": 0.1, "grey": True, "detect_every": 10, "smooth": 5, "detect_size": 320, "upsample": 0,
        "backend": "dlib", "detector": "hog", "on_missing_face": "error"}


def default_spotting() -> dict:
    """The spotting settings a user gets: config/config.yaml resolved against the schema."""
    from mexp_lib.config import resolve_config

    return resolve_config(yaml.safe_load((REPO / "config/config.yaml").read_text()))["spotting"]


def render(root: Path, faces: Path, subjects: list[str]) -> pd.DataFrame:
    """40 s videos at 30 fps: four micro- and two macro-expressions in the first half, only blinks,
    head drift and noise in the second."""
    from mexp_lib.datasets.demo import generate_demo

    generate_demo(root, {
        "seed": 5, "subjects": len(subjects), "clips_per_class": 0, "frame_size": 360, "long_fps": 30.0, "long_seconds": 40.0,
        "micro_per_long": 4, "macro_per_long": 2, "micro_amplitude": [1.5, 3.0], "macro_amplitude": [4.0, 7.0],
        "micro_seconds": [0.25, 0.5], "macro_seconds": [0.6, 2.0], "noise_sigma": 3.0, "jpeg_quality": 80,
        "faces": str(faces), "face_subjects": subjects, "expression_span": [0.0, 0.5],
    }, layout="generic")
    return pd.read_csv(root / "annotations.csv")


def scores(videos: Path, work: Path, cfg: dict) -> dict:
    from mexp_lib.face.stage import align_faces, detect_landmarks
    from mexp_lib.spotting.stage import compute_spotting_features, load_scores

    out = []
    for v in sorted(p.name for p in videos.iterdir() if p.is_dir()):
        detect_landmarks(str(videos / v), video=v, numbering="position", strategy="long", face_cfg=FACE, out=work / f"{v}.json")
        align_faces(str(videos / v), str(work / f"{v}.json"), numbering="position", face_cfg=FACE, out=work / f"{v}_faces.h5")
        compute_spotting_features(str(work / f"{v}_faces.h5"), fps=30.0, cfg=cfg, out=work / f"{v}.h5")
        out.append(str(work / f"{v}.h5"))
    return load_scores(out)


@pytest.mark.slow
def test_default_spotter_on_noisy_jpeg_video(tmp_path, real):
    from mexp_lib.spotting import spot_loso

    faces = real / "wangzhifengharrison__HTNet/combined_datasets_whole"
    cfg = default_spotting()
    gt = render(tmp_path / "videos", faces, ["sub07", "013", "s08", "sub09"])
    sc = scores(tmp_path / "videos", tmp_path, cfg)
    assert set(sc) == set(gt.video)
    pred, _ = spot_loso(sc, dict(zip(gt.video, gt.subject, strict=True)), gt, cfg)  # each subject's thresholds and network from the others
    found = spotting_scores(gt, pred).set_index("type")
    # the expressions are found: most of them matched at IoU >= 0.5, with few false alarms
    assert found.loc["all", "recall"] >= 0.6, found
    assert found.loc["all", "precision"] >= 0.6, found
    # and nothing is spotted in the 20 s of blinks, head drift, noise and compression that follow them
    last = gt.groupby("video").offset.max()
    quiet = pred[pred.onset > pred.video.map(last) + 15]
    assert quiet.empty, quiet
