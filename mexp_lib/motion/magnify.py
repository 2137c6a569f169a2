"""Linear Eulerian motion magnification (Wu et al., SIGGRAPH 2012).

Each frame is decomposed into a Laplacian pyramid; every level is band-passed in time with an
ideal filter (FFT along time, pass band ``[low_hz, high_hz]``), multiplied by a level-dependent
gain and added back. The gain follows the paper's bound (1 + alpha) delta(t) < lambda / 8: with
``lambda`` the spatial wavelength of a level (starting at ``sqrt(H^2 + W^2) / 3`` at the finest
level and halving per level) and ``delta = lambda_c / 8 / (1 + alpha)``, a level gets
``min(alpha, lambda / (8 delta) - 1)``; the finest and the coarsest (residual) levels are not
amplified. ``lambda_c`` is the spatial cut-off below which motion is attenuated.
"""

from __future__ import annotations

import cv2
import numpy as np

from mexp_lib.errors import ConfigError


def laplacian_pyramid(img: np.ndarray, levels: int) -> list[np.ndarray]:
    pyr = []
    cur = img
    for _ in range(levels - 1):
        down = cv2.pyrDown(cur)
        up = cv2.pyrUp(down, dstsize=(cur.shape[1], cur.shape[0]))
        pyr.append(cur - up)
        cur = down
    pyr.append(cur)
    return pyr


def collapse(pyr: list[np.ndarray]) -> np.ndarray:
    cur = pyr[-1]
    for lap in reversed(pyr[:-1]):
        cur = cv2.pyrUp(cur, dstsize=(lap.shape[1], lap.shape[0])) + lap
    return cur


def ideal_bandpass(x: np.ndarray, fps: float, low: float, high: float) -> np.ndarray:
    """Zero every temporal frequency of x (T, ...) outside [low, high] Hz."""
    n = x.shape[0]
    freqs = np.fft.rfftfreq(n, d=1.0 / fps)
    spec = np.fft.rfft(x, axis=0)
    keep = (freqs >= low) & (freqs <= high)
    spec[~keep] = 0
    return np.fft.irfft(spec, n=n, axis=0).astype(np.float32)


def level_gains(shape: tuple[int, int], levels: int, alpha: float, lambda_c: float) -> list[float]:
    """Amplification of each pyramid level (finest first), per Wu et al. 2012."""
    lam = float(np.hypot(*shape)) / 3.0
    delta = lambda_c / 8.0 / (1.0 + alpha)
    gains = []
    for lev in range(levels):
        a = lam / (8.0 * delta) - 1.0
        gains.append(0.0 if lev in (0, levels - 1) else float(min(alpha, max(a, 0.0))))
        lam /= 2.0
    return gains


def magnify_eulerian(
    frames: np.ndarray, *, fps: float, alpha: float, low_hz: float, high_hz: float, lambda_c: float = 16.0, levels: int = 4
) -> np.ndarray:
    """Magnify the motion of grey frames (T, H, W) in the temporal band; returns float32 frames."""
    if frames.ndim != 3:
        raise ConfigError(f"magnification expects grey frames (T, H, W), got {frames.shape}")
    if not 0 <= low_hz < high_hz:
        raise ConfigError(f"magnification: need 0 <= low_hz < high_hz, got {low_hz}, {high_hz}")
    t, h, w = frames.shape
    f = frames.astype(np.float32)
    pyrs = [laplacian_pyramid(f[i], levels) for i in range(t)]
    gains = level_gains((h, w), levels, alpha, lambda_c)
    out_pyr = []
    for lev in range(levels):
        stack = np.stack([p[lev] for p in pyrs])
        if gains[lev] > 0:
            stack = stack + gains[lev] * ideal_bandpass(stack, fps, low_hz, high_hz)
        out_pyr.append(stack)
    return np.stack([collapse([out_pyr[lev][i] for lev in range(levels)]) for i in range(t)]).astype(np.float32)
