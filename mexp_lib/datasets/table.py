"""The sample table: one row per annotated expression, the same columns for every dataset.

Columns (``SAMPLE_COLUMNS``):

=================  ===========================================================================
dataset            configured dataset name
subject            subject id as a string (``sub01``, ``006``, ``s15``)
video              video id, unique in the dataset and safe as a file name (``sub01_EP02_01f``)
sample             expression id, unique in the dataset (== video for short clips)
frames             folder of frames (or video file) of the video
numbering          how ``onset/apex/offset`` count frames: ``filename`` or ``position``
fps                frame rate of the video
onset, offset      first and last frame of the expression, inclusive, as the sheet counts
apex               apex frame, or -1 when the sheet gives none
type               ``micro`` or ``macro``
emotion            emotion as written in the sheet, lower-cased (``happiness``)
objective_class    objective class (``1``..``7`` or ``I``..``VII``) or empty
aus                action units as written (``4+10+14``) or empty
task               ``recognition`` (short clip, one expression) or ``spotting`` (long video)
source             database the sample comes from (``casme2``, ``samm``, ``smic`` in the MEGC
                   2019 composite); the dataset name for single-database sets
=================  ===========================================================================
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mexp_lib.datasets.sheets import clean_str, find_frames
from mexp_lib.errors import DataError

SAMPLE_COLUMNS = [
    "dataset", "subject", "video", "sample", "frames", "numbering", "fps",
    "onset", "apex", "offset", "type", "emotion", "objective_class", "aus", "task", "source",
]
INT_COLUMNS = ["onset", "apex", "offset"]


@dataclass
class LoadReport:
    """What a loader did to the sheet's rows, so that nothing is lost silently.

    ``skipped``: rows left out (malformed, under ``on_bad_row: skip``). ``fixed``: rows kept
    after handling a documented quirk of the official sheets (an apex that is not a frame
    number or lies outside its interval is marked unknown; an expression listed twice is kept
    once); these are handled whatever ``on_bad_row`` says, and counted apart from the skips.
    """

    skipped: list[dict[str, object]] = field(default_factory=list)
    fixed: list[dict[str, object]] = field(default_factory=list)

    def skip(self, source: str, row: object, problem: str) -> None:
        self.skipped.append({"source": source, "row": row, "problem": problem})

    def fix(self, source: str, row: object, problem: str, fix: str) -> None:
        self.fixed.append({"source": source, "row": row, "problem": problem, "fix": fix})

    def to_frame(self) -> pd.DataFrame:
        """Every row the loader did not take as it is: ``source, row, problem, action``, where
        ``action`` is ``skipped`` or what was kept (``kept, apex unknown (-1)``...)."""
        rows = [{**r, "action": "skipped"} for r in self.skipped]
        rows += [{"source": r["source"], "row": r["row"], "problem": r["problem"], "action": r["fix"]} for r in self.fixed]
        return pd.DataFrame(rows, columns=["source", "row", "problem", "action"])

    def counts(self) -> dict[str, object]:
        """``{"rows_skipped": n, "rows_fixed": m, "fixes": {fix: count}}`` for summaries and provenance."""
        return {"rows_skipped": len(self.skipped), "rows_fixed": len(self.fixed), "fixes": self._fix_counts()}

    def _fix_counts(self) -> dict[str, int]:
        """``{fix: count}`` over the rows kept with a fix."""
        fixes: dict[str, int] = {}
        for r in self.fixed:
            fixes[str(r["fix"])] = fixes.get(str(r["fix"]), 0) + 1
        return fixes

    def summary(self) -> str:
        """One line: ``2 rows skipped; 3 rows kept with a fix (kept, apex unknown (-1): 3)``."""
        fixes = "; ".join(f"{k}: {v}" for k, v in self._fix_counts().items())
        return f"{len(self.skipped)} rows skipped; {len(self.fixed)} rows kept with a fix" + (f" ({fixes})" if fixes else "")


APEX_UNKNOWN = "kept, apex unknown (-1)"
KEPT_ONCE = "duplicate, kept once"


def bad_row(source: str, row: object, problem: str, on_bad_row: str, report: LoadReport) -> None:
    """Raise :class:`DataError` naming file, row, problem and the ``on_bad_row`` option, or
    record the row as skipped (``on_bad_row: skip``)."""
    if on_bad_row == "error":
        raise DataError(f"{source}: row {row}: {problem} (on_bad_row: skip records such rows and goes on)")
    if on_bad_row != "skip":
        raise ValueError(f"on_bad_row must be 'error' or 'skip', not {on_bad_row!r}")
    report.skip(source, row, problem)


# What a subject, video or sample id may hold: it names files (results/flow/<dataset>/<chunk>/
# <sample>.h5) and fills Snakemake wildcards, so no path separator, no leading dot ('.', '..'),
# no braces, no space or non-ASCII letter (HDF5 stores ids as ASCII bytes).
SAFE_ID = re.compile(r"^[A-Za-z0-9_=@,+()-][A-Za-z0-9_.=@,+()-]*$")
SAFE_ID_CHARS = "ASCII letters, digits and _ - . + = @ , ( ), not starting with a dot"


def id_problem(value: str, what: str) -> str | None:
    """Why ``value`` cannot be a ``what`` id (subject, video, sample), or None when it can."""
    if SAFE_ID.match(value):
        return None
    bad = sorted({c for c in value if not re.match(r"[A-Za-z0-9_.=@,+()-]", c)})
    shown = f" (holds {', '.join(repr(c) for c in bad)})" if bad else ""
    return f"{what} id {value!r} cannot name a file or a wildcard{shown}: use {SAFE_ID_CHARS}"


def finish_table(rows: list[dict[str, Any]], source: str, on_bad_row: str, report: LoadReport, *, root: str | Path | None = None) -> pd.DataFrame:
    """Build the sample table from loader rows, checking ids (:data:`SAFE_ID`), the frame rate,
    frame order, that a video has one subject, and duplicate samples; with the dataset's
    ``root`` (its frames exist), that each interval lies within its folder's frames."""
    kept = []
    seen: dict[tuple[object, object], dict[str, object]] = {}
    owner: dict[object, tuple[object, object]] = {}  # video -> (subject, row)
    last_frames: dict[str, int | str | None] = {}  # frames folder -> its last frame number (or why it has none)
    for r in rows:
        row_id = r["_row"]
        fps = float(r["fps"])
        if not math.isfinite(fps) or fps < 0:  # (0: no video, precomputed flow images)
            raise DataError(f"{source}: row {row_id}: frame rate {fps!r} is not a finite positive number (datasets.<name>.fps)")
        problem = next((p for what in ("subject", "video", "sample") if (p := id_problem(str(r[what]), what))), None)
        if problem:
            bad_row(source, row_id, problem, on_bad_row, report)
            continue
        first = owner.setdefault(r["video"], (r["subject"], row_id))
        if first[0] != r["subject"]:
            bad_row(source, row_id, f"video {r['video']} is listed under subject {r['subject']!r} here and under {first[0]!r} in row {first[1]}: "
                    "a video belongs to one subject (a leave-one-subject-out fold would train on its own clip)", on_bad_row, report)
            continue
        on, ap, off = int(r["onset"]), int(r["apex"]), int(r["offset"])
        past = _past_last_frame(str(r["frames"]), str(r["numbering"]), on, off, last_frames) if root is not None else None
        if past:
            bad_row(source, row_id, past, on_bad_row, report)
            continue
        if on > off:
            bad_row(source, row_id, f"onset {on} > offset {off}", on_bad_row, report)
            continue
        if ap != -1 and not on <= ap <= off:
            # The interval is still valid ground truth (CAS(ME)^2 has 4 such rows, one with apex
            # 0; SAMM's CSV copy 2 typos): the row is kept with its apex marked unknown, recorded.
            report.fix(source, row_id, f"apex {ap} outside [onset {on}, offset {off}]", APEX_UNKNOWN)
            r["apex"] = -1
        key = (r["video"], (on, off))
        if key in seen:
            content = {k: v for k, v in r.items() if k not in ("sample", "_row")}
            if content == seen[key]:  # SMIC-E HS s09_sur_01 lists one expression twice
                report.fix(source, row_id, f"video {r['video']} frames {on}-{off} listed twice", KEPT_ONCE)
            else:
                bad_row(source, row_id, f"duplicate sample: video {r['video']} frames {on}-{off} appear twice, coded differently", on_bad_row, report)
            continue
        seen[key] = {k: v for k, v in r.items() if k not in ("sample", "_row")}
        kept.append(r)
    for r in kept:
        r.setdefault("source", r["dataset"])
    df = pd.DataFrame(kept, columns=SAMPLE_COLUMNS)  # (the "_row" key is not a column)
    for c in INT_COLUMNS:
        df[c] = df[c].astype("int64")
    df["fps"] = df["fps"].astype(float)
    if df.empty:
        raise DataError(f"{source}: no usable samples")
    check_unique_samples(df, source, rows=[r["_row"] for r in kept])
    return df.reset_index(drop=True)


