"""The demo's renderer: faces (the astronaut photograph varied per subject, or real face
photographs), the AU-like displacement fields of expressions, blinks and non-expression
motions anchored on the face's 68 landmarks, and the frames of one planned video
(:func:`render_video`, a :class:`mexp_lib.datasets.demo_plan.VideoPlan`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np

from mexp_lib.datasets.demo_plan import NUISANCE, Event, VideoPlan

# AU -> [(landmark index, (dx, dy))]; directions in image coordinates (y down).
AU_POINTS: dict[str, list[tuple[int, tuple[float, float]]]] = {
    "1": [(21, (0, -1)), (22, (0, -1)), (20, (0, -0.7)), (23, (0, -0.7))],
    "2": [(17, (0, -0.8)), (18, (0, -1)), (25, (0, -1)), (26, (0, -0.8))],
    "4": [(19, (0.3, 0.8)), (20, (0.5, 1)), (21, (0.6, 1)), (22, (-0.6, 1)), (23, (-0.5, 1)), (24, (-0.3, 0.8))],
    "6": [(40, (0, -0.6)), (41, (0, -0.6)), (46, (0, -0.6)), (47, (0, -0.6)), (1, (0.2, -0.8)), (15, (-0.2, -0.8))],
    "9": [(31, (0, -1)), (35, (0, -1)), (29, (0, -0.6))],
    "10": [(50, (0, -1)), (51, (0, -1)), (52, (0, -1))],
    "12": [(48, (-0.7, -0.7)), (54, (0.7, -0.7)), (49, (-0.3, -0.4)), (53, (0.3, -0.4))],
    "26": [(57, (0, 1)), (8, (0, 1)), (56, (0, 0.9)), (58, (0, 0.9)), (7, (0, 0.8)), (9, (0, 0.8))],
    "45": [(37, (0, 1)), (38, (0, 1)), (43, (0, 1)), (44, (0, 1))],
}

AU_WEIGHTS = {
    "happiness": {"6": 0.5, "12": 1.0},
    "disgust": {"4": 0.7, "9": 1.0, "10": 0.6},
    "surprise": {"1": 1.0, "2": 0.8, "26": 0.6},
}


def _profile(n: int, ev: Event) -> np.ndarray:
    """Raised-cosine activation (0 -> 1 at apex -> 0) over frames 0..n-1."""
    t = np.arange(n, dtype=np.float64)
    s = np.zeros(n)
    rise = max(ev.apex - ev.onset, 1)
    fall = max(ev.offset - ev.apex, 1)
    up = (t >= ev.onset) & (t <= ev.apex)
    s[up] = 0.5 - 0.5 * np.cos(np.pi * (t[up] - ev.onset) / rise)
    down = (t > ev.apex) & (t <= ev.offset)
    s[down] = 0.5 + 0.5 * np.cos(np.pi * (t[down] - ev.apex) / fall)
    return s


def _event_profile(n: int, ev: Event, fps: float) -> np.ndarray:
    """The activation (0..1) of one event over frames 0..n-1: the raised cosine of
    :func:`_profile`; a gaze shift holds its apex between a quick turn and return (0.1 s each);
    talking opens and closes at ``ev.hz`` inside a raised-cosine envelope."""
    if ev.type != "nuisance" or NUISANCE[ev.kind][1] == "bump":
        return _profile(n, ev)
    if NUISANCE[ev.kind][1] == "hold":
        turn = max(1, int(round(0.1 * fps)))
        t = np.arange(n)
        up = np.clip((t - ev.onset) / turn, 0, 1)
        down = np.clip((ev.offset - t) / turn, 0, 1)
        s = 0.5 - 0.5 * np.cos(np.pi * np.minimum(up, down))
        s[(t < ev.onset) | (t > ev.offset)] = 0.0
        return s
    t = np.arange(n, dtype=np.float64)
    env = _profile(n, ev)
    return env * (0.5 - 0.5 * np.cos(2 * np.pi * ev.hz * (t - ev.onset) / fps))


def base_face(frame_size: int) -> tuple[np.ndarray, np.ndarray]:
    """The astronaut photograph cropped around the face: (frame BGR float32, 68 landmarks)."""
    from skimage import data

    from mexp_lib.face.landmarks import DlibLandmarker

    rgb = data.astronaut()
    bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
    det = DlibLandmarker(upsample=1).detect(cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY))
    if det is None:
        raise RuntimeError("demo generator: dlib found no face in skimage's astronaut image")
    pts = det.points.astype(np.float64)
    span = pts[:, 0].max() - pts[:, 0].min()
    side = 2.1 * span
    cx, cy = pts[:, 0].mean(), pts[:, 1].mean() - 0.08 * side
    scale = frame_size / side
    m = np.array([[scale, 0, frame_size / 2 - scale * cx], [0, scale, frame_size / 2 - scale * cy]])
    img = cv2.warpAffine(bgr, m, (frame_size, frame_size), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REFLECT_101)
    return img.astype(np.float32), pts @ m[:, :2].T + m[:, 2]


def _gauss_field(shape: tuple[int, int], anchors: list[tuple[np.ndarray, tuple[float, float]]], sigma: float) -> np.ndarray:
    h, w = shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    f = np.zeros((h, w, 2), np.float32)
    for c, (dx, dy) in anchors:
        g = np.exp(-((xx - c[0]) ** 2 + (yy - c[1]) ** 2) / (2 * sigma**2))
        f[..., 0] += dx * g
        f[..., 1] += dy * g
    return f


def expression_field(shape: tuple[int, int], lm: np.ndarray, emotion: str) -> np.ndarray:
    """Unit-peak displacement field (H, W, 2) of an emotion's action units on a face."""
    iod = float(np.linalg.norm(lm[45] - lm[36]))
    anchors = [(lm[i], (w * dx, w * dy)) for au, w in AU_WEIGHTS[emotion].items() for i, (dx, dy) in AU_POINTS[au]]
    f = _gauss_field(shape, anchors, 0.15 * iod)
    return f / np.linalg.norm(f, axis=-1).max()


