"""The field's metrics, as the MEGC challenges define them.

Recognition (MEGC 2019): predictions of all folds are pooled; per class c, TP_c, FP_c, FN_c
are counted over the pool; ``UF1 = mean_c 2 TP_c / (2 TP_c + FP_c + FN_c)`` and
``UAR = mean_c TP_c / N_c`` over the classes that occur in the ground truth; accuracy (WAR) is
the fraction correct.

Spotting (MEGC 2020/2021): a predicted interval matches a ground-truth interval of the same
video and type when their IoU on inclusive frame ranges is >= 0.5; matching is one-to-one
(greedy by IoU); TP/FP/FN are pooled over videos, then precision, recall and F1.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd


def confusion(labels: Sequence[str], preds: Sequence[str], classes: Sequence[str]) -> np.ndarray:
    """Confusion matrix, rows = ground truth, columns = prediction, in ``classes`` order."""
    idx = {c: i for i, c in enumerate(classes)}
    m = np.zeros((len(classes), len(classes)), np.int64)
    for y, p in zip(labels, preds):
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
    n = int(m.sum())
    return {
        "n": n,
        "accuracy": float(tp.sum() / n) if n else float("nan"),
        "uar": float(rec[present].mean()) if present.any() else float("nan"),
        "uf1": float(f1[present].mean()) if present.any() else float("nan"),
    }


def iou(a: tuple[int, int], b: tuple[int, int]) -> float:
    """IoU of two inclusive frame ranges."""
    inter = min(a[1], b[1]) - max(a[0], b[0]) + 1
    if inter <= 0:
        return 0.0
    return inter / ((a[1] - a[0] + 1) + (b[1] - b[0] + 1) - inter)


def match_intervals(gt: list[tuple[int, int]], pred: list[tuple[int, int]], threshold: float = 0.5) -> tuple[int, int, int]:
    """One-to-one matching of one video's intervals: (tp, fp, fn)."""
    pairs = sorted(((iou(g, p), i, j) for i, g in enumerate(gt) for j, p in enumerate(pred)), reverse=True)
    used_g: set[int] = set()
    used_p: set[int] = set()
    tp = 0
    for v, i, j in pairs:
        if v < threshold:
            break
        if i in used_g or j in used_p:
            continue
        used_g.add(i)
        used_p.add(j)
        tp += 1
    return tp, len(pred) - tp, len(gt) - tp


def _prf(tp: int, fp: int, fn: int) -> dict[str, float]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"tp": tp, "fp": fp, "fn": fn, "precision": p, "recall": r, "f1": f}


def spotting_scores(gt: pd.DataFrame, pred: pd.DataFrame, *, threshold: float = 0.5, types: Sequence[str] = ("micro", "macro")) -> pd.DataFrame:
    """Per-type and overall spotting counts and scores.

    ``gt`` and ``pred``: columns ``video, onset, offset, type``. Returns one row per type and a
    row ``all`` whose counts are the sums over types.
    """
    rows = []
    for t in types:
        tp = fp = fn = 0
        g_t, p_t = gt[gt["type"] == t], pred[pred["type"] == t]
        for v in sorted(set(g_t["video"]) | set(p_t["video"])):
            g = list(zip(g_t.loc[g_t.video == v, "onset"], g_t.loc[g_t.video == v, "offset"]))
            p = list(zip(p_t.loc[p_t.video == v, "onset"], p_t.loc[p_t.video == v, "offset"]))
            a, b, c = match_intervals([(int(x), int(y)) for x, y in g], [(int(x), int(y)) for x, y in p], threshold)
            tp, fp, fn = tp + a, fp + b, fn + c
        rows.append({"type": t, **_prf(tp, fp, fn)})
    tot = [sum(r[k] for r in rows) for k in ("tp", "fp", "fn")]
    rows.append({"type": "all", **_prf(*tot)})
    return pd.DataFrame(rows)
