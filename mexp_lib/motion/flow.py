"""Optical flow (TV-L1, DIS, Farneback) and optical strain.

Flow convention: ``flow[y, x] = (u, v)`` in pixels such that ``second(x + u, y + v) ~ first(x, y)``
(OpenCV's convention for ``calc(first, second)``).

Optical strain (Shreve et al. 2011): with the flow's displacement gradient, the infinitesimal
strain tensor is ``e = 1/2 (grad(u) + grad(u)^T)``, i.e. ``exx = du/dx``, ``eyy = dv/dy``,
``exy = 1/2 (du/dy + dv/dx)``; its magnitude is ``sqrt(exx^2 + eyy^2 + 2 exy^2)`` (the Frobenius
norm of ``e``). Derivatives are central differences in the interior and one-sided at the
border (``numpy.gradient``), in units of pixels per pixel.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import cv2
import numpy as np

from mexp_lib.errors import ConfigError, DataError
from mexp_lib.log import progress

METHODS = ("tvl1", "dis", "farneback")

# OpenCV's own defaults, for options a direct caller of make_flow leaves out. The workflow and
# the command line pass every option, resolved from the schema (mexp_lib.config).
TVL1_DEFAULTS: dict[str, Any] = {
    "tau": 0.25, "lambda": 0.15, "theta": 0.3, "nscales": 5, "warps": 5,
    "epsilon": 0.01, "inner_iterations": 30, "outer_iterations": 10, "scale_step": 0.8, "gamma": 0.0,
}
FARNEBACK_DEFAULTS: dict[str, Any] = {
    "pyr_scale": 0.5, "levels": 3, "winsize": 15, "iterations": 3, "poly_n": 5, "poly_sigma": 1.2,
}
DIS_PRESETS = {"ultrafast": 0, "fast": 1, "medium": 2}
# DIS options over its preset (OpenCV's setters)
DIS_OPTIONS = {
    "finest_scale": "setFinestScale", "patch_size": "setPatchSize", "patch_stride": "setPatchStride",
    "gradient_descent_iterations": "setGradientDescentIterations", "variational_refinement_iterations": "setVariationalRefinementIterations",
}


@dataclass
class FlowParams:
    """Settings of one flow method; ``options`` override the method's defaults."""

    method: str = "tvl1"
    options: dict[str, Any] = field(default_factory=dict)


# OpenCV allocates an output (a flow field, tracked points) when given None; its stubs type the
# argument as a Mat only.
NO_FLOW = cast(np.ndarray, None)


def make_flow(params: FlowParams) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """A function ``(first, second) -> flow (H, W, 2) float32`` for uint8 grey images."""
    m = params.method
    o = params.options
    if m == "tvl1":
        p = {**TVL1_DEFAULTS, **o}
        unknown = set(p) - set(TVL1_DEFAULTS)
        if unknown:
            raise ConfigError(f"flow.tvl1: unknown option(s) {sorted(unknown)}")
        tv = cv2.optflow.DualTVL1OpticalFlow.create(
            tau=p["tau"], lambda_=p["lambda"], theta=p["theta"], nscales=p["nscales"], warps=p["warps"],
            epsilon=p["epsilon"], innnerIterations=p["inner_iterations"], outerIterations=p["outer_iterations"],
            scaleStep=p["scale_step"], gamma=p["gamma"], medianFiltering=5, useInitialFlow=False,
        )
        return lambda a, b: tv.calc(a, b, NO_FLOW)
    if m == "dis":
        preset = o.get("preset", "medium")
        if preset not in DIS_PRESETS:
            raise ConfigError(f"flow.dis.preset must be one of {list(DIS_PRESETS)}, not {preset!r}")
        unknown = set(o) - {"preset", *DIS_OPTIONS}
        if unknown:
            raise ConfigError(f"flow.dis: unknown option(s) {sorted(unknown)}; known: preset, {', '.join(DIS_OPTIONS)}")
        dis = cv2.DISOpticalFlow.create(DIS_PRESETS[preset])
        for key, setter in DIS_OPTIONS.items():
            if o.get(key) is not None:  # None: the preset's value
                getattr(dis, setter)(int(o[key]))
        return lambda a, b: dis.calc(a, b, NO_FLOW)
    if m == "farneback":
        p = {**FARNEBACK_DEFAULTS, **o}
        return lambda a, b: cv2.calcOpticalFlowFarneback(a, b, NO_FLOW, p["pyr_scale"], p["levels"], p["winsize"], p["iterations"], p["poly_n"], p["poly_sigma"], 0)
    raise ConfigError(f"flow.method must be one of {METHODS}, not {m!r}")


