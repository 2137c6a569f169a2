"""Linear Eulerian motion magnification (Wu et al., SIGGRAPH 2012).

Each frame is decomposed into a Laplacian pyramid; every level is band-passed in time -- with
an ideal filter (``filter: ideal``: FFT along time, every frequency outside ``[low_hz, high_hz]``
zeroed) or a Butterworth IIR band-pass (``filter: butterworth``, order ``order``, run forward
and backward so the magnified motion keeps the phase of the original, which an offline clip
allows) --, multiplied by a level-dependent
gain and added back. The gain follows the paper's bound (1 + alpha) delta(t) < lambda / 8: with
``lambda`` the representative spatial wavelength of a level (``sqrt(H^2 + W^2) / 3`` at the
coarsest level, halving at each finer level, as in the authors' code) and ``delta = lambda_c / 8 / (1 + alpha)``, a level gets
``min(alpha, lambda / (8 delta) - 1)``; the finest and the coarsest (residual) levels are not
amplified. ``lambda_c`` is the spatial cut-off below which motion is attenuated.
"""

from __future__ import annotations

import cv2
import numpy as np

from mexp_lib.errors import ConfigError
from mexp_lib.motion.flow import require_finite


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


def butterworth_bandpass(x: np.ndarray, fps: float, low: float, high: float, order: int = 2) -> np.ndarray:
    """Zero-phase Butterworth band-pass of x (T, ...) along time (second-order sections, run
    forward and backward); ``low = 0`` makes it a low-pass, ``high`` at or above the clip's
    Nyquist frequency a high-pass (a TIM-normalised clip's frame rate varies with its length)."""
    from scipy.signal import butter, sosfiltfilt

    nyq = fps / 2.0
    if high >= nyq and low <= 0:  # the band covers every frequency the clip has
        return x.astype(np.float32)
    if high >= nyq:  # the band reaches the Nyquist frequency: a high-pass
        sos = butter(order, low, btype="highpass", fs=fps, output="sos")
    elif low <= 0:
        sos = butter(order, high, btype="lowpass", fs=fps, output="sos")
    else:
        sos = butter(order, [low, high], btype="bandpass", fs=fps, output="sos")
    padlen = min(x.shape[0] - 1, 3 * (2 * len(sos) + 1))
    return sosfiltfilt(sos, x, axis=0, padlen=padlen).astype(np.float32)


FILTERS = ("ideal", "butterworth")


def level_gains(shape: tuple[int, int], levels: int, alpha: float, lambda_c: float) -> list[float]:
    """Amplification of each pyramid level (finest first), per Wu et al. 2012."""
    delta = lambda_c / 8.0 / (1.0 + alpha)
    gains = []
    for lev in range(levels):
        lam = float(np.hypot(*shape)) / 3.0 / 2.0 ** (levels - 1 - lev)  # coarsest level: hypot / 3
        a = lam / (8.0 * delta) - 1.0
        gains.append(0.0 if lev in (0, levels - 1) else float(min(alpha, max(a, 0.0))))
    return gains


def magnify_eulerian(
    frames: np.ndarray, *, fps: float, alpha: float, low_hz: float, high_hz: float, lambda_c: float = 16.0, levels: int = 4,
    filter: str = "ideal", order: int = 2,
) -> np.ndarray:
    """Magnify the motion of grey frames (T, H, W) in the temporal band; returns float32 frames."""
    if frames.ndim != 3:
        raise ConfigError(f"magnification expects grey frames (T, H, W), got {frames.shape}")
    if not 0 <= low_hz < high_hz:
        raise ConfigError(f"magnification: need 0 <= low_hz < high_hz, got {low_hz}, {high_hz}")
    if filter not in FILTERS:
        raise ConfigError(f"magnification.filter must be one of {FILTERS}, not {filter!r}")
    if min(frames.shape[1:]) < 2 ** levels:
        raise ConfigError(f"magnification: {levels} pyramid levels need frames of at least {2 ** levels} px, got {frames.shape[1:]}")
    if frames.shape[0] < 3:
        raise ConfigError(f"magnification needs at least 3 frames, got {frames.shape[0]}")
    band = (lambda x: ideal_bandpass(x, fps, low_hz, high_hz)) if filter == "ideal" else (lambda x: butterworth_bandpass(x, fps, low_hz, high_hz, order))
    t, h, w = frames.shape
    f = frames.astype(np.float32)
    pyrs = [laplacian_pyramid(f[i], levels) for i in range(t)]
    gains = level_gains((h, w), levels, alpha, lambda_c)
    out_pyr = []
    for lev in range(levels):
        stack = np.stack([p[lev] for p in pyrs])
        if gains[lev] > 0:
            stack = stack + gains[lev] * band(stack)
        out_pyr.append(stack)
    return np.stack([collapse([out_pyr[lev][i] for lev in range(levels)]) for i in range(t)]).astype(np.float32)


def magnify_clip(frames: np.ndarray, fps: float, cfg: dict, *, source: str = "") -> np.ndarray:
    """Magnify a clip as configured: ``method`` eulerian (:func:`magnify_eulerian` with
    ``alpha, low_hz, high_hz, lambda_c, levels, filter, order``) or magnet (MagNet, weights at
    ``magnet_weights``, static mode against the first frame, ``alpha``)."""
    from mexp_lib.config import settings

    cfg = settings("magnification", cfg)
    require_finite(frames, source)
    method = cfg["method"]
    if method == "magnet":
        from mexp_lib.motion.networks import MagNet, load_weights, magnet_magnify

        net = load_weights(MagNet(), cfg["magnet_weights"], what="magnification.method magnet", key="magnification.magnet_weights")
        return magnet_magnify(net, frames.astype(np.float32), float(cfg["alpha"]))
    if method != "eulerian":
        raise ConfigError(f"magnification.method must be eulerian or magnet, not {method!r}")
    return magnify_eulerian(frames, fps=fps, alpha=float(cfg["alpha"]), low_hz=float(cfg["low_hz"]), high_hz=float(cfg["high_hz"]),
                            lambda_c=float(cfg["lambda_c"]), levels=int(cfg["levels"]), filter=cfg["filter"], order=int(cfg["order"]))
