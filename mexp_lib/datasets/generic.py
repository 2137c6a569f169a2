"""The ``generic`` format: a CSV and a folder of videos, for any dataset mexp has no loader for.

``annotations`` is a CSV with columns ``subject,video,onset,apex,offset,type,emotion`` (``apex``
and ``emotion`` may be empty; ``type`` is ``micro`` or ``macro``); frame numbers are 1-based and
inclusive. Each video is ``<root>/<video>/`` holding its frames as image files in name order, or a
video file ``<root>/<video>.<ext>``. ``task`` (from config) says whether the expressions are
recognised (``recognition``) or are the spotting ground truth of long videos (``spotting``). A
video may hold several expressions either way: each is a sample ``<video>_<k>`` (k-th row of that
video) and, for recognition, gets its own clip cut by its onset..offset; a video with one
expression is the sample ``<video>`` under ``recognition``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from mexp_lib.datasets.sheets import clean_str, read_sheet, require_columns
from mexp_lib.datasets.table import LoadReport, bad_row, finish_table, parse_frame
from mexp_lib.io.frames import VIDEO_EXTENSIONS

COLUMNS = ["subject", "video", "onset", "apex", "offset", "type", "emotion"]


def _video_path(root: Path, video: str) -> Path | None:
    if (root / video).is_dir():
        return root / video
    for ext in VIDEO_EXTENSIONS:
        for cand in (root / f"{video}{ext}", root / f"{video}{ext.upper()}"):
            if cand.is_file():
                return cand
    return None


def load_generic(
    annotations: str | Path,
    *,
    dataset: str,
    root: str | Path,
    fps: float,
    task: str = "recognition",
    on_bad_row: str = "error",
    report: LoadReport | None = None,
) -> pd.DataFrame:
    """Load a ``generic`` CSV into the sample table."""
    report = report if report is not None else LoadReport()
    src = str(annotations)
    df = read_sheet(annotations, dtype=str, keep_default_na=False)
    df.columns = [c.strip().lower() for c in df.columns]
    require_columns(df, COLUMNS, src)
    rows = []
    count: dict[str, int] = {}
    per_video = df["video"].map(clean_str).value_counts().to_dict()
    for i, r in df.iterrows():
        row_id = int(i) + 2
        video = clean_str(r["video"])
        if not video or video in (".", "..") or any(c in video for c in '/\\\0') or not clean_str(r["subject"]):
            bad_row(src, row_id, f"video {r['video']!r} / subject {r['subject']!r}: each must be a non-empty name, the video's without '/'", on_bad_row, report)
            continue
        onset, offset = parse_frame(r["onset"]), parse_frame(r["offset"])
        apex = parse_frame(r["apex"]) if clean_str(r["apex"]) else -1
        if onset is None or offset is None or apex is None:
            bad_row(src, row_id, f"onset/apex/offset {r['onset']!r}/{r['apex']!r}/{r['offset']!r} are not frame numbers", on_bad_row, report)
            continue
        if onset < 1 or (apex != -1 and apex < 1):
            bad_row(src, row_id, f"onset/apex/offset {onset}/{r['apex']!r}/{offset}: frames are numbered from 1", on_bad_row, report)
            continue
        etype = clean_str(r["type"]).lower()
        if etype not in ("micro", "macro"):
            bad_row(src, row_id, f"type {r['type']!r} must be 'micro' or 'macro'", on_bad_row, report)
            continue
        path = _video_path(Path(root), video)
        if path is None:
            named = Path(root, video)
            hint = (f" ({named} is a file: write the video id without its extension, {named.stem!r})"
                    if named.is_file() and named.suffix.lower() in VIDEO_EXTENSIONS else "")
            bad_row(src, row_id, f"no frames folder or video file for {video!r} under {root}{hint}", on_bad_row, report)
            continue
        count[video] = count.get(video, 0) + 1
        rows.append(
            {
                "_row": row_id, "dataset": dataset, "subject": clean_str(r["subject"]), "video": video,
                "sample": video if task == "recognition" and per_video[video] == 1 else f"{video}_{count[video]}",
                "frames": str(path), "numbering": "position", "fps": float(fps),
                "onset": onset, "apex": apex, "offset": offset, "type": etype,
                "emotion": clean_str(r["emotion"]).lower(), "objective_class": "", "aus": "", "task": task,
            }
        )
    return finish_table(rows, src, on_bad_row, report, root=root)
