"""Temporal interpolation: resample a clip to a fixed number of frames (the field's TIM step).

The classical interpolator is flow based: for a target time between frames a and b = a + 1
(fraction w), bidirectional flows F_ab and F_ba (DIS) give approximate flows from the target to
a and b (the quadratic approximation of Jiang et al., Super SloMo, 2018),

    F_ta = -(1 - w) w F_ab + w^2 F_ba,      F_tb = (1 - w)^2 F_ab - w (1 - w) F_ba,

both frames are warped to the target, and they are blended with weights (1 - w) V_a and w V_b,
where V is a visibility mask from the forward-backward consistency of the flows (a pixel whose
flow does not come back to itself within ``occlusion_px`` is treated as occluded in that frame).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from mexp_lib.errors import ConfigError
from mexp_lib.motion.flow import FlowParams, make_flow, require_finite


def _warp(img: np.ndarray, flow: np.ndarray) -> np.ndarray:
    h, w = flow.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    return cv2.remap(img, xx + flow[..., 0], yy + flow[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def _visibility(f_ab: np.ndarray, f_ba: np.ndarray, tol: float) -> np.ndarray:
    """1 where a pixel of a, moved by F_ab and back by F_ba, returns within ``tol`` px."""
    back = _warp(f_ba, f_ab)
    err = np.linalg.norm(f_ab + back, axis=-1)
    return (err <= tol).astype(np.float32) * 0.98 + 0.02


def upsample_times(n_in: int, factor: int) -> np.ndarray:
    """Times that upsample a clip of ``n_in`` frames by an integer ``factor`` (the original
    frames kept, ``factor - 1`` new frames between each pair): ``(n_in - 1) * factor + 1`` times."""
    if factor < 1:
        raise ConfigError(f"upsampling factor must be >= 1, not {factor}")
    return np.arange((n_in - 1) * factor + 1) / factor


def target_times(n_in: int, n_out: int) -> np.ndarray:
    """Evenly spaced times in [0, n_in - 1] for ``n_out`` output frames."""
    if n_out < 2:
        raise ConfigError(f"interpolation.n_frames must be >= 2, not {n_out}")
    return np.linspace(0.0, n_in - 1.0, n_out)


METHODS = ("flow", "linear", "rife")


def interpolate_clip(frames: np.ndarray, times: np.ndarray, cfg: dict, *, source: str | Path = "") -> np.ndarray:
    """Resample a clip with the configured interpolator: ``method`` flow | linear (classical,
    :func:`interpolate_frames`) or rife (RIFE's IFNet with the weights at ``rife_weights``)."""
    from mexp_lib.config import settings

    cfg = settings("interpolation", cfg)
    method = cfg["method"]
    if method not in METHODS:
        raise ConfigError(f"interpolation.method must be one of {METHODS}, not {method!r}")
    require_finite(frames, source)
    if method == "rife":
        from mexp_lib.motion.networks import IFNet, load_weights, rife_interpolate

        net = load_weights(IFNet(), cfg["rife_weights"], what="interpolation.method rife", key="interpolation.rife_weights")
        return rife_interpolate(net, frames.astype(np.float32), times)
    return interpolate_frames(frames, times, method=method)


def interpolate_frames(frames: np.ndarray, times: np.ndarray, *, method: str = "flow", occlusion_px: float = 1.0) -> np.ndarray:
    """Frames (T, H, W) resampled at fractional ``times`` -> (len(times), H, W) float32.

    ``method``: ``flow`` (the flow-based interpolator above) or ``linear`` (cross-fade, for
    comparison).
    """
    if method not in ("flow", "linear"):
        raise ConfigError(f"interpolation.method must be 'flow' or 'linear', not {method!r}")
    f32 = frames.astype(np.float32)
    f8 = np.clip(np.rint(frames), 0, 255).astype(np.uint8)
    calc = make_flow(FlowParams("dis", {"preset": "medium"})) if method == "flow" else None
    cache: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = {}
    out = np.empty((len(times), *frames.shape[1:]), np.float32)
    for j, t in enumerate(times):
        a = int(np.floor(t))
        w = float(t - a)
        if a >= len(frames) - 1 or w < 1e-6:
            out[j] = f32[min(a, len(frames) - 1)]
            continue
        if calc is None:
            out[j] = (1 - w) * f32[a] + w * f32[a + 1]
            continue
        if a not in cache:
            f_ab, f_ba = calc(f8[a], f8[a + 1]), calc(f8[a + 1], f8[a])
            cache = {a: (f_ab, f_ba, _visibility(f_ab, f_ba, occlusion_px), _visibility(f_ba, f_ab, occlusion_px))}
        f_ab, f_ba, vis_a, vis_b = cache[a]
        f_ta = -(1 - w) * w * f_ab + w * w * f_ba
        f_tb = (1 - w) ** 2 * f_ab - w * (1 - w) * f_ba
        ia, ib = _warp(f32[a], f_ta), _warp(f32[a + 1], f_tb)
        va, vb = (1 - w) * _warp(vis_a, f_ta), w * _warp(vis_b, f_tb)
        out[j] = (va * ia + vb * ib) / (va + vb)
    return out
