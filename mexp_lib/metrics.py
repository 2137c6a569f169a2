"""The field's metrics, as the MEGC challenges define them.

Recognition (MEGC 2019): predictions of all folds are pooled; per class c, TP_c, FP_c, FN_c
are counted over the pool; ``UF1 = mean_c 2 TP_c / (2 TP_c + FP_c + FN_c)`` and
``UAR = mean_c TP_c / N_c`` over the classes that occur in the ground truth; accuracy (WAR) is
the fraction correct. ``macro_f1`` is ``2 P R / (P + R)`` of the macro-averaged precision P and
recall R (ELRCN's "F1" and MEAN's analysis F1) -- not the same number as UF1.

Spotting (MEGC 2020/2021): a predicted interval matches a ground-truth interval of the same
video and type when their IoU on inclusive frame ranges is >= 0.5; TP/FP/FN are pooled over
videos, then precision, recall and F1. Two counting conventions exist (``matching``):

* ``one_to_one`` (default; the MEGC evaluation): a prediction matches at most one ground
  truth and vice versa, greedily by IoU; FP = predictions left unmatched.
* ``pairs`` (TSMSNet's logs): each ground truth is a TP when some prediction overlaps it with
  IoU >= 0.5 -- one prediction may count for two ground truths --; FP = predictions that match
  no ground truth.

Spot-then-recognise (STRS, MEAN): spotting F1 times the analysis F1 (``macro_f1``) of the
emotions predicted for the spotted true positives.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd


def confusion(labels: Sequence[str], preds: Sequence[str], classes: Sequence[str]) -> np.ndarray:
    """Confusion matrix, rows = ground truth, columns = prediction, in ``classes`` order."""
    idx = {c: i for i, c in enumerate(classes)}
    m = np.zeros((len(classes), len(classes)), np.int64)
    for y, p in zip(labels, preds, strict=False):
        m[idx[y], idx[p]] += 1
    return m


def recognition_scores(labels: Sequence[str], preds: Sequence[str], classes: Sequence[str]) -> dict[str, float]:
    """n, accuracy (WAR), UAR and UF1 of pooled predictions (classes absent from the ground
    truth are left out of the averages)."""
    m = confusion(labels, preds, classes)
    tp = np.diag(m).astype(float)
    n_c = m.sum(1).astype(float)
    fp = m.sum(0) - tp
    present = n_c > 0
    f1 = 2 * tp / np.maximum(2 * tp + fp + (n_c - tp), 1e-12)
    rec = tp / np.maximum(n_c, 1e-12)
    prec = tp / np.maximum(m.sum(0), 1e-12)
    n = int(m.sum())
    nan = float("nan")
    uar = float(rec[present].mean()) if present.any() else nan
    mp = float(prec[present].mean()) if present.any() else nan
    return {
        "n": n,
        "accuracy": float(tp.sum() / n) if n else nan,
        "uar": uar,
        "uf1": float(f1[present].mean()) if present.any() else nan,
        "macro_f1": 2 * mp * uar / (mp + uar) if mp + uar > 0 else 0.0,
    }


SPOT_TYPES = ("micro", "macro")


def check_intervals(df: pd.DataFrame, source: str, *, allow_empty: bool = False) -> pd.DataFrame:
    """A spotting table (``video, onset, offset, type``; whole frame numbers) validated, types
    lower-cased (``MICRO`` is ``micro``): a :class:`~mexp_lib.errors.DataError` naming
    ``source`` and the CSV line for a negative frame, onset > offset, a type other than micro
    or macro, an interval listed twice, or no rows (unless ``allow_empty``: a spotter that
    spotted nothing)."""
    from mexp_lib.errors import DataError

    if df.empty and not allow_empty:
        raise DataError(f"{source}: no intervals (a header and no rows)")
    out = df.copy()
    out["type"] = out["type"].astype(str).str.strip().str.lower()
    for i in range(len(out)):
        r = out.iloc[i]
        where = f"{source}: line {i + 2}"
        if r.onset < 0 or r.offset < 0:
            raise DataError(f"{where}: negative frame (onset {r.onset}, offset {r.offset})")
        if r.onset > r.offset:
            raise DataError(f"{where}: onset {r.onset} > offset {r.offset}")
        if r.type not in SPOT_TYPES:
            raise DataError(f"{where}: type {df['type'].iloc[i]!r} is not one of {', '.join(SPOT_TYPES)}")
    dup = np.flatnonzero(out.duplicated(["video", "onset", "offset", "type"], keep=False).to_numpy())
    if len(dup):
        raise DataError(f"{source}: lines {', '.join(str(int(i) + 2) for i in dup[:3])}: one interval listed more than once")
    return out


def iou(a: tuple[int, int], b: tuple[int, int]) -> float:
    """IoU of two inclusive frame ranges."""
    inter = min(a[1], b[1]) - max(a[0], b[0]) + 1
    if inter <= 0:
        return 0.0
    return inter / ((a[1] - a[0] + 1) + (b[1] - b[0] + 1) - inter)


def match_pairs(gt: list[tuple[int, int]], pred: list[tuple[int, int]], threshold: float = 0.5) -> list[tuple[int, int]]:
    """One-to-one matches (gt index, pred index) of one video's intervals, greedy by IoU."""
    pairs = sorted(((iou(g, p), i, j) for i, g in enumerate(gt) for j, p in enumerate(pred)), reverse=True)
    used_g: set[int] = set()
    used_p: set[int] = set()
    out = []
    for v, i, j in pairs:
        if v < threshold:
            break
        if i in used_g or j in used_p:
            continue
        used_g.add(i)
        used_p.add(j)
        out.append((i, j))
    return out


