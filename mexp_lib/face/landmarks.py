"""68-point (iBUG) facial landmarks with dlib, offline.

The model files come from the ``face-recognition-models`` package, located with importlib
*without importing it* (its ``__init__`` needs ``pkg_resources``); a config path overrides them.

Strategies (``detect_video_landmarks``):

* ``clip`` -- short clips: detect on the reference (first) frame and use those landmarks for
  every frame, so one transform aligns the whole clip (the CASME II / SAMM practice). If the
  reference frame has no face, the next frames are tried.
* ``long`` -- long videos: detect every ``detect_every`` frames, smooth the detections over
  time (a centred moving average over ``smooth`` detections), and interpolate linearly in
  between; frames whose detection failed are filled from their neighbours.
"""

from __future__ import annotations

import importlib.util
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from mexp_lib.errors import ConfigError, NoFaceError
from mexp_lib.io.frames import FrameSource
from mexp_lib.io.landmarks_json import VideoLandmarks
from mexp_lib.log import progress

logger = logging.getLogger(__name__)

SHAPE_MODEL = "shape_predictor_68_face_landmarks.dat"
CNN_MODEL = "mmod_human_face_detector.dat"


def model_file(name: str, override: str | None = None) -> Path:
    """Path of a dlib model file: ``override`` if given, else inside face-recognition-models."""
    if override:
        p = Path(override)
        if not p.is_file():
            raise ConfigError(f"face.dlib model path {p} does not exist")
        return p
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or spec.origin is None:
        raise ConfigError(
            f"dlib model {name} not found: install the face-recognition-models package "
            "(pip install face-recognition-models) or set face.shape_model to the file's path"
        )
    p = Path(spec.origin).parent / "models" / name
    if not p.is_file():
        raise ConfigError(f"dlib model {p} missing from the face-recognition-models package")
    return p


@dataclass
class Detection:
    bbox: np.ndarray  # (4,) x0, y0, x1, y1
    score: float
    points: np.ndarray  # (68, 2)


# Tight crops (a face filling the frame): detector threshold and the fraction of the frame the
# candidate must cover (measured on real 224 px crops: faces cover 0.85-0.93 of the frame at
# scores -0.56..-0.03; non-face clutter at threshold -0.6 covers <= 0.11).
TIGHT_CROP_THRESHOLD = -0.6
TIGHT_CROP_COVERAGE = 0.5


def _coverage(rect: Any, w: int, h: int) -> float:
    """Fraction of a w x h frame that a dlib rectangle covers (clipped to the frame)."""
    x0, y0, x1, y1 = max(rect.left(), 0), max(rect.top(), 0), min(rect.right(), w), min(rect.bottom(), h)
    return max(x1 - x0, 0) * max(y1 - y0, 0) / float(w * h)


def plausible(points: np.ndarray) -> bool:
    """Geometric sanity check of a 68-point shape: eyes above nose above mouth above chin,
    left eye left of right eye, inter-ocular distance 20-70% of the face width."""
    eye_l, eye_r = points[36:42].mean(0), points[42:48].mean(0)
    nose, mouth, chin = points[30], points[48:68].mean(0), points[8]
    width = points[:17, 0].max() - points[:17, 0].min()
    iod = float(np.linalg.norm(eye_r - eye_l))
    return bool(
        eye_l[0] < eye_r[0]
        and max(eye_l[1], eye_r[1]) < nose[1] < mouth[1] < chin[1]
        and width > 0 and 0.2 < iod / width < 0.7
    )


