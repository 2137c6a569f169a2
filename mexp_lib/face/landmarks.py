"""68-point (iBUG) facial landmarks, offline: dlib (default) or the FAN of ``face-alignment``.

dlib's model files come from the ``face-recognition-models`` package, located with importlib
*without importing it* (its ``__init__`` needs ``pkg_resources``); a config path overrides them.
The ``face_alignment`` backend (an optional extra: ``make install-face-alignment``) runs FAN
(Bulat and Tzimiropoulos 2017) inside the face boxes of dlib's detector; its weights come from
the package's cache or ``face.fan_weights``, never from the network.

Strategies (``detect_video_landmarks``):

* ``clip`` -- short clips: detect on the reference (first) frame and use those landmarks for
  every frame, so one transform aligns the whole clip (the CASME II / SAMM practice). If the
  reference frame has no face, the next frames are tried.
* ``long`` -- long videos (:func:`track_landmarks`): detect every ``detect_every`` frames and
  track the face in between (pyramidal Lucas-Kanade on stable points around the eyes and nose,
  checked forward-backward, moving the shape by the fitted similarity); a lost track is
  re-detected at once. A track is kept only while it holds a face: at each check without a
  detection, the detector must still see a face in the tracked region (:meth:`DlibLandmarker.confirm`),
  else the face is lost (turned away, covered, gone) and the frames since the last good check
  are marked missing; a lost face is looked for every ``search_every`` frames with a cheap
  search (:meth:`DlibLandmarker.search`), so stretches without a face cost little. Detections and track are fused like a complementary filter: the track
  gives the frame-to-frame motion (low noise, slow drift), the detections anchor it (no drift,
  noisy) through their offset to the track, averaged over ``smooth`` detections and
  interpolated between them. A still face gives a still crop; a moving face is followed frame
  by frame. Frames where the face was lost are filled from their neighbours.
"""

from __future__ import annotations

import functools
import importlib.util
import logging
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from mexp_lib.errors import ConfigError, NoFaceError
from mexp_lib.face.align import apply_transform, similarity_transform
from mexp_lib.io.frames import FrameSource
from mexp_lib.io.landmarks_json import VideoLandmarks
from mexp_lib.log import progress
from mexp_lib.motion.flow import NO_FLOW

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
# candidate must cover. Set by looking at the 13 of HTNet's 442 real 224 px composite crops the
# earlier tries miss (faces cover 0.85-0.93 of the frame at scores -0.56..-0.03) -- the same
# images tests/test_face.py counts, so that count is not an independent measure of this rule.
# Independent of them: relaxed candidates on tight 224 px crops of the demo identities cover
# 0.64-0.69; on non-face images (scikit-image's text, gravel, rocket, coins...) <= 0.11.
TIGHT_CROP_THRESHOLD = -0.6
TIGHT_CROP_COVERAGE = 0.5
# The face's width (px) in the region :meth:`DlibLandmarker.confirm` searches: above the HOG
# window's 80 px, so one pass without upsampling sees it.
CONFIRM_FACE_PX = 120.0


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


def frontal_face_detector() -> Any:
    """dlib's HOG frontal face detector, read from a saved copy.

    ``dlib.get_frontal_face_detector()`` rebuilds the detector from its source text at every call
    (~1.3 s, as long as the 68-point model's loading), while reading the same detector saved in
    dlib's own format takes ~2 ms. The copy is written once per dlib version, atomically, to
    ``$MEXP_CACHE`` (default ``$XDG_CACHE_HOME/mexp`` or ``~/.cache/mexp``); it is dlib's exact
    serialisation, so the detector is the same (``tests/test_throughput.py`` compares their
    detections). Without a writable cache folder the detector is built the slow way."""
    import dlib

    cache = Path(os.environ.get("MEXP_CACHE") or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "mexp")
    saved = cache / f"dlib-{dlib.__version__}-frontal_face_detector.svm"
    if saved.is_file():
        try:
            return dlib.fhog_object_detector(str(saved))
        except RuntimeError:  # a damaged copy: rebuilt below
            logger.warning("%s: not a dlib detector; rebuilding it", saved)
    det = dlib.get_frontal_face_detector()
    try:
        from mexp_lib.io.atomic import atomic_path

        with atomic_path(saved) as tmp:
            det.save(str(tmp))
    except OSError as e:
        logger.debug("face detector not cached (%s)", e)
    return det


