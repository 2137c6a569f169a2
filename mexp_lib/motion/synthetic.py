"""Synthetic motion with a known answer, for the motion stage's tests and benchmarks."""

from __future__ import annotations

import cv2
import numpy as np


def smooth_field(shape: tuple[int, int], *, low: float = 0.2, high: float = 3.0) -> np.ndarray:
    """A smooth displacement field (H, W, 2) whose magnitude spans about ``low`` .. ``high`` px
    over a face-sized image (sinusoids of 20-30 px wavelength scale)."""
    h, w = shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    s = max(h, w) / 192.0
    u = low + (high - low) / 2 * (1 + np.sin(xx / (23.0 * s)) * np.cos(yy / (31.0 * s)))
    v = 0.35 * (high - low) * np.sin(yy / (27.0 * s) + 0.4) * np.cos(xx / (40.0 * s))
    return np.dstack([u, v]).astype(np.float32)


def move_by_field(img: np.ndarray, field: np.ndarray, iterations: int = 20) -> np.ndarray:
    """The image whose content at ``x + field(x)`` is ``img(x)`` -- exactly the motion an optical
    flow ``flow(img, result)`` should report (OpenCV's convention). The backward map is found by
    fixed-point iteration of ``p = x - field(p)``; bicubic sampling."""
    h, w = field.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    px, py = xx.copy(), yy.copy()
    for _ in range(iterations):
        px = xx - cv2.remap(field[..., 0], px, py, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        py = yy - cv2.remap(field[..., 1], px, py, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return cv2.remap(img.astype(np.float32), px, py, cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT_101)


def band_texture(size: int, *, fine: float = 8.0, coarse: float = 20.0, seed: int = 2) -> np.ndarray:
    """A band-limited random texture (difference of Gaussians of noise, float32 around 128,
    +/- 60): structure of 2 pi x ``fine`` .. 2 pi x ``coarse`` px wavelength, the regime in which
    linear Eulerian magnification is valid ((1 + alpha) delta < lambda / 8, Wu et al. 2012)."""
    rng = np.random.default_rng(seed)
    noise = rng.uniform(0, 1, (size, size)).astype(np.float32)
    img = cv2.GaussianBlur(noise, (0, 0), fine) - cv2.GaussianBlur(noise, (0, 0), coarse)
    return (128 + 60 * img / np.abs(img).max()).astype(np.float32)


def translate(img: np.ndarray, dx: float, dy: float = 0.0) -> np.ndarray:
    """``img`` with its content moved by (dx, dy) px (bilinear)."""
    h, w = img.shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    return cv2.remap(img.astype(np.float32), xx - np.float32(dx), yy - np.float32(dy), cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
