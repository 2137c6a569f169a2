"""The fixed-region flow peak picker: the floor every spotter is measured against.

No landmarks and no alignment: the central ``region`` fraction of each frame (where a
recording's face is), resized to ``size`` px, grey. For each expression type with half-window
``k`` (``spotting.k_seconds``), the DIS flow ``j -> j + k`` of every frame pair; the motion of a
pair is the mean magnitude of the flow after its median (a global translation: head motion) is
removed. Frame i scores the *smaller* of the motions ``i - k -> i`` and ``i -> i + k``: both are
large at the apex of an expression that starts and ends about k frames away, while a sustained
change (a head turn, a slow drift) moves only one of them. The scores are spotted like any
other (:func:`mexp_lib.spotting.spot_loso`: peaks above a threshold chosen on the other
subjects, interval = peak +/- k), without the micro/macro scale test.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from mexp_lib.io.frames import open_frames
from mexp_lib.log import progress
from mexp_lib.motion.flow import NO_FLOW
from mexp_lib.spotting.settings import TYPES, half_window


def central_region(img: np.ndarray, region: float, size: int) -> np.ndarray:
    """The central ``region`` fraction (of the shorter side) of a grey frame, resized to ``size``."""
    h, w = img.shape[:2]
    side = max(8, int(round(min(h, w) * region)))
    y0, x0 = (h - side) // 2, (w - side) // 2
    return cv2.resize(img[y0:y0 + side, x0:x0 + side], (size, size), interpolation=cv2.INTER_AREA)


def pair_motion(flow: np.ndarray) -> float:
    """Mean flow magnitude (px) after removing the median flow (global translation)."""
    f = flow.reshape(-1, 2)
    return float(np.linalg.norm(f - np.median(f, axis=0), axis=1).mean())


def fixed_region_scores(frames_path: str, *, fps: float, k_seconds: dict[str, float], region: float = 0.6, size: int = 128,
                        numbering: str = "position") -> dict[str, np.ndarray]:
    """Per-frame scores of one video for each type, in the layout :func:`mexp_lib.spotting.spot_loso`
    reads: ``{"micro": (T,), "macro": (T,), "k_micro": k, "k_macro": k, "numbers": (T,)}``."""
    src = open_frames(frames_path, numbering=numbering)
    n = len(src)
    stack = np.stack([central_region(f, region, size) for f in progress(src.iter_frames(grey=True), n, f"{frames_path}: reading", every_s=10.0)])
    return {"numbers": np.asarray(src.numbers), **stack_scores(stack, fps=fps, k_seconds=k_seconds)}


def stack_scores(stack: np.ndarray, *, fps: float, k_seconds: dict[str, float]) -> dict[str, np.ndarray]:
    """The floor's per-frame scores of a grey frame stack (T, S, S) uint8: ``{"micro": (T,),
    "macro": (T,), "k_micro": k, "k_macro": k}`` (see the module's docstring)."""
    if stack.ndim == 4:  # colour faces (face.grey: false)
        stack = np.stack([cv2.cvtColor(f, cv2.COLOR_BGR2GRAY) for f in stack])
    n = len(stack)
    dis = cv2.DISOpticalFlow.create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    out: dict[str, Any] = {}
    for t in TYPES:
        k = half_window(fps, float(k_seconds[t]), n)
        score = np.zeros(n, np.float32)
        if n > 2 * k:
            motion = np.array([pair_motion(dis.calc(stack[j], stack[j + k], NO_FLOW)) for j in range(n - k)])
            # frame i (k <= i < n - k): min(motion(i - k -> i), motion(i -> i + k))
            score[k: n - k] = np.minimum(motion[: n - 2 * k], motion[k: n - k])
        out[t] = score
        out[f"k_{t}"] = np.array(k)
    return out
