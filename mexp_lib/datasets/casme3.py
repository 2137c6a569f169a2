"""CAS(ME)^3 part A.

Three sheets are in circulation, all ``Subject (spNO.1), Filename (a), Onset, Apex, Offset, AU,
Objective class``:

* ``CAS(ME)3_part_A_v2.xls`` sheet ``AU+Emotion``: every expression of the long videos, with
  ``Expression type`` (Macro-/Micro-expression) and no emotion -- the spotting ground truth;
* ``cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx`` sheet ``label``: the 860 micro-expressions with
  ``emotion`` (``Others`` and ``others`` both occur);
* ``cas(me)3_part_A_edited.csv``: 687 of them with ``emotion``, ``label_for_7``, ``label_for_3``.

A sheet with an emotion column loads as recognition samples (micro), one without as spotting
ground truth. Frames live in ``<root>/spNO.1/a/color/175.jpg`` (clip names such as ``a`` repeat
across subjects, so folders are never searched for by name).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from mexp_lib.datasets.sheets import clean_str, read_sheet, read_table_with_header, require_columns, sheet_names
from mexp_lib.datasets.table import LoadReport, bad_row, coded_rows, expression_type, finish_table, locate_frames


def _casme3_table(annotations: str | Path) -> tuple[pd.DataFrame, int]:
    p = Path(annotations)
    if p.suffix.lower() == ".csv":
        return read_table_with_header(p, ["Subject", "Filename", "Onset"])
    names = sheet_names(p)
    sheet = next((s for s in ("label", "AU+Emotion") if s in names), names[0])
    return read_sheet(p, sheet), 1


def load_casme3(
    annotations: str | Path,
    *,
    dataset: str = "casme3",
    root: str | Path | None = None,
    fps: float = 30.0,
    on_bad_row: str = "error",
    report: LoadReport | None = None,
) -> pd.DataFrame:
    """Load a CAS(ME)^3 part A sheet (ME labels for recognition, or all expressions for spotting)."""
    report = report if report is not None else LoadReport()
    src = str(annotations)
    df, header_row = _casme3_table(annotations)
    require_columns(df, ["Subject", "Filename", "Onset", "Apex", "Offset"], src)
    recognition = "emotion" in df.columns
    if not recognition:
        require_columns(df, ["Expression type"], src)
    rows = []
    count: dict[str, int] = {}
    for row_id, r, frames in coded_rows(df, ("Onset", "Apex", "Offset"), src=src, first_row=header_row + 1, required=("Subject", "Filename"),
                                        on_bad_row=on_bad_row, report=report):
        subject, clip = clean_str(r["Subject"]), clean_str(r["Filename"])
        if recognition:
            etype = "micro"
        else:
            etype = expression_type(r["Expression type"])
            if not etype:
                bad_row(src, row_id, f"Expression type {r['Expression type']!r} is neither Macro- nor Micro-expression", on_bad_row, report)
                continue
        path = locate_frames(root, [f"{subject}/{clip}/color", f"{subject}/{clip}"], src, row_id, on_bad_row, report)
        if path is None:
            continue
        video = f"{subject}_{clip}"
        count[video] = count.get(video, 0) + 1
        rows.append({
            "_row": row_id, "dataset": dataset, "subject": subject, "video": video,
            "sample": f"{video}_{frames[0]}" if recognition else f"{video}_{count[video]}",
            "frames": str(path), "numbering": "filename", "fps": float(fps),
            "onset": frames[0], "apex": frames[1], "offset": frames[2], "type": etype,
            "emotion": clean_str(r["emotion"]).lower() if recognition else "",
            "objective_class": clean_str(r.get("Objective class", "")), "aus": clean_str(r.get("AU", "")),
            "task": "recognition" if recognition else "spotting",
        })
    return finish_table(rows, src, on_bad_row, report, root=root)