def require_finite(frames: np.ndarray, source: str | Path = "") -> None:
    """A :class:`DataError` naming ``source`` (the file the frames came from) when a float stack
    holds NaN or infinite values -- before any stage computes on it."""
    if frames.dtype.kind == "f" and not np.all(np.isfinite(frames)):
        raise DataError(f"{source or 'frames'}: the clip holds NaN or infinite values")


def to_uint8(frames: np.ndarray, source: str | Path = "") -> np.ndarray:
    """Frames as uint8 (float stacks are rounded and clipped to 0..255)."""
    if frames.dtype == np.uint8:
        return frames
    require_finite(frames, source)
    return np.clip(np.rint(frames), 0, 255).astype(np.uint8)


def reference_pairs(n: int, reference: str) -> list[tuple[int, int]]:
    """Frame pairs (first, second) for a reference mode.

    ``onset``: frame 0 -> every frame (the first pair is 0 -> 0, zero flow, so that index i of
    the output is the motion of frame i); ``previous``: i-1 -> i (i >= 1; the first pair is
    0 -> 0); ``skip:K``: i -> i+K for every i with i+K < n (spotting features).
    """
    if reference == "onset":
        return [(0, i) for i in range(n)]
    if reference == "previous":
        return [(max(i - 1, 0), i) for i in range(n)]
    if reference.startswith("skip:"):
        try:
            k = int(reference.split(":", 1)[1])
        except ValueError:
            raise ConfigError(f"flow reference {reference!r}: K of skip:K must be an integer") from None
        if k < 1:
            raise ConfigError(f"flow reference {reference!r}: K must be >= 1")
        return [(i, i + k) for i in range(n - k)]
    raise ConfigError(f"flow reference must be onset, previous or skip:K, not {reference!r}")


def optical_flow(frames: np.ndarray, *, params: FlowParams, reference: str = "onset", source: str | Path = "",
                 threads: int = 1) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Optical flow of a stack of grey frames (T, H, W) for the pairs of ``reference``; errors
    name ``source``, the file the frames came from. ``threads`` > 1 spreads the pairs over that
    many threads (OpenCV releases the GIL; one flow object per thread): the same result.

    Returns flow (P, H, W, 2) float32 in pixels and the pairs used.
    """
    if frames.ndim != 3:
        raise DataError(f"{source or 'optical_flow'}: expects grey frames (T, H, W), got shape {frames.shape}")
    f8 = to_uint8(frames, source)
    calc = make_flow(params)
    pairs = reference_pairs(len(f8), reference)
    if not pairs:
        raise DataError(f"{source or 'optical_flow'}: {len(f8)} frames give no frame pair for flow reference {reference!r} "
                        f"(skip:K needs more than K frames)")
    out = np.zeros((len(pairs), *f8.shape[1:], 2), np.float32)
    what = f"{source or 'frames'}: flow ({params.method})"
    if threads > 1:
        return _flow_threads(f8, pairs, params, out, threads, what), pairs
    for j, (a, b) in progress(enumerate(pairs), len(pairs), what):
        if a != b:
            out[j] = calc(f8[a], f8[b])
    return out, pairs


def _flow_threads(f8: np.ndarray, pairs: list[tuple[int, int]], params: FlowParams, out: np.ndarray, threads: int,
                  what: str) -> np.ndarray:
    """:func:`optical_flow`'s loop over ``threads`` threads, each with its own flow object;
    progress reported as pairs finish."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    local = threading.local()

    def run(j: int) -> None:
        calc = getattr(local, "calc", None)
        if calc is None:
            calc = local.calc = make_flow(params)
        a, b = pairs[j]
        if a != b:
            out[j] = calc(f8[a], f8[b])

    with ThreadPoolExecutor(threads) as pool:
        for _ in progress(pool.map(run, range(len(pairs))), len(pairs), what):
            pass
    return out


def optical_strain(flow: np.ndarray) -> np.ndarray:
    """Optical-strain magnitude of flow (..., H, W, 2) -> (..., H, W); see module doc."""
    u, v = flow[..., 0], flow[..., 1]
    du_dy, du_dx = np.gradient(u, axis=(-2, -1))
    dv_dy, dv_dx = np.gradient(v, axis=(-2, -1))
    exy = 0.5 * (du_dy + dv_dx)
    return np.sqrt(du_dx**2 + dv_dy**2 + 2 * exy**2).astype(np.float32)
