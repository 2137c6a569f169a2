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
=================  ===========================================================================
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from mexp_lib.errors import DataError

SAMPLE_COLUMNS = [
    "dataset", "subject", "video", "sample", "frames", "numbering", "fps",
    "onset", "apex", "offset", "type", "emotion", "objective_class", "aus", "task",
]
INT_COLUMNS = ["onset", "apex", "offset"]


@dataclass
class LoadReport:
    """What a loader dropped and why, so that nothing is lost silently."""

    skipped: list[dict[str, object]] = field(default_factory=list)

    def skip(self, source: str, row: object, problem: str) -> None:
        self.skipped.append({"source": source, "row": row, "problem": problem})

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.skipped, columns=["source", "row", "problem"])


def bad_row(source: str, row: object, problem: str, on_bad_row: str, report: LoadReport) -> None:
    """Raise :class:`DataError` naming file, row and problem, or record a skip (``on_bad_row``)."""
    if on_bad_row == "error":
        raise DataError(f"{source}: row {row}: {problem}")
    if on_bad_row != "skip":
        raise ValueError(f"on_bad_row must be 'error' or 'skip', not {on_bad_row!r}")
    report.skip(source, row, problem)


def finish_table(rows: list[dict[str, object]], source: str, on_bad_row: str, report: LoadReport) -> pd.DataFrame:
    """Build the sample table from loader rows, checking frame order and duplicate samples."""
    kept = []
    seen: set[tuple[object, object]] = set()
    for r in rows:
        row_id = r.pop("_row")
        on, ap, off = int(r["onset"]), int(r["apex"]), int(r["offset"])
        if on > off:
            bad_row(source, row_id, f"onset {on} > offset {off}", on_bad_row, report)
            continue
        if ap != -1 and not on <= ap <= off:
            # The interval is still valid ground truth (CAS(ME)^2 has 4 such rows, one with apex
            # 0): under "skip" the row is kept with its apex marked unknown (-1), and recorded.
            bad_row(source, row_id, f"apex {ap} outside [onset {on}, offset {off}]; apex set to unknown (-1)", on_bad_row, report)
            r["apex"] = -1
        key = (r["video"], (on, off))
        if key in seen:
            bad_row(source, row_id, f"duplicate sample: video {r['video']} frames {on}-{off} appear twice", on_bad_row, report)
            continue
        seen.add(key)
        kept.append(r)
    df = pd.DataFrame(kept, columns=SAMPLE_COLUMNS)
    for c in INT_COLUMNS:
        df[c] = df[c].astype("int64")
    df["fps"] = df["fps"].astype(float)
    if df.empty:
        raise DataError(f"{source}: no usable samples")
    if df["sample"].duplicated().any():
        dup = df.loc[df["sample"].duplicated(), "sample"].iloc[0]
        raise DataError(f"{source}: sample id {dup!r} is not unique")
    return df.reset_index(drop=True)


def parse_frame(value: object) -> int | None:
    """A frame number from a sheet cell: ints, integral floats, numeric strings; else None.

    Fractional values (SAMM-LV has ``566.4``) are rounded to the nearest frame.
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
    if pd.isna(f):
        return None
    return int(round(f))


def videos(samples: pd.DataFrame) -> pd.DataFrame:
    """One row per video: dataset, subject, video, frames, numbering, fps, task."""
    cols = ["dataset", "subject", "video", "frames", "numbering", "fps", "task"]
    return samples[cols].drop_duplicates("video").reset_index(drop=True)
