"""Similarity alignment of faces to a canonical template, and cropping.

The transform maps nine stable landmarks (eye corners 36, 39, 42, 45; nose bridge 27, 28;
nose 30, 33; chin 8 is *not* used since the jaw moves) onto a template given in unit
coordinates of the face box: outer eye corners at x = 0.25 / 0.75 on the eye line y = 0.32, the
nose tip 0.2 box-widths below the eye line. ``margin`` adds a border (fraction of the output).
The template was laid out from the proportions of a frontal face (inter-ocular distance = half
the face width, brows 0.125 above the eye line, chin 0.625 below it).
"""

from __future__ import annotations

import cv2
import numpy as np

STABLE = np.array([36, 39, 42, 45, 27, 28, 30, 33])
TEMPLATE = np.array(
    [[0.25, 0.32], [0.392, 0.325], [0.608, 0.325], [0.75, 0.32], [0.5, 0.31], [0.5, 0.38], [0.5, 0.52], [0.5, 0.578]],
    np.float64,
)


def template_points(size: int, margin: float) -> np.ndarray:
    """Template of the stable points in pixels of a ``size`` x ``size`` crop."""
    return (margin + TEMPLATE * (1.0 - 2.0 * margin)) * size


def similarity_transform(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares similarity (rotation, uniform scale, translation) mapping ``src`` to ``dst``
    (Umeyama 1991). Returns a 2x3 matrix for ``cv2.warpAffine``."""
    src = np.asarray(src, np.float64)
    dst = np.asarray(dst, np.float64)
    mu_s, mu_d = src.mean(0), dst.mean(0)
    s0, d0 = src - mu_s, dst - mu_d
    cov = d0.T @ s0 / len(src)
    u, sig, vt = np.linalg.svd(cov)
    d = np.eye(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        d[1, 1] = -1
    r = u @ d @ vt
    scale = np.trace(np.diag(sig) @ d) / s0.var(0).sum()
    t = mu_d - scale * r @ mu_s
    return np.hstack([scale * r, t[:, None]])


def face_transform(points: np.ndarray, size: int, margin: float) -> np.ndarray:
    """2x3 transform taking a frame with these 68 landmarks to the aligned crop."""
    return similarity_transform(points[STABLE], template_points(size, margin))


def apply_transform(m: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Apply a 2x3 affine transform to (..., 2) points."""
    return points @ m[:, :2].T + m[:, 2]


def warp_face(img: np.ndarray, m: np.ndarray, size: int) -> np.ndarray:
    """Crop the aligned face: bilinear, border replicated."""
    return cv2.warpAffine(img, m, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
