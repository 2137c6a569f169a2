"""Reading annotation sheets (.xlsx, .xls, .csv) with errors that name the file."""

from __future__ import annotations

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
            return pd.read_csv(p, **kwargs)
        engine = "xlrd" if p.suffix.lower() == ".xls" else "openpyxl"
        return pd.read_excel(p, sheet_name=sheet, engine=engine, **kwargs)
    except (ValueError, OSError, KeyError) as e:
        raise DataError(f"{p}: cannot read sheet {sheet!r}: {e}") from e


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