class DlibLandmarker:
    """dlib HOG (or MMOD CNN) face detector + 68-point shape predictor."""

    def __init__(self, *, detector: str = "hog", upsample: int = 1, shape_model: str | None = None, cnn_model: str | None = None,
                 detect_size: int | None = 320) -> None:
        import dlib

        self._dlib = dlib
        self.upsample = int(upsample)
        self.detect_size = detect_size
        if detector == "hog":
            self._det = frontal_face_detector()
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
        return list(zip(rects, (float(s) for s in scores), strict=True))

    def _fit(self, img: np.ndarray, rect: Any, score: float, *, scale: float = 1.0, offset: int = 0) -> Detection | None:
        """The 68 points in a detector rectangle found on ``img`` (a copy of the frame scaled by
        ``scale``, or padded by ``offset`` px); None unless :func:`plausible`. Coordinates are the
        frame's."""
        box = np.array([rect.left(), rect.top(), rect.right(), rect.bottom()], np.float32)
        if scale != 1.0:  # found on a smaller copy: fit at full resolution
            box, pts = box / scale, self.shape(img, box / scale)
        else:
            pts = self.shape(img, box)
        return Detection(box - offset, score, pts - offset) if plausible(pts) else None

    def shape(self, grey: np.ndarray, box: np.ndarray) -> np.ndarray:
        """68 points for a given box (x0, y0, x1, y1)."""
        r = self._dlib.rectangle(*(int(round(v)) for v in box))
        s = self._sp(grey, r)
        return np.array([[p.x, p.y] for p in s.parts()], np.float32)

    def detect(self, grey: np.ndarray) -> Detection | None:
        """The largest plausible face in ``grey`` (uint8 H x W), or None.

        A frame larger than ``detect_size`` is first searched at that size. Then tries the
        detector at ``upsample``; then once more upsampled (small faces); then on the
        frame padded by 25% of its size on every side with a slightly relaxed threshold (a frame
        that is already a tight face crop leaves the sliding window no room: dlib's HOG misses
        128 px crops otherwise); last, a relaxed candidate box that covers most of the frame (a
        face filling the frame). Every result must pass :func:`plausible`; a frame without a
        face gives None, never a guessed box.
        """
        for img, rect, score, scale, offset in self._candidates(grey):
            det = self._fit(img, rect, score, scale=scale, offset=offset)
            if det is not None:
                return det
        return None

    def search(self, grey: np.ndarray) -> Detection | None:
        """:meth:`detect`, cheap: a frame larger than ``detect_size`` is searched only on its copy
        scaled to that size (at ``upsample`` and once more upsampled), none of the slower tries
        at full resolution; a smaller frame gets the full chain (it is cheap there). What the
        long-video tracker runs to look for a lost face (~20 ms on a 960x540 frame without a
        face, against ~0.8 s for the full chain)."""
        for img, rect, score, scale, offset in self._candidates(grey, quick=True):
            det = self._fit(img, rect, score, scale=scale, offset=offset)
            if det is not None:
                return det
        return None

    def confirm(self, grey: np.ndarray, points: np.ndarray, *, min_score: float = -0.5) -> bool:
        """Whether the face a tracker holds at ``points`` (68, 2) is still a face: the detector,
        run on the region around the points scaled so the face is ~120 px wide, finds a box
        scoring at least ``min_score`` (lower than a detection's threshold of 0: a face turned a
        little, or partly covered, still passes) whose centre lies in the points' box. A head
        turned to profile or to its back, or points drifted off the face, fail it."""
        lo, hi = points.min(0), points.max(0)
        y0, y1, x0, x1 = _face_window(points, grey.shape, pad=0.5)
        if y1 - y0 < 16 or x1 - x0 < 16:
            return False
        s = CONFIRM_FACE_PX / max(float(hi[0] - lo[0]), 1.0)
        crop = cv2.resize(grey[y0:y1, x0:x1], None, fx=s, fy=s, interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)
        for rect, _ in self._boxes(crop, 0, min_score):
            cx = (rect.left() + rect.right()) / 2 / s + x0
            cy = (rect.top() + rect.bottom()) / 2 / s + y0
            if lo[0] <= cx <= hi[0] and lo[1] <= cy <= hi[1]:
                return True
        return False

    def _candidates(self, grey: np.ndarray, *, quick: bool = False) -> Iterator[tuple[np.ndarray, Any, float, float, int]]:
        """The detector's candidates in the order :meth:`detect` tries them, each as (image to fit
        the points on, rectangle, score, scale of the image searched, padding of the image);
        ``quick``: only those of the scaled copy of a frame larger than ``detect_size``."""
        h, w = grey.shape

        def largest(found: list[tuple[Any, float]]) -> tuple[Any, float]:
            return max(found, key=lambda rs: rs[0].width() * rs[0].height())

        if self.detect_size and max(h, w) > self.detect_size:
            # A large frame: find the box on a copy scaled to detect_size (HOG time grows with
            # the pixel count), fit the 68 points at full resolution; else the full chain below.
            s = self.detect_size / max(h, w)
            small = cv2.resize(grey, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA)
            for up in (self.upsample, self.upsample + 1):
                found = self._boxes(small, up)
                if found:
                    yield (grey, *largest(found), s, 0)
            if quick:
                return
        pad = int(round(0.25 * max(h, w)))
        padded = cv2.copyMakeBorder(grey, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
        for img, up, adjust, off in [(grey, self.upsample, 0.0, 0), (grey, self.upsample + 1, 0.0, 0), (padded, self.upsample + 1, -0.3, pad)]:
            found = self._boxes(img, up, adjust)
            if found:
                yield (img, *largest(found), 1.0, off)
        # A face filling the frame (a tight crop) scores low in every sliding window: accept a
        # relaxed candidate only when its box covers at least half of the frame -- clutter
        # (coins, text, gravel) gives relaxed candidates covering a few percent of it.
        for up in (self.upsample, self.upsample + 1):
            big = [(r, sc) for r, sc in self._boxes(grey, up, TIGHT_CROP_THRESHOLD) if _coverage(r, w, h) >= TIGHT_CROP_COVERAGE]
            if big:
                yield (grey, *max(big, key=lambda rs: rs[1]), 1.0, 0)


FAN_FILE = "2DFAN4-11f355bf06.pth.tar"
FAN_URL = f"https://www.adrianbulat.com/downloads/python-fan/{FAN_FILE}"


def fan_weights_file(override: str | None = None) -> Path:
    """The 2D-FAN weight file: ``override``, or face-alignment's cache
    (``<torch hub dir>/checkpoints/2DFAN4-11f355bf06.pth.tar``). A missing file is a
    :class:`ConfigError` that names the file and where to put it."""
    if override:
        p = Path(override)
        if not p.is_file():
            raise ConfigError(f"face.fan_weights: {p} not found (the 2D-FAN weights, {FAN_FILE}, from {FAN_URL})")
        return p
    import torch.hub

    p = Path(torch.hub.get_dir()) / "checkpoints" / FAN_FILE
    if not p.is_file():
        raise ConfigError(
            f"face.backend face_alignment: the FAN weights {FAN_FILE} are not in face-alignment's cache ({p}). "
            f"mexp downloads nothing: copy the file (from {FAN_URL}) to {p.parent}/, or set face.fan_weights to its path"
        )
    return p


class FanLandmarker:
    """FAN 68-point landmarks (``face-alignment``) in the face boxes of :class:`DlibLandmarker`.

    Built with ``compile=False`` (compiling costs minutes on CPU), ``flip_input=False`` and
    face-alignment's ``folder`` detector (which loads nothing): boxes are given, so no detector
    weights are needed. Any other file face-alignment would fetch is refused with a clear error.
    """

    def __init__(self, *, fan_weights: str | None = None, device: str = "cpu", **dlib_options: Any) -> None:
        weights = fan_weights_file(fan_weights)
        try:
            import face_alignment
            from face_alignment import api
        except ImportError as e:
            raise ConfigError(f"face.backend face_alignment needs the face-alignment package: run `make install-face-alignment` ({e})") from e
        self.boxes = DlibLandmarker(**dlib_options)

        def offline(url: str, *args: Any, **kwargs: Any) -> str:
            if url.rsplit("/", 1)[-1] == FAN_FILE:
                return str(weights)
            raise ConfigError(f"face-alignment asked to download {url}; mexp downloads nothing")

        saved = api.load_file_from_url
        api.load_file_from_url = offline
        try:
            self._fa = face_alignment.FaceAlignment(face_alignment.LandmarksType.TWO_D, device=device, flip_input=False,
                                                    face_detector="folder", compile=False)
        except RuntimeError as e:  # load_state_dict: the file is not FAN's
            raise ConfigError(f"{weights}: not 2D-FAN weights ({str(e).splitlines()[0]})") from e
        finally:
            api.load_file_from_url = saved

    def detect(self, grey: np.ndarray) -> Detection | None:
        """The dlib face box of ``grey`` with FAN's 68 points in it (None when no face or when
        FAN's shape fails :func:`plausible`); ``score`` = FAN's mean heat-map peak."""
        return self._fan(grey, self.boxes.detect(grey))

    def search(self, grey: np.ndarray) -> Detection | None:
        """:meth:`detect` with :meth:`DlibLandmarker.search`'s cheap box search."""
        return self._fan(grey, self.boxes.search(grey))

    def confirm(self, grey: np.ndarray, points: np.ndarray, *, min_score: float = -0.5) -> bool:
        """:meth:`DlibLandmarker.confirm`."""
        return self.boxes.confirm(grey, points, min_score=min_score)

    def _fan(self, grey: np.ndarray, det: Detection | None) -> Detection | None:
        """FAN's points in the box of ``det`` (None when no box, or FAN's shape fails
        :func:`plausible`)."""
        if det is None:
            return None
        pts, scores, _ = self._fa.get_landmarks_from_image(np.dstack([grey] * 3), detected_faces=[det.bbox.astype(np.float64)], return_landmark_score=True)
        if not pts:
            return None
        points = np.asarray(pts[0], np.float32)[:, :2]
        return Detection(det.bbox, float(np.mean(scores[0])), points) if plausible(points) else None


Landmarker = DlibLandmarker | FanLandmarker


def make_landmarker(face_cfg: dict[str, Any]) -> Landmarker:
    """Build the configured landmark backend (``dlib`` or ``face_alignment``) of the ``face``
    section (missing keys take the schema's defaults)."""
    from mexp_lib.config import settings

    face_cfg = settings("face", face_cfg)
    return _landmarker(face_cfg["backend"], face_cfg["fan_weights"], detector=face_cfg["detector"], upsample=face_cfg["upsample"],
                       shape_model=face_cfg["shape_model"], cnn_model=face_cfg["cnn_model"], detect_size=face_cfg["detect_size"])


@functools.lru_cache(maxsize=2)
def _landmarker(backend: str, fan_weights: str | None, **dlib_options: Any) -> Landmarker:
    """The landmark models, loaded once per process and setting (a job of the per-clip stages
    handles a chunk of videos: the 100 MB shape model is read once, not once per video). The
    landmarkers hold no per-video state."""
    if backend == "dlib":
        return DlibLandmarker(**dlib_options)
    if backend == "face_alignment":
        from mexp_lib.device import select_device

        return FanLandmarker(fan_weights=fan_weights, device=str(select_device("auto")), **dlib_options)
    raise ConfigError(f"face.backend {backend!r} is not available (available: dlib, face_alignment)")


# Points tracked between detections: eye corners, nose bridge and nostrils (textured, rigid).
TRACK_POINTS = np.array([36, 39, 42, 45, 27, 28, 29, 30, 31, 33, 35])
_LK: dict[str, Any] = {"winSize": (15, 15), "maxLevel": 2, "criteria": (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 20, 0.01)}


def _face_window(points: np.ndarray, shape: tuple[int, int], pad: float = 0.3) -> tuple[int, int, int, int]:
    """(y0, y1, x0, x1) of the landmarks' box grown by ``pad`` of its size, inside the frame."""
    lo, hi = points.min(0), points.max(0)
    m = pad * (hi - lo).max() + 16
    x0, y0 = int(max(lo[0] - m, 0)), int(max(lo[1] - m, 0))
    x1, y1 = int(min(hi[0] + m, shape[1])), int(min(hi[1] + m, shape[0]))
    return y0, y1, x0, x1


def track_step(prev: np.ndarray, cur: np.ndarray, points: np.ndarray, *, max_fb_error: float = 0.5) -> np.ndarray | None:
    """The 68 ``points`` of grey frame ``prev`` moved to grey frame ``cur``, or None if lost.

    Lucas-Kanade on :data:`TRACK_POINTS` inside a window around the face, kept where the
    forward-backward error is below ``max_fb_error`` px; the shape moves by the similarity
    fitted to the kept points (at least 6 of 11).
    """
    y0, y1, x0, x1 = _face_window(points, prev.shape)
    if y1 - y0 < 16 or x1 - x0 < 16:
        return None
    a, b = prev[y0:y1, x0:x1], cur[y0:y1, x0:x1]
    p0 = (points[TRACK_POINTS] - (x0, y0)).astype(np.float32).reshape(-1, 1, 2)
    p1, st1, _ = cv2.calcOpticalFlowPyrLK(a, b, p0, NO_FLOW, **_LK)
    if p1 is None:
        return None
    back, st2, _ = cv2.calcOpticalFlowPyrLK(b, a, p1, NO_FLOW, **_LK)
    fb = np.linalg.norm((back - p0).reshape(-1, 2), axis=1)
    ok = (st1.ravel() == 1) & (st2.ravel() == 1) & (fb < max_fb_error)
    if ok.sum() < 6:
        return None
    m = similarity_transform(p0.reshape(-1, 2)[ok], p1.reshape(-1, 2)[ok])
    return apply_transform(m, points - (x0, y0)).astype(np.float32) + np.asarray((x0, y0), np.float32)


def _moving_average(x: np.ndarray, k: int) -> np.ndarray:
    """Centred moving average over ``k`` rows (shrinking at the ends)."""
    if k <= 1 or len(x) < 2:
        return x
    out = np.empty_like(x)
    for j in range(len(x)):
        lo, hi = max(0, j - k // 2), min(len(x), j + k // 2 + 1)
        out[j] = x[lo:hi].mean(0)
    return out


def track_landmarks(grey_frames: Iterable[np.ndarray], n: int, landmarker: Any, *, detect_every: int = 10, smooth: int = 5,
                    search_every: int = 5, min_score: float = -0.5,
                    video: str = "") -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """Landmarks of a long video by detection + tracking (see the module doc).

    ``grey_frames`` yields the ``n`` frames in order (uint8 H x W; one in memory at a time).
    Returns points (n, 68, 2), boxes (n, 4) and scores (n,) (NaN where not detected) and
    ``how`` per frame (``detected``, ``tracked``, or ``missing`` where the face was lost).

    Every ``detect_every`` frames the track is checked: a detection (``landmarker.search``)
    anchors it; without one, the track is kept only if the detector still sees a face in the
    tracked region scoring at least ``min_score`` (``landmarker.confirm``). Otherwise the face
    is lost -- turned away, covered, gone, or the points drifted off it: the frames since the
    last check that held a face are marked ``missing`` with the frame itself. A track that
    Lucas-Kanade loses is re-detected at once (``landmarker.detect``, the full chain). While the
    face is lost, it is looked for every ``search_every`` frames with the cheap search, so
    stretches without a face cost little.
    """
    every, search = max(1, int(detect_every)), max(1, int(search_every))
    track = np.zeros((n, 68, 2), np.float32)
    det_pts = np.zeros((n, 68, 2), np.float32)
    boxes = np.full((n, 4), np.nan, np.float32)
    scores = np.full(n, np.nan, np.float32)
    segment = np.full(n, -1)  # frames of one unbroken track share a segment id
    how = ["missing"] * n
    prev, cur, seg = None, None, -1
    held = -1  # the last frame whose check (or detection) showed the face
    next_search = 0  # while no face is held: the next frame searched
    for i, g in enumerate(progress(grey_frames, n, f"{video}: landmarks (detect every {every}, track between)")):
        if i >= n:
            break
        tracked = track_step(prev, g, cur) if cur is not None and prev is not None else None
        det = None
        if tracked is not None and i % every == 0:  # check the track
            det = landmarker.search(g)
            if det is None:
                if landmarker.confirm(g, tracked, min_score=min_score):
                    held = i
                else:  # lost: not a face since the last check
                    lost = np.arange(held + 1, i)
                    segment[lost] = -1
                    for f in lost:
                        how[f] = "missing"
                    tracked, next_search = None, i + search
        elif tracked is None and (cur is not None or i == 0):  # the track broke (or the first frame): at once
            det = landmarker.detect(g)
            next_search = i + search
        elif tracked is None and i >= next_search:
            det = landmarker.search(g)
            next_search = i + search
        if det is not None:
            det_pts[i], boxes[i], scores[i] = det.points, det.bbox, det.score
            how[i], held = "detected", i
            if tracked is None:  # a new track starts at the detection
                seg += 1
                tracked = det.points.astype(np.float32)
        elif tracked is not None:
            how[i] = "tracked"
        if tracked is not None:
            track[i], segment[i] = tracked, seg
        cur, prev = tracked, g
    points = track.copy()
    for s in range(seg + 1):
        frames = np.flatnonzero(segment == s)
        dets = frames[[how[f] == "detected" for f in frames]]
        offsets = _moving_average(det_pts[dets] - track[dets], int(smooth))  # detection - track, smoothed
        flat = offsets.reshape(len(dets), -1)
        corr = np.stack([np.interp(frames, dets, flat[:, j]) for j in range(flat.shape[1])], 1)
        points[frames] = track[frames] + corr.reshape(len(frames), 68, 2)
    return points, boxes, scores, how


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
    landmarker: Landmarker,
    *,
    video: str,
    strategy: str,
    detect_every: int = 10,
    smooth: int = 5,
    search_every: int = 5,
    min_score: float = -0.5,
    backend: str = "dlib",
    params: dict[str, Any] | None = None,
) -> VideoLandmarks:
    """Landmarks of every frame of a video (see module doc for the strategies).

    Raises :class:`NoFaceError` naming the video when no frame yields a face.
    """
    n = len(frames)
    first = frames.read(0, grey=True)
    h, w = first.shape
    if strategy == "clip":
        pts = np.zeros((n, 68, 2), np.float32)
        boxes = np.full((n, 4), np.nan, np.float32)
        scores = np.full(n, np.nan, np.float32)
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
        pts, boxes, scores, how = track_landmarks(frames.iter_frames(grey=True), n, landmarker, detect_every=detect_every, smooth=smooth,
                                              search_every=search_every, min_score=min_score, video=video)
        found = np.array([state != "missing" for state in how])
        if not found.any():
            raise NoFaceError(f"{frames.path}: no face found in any frame of video {video} (searched every {search_every} frames while no face was held)")
        pts = _fill(pts, found)
        how = [state if state != "missing" else "interpolated" for state in how]
    else:
        raise ConfigError(f"face strategy must be 'clip' or 'long', not {strategy!r}")
    return VideoLandmarks(
        video=video, source=str(frames.path), backend=backend, strategy=strategy, image_size=(h, w),
        numbers=frames.numbers.copy(), points=pts, bboxes=boxes, scores=scores, how=how, params=dict(params or {}),
    )