def warp_by_field(img: np.ndarray, field: np.ndarray, amount: float) -> np.ndarray:
    """``img`` (float32) with its content moved by ``amount`` x ``field`` (H, W, 2) px."""
    h, w = img.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    return cv2.remap(img, xx - amount * field[..., 0], yy - amount * field[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def blink_field(shape: tuple[int, int], lm: np.ndarray) -> np.ndarray:
    """Field that closes the upper eyelids; peak = the eye opening."""
    opening = float(np.mean([np.linalg.norm(lm[37] - lm[41]), np.linalg.norm(lm[44] - lm[46])]))
    iod = float(np.linalg.norm(lm[45] - lm[36]))
    f = _gauss_field(shape, [(lm[i], d) for i, d in AU_POINTS["45"]], 0.07 * iod)
    return f / np.linalg.norm(f, axis=-1).max() * opening * 1.2


# nuisance kind -> [(landmark index, (dx, dy))]: talking opens the jaw and lips (AU25/26-like),
# swallowing lifts the chin, a gaze shift moves both eyes' centres sideways
NUISANCE_POINTS: dict[str, list[tuple[int, tuple[float, float]]]] = {
    "talking": [(57, (0, 1)), (56, (0, 0.9)), (58, (0, 0.9)), (8, (0, 0.8)), (7, (0, 0.7)), (9, (0, 0.7)), (51, (0, -0.3))],
    "swallowing": [(7, (0, -0.8)), (8, (0, -1)), (9, (0, -0.8)), (57, (0, -0.4))],
}


def nuisance_field(shape: tuple[int, int], lm: np.ndarray, kind: str, direction: float = 1.0) -> np.ndarray:
    """Unit-peak displacement field (H, W, 2) of one non-expression motion (:data:`mexp_lib.datasets.demo_plan.NUISANCE`);
    ``direction`` (+1 / -1) is the side a gaze shift turns to."""
    iod = float(np.linalg.norm(lm[45] - lm[36]))
    if kind == "gaze":
        eyes = [lm[36:42].mean(axis=0), lm[42:48].mean(axis=0)]
        f = _gauss_field(shape, [(c, (direction, 0.0)) for c in eyes], 0.06 * iod)
    else:
        f = _gauss_field(shape, [(lm[i], d) for i, d in NUISANCE_POINTS[kind]], 0.15 * iod)
    return f / np.linalg.norm(f, axis=-1).max()


PHOTO_FRACTION = 0.62  # a 224 px face crop in a 360 px frame


def photo_subject(path: Path) -> str:
    """The source subject of a face photograph named ``<subject>_<clip>.<ext>`` (the MEGC 2019
    composite's naming: ``sub01_EP02_01f.jpg``, ``006_006_1_2.jpg``, ``s01_s1_ne_01.jpg``)."""
    return path.stem.split("_", 1)[0]


def photo_face(path: str | Path, frame_size: int) -> tuple[np.ndarray, np.ndarray]:
    """A face photograph placed in a ``frame_size`` square frame: (frame BGR float32, 68 landmarks).

    Face photographs are usually tight crops (the jaw at the edges), so the photograph is scaled
    to ``PHOTO_FRACTION`` of the frame and centred, and the rest of the frame continues its edges,
    replicated and blurred into an out-of-focus background: the whole face, jaw included, lies
    inside the frame, as in a dataset's recordings. Landmarks come from the dlib backend the
    workflow uses, on the placed frame."""
    from mexp_lib.errors import DataError
    from mexp_lib.face.landmarks import DlibLandmarker

    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise DataError(f"{path}: not a readable image")
    inner = int(round(frame_size * PHOTO_FRACTION))
    scale = inner / max(bgr.shape[:2])
    face = cv2.resize(bgr, (max(1, round(bgr.shape[1] * scale)), max(1, round(bgr.shape[0] * scale))), interpolation=cv2.INTER_AREA)
    top, left = (frame_size - face.shape[0]) // 2, (frame_size - face.shape[1]) // 2
    padded = cv2.copyMakeBorder(face, top, frame_size - face.shape[0] - top, left, frame_size - face.shape[1] - left, cv2.BORDER_REPLICATE)
    blurred = cv2.GaussianBlur(padded, (0, 0), frame_size / 40)
    inside = np.zeros(padded.shape[:2], np.float32)
    inside[top:top + face.shape[0], left:left + face.shape[1]] = 1
    inside = cv2.GaussianBlur(inside, (0, 0), 2)[..., None]
    img = (inside * padded + (1 - inside) * blurred).astype(np.float32)
    det = DlibLandmarker(upsample=1).detect(cv2.cvtColor(img.astype(np.uint8), cv2.COLOR_BGR2GRAY))
    if det is None:
        raise DataError(f"{path}: dlib finds no face in it")
    return img, det.points.astype(np.float64)


def face_bank(folder: str | Path, frame_size: int, subjects: list[str] | None = None, n: int | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
    """One identity per source subject of a folder of face photographs (:func:`photo_subject`):
    the subjects named in ``subjects``, in that order, or the first ``n`` in name order; each
    subject's first photograph (name order) in which dlib finds a face."""
    from mexp_lib.errors import ConfigError, DataError

    root = Path(folder)
    if not root.is_dir():
        raise ConfigError(f"generator.faces: {root} is not a folder of face photographs")
    photos: dict[str, list[Path]] = {}
    for f in sorted(root.iterdir()):
        if f.suffix.lower() in (".jpg", ".jpeg", ".png", ".bmp"):
            photos.setdefault(photo_subject(f), []).append(f)
    wanted = list(subjects) if subjects is not None else sorted(photos)[: n if n is not None else None]
    missing = [s for s in wanted if s not in photos]
    if missing:
        raise ConfigError(f"generator.face_subjects: no photograph of {missing} in {root}")
    if n is not None and len(wanted) < n:
        raise ConfigError(f"generator.faces: {root} has photographs of {len(wanted)} subjects, {n} needed")
    bank = []
    for s in wanted:
        for f in photos[s]:
            try:
                bank.append(photo_face(f, frame_size))
                break
            except DataError:
                continue
        else:
            raise DataError(f"{root}: no photograph of subject {s} in which dlib finds a face")
    return bank


def make_identity(base: np.ndarray, lm: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A new subject: random similarity, smooth warp and photometric change of the base face."""
    h, w = base.shape[:2]
    ang = np.deg2rad(rng.uniform(-4, 4))
    sc = rng.uniform(0.92, 1.08)
    t = rng.uniform(-4, 4, 2)
    c = np.array([w / 2, h / 2])
    r = sc * np.array([[np.cos(ang), -np.sin(ang)], [np.sin(ang), np.cos(ang)]])
    fwd = np.hstack([r, (c + t - r @ c)[:, None]])
    inv = cv2.invertAffineTransform(fwd)
    warp: np.ndarray = cv2.GaussianBlur(rng.normal(0, 1, (h, w, 2)).astype(np.float32), (0, 0), 18)
    warp *= rng.uniform(1.5, 3.0) / max(np.abs(warp).max(), 1e-6)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    mx = inv[0, 0] * xx + inv[0, 1] * yy + inv[0, 2] - warp[..., 0]
    my = inv[1, 0] * xx + inv[1, 1] * yy + inv[1, 2] - warp[..., 1]
    img = cv2.remap(base, mx.astype(np.float32), my.astype(np.float32), cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
    img = np.clip(img / 255.0, 0, 1) ** rng.uniform(0.8, 1.25)
    img = img * rng.uniform(0.85, 1.15) * rng.uniform(0.94, 1.06, 3) * 255 + rng.uniform(-12, 12)
    new_lm = lm @ fwd[:, :2].T + fwd[:, 2]
    ix = np.clip(new_lm.round().astype(int), 0, [w - 1, h - 1])
    new_lm = new_lm + warp[ix[:, 1], ix[:, 0]]
    return img.astype(np.float32), new_lm


def event_field(shape: tuple[int, int], lm: np.ndarray, e: Event) -> np.ndarray:
    """The displacement field (H, W, 2, px at full activation) of one planned event."""
    if e.type == "blink":
        return blink_field(shape, lm)
    if e.type == "nuisance":
        return nuisance_field(shape, lm, e.kind, 1.0 if e.onset % 2 else -1.0) * e.amplitude
    return expression_field(shape, lm, e.kind) * e.amplitude


def render_video(identity: np.ndarray, lm: np.ndarray, plan: VideoPlan, noise_sigma: float, head_motion: float = 1.0,  # type: ignore[no-untyped-def]
                 head_rotation: float | None = None):
    """Yield the frames (uint8 BGR) of one planned video. ``head_motion`` scales the slow head
    translation (1.5 px) and rotation (0.6 degrees) of long videos; ``head_rotation`` (degrees),
    when given, sets the rotation's amplitude on its own. A short clip's head moves 0.3 px and
    0.1 degrees, or ``plan.drift`` px and ``plan.drift / 3`` degrees (``clip_drift``)."""
    rng = np.random.default_rng(plan.seed)
    h, w = identity.shape[:2]
    n = plan.n_frames
    fields = []
    for e in plan.events:
        fields.append((_event_profile(n, e, plan.fps), event_field((h, w), lm, e)))
    # slow head motion: sum of low-frequency sinusoids (pixels, degrees)
    secs = np.arange(n) / plan.fps
    long = n > 5 * plan.fps
    amp_t, amp_r = (1.5 * head_motion, 0.6 * head_motion) if long else (0.3, 0.1) if plan.drift is None else (plan.drift, plan.drift / 3)
    if long and head_rotation is not None:
        amp_r = float(head_rotation)
    motion = np.zeros((n, 3))
    for j in range(3):
        period = rng.uniform(4, 15) if long else rng.uniform(1, 3)
        motion[:, j] = (amp_r if j == 2 else amp_t) * np.sin(2 * np.pi * secs / period + rng.uniform(0, 2 * np.pi))
    gain = 1 + 0.03 * np.sin(2 * np.pi * secs / rng.uniform(8, 20) + rng.uniform(0, 2 * np.pi))
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    c = lm[27]
    for i in range(n):
        d = np.zeros((h, w, 2), np.float32)
        for prof, f in fields:
            if prof[i] > 0:
                d += np.float32(prof[i]) * f
        a = np.deg2rad(motion[i, 2])
        ca, sa = np.cos(a), np.sin(a)
        # inverse head motion: rotate about the nose bridge by -a, then undo the translation
        x0, y0 = xx - c[0] - motion[i, 0], yy - c[1] - motion[i, 1]
        mx = ca * x0 + sa * y0 + c[0] - d[..., 0]
        my = -sa * x0 + ca * y0 + c[1] - d[..., 1]
        img = cv2.remap(identity, mx.astype(np.float32), my.astype(np.float32), cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
        img = img * np.float32(gain[i]) + np.float32(noise_sigma) * rng.standard_normal(img.shape, dtype=np.float32)
        yield np.clip(np.rint(img), 0, 255).astype(np.uint8)


def identities(g: dict[str, Any]) -> list[tuple[np.ndarray, np.ndarray]]:
    """(frame, landmarks) of every subject: real photographs (``faces``, one source subject
    each), or variations of the astronaut photograph."""
    size, n = int(g["frame_size"]), int(g["subjects"])
    if g.get("faces"):
        subjects = g.get("face_subjects")
        if subjects is not None and len(subjects) < n:
            raise ValueError(f"demo generator: {n} subjects but face_subjects names {len(subjects)}")
        return face_bank(g["faces"], size, subjects=None if subjects is None else list(subjects)[:n], n=None if subjects is not None else n)
    base, base_lm = base_face(size)
    return [make_identity(base, base_lm, np.random.default_rng([int(g["seed"]), 0, s])) for s in range(n)]


def frame_writer(jpeg_quality: int | None) -> tuple[str, list[int]]:
    """(file extension, OpenCV write flags): JPEG at ``jpeg_quality`` or lossless PNG."""
    if jpeg_quality is None:
        return ".png", [cv2.IMWRITE_PNG_COMPRESSION, 1]
    return ".jpg", [cv2.IMWRITE_JPEG_QUALITY, int(jpeg_quality)]
