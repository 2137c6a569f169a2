"""Face-stage quality control: per video, how the landmarks were obtained and how still the crop is."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from mexp_lib.face.align import STABLE
from mexp_lib.io.h5store import read_arrays
from mexp_lib.io.skip import skip_reason


def qc_table(landmark_files: Sequence[str], face_stores: Sequence[str]) -> pd.DataFrame:
    """One row per video: frames, detected, filled (interpolated), detection rate over probed
    frames, crop jitter (RMS frame-to-frame motion of the stable landmarks in the aligned crop,
    px) and the skip reason if the video was skipped."""
    rows = []
    for lj, fs in zip(landmark_files, face_stores):
        video = Path(lj).stem
        reason = skip_reason(lj)
        if reason is not None:
            rows.append({"video": video, "frames": 0, "detected": 0, "filled": 0, "detection_rate": 0.0, "jitter_px": float("nan"), "skipped": reason})
            continue
        d = json.loads(Path(lj).read_text())
        how = [f["how"] for f in d["frames"]]
        n = len(how)
        detected = how.count("detected")
        if d["strategy"] == "long":  # the frames the detector was run on (see detect_video_landmarks)
            probed = len(set(range(0, n, max(1, int(d["params"].get("detect_every", 10))))) | {n - 1})
        else:  # frames tried until the reference face was found
            probed = how.index("detected") + 1
        lm = read_arrays(fs, "landmarks")["landmarks"][:, STABLE]
        jitter = float(np.sqrt((np.diff(lm, axis=0) ** 2).sum(-1).mean())) if len(lm) > 1 else 0.0
        rows.append({
            "video": video, "frames": len(how), "detected": detected, "filled": how.count("interpolated"),
            "detection_rate": detected / probed,
            "jitter_px": jitter, "skipped": "",
        })
    return pd.DataFrame(rows)
