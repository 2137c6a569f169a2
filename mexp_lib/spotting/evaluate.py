"""The ``evaluate_spotting`` stage (spotted intervals against the annotations) and the score
timelines of the spotted videos."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mexp_lib.io.atomic import atomic_path, write_csv
from mexp_lib.metrics import spotting_scores
from mexp_lib.provenance import write_provenance
from mexp_lib.report import provenance_notes, write_table_html

# The settings the stage reads (mexp_lib.stages): the IoU, and the sections its provenance record
# holds (so the record changes, and the stage reruns, with any of them).
EVALUATE_SPOTTING_READS = ("evaluation", "face", "spotting")


def evaluate_spotting(gt: pd.DataFrame, pred: pd.DataFrame, *, cfg: Any, out_csv: str | Path, out_provenance: str | Path, iou: float = 0.5, out_html: str | Path | None = None) -> pd.DataFrame:
    """Spotting metric table (per type and ``all``) and its provenance; ``out_html``: the table
    as a page for the Snakemake report."""
    table = spotting_scores(gt, pred, threshold=iou)
    write_csv(table, out_csv)
    prov = write_provenance(out_provenance, cfg=cfg, seeds=[], extra={"videos": int(gt.video.nunique()), "gt_intervals": len(gt), "predicted_intervals": len(pred), "iou": iou})
    if out_html is not None:
        notes = [f"{gt.video.nunique()} videos, {len(gt)} ground-truth intervals, {len(pred)} spotted",
                 f"MEGC 2020/2021: a spotted interval is a true positive when its IoU with a ground-truth interval of the same type is at least {iou}; counts pooled over videos",
                 *provenance_notes(prov)]
        write_table_html(table, out_html, title="Spotting: intervals against the annotations", notes=notes)
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
