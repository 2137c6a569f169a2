"""CAS(ME)^2 ``code_final`` sheets -- also the layout of the demo's long videos.

Two layouts of the same sheet are read: the official headerless one (MEGC 2021 ground truth)
and a re-saved one whose first row is ``###`` in every column. Columns, by position: subject
number, clip (``anger1_1`` = video ``anger1``, expression 1), onset, apex, offset (0 means "use
the apex as the end"), AUs, objective emotion, type (``macro-expression``/``Macro``...),
self-reported emotion. Sheet ``naming rule1`` maps subject ids (``15``, ``s15``) to subject
numbers; ``naming rule2`` maps video codes (``0101``) to video names (``disgust1``). Frames live
in ``<root>/s15/15_0101<description>/img1.jpg`` and are numbered by file name. Rows without a
clip name (the trailing summary rows of some copies) are ignored.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from mexp_lib.datasets.sheets import clean_str, read_sheet
from mexp_lib.datasets.table import LoadReport, bad_row, expression_type, finish_table, parse_frame
from mexp_lib.errors import DataError


def _numeric(v: object) -> bool:
    try:
        float(clean_str(v))
        return True
    except ValueError:
        return False


def load_casme_sq(
    annotations: str | Path,
    *,
    dataset: str = "casme_sq",
    root: str | Path | None = None,
    fps: float = 30.0,
    on_bad_row: str = "error",
    report: LoadReport | None = None,
) -> pd.DataFrame:
    """Load a CAS(ME)^2 ``code_final`` workbook into the sample table."""
    report = report if report is not None else LoadReport()
    src = str(annotations)
    main = read_sheet(annotations, 0, header=None)
    rule1 = read_sheet(annotations, "naming rule1", header=None)
    rule2 = read_sheet(annotations, "naming rule2", header=None)
    subj_of = {int(float(n)): f"s{int(float(clean_str(sid).lstrip('s'))):02d}" for sid, n in zip(rule1[0], rule1[2], strict=True) if _numeric(n) and _numeric(clean_str(sid).lstrip("s"))}
    code_of = {clean_str(name).lower(): f"{int(float(clean_str(code))):04d}" for code, name in zip(rule2[0], rule2[1], strict=True) if _numeric(code)}
    if not subj_of or not code_of:
        raise DataError(f"{src}: sheets 'naming rule1'/'naming rule2' hold no usable rows")
    rows = []
    for i, r in main.iterrows():
        row_id = int(i) + 1
        cells = [clean_str(v) for v in r.iloc[:9]]
        if cells[0] == "###" or not cells[1]:
            continue  # header-like '###' row or a trailing summary row
        try:
            subject = subj_of[int(float(cells[0]))]
        except (KeyError, ValueError):
            bad_row(src, row_id, f"subject {cells[0]!r} not in sheet 'naming rule1'", on_bad_row, report)
            continue
        name, _, idx = cells[1].rpartition("_")
        code = code_of.get(name.lower())
        if code is None:
            bad_row(src, row_id, f"video name {name!r} not in sheet 'naming rule2'", on_bad_row, report)
            continue
        onset, apex, offset = (parse_frame(r.iloc[c]) for c in (2, 3, 4))
        if onset is None or apex is None or offset is None:
            bad_row(src, row_id, f"onset/apex/offset {cells[2:5]} are not frame numbers", on_bad_row, report)
            continue
        if offset == 0:
            offset = apex
        etype = expression_type(cells[7])
        if not etype:
            bad_row(src, row_id, f"type {cells[7]!r} is neither macro nor micro", on_bad_row, report)
            continue
        sid = subject[1:]
        video = f"{subject}_{code}"
        frames_path: Path = Path(subject) / f"{sid}_{code}"
        if root is not None:
            hits = sorted((Path(root) / subject).glob(f"{sid}_{code}*"))
            if not hits:
                bad_row(src, row_id, f"no frames folder {Path(root) / subject / (sid + '_' + code)}*", on_bad_row, report)
                continue
            frames_path = hits[0]
        rows.append(
            {
                "_row": row_id, "dataset": dataset, "subject": subject, "video": video,
                "sample": f"{video}_{idx}", "frames": str(frames_path), "numbering": "filename", "fps": float(fps),
                "onset": onset, "apex": apex, "offset": offset, "type": etype,
                "emotion": cells[8].lower(), "objective_class": cells[6].lower(), "aus": cells[5], "task": "spotting",
            }
        )
    if not rows and not report.skipped:
        raise DataError(f"{src}: no expression rows found")
    return finish_table(rows, src, on_bad_row, report, root=root)
