"""SMIC: SMIC-E (HS/VIS/NIR, for spotting) and the cropped SMIC-HS clips (for recognition).

**SMIC-E** ``SMIC-HS-E_annotation.xlsx``: one sheet per camera (``HS``; ``VIS``, whose
annotations NIR shares -- the two cameras recorded together -- so ``NIR`` reads ``VIS`` when the
workbook has no NIR sheet). One row per long clip, holding up to three micro-expressions
``OnsetF/OffsetF``, ``Onset2F/Offset2F``, ``Onset3F/Offset3F`` (the older sheet has two), plus
``FirstF``/``LastF``, the clip's first and last frame. All frame numbers are **absolute camera
indices** (``17581039``), the numbers in the frame file names, so they are kept as they are
(``numbering: filename``); MEAN subtracts ``FirstF`` to get positions, which is the same frame.
There is no apex column. Each expression is one sample ``<clip>_<k>``.

**SMIC-HS cropped** (``HS_cropped.csv``-style: ``Subject, Filename, OnsetFrame, OffsetFrame,
Estimated Emotion``): one clip per expression, the 164 samples of the MEGC 2019 composite.

Subjects are ``s01``, clips ``s01_ne_01`` (sheets write ``s1_ne_01`` and ``20``); frame folders
are looked up by the sheet's own clip name anywhere under ``root``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from mexp_lib.datasets.ids import smic_clip, subject_id
from mexp_lib.datasets.sheets import clean_str, read_sheet, read_table_with_header, require_columns, sheet_names
from mexp_lib.datasets.table import LoadReport, finish_table, locate_frames, read_frames
from mexp_lib.errors import ConfigError, DataError

FPS = {"HS": 100.0, "VIS": 25.0, "NIR": 25.0}
_PAIRS = [("OnsetF", "OffsetF"), ("Onset2F", "Offset2F"), ("Onset3F", "Offset3F")]


def _sheet_name(path: str | Path, camera: str) -> str:
    names = sheet_names(path)
    if camera in names:
        return camera
    if camera == "NIR" and "VIS" in names:
        return "VIS"
    raise DataError(f"{path}: no sheet {camera!r} (sheets: {names})")


def load_smic(
    annotations: str | Path,
    *,
    dataset: str = "smic",
    root: str | Path | None = None,
    camera: str = "HS",
    fps: float | None = None,
    on_bad_row: str = "error",
    report: LoadReport | None = None,
) -> pd.DataFrame:
    """Load an SMIC-E annotation workbook (sheet of ``camera``) or a cropped-clip CSV."""
    report = report if report is not None else LoadReport()
    src = str(annotations)
    camera = str(camera).upper()  # the sheets are named HS / VIS; "hs" means the same camera
    if camera not in FPS:
        raise ConfigError(f"camera {camera!r}: unknown SMIC camera (known: {', '.join(FPS)})")
    rate = float(fps if fps is not None else FPS[camera])
    cropped = Path(annotations).suffix.lower() == ".csv"
    if cropped:
        df, header_row = read_table_with_header(annotations, ["Subject", "Filename", "OnsetFrame"])
        require_columns(df, ["Subject", "Filename", "OnsetFrame", "OffsetFrame", "Estimated Emotion"], src)
        pairs, emo_col = [("OnsetFrame", "OffsetFrame")], "Estimated Emotion"
    else:
        df = read_sheet(annotations, _sheet_name(annotations, camera))
        header_row = 1
        require_columns(df, ["Subject", "Filename", "OnsetF", "OffsetF", "FirstF", "Emotion"], src)
        pairs, emo_col = [p for p in _PAIRS if p[0] in df.columns], "Emotion"
    rows = []
    for i, r in df.iterrows():
        row_id = header_row + 1 + int(i)
        raw_clip = clean_str(r["Filename"])
        if not raw_clip:
            continue
        clip, subject = smic_clip(raw_clip), subject_id("smic", r["Subject"])
        path = locate_frames(root, [f"{subject}/{raw_clip}", raw_clip, clip], src, row_id, on_bad_row, report, unique_name=raw_clip)
        if path is None:
            continue
        for k, (c_on, c_off) in enumerate(pairs, start=1):
            if k > 1 and clean_str(r[c_on]) == "":
                continue  # fewer than three expressions in this clip
            frames = read_frames(r, (c_on, None, c_off), src, row_id, on_bad_row, report)
            if frames is None:
                continue
            rows.append({
                "_row": row_id, "dataset": dataset, "subject": subject, "video": clip,
                "sample": clip if cropped else f"{clip}_{k}", "frames": str(path), "numbering": "filename", "fps": rate,
                "onset": frames[0], "apex": -1, "offset": frames[2], "type": "micro",
                "emotion": clean_str(r[emo_col]).lower(), "objective_class": "", "aus": "",
                "task": "recognition" if cropped else "spotting",
            })
    return finish_table(rows, src, on_bad_row, report, root=root)
