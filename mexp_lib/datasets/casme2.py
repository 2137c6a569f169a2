"""CASME II coding sheets (2014 and 2019) -- also the layout of the demo's short clips.

Sheet columns: ``Subject`` (``1`` or ``01``), ``Filename`` (``EP02_01f``), ``OnsetFrame``,
``ApexFrame``, ``OffsetFrame``, ``Action Units``, ``Estimated Emotion`` and, in the 2019 sheet,
``Objective Classes``. Frames live in ``<root>/sub01/EP02_01f/img46.jpg``: the sheet's frame
numbers are the numbers in the file names. Known quirk: the apex of sub04 EP12_01f is ``/``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from mexp_lib.datasets.ids import subject_id
from mexp_lib.datasets.sheets import clean_str, read_sheet, require_columns
from mexp_lib.datasets.table import LoadReport, coded_rows, finish_table, locate_frames

COLUMNS = ["Subject", "Filename", "OnsetFrame", "ApexFrame", "OffsetFrame", "Action Units", "Estimated Emotion"]


def load_casme2(
    annotations: str | Path,
    *,
    dataset: str = "casme2",
    root: str | Path | None = None,
    fps: float = 200.0,
    on_bad_row: str = "error",
    report: LoadReport | None = None,
) -> pd.DataFrame:
    """Load a CASME II coding sheet into the sample table (see :mod:`mexp_lib.datasets.table`)."""
    report = report if report is not None else LoadReport()
    df = read_sheet(annotations)
    src = str(annotations)
    require_columns(df, COLUMNS, src)
    rows = []
    for row_id, r, frames in coded_rows(df, ("OnsetFrame", "ApexFrame", "OffsetFrame"), src=src, first_row=2, required=("Subject",),
                                        on_bad_row=on_bad_row, report=report):
        subject = subject_id("casme2", clean_str(r["Subject"]))
        filename = clean_str(r["Filename"])
        video = f"{subject}_{filename}"
        frames_path = locate_frames(root, [f"{subject}/{filename}"], src, row_id, on_bad_row, report)
        if frames_path is None:
            continue
        rows.append(
            {
                "_row": row_id, "dataset": dataset, "subject": subject, "video": video, "sample": video,
                "frames": str(frames_path), "numbering": "filename", "fps": float(fps),
                "onset": frames[0], "apex": frames[1], "offset": frames[2], "type": "micro",
                "emotion": clean_str(r["Estimated Emotion"]).lower(),
                "objective_class": clean_str(r["Objective Classes"]) if "Objective Classes" in df.columns else "",
                "aus": clean_str(r["Action Units"]), "task": "recognition",
            }
        )
    return finish_table(rows, src, on_bad_row, report, root=root)
