"""The spotting stage as the workflow runs it: per-video features, then dataset-level spotting."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from mexp_lib.datasets.table import read_sample_table
from mexp_lib.evaluate import plot_timeline
from mexp_lib.io.atomic import atomic_path, write_csv
from mexp_lib.io.h5store import open_store, read_arrays, write_store
from mexp_lib.io.skip import skip_reason, write_skip
from mexp_lib.spotting import TYPES, spot_loso, spotting_features

logger = logging.getLogger(__name__)


def features_store(faces_h5: str, *, fps: float, cfg: dict[str, Any], out: str | Path) -> None:
    """Compute a long video's per-frame scores and store them with its frame numbers."""
    reason = skip_reason(faces_h5)
    if reason is not None:
        write_skip(out, Path(faces_h5).stem, reason)
        return
    with open_store(faces_h5) as h:
        feats = spotting_features(h, fps=fps, cfg=cfg, video=Path(faces_h5).stem)
        numbers = h["numbers"][()]
    write_store(out, {**{t: feats[t] for t in TYPES}, "numbers": numbers}, {"stage": "spotting_features", **{f"k_{t}": int(feats[f"k_{t}"]) for t in TYPES}, "fps": fps}, params=cfg)


def load_scores(feature_files: Sequence[str]) -> dict[str, dict[str, np.ndarray]]:
    """video -> {macro, micro, numbers, k_macro, k_micro}; skipped videos are left out."""
    scores = {}
    for f in feature_files:
        if skip_reason(f) is not None:
            logger.warning("%s: skipped by the face stage (%s)", f, skip_reason(f))
            continue
        with open_store(f) as h:
            scores[Path(f).stem] = {**{k: h[k][()] for k in (*TYPES, "numbers")}, **{f"k_{t}": np.array(int(h.attrs[f"k_{t}"])) for t in TYPES}}
    return scores


def spot_dataset(samples_csv: str, feature_files: Sequence[str], *, cfg: dict[str, Any], out_intervals: str | Path, out_selection: str | Path, out_timelines: str | Path) -> pd.DataFrame:
    """LOSO spotting of every long video; intervals, threshold selection and timeline plots."""
    samples = read_sample_table(samples_csv)
    long = samples[samples.task == "spotting"]
    gt = long[["video", "onset", "offset", "type"]]
    scores = load_scores(feature_files)
    subjects = dict(zip(long.video, long.subject))
    pred, sel = spot_loso(scores, {v: subjects[v] for v in scores}, gt, cfg)
    pred = pred.sort_values(["video", "onset"]).reset_index(drop=True)
    logger.info("spotted %d intervals in %d videos", len(pred), len(scores))
    write_csv(pred, out_intervals)
    write_csv(sel, out_selection)
    with atomic_path(out_timelines, directory=True) as tmp:
        for v, sc in scores.items():
            plot_timeline(v, sc, gt, pred, tmp / f"{v}.png")
    return pred