def last_frame(frames: str, numbering: str) -> int | str | None:
    """The last frame number of a frames folder as a sheet counts (``numbering``), the problem
    with the folder (a message) when its frames cannot be numbered, or None when it holds no
    frames to count (a video file, counted only by decoding it; an empty folder, which the
    face stage names)."""
    from mexp_lib.io.frames import IMAGE_EXTENSIONS, open_frames

    p = Path(frames)
    if not p.is_dir() or not any(f.suffix.lower() in IMAGE_EXTENSIONS for f in p.iterdir()):
        return None

    try:
        return int(open_frames(frames, numbering=numbering).numbers.max())
    except DataError as e:
        return str(e)


def _past_last_frame(frames: str, numbering: str, onset: int, offset: int, cache: dict[str, int | str | None]) -> str | None:
    """Why an interval cannot be cut from its frames (past the last frame, or an unusable
    folder), or None."""
    if frames not in cache:
        cache[frames] = last_frame(frames, numbering)
    last = cache[frames]
    if isinstance(last, str):
        return last
    if last is not None and max(onset, offset) > last:
        return f"frames {onset}-{offset} run past the last frame ({last}) of {frames}"
    return None


def check_unique_samples(samples: pd.DataFrame, source: str, rows: list[object] | None = None) -> None:
    """Sample ids are unique in a dataset (every per-sample file is named by its id): a
    :class:`DataError` naming the two rows that share one. ``rows``: the sheet row of each
    sample (default: the sample table's own 0-based positions)."""
    def where(k: int) -> str:
        r = samples.iloc[k]
        name = f"row {rows[k]}" if rows is not None else f"sample-table row {k}"
        return f"{name} (video {r['video']}, frames {r['onset']}-{r['offset']})"

    first: dict[str, int] = {}
    for i, s in enumerate(samples["sample"].astype(str)):
        if s in first:
            raise DataError(f"{source}: sample id {s!r} is not unique: {where(first[s])} and {where(i)}")
        first[s] = i


