"""Reading annotation sheets (.xlsx, .xls, .csv) with errors that name the file."""

from __future__ import annotations

import functools
import io
import os
from pathlib import Path
from typing import Any

import pandas as pd

from mexp_lib.errors import DataError


def read_sheet(path: str | Path, sheet: str | int = 0, **kwargs: Any) -> pd.DataFrame:
    """Read one sheet of an .xlsx/.xls workbook, or a .csv file, as a DataFrame."""
    p = Path(path)
    if not p.is_file():
        raise DataError(f"{p}: annotation file not found")
    try:
        if p.suffix.lower() == ".csv":
            return pd.read_csv(io.StringIO(csv_text(p)), lineterminator="\n", **kwargs)
        return pd.read_excel(p, sheet_name=sheet, engine=_engine(p), **kwargs)
    except (ValueError, OSError, KeyError) as e:
        raise DataError(f"{p}: cannot read sheet {sheet!r}: {e}") from e


def csv_text(path: Path) -> str:
    """The text of a CSV file with its rows ended by ``\\n`` only: ``\\r\\n`` line ends become
    ``\\n``; a lone ``\\r`` stays inside its cell (a spreadsheet writes one into a cell as a
    soft line break, unquoted), so a row is never split in two -- except in a file that has
    no ``\\n`` at all (old Mac line ends), where ``\\r`` ends the rows."""
    text = path.read_bytes().decode("utf-8-sig")
    text = text.replace("\r\n", "\n")
    return text if "\n" in text else text.replace("\r", "\n")


def _engine(p: Path) -> str:
    return "calamine" if p.suffix.lower() == ".xls" else "openpyxl"


def sheet_names(path: str | Path) -> list[str]:
    """The sheet names of a workbook (DataError naming the file when it cannot be read)."""
    p = Path(path)
    if not p.is_file():
        raise DataError(f"{p}: annotation file not found")
    try:
        return [str(n) for n in pd.ExcelFile(p, engine=_engine(p)).sheet_names]
    except (ValueError, OSError, KeyError) as e:
        raise DataError(f"{p}: cannot read workbook: {e}") from e


def require_columns(df: pd.DataFrame, columns: list[str], source: str) -> None:
    """Raise :class:`DataError` naming the file and the missing columns."""
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise DataError(f"{source}: missing column(s) {missing}; found {list(df.columns)}")


def clean_str(v: object) -> str:
    """A cell as a stripped string; NaN/None become ''; integral floats lose their '.0'."""
    if v is None or (isinstance(v, float) and pd.isna(v)):
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v).strip()


def read_table_with_header(path: str | Path, must: list[str], sheet: str | int = 0) -> tuple[pd.DataFrame, int]:
    """Read a sheet whose header row may follow a preamble (SAMM: 13 lines, SAMM-LV: 9).

    The header is the first row holding every name in ``must``. Returns the table (columns
    named by that row, stripped) and the 1-based spreadsheet row of the header, so that data
    row ``i`` (0-based) is spreadsheet row ``header_row + 1 + i``.
    """
    raw = read_sheet(path, sheet, header=None, dtype=object)  # (a CSV has one sheet: ``sheet`` is ignored)
    want = {m.lower() for m in must}
    for i in range(min(len(raw), 60)):
        names = [clean_str(v) for v in raw.iloc[i]]
        if want <= {n.lower() for n in names}:
            df = raw.iloc[i + 1 :].reset_index(drop=True)
            df.columns = [n if n else f"_blank{j}" for j, n in enumerate(names)]
            return df, i + 1
    raise DataError(f"{path}: no header row with columns {must} in the first 60 rows of sheet {sheet!r}")


def find_frames(root: str | Path, candidates: list[str], name: str | None = None) -> Path | None:
    """The first existing ``root/<candidate>``; else, when ``name`` is given (a name unique in
    the dataset), the first folder of that name anywhere under ``root`` (datasets nest clips by
    emotion or camera: ``HS/s1/micro/negative/s1_ne_01``)."""
    r = Path(root)
    for c in candidates:
        if (r / c).exists():
            return r / c
    if name is None or not r.is_dir():
        return None
    hits = _folder_index(str(r), r.stat().st_mtime_ns).get(name)
    return Path(hits) if hits else None


@functools.lru_cache(maxsize=8)
def _folder_index(root: str, _mtime: int) -> dict[str, str]:
    """Every folder under ``root`` by name (first in sorted walk order); built once per root."""
    index: dict[str, str] = {}
    for dirpath, dirnames, _ in os.walk(root):
        dirnames.sort()
        for d in dirnames:
            index.setdefault(d, os.path.join(dirpath, d))
    return index
