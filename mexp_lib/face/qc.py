"""Face-stage quality control: per video, how the landmarks were obtained and how still the crop is."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from mexp_lib.face.align import STABLE, apply_transform, face_transform
from mexp_lib.io.h5store import read_attrs
from mexp_lib.io.skip import skip_reason


def crop_jitter(points: np.ndarray, size: int = 128, margin: float = 0.1) -> float:
    """RMS frame-to-frame motion (px of a ``size`` crop) of the aligned crop window: how far the
    transform of frame i moves the stable points of frame i compared with the transform of
    frame i - 1. For a still face it is pure jitter; ``points``: (T, 68, 2) in frame pixels."""
    if len(points) < 2:
        return 0.0
    ms = [face_transform(p, size, margin) for p in points]
    d = [apply_transform(ms[i], points[i, STABLE]) - apply_transform(ms[i - 1], points[i, STABLE]) for i in range(1, len(ms))]
    return float(np.sqrt((np.asarray(d) ** 2).sum(-1).mean()))


def qc_table(landmark_files: Sequence[str], face_stores: Sequence[str]) -> pd.DataFrame:
    """One row per video: frames, detected, tracked, filled (interpolated), detection rate (over
    the frames the detector had to find the face on: every ``detect_every``-th frame of a long
    video, the frames tried for a clip's reference), crop jitter (:func:`crop_jitter`, px of the
    aligned crop; 0 for clips, aligned by one transform) and the skip reason if skipped."""
    rows = []
    for lj, fs in zip(landmark_files, face_stores):
        video = Path(lj).stem
        reason = skip_reason(lj)
        if reason is not None:
            rows.append({"video": video, "frames": 0, "detected": 0, "tracked": 0, "filled": 0, "detection_rate": 0.0, "jitter_px": float("nan"), "skipped": reason})
            continue
        d = json.loads(Path(lj).read_text())
        how = [f["how"] for f in d["frames"]]
        n = len(how)
        detected = how.count("detected")
        if d["strategy"] == "long":  # the detector runs on every detect_every-th frame (and where the track is lost)
            keys = range(0, n, max(1, int(d["params"].get("detect_every", 10))))
            rate = sum(how[i] == "detected" for i in keys) / len(keys)
            crop = read_attrs(fs).get("params", {})  # the crop the jitter is measured in
            size, margin = int(crop.get("size", 128)), float(crop.get("margin", 0.1))
            jitter = crop_jitter(np.array([f["points"] for f in d["frames"]], np.float64), size, margin)
        else:  # frames tried until the reference face was found; one transform for the clip
            rate, jitter = 1.0 / (how.index("detected") + 1), 0.0
        rows.append({
            "video": video, "frames": len(how), "detected": detected, "tracked": how.count("tracked"), "filled": how.count("interpolated"),
            "detection_rate": rate,
            "jitter_px": jitter, "skipped": "",
        })
    return pd.DataFrame(rows)