def parse_frame(value: object, fractional: str = "round") -> int | None:
    """A frame number from a sheet cell: ints, integral floats, numeric strings; else None.

    Fractional values (SAMM-LV has ``566.4``) are rounded to the nearest frame
    (``fractional="round"``) or truncated (``"floor"``, what the field's code does with ``int()``).
    """
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    if isinstance(value, str):
        value = value.strip()
        try:
            value = float(value)
        except ValueError:
            return None
    try:
        f = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    if not np.isfinite(f) or abs(f) >= 2**53:  # nan, inf, or beyond any frame count
        return None
    return int(np.floor(f)) if fractional == "floor" else int(round(f))


def read_frames(
    r: pd.Series, columns: tuple[str, str | None, str], src: str, row_id: object, on_bad_row: str, report: LoadReport,
    fractional: str = "round",
) -> tuple[int, int, int] | None:
    """(onset, apex, offset) of a sheet row; None (after :func:`bad_row`) when unusable.

    ``columns`` names the onset, apex (None when the sheet has none) and offset columns. A
    missing apex cell gives -1; a non-numeric apex (CASME II's ``/``) gives -1 too, recorded
    in ``report.fixed`` -- onset and offset still define the sample.
    """
    c_on, c_ap, c_off = columns
    onset, offset = parse_frame(r[c_on], fractional), parse_frame(r[c_off], fractional)
    if onset is None or offset is None:
        bad_row(src, row_id, f"{c_on}={r[c_on]!r} / {c_off}={r[c_off]!r}: not frame numbers", on_bad_row, report)
        return None
    apex = -1
    if c_ap is not None:
        cell = r[c_ap]
        empty = cell is None or (isinstance(cell, float) and pd.isna(cell)) or str(cell).strip() == ""
        if not empty:
            parsed = parse_frame(cell, fractional)
            if parsed is None:  # CASME II's '/' (sub04 EP12_01f): onset and offset still define the sample
                report.fix(src, row_id, f"{c_ap}={cell!r} is not a frame number", APEX_UNKNOWN)
            else:
                apex = parsed
    return onset, apex, offset