def match_intervals(gt: list[tuple[int, int]], pred: list[tuple[int, int]], threshold: float = 0.5, matching: str = "one_to_one") -> tuple[int, int, int]:
    """(tp, fp, fn) of one video's intervals under a counting convention (module docstring)."""
    if matching == "one_to_one":
        tp = len(match_pairs(gt, pred, threshold))
        return tp, len(pred) - tp, len(gt) - tp
    if matching == "pairs":
        hit = [[iou(g, p) >= threshold for p in pred] for g in gt]
        tp = sum(any(h) for h in hit)
        used = sum(any(hit[i][j] for i in range(len(gt))) for j in range(len(pred)))
        return tp, len(pred) - used, len(gt) - tp
    raise ValueError(f"matching must be 'one_to_one' or 'pairs', not {matching!r}")


def _prf(tp: int, fp: int, fn: int) -> dict[str, float]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"tp": tp, "fp": fp, "fn": fn, "precision": p, "recall": r, "f1": f}


def _by_video(df: pd.DataFrame, *extra: str) -> dict[str, list[tuple[Any, ...]]]:
    """video -> its rows as ``(onset, offset, *extra columns)`` tuples."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    for v, on, off, *rest in zip(df["video"], df["onset"], df["offset"], *(df[c] for c in extra), strict=True):
        out.setdefault(str(v), []).append((int(on), int(off), *rest))
    return out


def spotting_scores(gt: pd.DataFrame, pred: pd.DataFrame, *, threshold: float = 0.5, types: Sequence[str] = ("micro", "macro"), matching: str = "one_to_one") -> pd.DataFrame:
    """Per-type and overall spotting counts and scores.

    ``gt`` and ``pred``: columns ``video, onset, offset, type``. Returns one row per type and a
    row ``all`` whose counts are the sums over types.
    """
    rows: list[dict[str, Any]] = []
    for t in types:
        tp = fp = fn = 0
        g_t, p_t = _by_video(gt[gt["type"] == t]), _by_video(pred[pred["type"] == t])
        for v in sorted(set(g_t) | set(p_t)):
            a, b, c = match_intervals(g_t.get(v, []), p_t.get(v, []), threshold, matching)
            tp, fp, fn = tp + a, fp + b, fn + c
        rows.append({"type": t, **_prf(tp, fp, fn)})
    tot = [sum(r[k] for r in rows) for k in ("tp", "fp", "fn")]
    rows.append({"type": "all", **_prf(*tot)})
    return pd.DataFrame(rows)


def strs_scores(gt: pd.DataFrame, pred: pd.DataFrame, *, threshold: float = 0.5) -> dict[str, float]:
    """Spot-then-recognise: spotting counts (one-to-one, all intervals), the analysis of the
    spotted true positives (their ground-truth vs predicted ``emotion``), and ``strs`` =
    spotting F1 x analysis ``macro_f1``.

    ``gt``, ``pred``: columns ``video, onset, offset, emotion``.
    """
    g_v, p_v = _by_video(gt, "emotion"), _by_video(pred, "emotion")
    labels, preds = [], []
    n_pred = n_gt = 0
    for v in sorted(set(g_v) | set(p_v)):
        g, p = g_v.get(v, []), p_v.get(v, [])
        n_gt, n_pred = n_gt + len(g), n_pred + len(p)
        for i, j in match_pairs([x[:2] for x in g], [x[:2] for x in p], threshold):
            labels.append(str(g[i][2]))
            preds.append(str(p[j][2]))
    spot = _prf(len(labels), n_pred - len(labels), n_gt - len(labels))
    classes = sorted(set(labels) | set(preds))
    ana = recognition_scores(labels, preds, classes) if labels else {"n": 0, "accuracy": 0.0, "uar": 0.0, "uf1": 0.0, "macro_f1": 0.0}
    return {**{f"spot_{k}": v for k, v in spot.items()}, **{f"analysis_{k}": v for k, v in ana.items()}, "strs": spot["f1"] * ana["macro_f1"]}
