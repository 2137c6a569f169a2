"""MMEW micro-expressions.

``MMEW_Micro_Exp`` sheet: ``Subject, Filename (S01-01-001), OnsetFrame, ApexFrame, OffsetFrame,
Action Units, Estimated Emotion, remarks``. Clips are stored by emotion,
``<root>/<emotion>/S01-01-001/1.jpg``, numbered by file name. Subjects are ``S01``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from mexp_lib.datasets.sheets import clean_str, read_table_with_header, require_columns
from mexp_lib.datasets.table import LoadReport, coded_rows, finish_table, locate_frames


def load_mmew(
    annotations: str | Path,
    *,
    dataset: str = "mmew",
    root: str | Path | None = None,
    fps: float = 90.0,
    on_bad_row: str = "error",
    report: LoadReport | None = None,
) -> pd.DataFrame:
    """Load the MMEW micro-expression sheet."""
    report = report if report is not None else LoadReport()
    src = str(annotations)
    df, header_row = read_table_with_header(annotations, ["Subject", "Filename", "OnsetFrame"])
    require_columns(df, ["Subject", "Filename", "OnsetFrame", "ApexFrame", "OffsetFrame", "Estimated Emotion"], src)
    rows = []
    for row_id, r, frames in coded_rows(df, ("OnsetFrame", "ApexFrame", "OffsetFrame"), src=src, first_row=header_row + 1, required=("Filename",),
                                        on_bad_row=on_bad_row, report=report):
        clip = clean_str(r["Filename"])
        emotion = clean_str(r["Estimated Emotion"]).lower()
        path = locate_frames(root, [f"{emotion}/{clip}", clip], src, row_id, on_bad_row, report, unique_name=clip)
        if path is None:
            continue
        subj = clean_str(r["Subject"])
        rows.append({
            "_row": row_id, "dataset": dataset, "subject": f"S{int(subj):02d}" if subj.isdigit() else subj, "video": clip, "sample": clip,
            "frames": str(path), "numbering": "filename", "fps": float(fps),
            "onset": frames[0], "apex": frames[1], "offset": frames[2], "type": "micro", "emotion": emotion,
            "objective_class": "", "aus": clean_str(r.get("Action Units", "")), "task": "recognition",
        })
    return finish_table(rows, src, on_bad_row, report, root=root)
