"""SAMM (micro-expression sheet) and SAMM Long Videos.

**SAMM** ``SAMM_Micro_FACS_Codes_v2.xlsx``, sheet ``MICRO_ONLY``: 13 preamble lines (title,
citation notes, symbol key), then the header ``Subject, Filename, Inducement Code, Onset Frame,
Apex Frame, Offset Frame, Duration, Micro, Action Units, Estimated Emotion, Objective Classes,
Notes``. Copies re-saved as CSV drop the preamble; the header row is found wherever it is.
Clips live in ``<root>/006/006_1_2/`` and frames are numbered by file name (``006_05562.jpg``).

**SAMM-LV** (``SAMM_LongVideos_V2``): 9 preamble lines in the official release, none in the
cleaned copies; columns ``Subject, Filename (006_1_2 = video 006_1, expression 2), Inducement
Code, Onset, Apex, Offset, Duration, Type (Macro / Micro - 1/2), Action Units, Notes``. Quirks:
143 macro rows have fractional frames (``566.4``): ``fractional: floor`` (default) truncates
them as the field's code does (``int()`` in TSMSNet, whose logs list GT 566-743), ``round``
rounds; 10 macro rows
have ``Onset = 0`` (the expression began before the recording). ``zero_onset: keep`` keeps them
(onset 0, as the sheet says); ``drop`` removes them and records each, as SoftNet/MEAN do;
``apex`` starts them at their apex, as TSMSNet's evaluation did.
Filename ``037_4_1`` is used twice (once Micro, once Macro, overlapping frames): such a name
gets its type appended (``037_4_1_micro``) so that sample ids stay unique. Videos live in
``<root>/006_1/006_1_0001.jpg``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from mexp_lib.datasets.ids import subject_id
from mexp_lib.datasets.sheets import clean_str, read_table_with_header, require_columns
from mexp_lib.datasets.table import LoadReport, bad_row, coded_rows, expression_type, finish_table, locate_frames


def load_samm(
    annotations: str | Path,
    *,
    dataset: str = "samm",
    root: str | Path | None = None,
    fps: float = 200.0,
    on_bad_row: str = "error",
    report: LoadReport | None = None,
) -> pd.DataFrame:
    """Load the SAMM micro-expression sheet (with or without its preamble)."""
    report = report if report is not None else LoadReport()
    src = str(annotations)
    df, header_row = read_table_with_header(annotations, ["Subject", "Filename", "Onset Frame"])
    require_columns(df, ["Subject", "Filename", "Onset Frame", "Apex Frame", "Offset Frame", "Estimated Emotion"], src)
    rows = []
    for row_id, r, frames in coded_rows(df, ("Onset Frame", "Apex Frame", "Offset Frame"), src=src, first_row=header_row + 1, required=("Filename",),
                                        on_bad_row=on_bad_row, report=report):
        subject, clip = subject_id("samm", r["Subject"]), clean_str(r["Filename"])
        path = locate_frames(root, [f"{subject}/{clip}", clip], src, row_id, on_bad_row, report, unique_name=clip)
        if path is None:
            continue
        rows.append({
            "_row": row_id, "dataset": dataset, "subject": subject, "video": clip, "sample": clip,
            "frames": str(path), "numbering": "filename", "fps": float(fps),
            "onset": frames[0], "apex": frames[1], "offset": frames[2], "type": "micro",
            "emotion": clean_str(r["Estimated Emotion"]).lower(),
            "objective_class": clean_str(r.get("Objective Classes", "")), "aus": clean_str(r.get("Action Units", "")),
            "task": "recognition",
        })
    return finish_table(rows, src, on_bad_row, report, root=root)


def load_samm_lv(
    annotations: str | Path,
    *,
    dataset: str = "samm_lv",
    root: str | Path | None = None,
    fps: float = 200.0,
    zero_onset: str = "keep",
    fractional: str = "floor",
    on_bad_row: str = "error",
    report: LoadReport | None = None,
) -> pd.DataFrame:
    """Load a SAMM Long Videos sheet (official preamble layout or the cleaned one)."""
    report = report if report is not None else LoadReport()
    src = str(annotations)
    df, header_row = read_table_with_header(annotations, ["Subject", "Filename", "Onset", "Type"])
    require_columns(df, ["Subject", "Filename", "Onset", "Apex", "Offset", "Type"], src)
    rows = []
    names = df["Filename"].map(clean_str)
    repeated = set(names[names.duplicated()])
    for row_id, r, frames in coded_rows(df, ("Onset", "Apex", "Offset"), src=src, first_row=header_row + 1, required=("Filename",),
                                        on_bad_row=on_bad_row, report=report, fractional=fractional):
        name = clean_str(r["Filename"])
        if frames[0] == 0 and zero_onset == "drop":
            report.skip(src, row_id, "Onset = 0 (expression began before the recording): dropped (zero_onset: drop)")
            continue
        if frames[0] == 0 and zero_onset == "apex" and frames[1] > 0:
            frames = (frames[1], frames[1], frames[2])
        etype = expression_type(r["Type"])
        if not etype:
            bad_row(src, row_id, f"Type {r['Type']!r} is neither Macro nor Micro", on_bad_row, report)
            continue
        video, _, _ = name.rpartition("_")
        path = locate_frames(root, [video], src, row_id, on_bad_row, report, unique_name=video)
        if path is None:
            continue
        rows.append({
            "_row": row_id, "dataset": dataset, "subject": subject_id("samm", r["Subject"]), "video": video,
            "sample": f"{name}_{etype}" if name in repeated else name,
            "frames": str(path), "numbering": "filename", "fps": float(fps),
            "onset": frames[0], "apex": frames[1], "offset": frames[2], "type": etype,
            "emotion": "", "objective_class": "", "aus": clean_str(r.get("Action Units", "")), "task": "spotting",
        })
    return finish_table(rows, src, on_bad_row, report, root=root)
