"""Metric tables as self-contained HTML pages, for ``snakemake --report``.

Snakemake's report shows images and HTML in place but offers CSV files only as downloads, so
every metric table is also written as one HTML page (inline style, no scripts, no external
resources) that the report displays: the numbers rounded for reading, ``mean ± std`` where a
``*_std`` column exists, the pooled rows in bold, and the provenance (config hash, code version,
seeds, sample counts) under the table. The CSV stays the file of record.
"""

from __future__ import annotations

import html
import math
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from mexp_lib.io.atomic import atomic_path

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 1.5em; color: #1f2933; }
h1 { font-size: 1.2em; margin: 0 0 0.6em 0; }
table { border-collapse: collapse; font-size: 0.9em; }
th, td { padding: 0.25em 0.8em; border-bottom: 1px solid #d9dee3; text-align: right; white-space: nowrap; }
th { background: #eef1f4; }
th:first-child, td:first-child { text-align: left; }
tr.pooled td { font-weight: bold; background: #f7f9fb; }
ul { font-size: 0.85em; color: #52606d; padding-left: 1.2em; }
"""


def format_cell(value: Any, digits: int = 3) -> str:
    """A table cell as text: floats rounded to ``digits``, NaN as an en dash, integers as is."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "–"
        return f"{value:.{digits}f}"
    return str(value)


def readable_table(table: pd.DataFrame, digits: int = 3) -> pd.DataFrame:
    """``table`` with every ``m`` / ``m_std`` column pair folded into one ``m`` column of
    ``"mean ± std"`` text (when any std is non-zero) and every value formatted by :func:`format_cell`."""
    out: dict[str, list[str]] = {}
    for col in table.columns:
        if col.endswith("_std") and col[: -len("_std")] in table.columns:
            continue
        values = [format_cell(v, digits) for v in table[col].tolist()]
        std = f"{col}_std"
        if std in table.columns and (table[std].fillna(0) != 0).any():
            values = [v if math.isnan(s) else f"{v} ± {s:.{digits}f}" for v, s in zip(values, table[std].astype(float), strict=True)]
        out[col] = values
    return pd.DataFrame(out, index=table.index)


def table_html(table: pd.DataFrame, *, title: str, notes: Iterable[str] = (), pooled: Sequence[str] = ("all",), digits: int = 3) -> str:
    """One self-contained HTML page showing ``table``.

    Rows whose first column is in ``pooled`` (the pooled ``all`` rows of the metric tables) are
    set in bold; ``notes`` are listed under the table (escaped, one item each).
    """
    shown = readable_table(table, digits)
    first = table.columns[0] if len(table.columns) else None
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in shown.columns)
    rows = []
    for i, (_, r) in enumerate(shown.iterrows()):
        cls = ' class="pooled"' if first is not None and str(table[first].iloc[i]) in pooled else ""
        rows.append(f"<tr{cls}>" + "".join(f"<td>{html.escape(v)}</td>" for v in r.tolist()) + "</tr>")
    items = "".join(f"<li>{html.escape(n)}</li>" for n in notes)
    return (
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>"
        f"<h1>{html.escape(title)}</h1><table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
        + (f"<ul>{items}</ul>" if items else "")
        + "</body></html>\n"
    )


def write_table_html(table: pd.DataFrame, path: str | Path, *, title: str, notes: Iterable[str] = (), pooled: Sequence[str] = ("all",)) -> None:
    """Write :func:`table_html` to ``path`` atomically (temporary name, then rename)."""
    text = table_html(table, title=title, notes=notes, pooled=pooled)
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def provenance_notes(prov: dict[str, Any]) -> list[str]:
    """Readable lines of a provenance record (see :func:`mexp_lib.provenance.write_provenance`)."""
    notes = [f"config hash {prov['config_hash']}, code version {prov['code_version']}"]
    seeds = prov.get("seeds") or []
    if len(seeds) == 1:
        notes.append(f"seed {seeds[0]}")
    elif seeds:
        notes.append(f"seeds {', '.join(str(s) for s in seeds)}: each metric is the mean over seeds ± their standard deviation")
    sheet = (prov.get("config") or {}).get("sheet_report") or {}
    if sheet.get("rows_skipped") or sheet.get("rows_fixed"):
        fixes = ", ".join(f"{k}: {v}" for k, v in (sheet.get("fixes") or {}).items())
        notes.append(f"annotation sheet: {sheet.get('rows_skipped', 0)} rows skipped, {sheet.get('rows_fixed', 0)} kept with a fix"
                     + (f" ({fixes})" if fixes else "") + " (rows listed in the provenance file)")
    return notes


def replace_generated_block(path: str | Path, begin: str, end: str, block: str) -> None:
    """Replace the text between the markers ``begin`` and ``end`` of a document (a README's table
    that a benchmark script writes) with ``block`` (which holds no marker); the file is rewritten
    atomically. A document without both markers is an error naming them."""
    from mexp_lib.errors import DataError

    text = Path(path).read_text()
    if begin not in text or end not in text.split(begin, 1)[1]:
        raise DataError(f"{path} has no {begin} ... {end} block")
    head, rest = text.split(begin, 1)
    with atomic_path(Path(path)) as tmp:
        Path(tmp).write_text(head + begin + "\n" + block.strip("\n") + "\n" + end + rest.split(end, 1)[1])


def read_runs(files: Sequence[str | Path], part: str) -> pd.DataFrame:
    """The rows of earlier benchmark runs (their ``--csv`` files), which must all be of ``part``."""
    from mexp_lib.errors import DataError

    table = pd.concat([pd.read_csv(f) for f in files], ignore_index=True)
    if set(table.part) != {part}:
        raise DataError(f"--from-csv: the files hold parts {sorted(set(table.part))}, not only {part!r}")
    return table


def append_row(csv: str | Path, row: dict[str, Any]) -> None:
    """Append one run's ``row`` to ``csv`` (a benchmark's running record), in the column order of
    the file's header when it exists (a file written by an earlier version of the script keeps
    its order); a header is written for a new file. A row whose keys differ from an existing
    header is refused, naming the file and the keys, before anything is written."""
    from mexp_lib.errors import DataError

    path = Path(csv)
    if path.exists() and path.stat().st_size > 0:
        columns = list(pd.read_csv(path, nrows=0).columns)
        if set(columns) != set(row):
            raise DataError(f"{path}: its columns {columns} are not this row's {list(row)} "
                            f"(missing here: {sorted(set(columns) - set(row))}; new: {sorted(set(row) - set(columns))})")
        pd.DataFrame([row])[columns].to_csv(path, mode="a", header=False, index=False)
    else:
        pd.DataFrame([row]).to_csv(path, index=False)


def add_run_arguments(parser: Any) -> None:
    """The options every realistic benchmark shares: ``--csv``, ``--readme``, ``--dry-run``,
    ``--from-csv``."""
    parser.add_argument("--csv", help="write the table here too")
    parser.add_argument("--readme", action="store_true", help="write the table into README.md (test part only)")
    parser.add_argument("--dry-run", action="store_true", help="check the inputs and settings, print the plan; run nothing")
    parser.add_argument("--from-csv", nargs="+", metavar="CSV", help="print (and with --readme write) the table of earlier runs' --csv files instead of running")


def publish_runs(table: pd.DataFrame, *, part: str, markdown: Any, write_readme: Any, csv: str | None = None, readme: bool = False) -> None:
    """Print a benchmark's table (``markdown(table)``), write its rows to ``csv``, and with
    ``readme`` write it into the README (``write_readme(table, part)``; the test part only: a
    development table is never published)."""
    from mexp_lib.errors import DataError

    print(markdown(table))
    if csv:
        table.to_csv(csv, index=False)
    if readme:
        if part != "test":
            raise DataError("--readme reports the test part only")
        write_readme(table, part)


def publish_earlier_runs(args: Any, *, script: str, markdown: Any, write_readme: Any) -> bool:
    """The shared start of a realistic benchmark's ``main``: ``--readme`` is refused for a part
    other than the test part before anything runs; with ``--from-csv`` the earlier runs' table is
    published instead of running (returns True: nothing left to do). Errors end the script with
    one line naming it."""
    from mexp_lib.errors import DataError

    if args.readme and args.part != "test":
        raise SystemExit(f"{script}: error: --readme reports the test part only")
    if not args.from_csv:
        return False
    try:
        publish_runs(read_runs(args.from_csv, args.part), part=args.part, markdown=markdown, write_readme=write_readme, readme=args.readme)
    except DataError as e:
        raise SystemExit(f"{script}: error: {e}") from None
    return True


def start_benchmark(args: Any, *, script: str, markdown: Any, write_readme: Any, faces: Path) -> bool:
    """The shared start of a realistic benchmark on the real face crops: :func:`publish_earlier_runs`
    (returns True when that leaves nothing to do), then the face crops' folder must exist and
    ``--set`` trial variants (where the script has the option) run on the development part only.
    Errors end the script with one line naming it (exit status 2)."""
    if publish_earlier_runs(args, script=script, markdown=markdown, write_readme=write_readme):
        return True
    if not Path(faces).is_dir():
        print(f"{script}: error: the real face crops are not at {faces}", file=sys.stderr)
        raise SystemExit(2)
    if getattr(args, "set", None) and args.part != "dev":
        raise SystemExit(f"{script}: error: --set: trial variants run on the development part only")
    return False
