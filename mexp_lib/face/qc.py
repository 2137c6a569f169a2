"""Face-stage quality control: per video, how the landmarks were obtained and how still the crop is."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from mexp_lib.face.align import STABLE, apply_transform, face_transform
from mexp_lib.io.atomic import atomic_path, write_csv
from mexp_lib.io.h5store import open_store, read_attrs
from mexp_lib.io.skip import skip_reason
from mexp_lib.report import write_table_html


def crop_jitter(points: np.ndarray, size: int = 128, margin: float = 0.1) -> float:
    """RMS frame-to-frame motion (px of a ``size`` crop) of the aligned crop window: how far the
    transform of frame i moves the stable points of frame i compared with the transform of
    frame i - 1. For a still face it is pure jitter; ``points``: (T, 68, 2) in frame pixels."""
    if len(points) < 2:
        return 0.0
    ms = [face_transform(p, size, margin) for p in points]
    d = [apply_transform(ms[i], points[i, STABLE]) - apply_transform(ms[i - 1], points[i, STABLE]) for i in range(1, len(ms))]
    return float(np.sqrt((np.asarray(d) ** 2).sum(-1).mean()))


def qc_table(landmark_files: Sequence[str], face_stores: Sequence[str]) -> pd.DataFrame:
    """One row per video: frames, detected, tracked, filled (interpolated), detection rate (over
    the frames the detector had to find the face on: every ``detect_every``-th frame of a long
    video, the frames tried for a clip's reference), crop jitter (:func:`crop_jitter`, px of the
    aligned crop; 0 for clips, aligned by one transform) and the skip reason if skipped."""
    rows = []
    for lj, fs in zip(landmark_files, face_stores, strict=False):
        video = Path(lj).stem
        reason = skip_reason(lj)
        if reason is not None:
            rows.append({"video": video, "frames": 0, "detected": 0, "tracked": 0, "filled": 0, "detection_rate": 0.0, "jitter_px": float("nan"), "skipped": reason})
            continue
        d = json.loads(Path(lj).read_text())
        how = [f["how"] for f in d["frames"]]
        n = len(how)
        detected = how.count("detected")
        if d["strategy"] == "long":  # the detector runs on every detect_every-th frame (and where the track is lost)
            keys = range(0, n, max(1, int(d["params"].get("detect_every", 10))))
            rate = sum(how[i] == "detected" for i in keys) / len(keys)
            crop = read_attrs(fs).get("params", {})  # the crop the jitter is measured in
            size, margin = int(crop.get("size", 128)), float(crop.get("margin", 0.1))
            jitter = crop_jitter(np.array([f["points"] for f in d["frames"]], np.float64), size, margin)
        else:  # frames tried until the reference face was found; one transform for the clip
            rate, jitter = 1.0 / (how.index("detected") + 1), 0.0
        rows.append({
            "video": video, "frames": len(how), "detected": detected, "tracked": how.count("tracked"), "filled": how.count("interpolated"),
            "detection_rate": rate,
            "jitter_px": jitter, "skipped": "",
        })
    return pd.DataFrame(rows)


def qc_grid(face_stores: Sequence[str], out_png: str | Path, *, per_row: int = 6) -> int:
    """A grid of aligned crops (the middle frame of each store) with their landmarks drawn in
    green and the video's name written on each tile; returns how many tiles it drew. When every
    video was skipped, the image says so instead (the report still has its figure)."""
    tiles = []
    for p in face_stores:
        if skip_reason(p) is not None:
            continue
        with open_store(p) as h:
            n = h["frames"].shape[0]
            img = h["frames"][n // 2]
            pts = h["landmarks"][n // 2]
        img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR) if img.ndim == 2 else img.copy()
        for x, y in pts:
            cv2.circle(img, (int(round(x)), int(round(y))), 1, (0, 255, 0), -1)
        _label(img, Path(p).stem)
        tiles.append(img)
    drawn = len(tiles)
    if tiles:
        while len(tiles) % per_row:
            tiles.append(np.zeros_like(tiles[0]))
        grid = np.vstack([np.hstack(tiles[i: i + per_row]) for i in range(0, len(tiles), per_row)])
    else:
        grid = np.full((64, 480, 3), 255, np.uint8)
        cv2.putText(grid, f"no aligned faces: all {len(face_stores)} videos skipped (see the QC table)", (8, 38),
                    cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 160), 1, cv2.LINE_AA)
    with atomic_path(out_png) as tmp:
        if not cv2.imwrite(str(tmp), grid):
            raise OSError(f"{out_png}: could not write the QC grid")
    return drawn


def qc_pages(face_stores: Sequence[str], out_dir: str | Path, *, per_page: int = 36, per_row: int = 6) -> list[Path]:
    """The crop grid of a dataset in pages of at most ``per_page`` videos (``crops_001.png``,
    ...; one page when every video was skipped), written to ``out_dir`` as a whole (temporary
    folder, then rename). Pages keep each figure viewable at full size: a dataset of 255 clips
    in one grid would be 5,000 px tall."""
    usable = [p for p in face_stores if skip_reason(p) is None]
    chunks = [usable[i: i + per_page] for i in range(0, len(usable), per_page)] or [list(face_stores)]
    with atomic_path(out_dir, directory=True) as tmp:
        for i, chunk in enumerate(chunks, 1):
            qc_grid(chunk, tmp / f"crops_{i:03d}.png", per_row=per_row)
    return [Path(out_dir) / f"crops_{i:03d}.png" for i in range(1, len(chunks) + 1)]


def _label(img: np.ndarray, text: str) -> None:
    """Write ``text`` in the top-left corner of a tile, white on a dark band, scaled to its width."""
    scale = max(0.3, img.shape[1] / 400)
    (w, h), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
    cv2.rectangle(img, (0, 0), (min(img.shape[1], w + 4), h + base + 4), (40, 40, 40), -1)
    cv2.putText(img, text, (2, h + 2), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 1, cv2.LINE_AA)


QC_NOTES = (
    "one row per video; frames: frames in the video; detected / tracked / filled: frames whose landmarks came from the detector, "
    "from tracking between detections (long videos), or were interpolated where no face was found",
    "detection_rate: share of the frames the detector had to find the face on (every detect_every-th frame of a long video; "
    "the frames tried for a clip's reference) where it did",
    "jitter_px: RMS frame-to-frame motion of the aligned crop, px (0 for clips, which are aligned by one transform); "
    "skipped: why a video was left out (face.on_missing_face: skip)",
)


# The settings the stage reads (mexp_lib.stages): none (it reads the face stages' files).
QC_FACES_READS: tuple[str, ...] = ()


def qc_faces(landmark_files: Sequence[str], face_stores: Sequence[str], *, out_csv: str | Path, out_crops: str | Path,
            out_html: str | Path | None = None) -> pd.DataFrame:
    """The face stage's QC of a dataset: the table (:func:`qc_table`) as CSV and, for the
    report, as HTML; the crop grid in pages (:func:`qc_pages`) in the folder ``out_crops``."""
    table = qc_table(landmark_files, face_stores)
    write_csv(table, out_csv)
    if out_html is not None:
        write_table_html(table, out_html, title="Face stage: quality control", notes=QC_NOTES, pooled=())
    qc_pages(face_stores, out_crops)
    return table