def coded_rows(
    df: pd.DataFrame, frame_columns: tuple[str, str | None, str], *, src: str, first_row: int, required: tuple[str, ...],
    on_bad_row: str, report: LoadReport, fractional: str = "round",
) -> Iterator[tuple[int, pd.Series, tuple[int, int, int]]]:
    """The coded expressions of a sheet: ``(spreadsheet row, row, (onset, apex, offset))``.

    ``first_row``: the spreadsheet row of ``df``'s first row. Rows with an empty cell in any of
    ``required`` (summary or blank rows) are passed over; rows whose frames do not parse are
    bad rows (:func:`read_frames`)."""
    for i, r in df.iterrows():
        row_id = first_row + int(i)
        if any(not clean_str(r[c]) for c in required):
            continue
        frames = read_frames(r, frame_columns, src, row_id, on_bad_row, report, fractional)
        if frames is not None:
            yield row_id, r, frames


def expression_type(text: object) -> str:
    """``macro`` / ``micro`` from a sheet's type cell (``Macro``, ``micro-expression``...), or
    ``""`` when it is neither."""
    t = clean_str(text).lower()
    return "macro" if t.startswith("macro") else "micro" if t.startswith("micro") else ""


def locate_frames(
    root: str | Path | None, candidates: list[str], src: str, row_id: object, on_bad_row: str, report: LoadReport,
    *, unique_name: str | None = None,
) -> Path | None:
    """A sample's frames folder: ``candidates[0]`` relative to the dataset root when there is no
    ``root``; else the first that exists under ``root`` (or the folder ``unique_name`` anywhere
    below it, see :func:`find_frames`). None, after :func:`bad_row`, when none exists."""
    if root is None:
        return Path(candidates[0])
    path = find_frames(root, candidates, unique_name)
    if path is None:
        bad_row(src, row_id, f"no frames folder for {unique_name or candidates[0]} under {root}", on_bad_row, report)
    return path


def videos(samples: pd.DataFrame) -> pd.DataFrame:
    """One row per video: dataset, subject, video, frames, numbering, fps, task."""
    cols = ["dataset", "subject", "video", "frames", "numbering", "fps", "task"]
    return samples[cols].drop_duplicates("video").reset_index(drop=True)


TEXT_COLUMNS = ["dataset", "subject", "video", "sample", "frames", "numbering", "type", "emotion", "objective_class", "aus", "task", "source"]


def read_sample_table(path: str | Path) -> pd.DataFrame:
    """Read a sample table CSV written by the workflow: text columns stay text (``006`` stays
    ``006``, an AU cell ``12`` stays ``"12"``, empty cells stay ``""``)."""
    return pd.read_csv(path, dtype={c: str for c in TEXT_COLUMNS}, keep_default_na=False)
