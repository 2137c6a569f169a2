"""The motion stage as the workflow runs it, one function per rule:
``normalise_clip`` (TIM) -> ``magnify_motion`` -> ``compute_flow``."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from mexp_lib.errors import DataError
from mexp_lib.io.h5store import read_arrays, read_attrs, write_store
from mexp_lib.io.skip import skip_reason, write_skip
from mexp_lib.motion.flow import FlowParams, compute_flow, optical_strain
from mexp_lib.motion.interpolate import interpolate_frames, target_times
from mexp_lib.motion.magnify import magnify_eulerian

logger = logging.getLogger(__name__)


def _propagate_skip(src: str | Path, out: str | Path) -> bool:
    reason = skip_reason(src)
    if reason is not None:
        write_skip(out, Path(src).stem, reason)
        return True
    return False


def normalise_clip(faces_h5: str, *, onset: int, apex: int, offset: int, fps: float, cfg: dict[str, Any], out: str | Path) -> None:
    """Resample frames onset..offset of a clip to ``cfg['n_frames']`` frames (TIM).

    Stores ``frames`` (N, H, W) float32, ``times`` (frame numbers of the output frames), and the
    attributes ``apex_index`` (output frame nearest the apex, -1 if unknown) and ``fps`` (the
    effective frame rate after resampling).
    """
    if _propagate_skip(faces_h5, out):
        return
    d = read_arrays(faces_h5, "frames", "numbers")
    frames, numbers = d["frames"], d["numbers"]
    if frames.ndim != 3:
        raise DataError(f"{faces_h5}: TIM needs grey faces (set face.grey: true)")
    sel = np.flatnonzero((numbers >= onset) & (numbers <= offset))
    if len(sel) < 2:
        raise DataError(f"{faces_h5}: frames {onset}..{offset} give {len(sel)} frame(s); need >= 2")
    n_out = int(cfg["n_frames"])
    times = target_times(len(sel), n_out)
    out_frames = interpolate_frames(frames[sel], times, method=cfg.get("method", "flow"))
    t_numbers = numbers[sel[0]] + times * (numbers[sel[-1]] - numbers[sel[0]]) / max(len(sel) - 1, 1)
    apex_index = int(np.argmin(np.abs(t_numbers - apex))) if apex >= 0 else -1
    fps_eff = fps * (n_out - 1) / max(offset - onset, 1)
    write_store(out, {"frames": out_frames, "times": t_numbers}, {"stage": "tim", "apex_index": apex_index, "fps": fps_eff}, params=cfg)


def magnify_motion(in_h5: str, *, cfg: dict[str, Any], out: str | Path) -> None:
    """Eulerian magnification of a stored clip (see :mod:`mexp_lib.motion.magnify`)."""
    if _propagate_skip(in_h5, out):
        return
    d = read_arrays(in_h5, "frames", "times")
    a = read_attrs(in_h5)
    mag = magnify_eulerian(
        d["frames"], fps=float(a["fps"]), alpha=float(cfg["alpha"]), low_hz=float(cfg["low_hz"]),
        high_hz=float(cfg["high_hz"]), lambda_c=float(cfg["lambda_c"]), levels=int(cfg["levels"]),
    )
    write_store(out, {"frames": mag, "times": d["times"]}, {"stage": "magnified", "apex_index": a["apex_index"], "fps": a["fps"]}, params=cfg)


def flow_store(in_h5: str, *, cfg: dict[str, Any], out: str | Path) -> None:
    """Optical flow (onset -> every frame by default) and strain of a stored clip."""
    if _propagate_skip(in_h5, out):
        return
    d = read_arrays(in_h5, "frames")
    a = read_attrs(in_h5)
    method = cfg.get("method", "tvl1")
    flow, pairs = compute_flow(d["frames"], params=FlowParams(method, dict(cfg.get(method, {}) or {})), reference=cfg.get("reference", "onset"))
    strain = optical_strain(flow)
    mag = np.linalg.norm(flow, axis=-1).mean(axis=(1, 2))
    logger.info("%s: %d flow pairs, mean |flow| max %.3f px at pair %d", Path(in_h5).stem, len(pairs), mag.max(), int(mag.argmax()))
    write_store(
        out, {"flow": flow.astype(np.float16), "strain": strain.astype(np.float16), "pairs": np.asarray(pairs, np.int32)},
        {"stage": "flow", "apex_index": a.get("apex_index", -1), "reference": cfg.get("reference", "onset"), "method": method},
        params=cfg,
    )
