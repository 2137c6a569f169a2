"""The face stage as the workflow runs it: ``detect_landmarks`` then ``align_faces``."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from mexp_lib.errors import ConfigError, NoFaceError
from mexp_lib.face.align import apply_transform, face_transform, warp_face
from mexp_lib.face.landmarks import detect_video_landmarks, make_landmarker
from mexp_lib.io.frames import open_frames
from mexp_lib.io.h5store import write_store
from mexp_lib.io.landmarks_json import read_landmarks, write_landmarks
from mexp_lib.io.skip import skip_reason, write_skip
from mexp_lib.log import progress

logger = logging.getLogger(__name__)


def detect_landmarks(frames_path: str, *, video: str, numbering: str, strategy: str, face_cfg: dict[str, Any], out: str | Path) -> None:
    """Landmarks of one video to a landmark JSON (or a skip marker, per ``on_missing_face``)."""
    src = open_frames(frames_path, numbering=numbering)
    lm_engine = make_landmarker(face_cfg)
    try:
        lm = detect_video_landmarks(
            src, lm_engine, video=video, strategy=strategy, detect_every=face_cfg.get("detect_every", 10),
            smooth=face_cfg.get("smooth", 5), backend=face_cfg.get("backend", "dlib"), params=face_cfg,
        )
    except NoFaceError as e:
        policy = face_cfg.get("on_missing_face", "error")
        if policy == "error":
            raise
        if policy != "skip":
            raise ConfigError(f"face.on_missing_face must be 'error' or 'skip', not {policy!r}") from e
        logger.warning("skipping video %s: %s", video, e)
        write_skip(out, video, str(e))
        return
    n_det = sum(h == "detected" for h in lm.how)
    logger.info("%s: %d frames, %d detections (%s strategy)", video, len(lm.how), n_det, strategy)
    write_landmarks(lm, out)


def align_faces(frames_path: str, landmarks_json: str, *, numbering: str, face_cfg: dict[str, Any], out: str | Path) -> None:
    """Aligned, cropped faces of one video to an HDF5 store (``frames``, ``landmarks``...)."""
    reason = skip_reason(landmarks_json)
    if reason is not None:
        write_skip(out, Path(landmarks_json).stem, reason)
        return
    lm = read_landmarks(landmarks_json)
    src = open_frames(frames_path, numbering=numbering)
    if len(src) != len(lm.numbers):
        raise ConfigError(f"{landmarks_json}: has {len(lm.numbers)} frames but {frames_path} has {len(src)}")
    size, margin, grey = int(face_cfg.get("size", 128)), float(face_cfg.get("margin", 0.1)), bool(face_cfg.get("grey", True))
    n = len(src)
    crops = np.zeros((n, size, size) if grey else (n, size, size, 3), np.uint8)
    aligned_lm = np.zeros((n, 68, 2), np.float32)
    fixed = face_transform(lm.points[0], size, margin) if lm.strategy == "clip" else None
    for i, img in enumerate(progress(src.iter_frames(grey=grey), n, f"{lm.video}: aligning")):
        m = fixed if fixed is not None else face_transform(lm.points[i], size, margin)
        crops[i] = warp_face(img, m, size)
        aligned_lm[i] = apply_transform(m, lm.points[i])
    write_store(
        out, {"frames": crops, "numbers": lm.numbers, "landmarks": aligned_lm, "found": np.array([h != "interpolated" for h in lm.how])},
        {"stage": "faces", "video": lm.video, "strategy": lm.strategy}, params=face_cfg,
    )


def qc_grid(face_stores: list[str], out_png: str | Path, *, per_row: int = 6) -> None:
    """A grid of aligned crops (the middle frame of each store) with their landmarks drawn."""
    from mexp_lib.io.h5store import open_store

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
        tiles.append(img)
    if not tiles:
        return
    while len(tiles) % per_row:
        tiles.append(np.zeros_like(tiles[0]))
    rows = [np.hstack(tiles[i: i + per_row]) for i in range(0, len(tiles), per_row)]
    from mexp_lib.io.atomic import atomic_path

    with atomic_path(out_png) as tmp:
        cv2.imwrite(str(tmp), np.vstack(rows))
