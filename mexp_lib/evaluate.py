"""Metric tables, their provenance files, and the plots people look at."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

import mexp_lib
from mexp_lib.io.atomic import atomic_path, write_csv, write_json
from mexp_lib.metrics import confusion, recognition_scores, spotting_scores


def config_hash(cfg: Any) -> str:
    """sha256 of the config as canonical JSON (first 16 hex digits)."""
    return hashlib.sha256(json.dumps(cfg, sort_keys=True, default=str).encode()).hexdigest()[:16]


def code_version() -> str:
    """mexp_lib's version plus the git commit of the checkout, when there is one."""
    here = Path(mexp_lib.__file__).parent
    try:
        rev = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=here, capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        rev = ""
    return f"{mexp_lib.__version__}+{rev}" if rev else mexp_lib.__version__


def write_provenance(path: str | Path, *, cfg: Any, seeds: Sequence[int], extra: dict[str, Any] | None = None) -> None:
    write_json({"config_hash": config_hash(cfg), "code_version": code_version(), "seeds": list(seeds), **(extra or {}), "config": cfg}, path)


def recognition_table(preds: pd.DataFrame, classes: list[str]) -> pd.DataFrame:
    """One row per fold (test subject) and ``fold=all`` pooled over folds.

    With several seeds each metric is computed per seed and averaged; ``*_std`` columns give
    the standard deviation over seeds (0 with one seed).
    """
    rows = []
    groups = [(str(f), g) for f, g in preds.groupby("subject", sort=True)] + [("all", preds)]
    for fold, g in groups:
        per_seed = pd.DataFrame([recognition_scores(s.label, s.pred, classes) for _, s in g.groupby("seed")])
        row: dict[str, Any] = {"fold": fold, "n": int(per_seed["n"].iloc[0])}
        for m in ("accuracy", "uar", "uf1"):
            row[m] = per_seed[m].mean()
        for m in ("accuracy", "uar", "uf1"):
            row[f"{m}_std"] = per_seed[m].std(ddof=0)
        row["seeds"] = len(per_seed)
        rows.append(row)
    return pd.DataFrame(rows)


def plot_confusion(m: np.ndarray, classes: list[str], out_png: str | Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(1.2 * len(classes) + 2, 1.2 * len(classes) + 1.5))
    norm = m / np.maximum(m.sum(1, keepdims=True), 1)
    ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    for i in range(len(classes)):
        for j in range(len(classes)):
            ax.text(j, i, str(m[i, j]), ha="center", va="center", color="white" if norm[i, j] > 0.5 else "black")
    ax.set_xticks(range(len(classes)), classes, rotation=30)
    ax.set_yticks(range(len(classes)), classes)
    ax.set_xlabel("predicted")
    ax.set_ylabel("ground truth")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    with atomic_path(out_png) as tmp:
        fig.savefig(tmp, dpi=100)
    plt.close(fig)


def evaluate_recognition(pred_files: Sequence[str], *, classes: list[str], cfg: Any, out_csv: str | Path, out_predictions: str | Path, out_png: str | Path, out_provenance: str | Path, expected: int | None = None) -> pd.DataFrame:
    """Pool the folds' predictions into the metric table, the prediction file and the plot."""
    preds = pd.concat([pd.read_csv(f, dtype={"subject": str}) for f in pred_files], ignore_index=True)
    table = recognition_table(preds, classes)
    write_csv(table, out_csv)
    write_csv(preds, out_predictions)
    m = confusion(preds.label, preds.pred, classes)
    allrow = table.iloc[-1]
    plot_confusion(m, classes, out_png, f"LOSO, {allrow.seeds} seed(s) pooled: UF1 {allrow.uf1:.3f}, UAR {allrow.uar:.3f}")
    seeds = sorted(int(s) for s in preds.seed.unique())
    n_pred = int(preds[preds.seed == seeds[0]].shape[0])
    write_provenance(out_provenance, cfg=cfg, seeds=seeds, extra={"samples_predicted": n_pred, "samples_expected": expected, "classes": classes})
    return table


def evaluate_spotting(gt: pd.DataFrame, pred: pd.DataFrame, *, cfg: Any, out_csv: str | Path, out_provenance: str | Path, iou: float = 0.5) -> pd.DataFrame:
    """Spotting metric table (per type and ``all``) and its provenance."""
    table = spotting_scores(gt, pred, threshold=iou)
    write_csv(table, out_csv)
    write_provenance(out_provenance, cfg=cfg, seeds=[], extra={"videos": int(gt.video.nunique()), "gt_intervals": len(gt), "predicted_intervals": len(pred), "iou": iou})
    return table


def plot_timeline(video: str, sc: dict[str, np.ndarray], gt: pd.DataFrame, pred: pd.DataFrame, out_png: str | Path) -> None:
    """Score curves of one video, with ground-truth (shaded) and spotted (bars) intervals."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    nums = sc["numbers"]
    fig, ax = plt.subplots(figsize=(12, 3))
    colours = {"macro": "tab:blue", "micro": "tab:red"}
    for t, c in colours.items():
        ax.plot(nums, sc[t], color=c, lw=0.8, label=f"{t} score (k={int(sc['k_' + t])})")
        for _, r in gt[(gt.video == video) & (gt.type == t)].iterrows():
            ax.axvspan(r.onset, r.offset, color=c, alpha=0.15)
        for _, r in pred[(pred.video == video) & (pred.type == t)].iterrows():
            ax.plot([r.onset, r.offset], [-0.05 * max(sc[t].max(), 1e-6)] * 2, color=c, lw=4, solid_capstyle="butt")
    ax.set_xlabel("frame")
    ax.set_ylabel("score (px)")
    ax.set_title(f"{video}: shaded = ground truth, bars = spotted", fontsize=9)
    ax.legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    with atomic_path(out_png) as tmp:
        fig.savefig(tmp, dpi=80)
    plt.close(fig)
