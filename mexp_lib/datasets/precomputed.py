"""Precomputed inputs: a folder of onset->apex flow images with a label list, as a dataset.

Published methods ship their network inputs, not the videos; evaluating them needs no face or
motion stage. Each image holds optical flow u, v and optical strain as its R, G, B channels
(the STSTNet input), each min-max normalised to 0..255 per image -- the layout of HTNet's
``STSNet_whole_norm_u_v_os/`` (442 28x28 PNGs of the MEGC 2019 composite).

``annotations`` is either

* a MEGC 2019 composite list (any layout :func:`read_composite_list` reads, such as HTNet's
  ``combined_3_class2_for_optical_flow.csv``): the image of a clip is
  ``<root>/<subject>_<clip>.png`` with mexp's canonical ids (``sub01_EP02_01f``,
  ``006_006_1_2``, ``s01_s01_ne_01``); or
* a CSV ``subject,image,emotion[,dataset]``: ``image`` a file name under ``root``.

With a composite list, ``sources`` (as for the ``megc2019`` format: per database its
``format`` and ``annotations``) joins every clip to its database's own sheet, which checks the
label against that sheet and brings the clip's coded action units (``aus``, which the AU-fusion
model's auxiliary branch learns); SMIC codes none.

Samples have ``frames`` = the image file and no frame numbers (onset = apex = offset = -1).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from mexp_lib.datasets.composite import composite_key, load_composite, read_composite_list
from mexp_lib.datasets.sheets import clean_str, read_sheet, require_columns
from mexp_lib.datasets.table import LoadReport, bad_row, finish_table
from mexp_lib.errors import DataError
from mexp_lib.io.frames import IMAGE_EXTENSIONS


def _find_image(root: Path, stem_or_name: str) -> Path | None:
    p = root / stem_or_name
    if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file():
        return p
    for ext in IMAGE_EXTENSIONS:
        if (root / f"{Path(stem_or_name).stem}{ext}").is_file():
            return root / f"{Path(stem_or_name).stem}{ext}"
    return None


def load_precomputed(
    annotations: str | Path,
    *,
    dataset: str,
    root: str | Path,
    on_bad_row: str = "error",
    report: LoadReport | None = None,
    sources: dict[str, pd.DataFrame] | None = None,
) -> pd.DataFrame:
    """Load a folder of flow images and its label list into the sample table; ``sources``: the
    composite's per-database sample tables, as :func:`mexp_lib.datasets.composite.load_composite`
    takes them."""
    report = report if report is not None else LoadReport()
    src = str(annotations)
    r = Path(root)
    if not r.is_dir():
        raise DataError(f"{r}: folder of precomputed inputs not found")
    raw = read_sheet(annotations, header=None, dtype=str, keep_default_na=False)
    entries: list[tuple[int, str, str, str, str, str]] = []  # row, subject, image, emotion, source, AUs
    if "image" in {c.strip().lower() for c in raw.iloc[0]}:
        df = raw.iloc[1:].reset_index(drop=True)
        df.columns = [c.strip().lower() for c in raw.iloc[0]]
        require_columns(df, ["subject", "image", "emotion"], src)
        for i, row in df.iterrows():
            entries.append((int(i) + 2, clean_str(row["subject"]), clean_str(row["image"]), clean_str(row["emotion"]).lower(), clean_str(row.get("dataset", "")) or dataset, ""))
        if sources:
            raise DataError(f"{src}: sources: joins a MEGC 2019 composite list to its databases' sheets; this is a subject,image,emotion list")
    else:
        listed = read_composite_list(annotations, raw)
        joined = load_composite(annotations, dataset=dataset, sources=sources, on_bad_row=on_bad_row, report=report, listed=listed).set_index("sample") if sources else None
        for row in listed.itertuples(index=False):
            if not row.emotion:
                if joined is None:  # load_composite has reported it otherwise
                    bad_row(src, row.row, f"label {row.label!r} is not 0, 1 or 2", on_bad_row, report)
                continue
            key = composite_key(row.db, row.subject, row.clip)
            if joined is not None and key not in joined.index:
                continue  # a bad row of the join, already reported
            aus = str(joined.loc[key, "aus"]) if joined is not None else ""
            entries.append((row.row, row.subject, f"{row.subject}_{row.clip}", row.emotion, row.db, aus))
    rows = []
    for row_id, subject, image, emotion, source, aus in entries:
        path = _find_image(r, image)
        if path is None:
            bad_row(src, row_id, f"no image {image}(.png|.jpg) under {r}", on_bad_row, report)
            continue
        rows.append({
            "_row": row_id, "dataset": dataset, "subject": subject, "video": path.stem, "sample": path.stem,
            "frames": str(path), "numbering": "position", "fps": 0.0, "onset": -1, "apex": -1, "offset": -1,
            "type": "micro", "emotion": emotion, "objective_class": "", "aus": aus, "task": "recognition", "source": source,
        })
    return finish_table(rows, src, on_bad_row, report)
