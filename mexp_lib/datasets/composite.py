"""The MEGC 2019 composite set: 442 clips of CASME II, SAMM and SMIC-HS in 3 classes.

The list comes in three layouts, all read here: ``combined_3class_gt.csv`` (no header:
``db,subject,clip,label``), the same with a header ``data,subject,clip,label``, and HTNet's
``combined_3_class2_for_optical_flow.csv`` (``dataset,sub,filename_o,label,...,imagename``).
Labels are 0 = negative, 1 = positive, 2 = surprise (the composite's fixed mapping: negative =
anger, contempt, disgust, fear, repression, sadness; positive = happiness; surprise).

With ``sources`` (per database: ``format``-specific ``annotations`` and ``root``), each listed clip
is looked up in its database's own sheet for frames and onset/apex/offset; a listed clip that
sheet lacks, or whose sheet emotion maps to another class, is a bad row. Without it the samples carry no frames (onset = apex = offset = -1):
enough for evaluating precomputed inputs (:mod:`mexp_lib.datasets.precomputed`).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from mexp_lib.datasets.classes import CLASS_SETS
from mexp_lib.datasets.ids import smic_clip, subject_id
from mexp_lib.datasets.sheets import clean_str, read_sheet
from mexp_lib.datasets.table import LoadReport, bad_row, finish_table
from mexp_lib.errors import DataError

LABELS = {0: "negative", 1: "positive", 2: "surprise"}
DATABASES = ("casme2", "samm", "smic")


def composite_key(db: str, subject: str, clip: str) -> str:
    """The video id a database loader gives this clip (``sub01_EP02_01f``, ``006_1_2``, ``s01_ne_01``)."""
    if db == "casme2":
        return f"{subject}_{clip}"
    return smic_clip(clip) if db == "smic" else clip


def read_composite_list(path: str | Path, raw: pd.DataFrame | None = None) -> pd.DataFrame:
    """The list as ``db, subject, clip, label, emotion, row`` (canonical ids; ``emotion`` from
    the 0/1/2 label, empty when the label is not one of them; ``row`` = file line). ``raw``: the
    file already read with ``header=None, dtype=str``."""
    src = str(path)
    raw = read_sheet(path, header=None, dtype=str, keep_default_na=False) if raw is None else raw
    first = [c.strip().lower() for c in raw.iloc[0]]
    has_header = "label" in first
    if has_header:
        cols = {"db": first.index("dataset") if "dataset" in first else first.index("data"),
                "subject": first.index("sub") if "sub" in first else first.index("subject"),
                "clip": first.index("filename_o") if "filename_o" in first else first.index("clip"),
                "label": first.index("label")}
        raw = raw.iloc[1:]
    else:
        if raw.shape[1] < 4:
            raise DataError(f"{src}: expected columns db,subject,clip,label")
        cols = {"db": 0, "subject": 1, "clip": 2, "label": 3}
    out = pd.DataFrame({k: raw.iloc[:, j].map(clean_str).values for k, j in cols.items()})
    out["row"] = range(2 if has_header else 1, len(out) + (2 if has_header else 1))
    out["db"] = out["db"].str.lower()
    bad = out[~out["db"].isin(DATABASES)]
    if len(bad):
        raise DataError(f"{src}: row {bad['row'].iloc[0]}: database {bad['db'].iloc[0]!r} is not one of {DATABASES}")
    out["subject"] = [subject_id(d, s) for d, s in zip(out["db"], out["subject"], strict=True)]
    out["clip"] = [smic_clip(c) if d == "smic" else c for d, c in zip(out["db"], out["clip"], strict=True)]
    out["emotion"] = [LABELS[int(v)] if v.isdigit() and int(v) in LABELS else "" for v in out["label"]]
    return out


def load_composite(
    annotations: str | Path,
    *,
    dataset: str = "megc2019",
    sources: dict[str, pd.DataFrame] | None = None,
    on_bad_row: str = "error",
    report: LoadReport | None = None,
    listed: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Load the composite list; with ``sources`` (database -> its sample table, as
    :func:`mexp_lib.datasets.load.load_dataset` gives it), join each clip to its database's sheet.
    ``listed``: the list already read by :func:`read_composite_list`."""
    report = report if report is not None else LoadReport()
    src = str(annotations)
    lst = read_composite_list(annotations) if listed is None else listed
    sheets: dict[str, pd.DataFrame] = {}
    for db, table in (sources or {}).items():
        if db not in DATABASES:
            raise DataError(f"{src}: sources.{db}: not one of {DATABASES}")
        sheets[db] = table.set_index("video")
    rows = []
    for r in lst.itertuples(index=False):
        emotion = r.emotion
        if not emotion:
            bad_row(src, r.row, f"label {r.label!r} is not 0, 1 or 2", on_bad_row, report)
            continue
        key = composite_key(r.db, r.subject, r.clip)
        row: dict[str, object] = {
            "_row": r.row, "dataset": dataset, "subject": r.subject, "video": key, "sample": key, "frames": "",
            "numbering": "filename", "fps": {"casme2": 200.0, "samm": 200.0, "smic": 100.0}[r.db],
            "onset": -1, "apex": -1, "offset": -1, "type": "micro", "emotion": emotion,
            "objective_class": "", "aus": "", "task": "recognition", "source": r.db,
        }
        if r.db in sheets:
            if key not in sheets[r.db].index:
                bad_row(src, r.row, f"{r.db} clip {r.subject}/{r.clip} is not in that database's sheet", on_bad_row, report)
                continue
            s = sheets[r.db].loc[key]
            sheet_class = CLASS_SETS["composite3"].mapping.get(str(s["emotion"]))
            if sheet_class != emotion:
                bad_row(src, r.row, f"{r.db} clip {r.subject}/{r.clip}: listed as {emotion} but its sheet says {s['emotion']!r}", on_bad_row, report)
                continue
            row.update({k: s[k] for k in ("frames", "numbering", "fps", "onset", "apex", "offset", "objective_class", "aus")})
        rows.append(row)
    return finish_table(rows, src, on_bad_row, report)
