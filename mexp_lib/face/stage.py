"""The face stage as the workflow runs it: ``detect_landmarks`` then ``align_faces``."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from mexp_lib.config import settings
from mexp_lib.errors import ConfigError, DataError
from mexp_lib.face.align import apply_transform, face_transform, warp_face
from mexp_lib.face.landmarks import detect_video_landmarks, make_landmarker
from mexp_lib.io.frames import open_frames
from mexp_lib.io.h5store import write_store
from mexp_lib.io.landmarks_json import read_landmarks, write_landmarks
from mexp_lib.io.skip import skip_reason, write_skip
from mexp_lib.log import progress

logger = logging.getLogger(__name__)

# The settings each stage reads (dotted config paths; mexp_lib.stages collects them): the
# workflow passes exactly these, so a change to one reruns the stage, and a change to another
# face key does not (a test checks both, and that the functions read no other key).
DETECT_LANDMARKS_READS = tuple(f"face.{k}" for k in ("backend", "cnn_model", "detect_every", "detect_size", "detector", "fan_weights",
                                                     "on_missing_face", "search_every", "shape_model", "smooth", "track_min_score", "upsample"))
ALIGN_FACES_READS = ("face.grey", "face.margin", "face.size")


def detect_landmarks(frames_path: str, *, video: str, numbering: str, strategy: str, face_cfg: dict[str, Any], out: str | Path) -> None:
    """Landmarks of one video to a landmark JSON, or, under ``on_missing_face: skip``, a skip
    marker with the reason when the video has no face or a frame that cannot be read;
    ``face_cfg``: the ``face`` section (missing keys take the schema's defaults)."""
    face_cfg = settings("face", face_cfg)
    lm_engine = make_landmarker(face_cfg)
    try:
        src = open_frames(frames_path, numbering=numbering)
        lm = detect_video_landmarks(
            src, lm_engine, video=video, strategy=strategy, detect_every=face_cfg["detect_every"],
            smooth=face_cfg["smooth"], search_every=face_cfg["search_every"], min_score=face_cfg["track_min_score"], backend=face_cfg["backend"], params=face_cfg,
        )
    except DataError as e:  # no face (NoFaceError), or a frame that cannot be read (corrupt, another size)
        skip_video(e, face_cfg, video, out)
        return
    n_det = sum(h == "detected" for h in lm.how)
    logger.info("%s: %d frames, %d detections (%s strategy)", video, len(lm.how), n_det, strategy)
    write_landmarks(lm, out)


def skip_video(error: DataError, face_cfg: dict[str, Any], video: str, out: str | Path) -> None:
    """``face.on_missing_face`` applied to a video the face stage cannot use (no face, a frame
    that cannot be read): ``error`` re-raises, ``skip`` writes a skip marker with the reason to
    ``out`` (later stages pass the video over) and logs a warning."""
    policy = face_cfg["on_missing_face"]
    if policy == "error":
        raise error
    if policy != "skip":
        raise ConfigError(f"face.on_missing_face must be 'error' or 'skip', not {policy!r}") from error
    logger.warning("skipping video %s: %s", video, error)
    write_skip(out, video, str(error))


def align_faces(frames_path: str, landmarks_json: str, *, numbering: str, face_cfg: dict[str, Any], out: str | Path) -> None:
    """Aligned, cropped faces of one video to an HDF5 store (``frames``, ``landmarks``...);
    ``face_cfg``: the ``face`` section (missing keys take the schema's defaults)."""
    face_cfg = settings("face", face_cfg)
    reason = skip_reason(landmarks_json)
    if reason is not None:
        write_skip(out, Path(landmarks_json).stem, reason)
        return
    lm = read_landmarks(landmarks_json)
    src = open_frames(frames_path, numbering=numbering)
    if len(src) != len(lm.numbers):
        raise ConfigError(f"{landmarks_json}: has {len(lm.numbers)} frames but {frames_path} has {len(src)}")
    size, margin, grey = int(face_cfg["size"]), float(face_cfg["margin"]), bool(face_cfg["grey"])
    n = len(src)
    crops = np.zeros((n, size, size) if grey else (n, size, size, 3), np.uint8)
    aligned_lm = np.zeros((n, 68, 2), np.float32)
    fixed = face_transform(lm.points[0], size, margin) if lm.strategy == "clip" else None
    try:  # a short clip's landmarks come from one frame: another may first be read here
        for i, img in enumerate(progress(src.iter_frames(grey=grey), n, f"{lm.video}: aligning")):
            m = fixed if fixed is not None else face_transform(lm.points[i], size, margin)
            crops[i] = warp_face(img, m, size)
            aligned_lm[i] = apply_transform(m, lm.points[i])
    except DataError as e:  # an unreadable frame (0-byte jpg, a text file named .png)
        skip_video(e, face_cfg, lm.video, out)
        return
    write_store(
        out, {"frames": crops, "numbers": lm.numbers, "landmarks": aligned_lm, "found": np.array([h != "interpolated" for h in lm.how])},
        {"stage": "faces", "video": lm.video, "strategy": lm.strategy}, params=face_cfg,
    )
