"""Expressions of known timing injected into real face video: the semi-synthetic benchmark.

A real video brings real nuisance (head motion, blinks, talking, tracking jitter, compression);
the injected expressions bring known ground truth. Each injection is the demo generator's
AU-like displacement field (:func:`mexp_lib.datasets.demo_render.expression_field`, anchored on the
frame's own landmarks, so it moves with the head) under a raised-cosine onset -> apex -> offset
profile, warped into the face's region of each frame.

Amplitudes are given as in the renders: peak displacement in px on the renders' face (its
outer-eye-corner distance :data:`REFERENCE_IOD` px), and scaled to each frame's face by its own
outer-eye-corner distance, so an injected micro-expression moves the aligned face crop as much
as a rendered one of the same amplitude, whatever the face's size in the real frame.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from mexp_lib.datasets.demo_plan import EMOTIONS, Event
from mexp_lib.datasets.demo_render import _profile, expression_field, warp_by_field

# outer-eye-corner distance (landmarks 36 -> 45) of the renders' faces: the mean over the
# stress benchmark's development faces placed in a 360 px frame (224 px photographs)
REFERENCE_IOD = 158.0


@dataclass(frozen=True)
class Injection:
    """One injected expression: 0-based frame positions and peak displacement in px on the
    renders' face (scaled to the real face, see the module's notes)."""

    type: str  # micro | macro
    emotion: str
    onset: int
    apex: int
    offset: int
    amplitude: float


def face_iod(points: np.ndarray) -> np.ndarray:
    """Outer-eye-corner distance (px) of each frame's 68 landmarks ``points`` (T, 68, 2); NaN
    where the landmarks are NaN."""
    return np.asarray(np.linalg.norm(points[:, 45] - points[:, 36], axis=-1), np.float64)


def plan_injections(usable: np.ndarray, fps: float, rng: np.random.Generator, *, micro: int, macro: int,
                    micro_amplitude: tuple[float, float] = (1.0, 2.0), macro_amplitude: tuple[float, float] = (3.0, 5.0),
                    micro_seconds: tuple[float, float] = (0.27, 0.47), macro_seconds: tuple[float, float] = (1.0, 2.3),
                    gap_seconds: float = 0.8) -> list[Injection]:
    """Up to ``micro`` + ``macro`` injections in frames where ``usable`` (T,) is true (a face
    was found), non-overlapping, ``gap_seconds`` apart from each other and from unusable frames;
    the types in a random order. Fewer when they do not fit."""
    n = len(usable)
    gap = max(1, int(round(gap_seconds * fps)))
    taken = ~np.asarray(usable, bool)
    kinds = rng.permutation(["micro"] * micro + ["macro"] * macro)
    out = []
    for kind in kinds:
        d = max(3, int(round(fps * rng.uniform(*(micro_seconds if kind == "micro" else macro_seconds)))))
        free = [s for s in range(gap, n - d - gap) if not taken[s - gap: s + d + gap].any()]
        if not free:
            continue
        st = int(free[int(rng.integers(len(free)))])
        taken[st: st + d] = True
        apex = st + int(round((d - 1) * rng.uniform(0.35, 0.55)))
        amp = float(rng.uniform(*(micro_amplitude if kind == "micro" else macro_amplitude)))
        out.append(Injection(str(kind), EMOTIONS[int(rng.integers(len(EMOTIONS)))], st, apex, st + d - 1, amp))
    return sorted(out, key=lambda e: e.onset)


def inject_frames(frames: Iterable[np.ndarray], points: np.ndarray, injections: list[Injection], *,
                  reference_iod: float = REFERENCE_IOD) -> Iterator[np.ndarray]:
    """Yield ``frames`` (uint8, grey or BGR) with the ``injections`` warped in; ``points``:
    (T, 68, 2) landmarks of each frame in pixels. Frames no injection is active in are yielded
    unchanged (the same array); a frame without landmarks (NaN) is never warped."""
    n = len(points)
    profiles = [(_profile(n, Event(e.emotion, e.type, e.onset, e.apex, e.offset, e.amplitude)), e) for e in injections]
    iod = face_iod(points)
    for i, img in enumerate(frames):
        active = [(float(p[i]), e) for p, e in profiles if i < n and p[i] > 0]
        if not active or not np.isfinite(points[i]).all():
            yield img
            continue
        lm = points[i].astype(np.float64)
        h, w = img.shape[:2]
        pad = 0.6 * iod[i]
        x0, y0 = int(max(0, np.floor(lm[:, 0].min() - pad))), int(max(0, np.floor(lm[:, 1].min() - pad)))
        x1, y1 = int(min(w, np.ceil(lm[:, 0].max() + pad))), int(min(h, np.ceil(lm[:, 1].max() + pad)))
        if x1 - x0 < 8 or y1 - y0 < 8:
            yield img
            continue
        local = lm - [x0, y0]
        field = np.zeros((y1 - y0, x1 - x0, 2), np.float32)
        for act, e in active:
            field += np.float32(act * e.amplitude * iod[i] / reference_iod) * expression_field(field.shape[:2], local, e.emotion)
        roi = img[y0:y1, x0:x1].astype(np.float32)
        out = img.copy()
        out[y0:y1, x0:x1] = np.clip(np.rint(warp_by_field(roi, field, 1.0)), 0, 255).astype(img.dtype)
        yield out


def injection_sheet(video: str, subject: str, injections: list[Injection]) -> pd.DataFrame:
    """The ``generic`` annotation rows (1-based frame positions) of one video's injections."""
    return pd.DataFrame([{"subject": subject, "video": video, "onset": e.onset + 1, "apex": e.apex + 1, "offset": e.offset + 1,
                          "type": e.type, "emotion": e.emotion} for e in injections],
                        columns=["subject", "video", "onset", "apex", "offset", "type", "emotion"])


def write_injected_video(src: Iterable[np.ndarray], points: np.ndarray, injections: list[Injection], out_dir: str | Path,
                         *, jpeg_quality: int = 95) -> int:
    """Write the injected frames as ``out_dir/img00001.jpg``... (the ``generic`` layout's
    1-based positions, JPEG at ``jpeg_quality``, via a temporary folder); returns the frame count."""
    from mexp_lib.io.atomic import atomic_path

    n = 0
    with atomic_path(Path(out_dir), directory=True) as tmp:
        tmp.mkdir(parents=True, exist_ok=True)
        for i, img in enumerate(inject_frames(src, points, injections)):
            cv2.imwrite(str(tmp / f"img{i + 1:05d}.jpg"), img, [cv2.IMWRITE_JPEG_QUALITY, int(jpeg_quality)])
            n += 1
    return n