class DlibLandmarker:
    """dlib HOG (or MMOD CNN) face detector + 68-point shape predictor."""

    def __init__(self, *, detector: str = "hog", upsample: int = 1, shape_model: str | None = None, cnn_model: str | None = None) -> None:
        import dlib

        self._dlib = dlib
        self.upsample = int(upsample)
        if detector == "hog":
            self._det = dlib.get_frontal_face_detector()
            self._cnn = False
        elif detector == "cnn":
            self._det = dlib.cnn_face_detection_model_v1(str(model_file(CNN_MODEL, cnn_model)))
            self._cnn = True
        else:
            raise ConfigError(f"face.detector must be 'hog' or 'cnn', not {detector!r}")
        self._sp = dlib.shape_predictor(str(model_file(SHAPE_MODEL, shape_model)))

    def _boxes(self, grey: np.ndarray, upsample: int, adjust: float = 0.0) -> list[tuple[Any, float]]:
        if self._cnn:
            return [(d.rect, float(d.confidence)) for d in self._det(grey, upsample) if d.confidence >= adjust]
        rects, scores, _ = self._det.run(grey, upsample, adjust)
        return list(zip(rects, (float(s) for s in scores)))

    def shape(self, grey: np.ndarray, box: np.ndarray) -> np.ndarray:
        """68 points for a given box (x0, y0, x1, y1)."""
        r = self._dlib.rectangle(*(int(round(v)) for v in box))
        s = self._sp(grey, r)
        return np.array([[p.x, p.y] for p in s.parts()], np.float32)

    def detect(self, grey: np.ndarray) -> Detection | None:
        """The largest plausible face in ``grey`` (uint8 H x W), or None.

        Tries the detector at ``upsample``; then once more upsampled (small faces); then on the
        frame padded by 25% of its size on every side with a slightly relaxed threshold (a frame
        that is already a tight face crop leaves the sliding window no room: dlib's HOG misses
        128 px crops otherwise); last, a relaxed candidate box that covers most of the frame (a
        face filling the frame). Every result must pass :func:`plausible`; a frame without a
        face gives None, never a guessed box.
        """
        h, w = grey.shape
        pad = int(round(0.25 * max(h, w)))
        padded = cv2.copyMakeBorder(grey, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
        tries = [(grey, self.upsample, 0.0, 0), (grey, self.upsample + 1, 0.0, 0), (padded, self.upsample + 1, -0.3, pad)]
        for img, up, adjust, off in tries:
            found = self._boxes(img, up, adjust)
            if not found:
                continue
            rect, score = max(found, key=lambda rs: rs[0].width() * rs[0].height())
            box = np.array([rect.left(), rect.top(), rect.right(), rect.bottom()], np.float32)
            pts = self.shape(img, box)
            if plausible(pts):
                return Detection(box - off, score, pts - off)
        # A face filling the frame (a tight crop) scores low in every sliding window: accept a
        # relaxed candidate only when its box covers at least half of the frame -- clutter
        # (coins, text, gravel) gives relaxed candidates covering a few percent of it.
        for up in (self.upsample, self.upsample + 1):
            big = [(r, s) for r, s in self._boxes(grey, up, TIGHT_CROP_THRESHOLD) if _coverage(r, w, h) >= TIGHT_CROP_COVERAGE]
            if big:
                rect, score = max(big, key=lambda rs: rs[1])
                box = np.array([rect.left(), rect.top(), rect.right(), rect.bottom()], np.float32)
                pts = self.shape(grey, box)
                if plausible(pts):
                    return Detection(box, score, pts)
        return None


def make_landmarker(face_cfg: dict[str, Any]) -> DlibLandmarker:
    """Build the configured landmark backend."""
    backend = face_cfg.get("backend", "dlib")
    if backend == "dlib":
        return DlibLandmarker(
            detector=face_cfg.get("detector", "hog"),
            upsample=face_cfg.get("upsample", 0),
            shape_model=face_cfg.get("shape_model"),
            cnn_model=face_cfg.get("cnn_model"),
        )
    raise ConfigError(f"face.backend {backend!r} is not available (available: dlib)")


def _fill(values: np.ndarray, known: np.ndarray) -> np.ndarray:
    """Linear interpolation of rows of ``values`` (T, ...) at ``~known`` from the known rows."""
    t = np.arange(len(values))
    flat = values.reshape(len(values), -1).copy()
    kt = t[known]
    for j in range(flat.shape[1]):
        flat[~known, j] = np.interp(t[~known], kt, flat[known, j])
    return flat.reshape(values.shape)


def detect_video_landmarks(
    frames: FrameSource,
    landmarker: DlibLandmarker,
    *,
    video: str,
    strategy: str,
    detect_every: int = 10,
    smooth: int = 5,
    backend: str = "dlib",
    params: dict[str, Any] | None = None,
) -> VideoLandmarks:
    """Landmarks of every frame of a video (see module doc for the strategies).

    Raises :class:`NoFaceError` naming the video when no frame yields a face.
    """
    n = len(frames)
    first = frames.read(0, grey=True)
    h, w = first.shape
    pts = np.zeros((n, 68, 2), np.float32)
    boxes = np.full((n, 4), np.nan, np.float32)
    scores = np.full(n, np.nan, np.float32)
    how = ["interpolated"] * n
    if strategy == "clip":
        det = None
        for i in range(n):
            det = landmarker.detect(first if i == 0 else frames.read(i, grey=True))
            if det is not None:
                break
        if det is None:
            raise NoFaceError(f"{frames.path}: no face found in any of the {n} frames of video {video}")
        pts[:] = det.points
        boxes[i], scores[i] = det.bbox, det.score
        how = [("detected" if j == i else "reference") for j in range(n)]
    elif strategy == "long":
        keys = sorted(set(range(0, n, max(1, int(detect_every)))) | {n - 1})
        found = np.zeros(n, bool)
        for i in progress(keys, len(keys), f"{video}: detecting landmarks"):
            det = landmarker.detect(first if i == 0 else frames.read(i, grey=True))
            if det is None:
                continue
            pts[i], boxes[i], scores[i], found[i] = det.points, det.bbox, det.score, True
            how[i] = "detected"
        if not found.any():
            raise NoFaceError(f"{frames.path}: no face found in any of the {len(keys)} frames probed in video {video}")
        idx = np.flatnonzero(found)
        if smooth > 1 and len(idx) > 1:
            k = int(smooth)
            sm = np.empty_like(pts[idx])
            for j in range(len(idx)):
                lo, hi = max(0, j - k // 2), min(len(idx), j + k // 2 + 1)
                sm[j] = pts[idx[lo:hi]].mean(0)
            pts[idx] = sm
        pts = _fill(pts, found)
    else:
        raise ConfigError(f"face strategy must be 'clip' or 'long', not {strategy!r}")
    return VideoLandmarks(
        video=video, source=str(frames.path), backend=backend, strategy=strategy, image_size=(h, w),
        numbers=frames.numbers.copy(), points=pts, bboxes=boxes, scores=scores, how=how, params=dict(params or {}),
    )
