"""Per-frame motion scores of long videos: the features that spotting reads.

Features (:func:`spotting_features`, per video, streamed two frames at a time so memory does not
grow with the video): for each expression type, with a half-window ``k`` derived from the frame
rate (``k = round(fps * k_seconds[type])``), the optical flow ``F_i = flow(i -> i+k)`` of the
aligned face; head motion is removed by subtracting the mean flow of a nose box; the eyes
(landmark polygons, dilated) are masked out, since blinks are the commonest false positive; the
face is divided into a grid of cells and the mean flow vector of each cell is kept.

Score: the displacement of frame i relative to the mean of frames i-k and i+k (the feature
difference of Moilanen et al. 2014, on flow), ``D_i = (F_{i-k} - F_i) / 2`` per cell; the score is
the mean of the ``top_cells`` largest cell magnitudes. It peaks at the apex of an expression whose
onset and offset lie about k frames away. ``method: mdmd`` scores with
:mod:`mexp_lib.spotting.mdmd` instead.

Robustness to real recordings (sensor noise, JPEG, blinks; chosen on the development part of
``benchmarks/bench_spotting_realism.py``): ``region: face`` measures motion inside the face only
(background, hair and the crop's replicated border are flat, and flow there is mostly error);
``blinks: regress`` removes from every cell the part of its motion that the eyes' own motion
explains (:func:`remove_blinks`), since a blink pulls the skin around the eyes beyond any mask;
``denoise`` and ``cell_norm`` are further options. ``boundaries: multiscale`` measures the onset
and offset of each candidate apex (:func:`apex_boundaries`) instead of ``peak +/- k``; the
intervals are then read from these scores by :mod:`mexp_lib.spotting.intervals`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

import cv2
import numpy as np

from mexp_lib.log import progress
from mexp_lib.motion.flow import FlowParams, make_flow
from mexp_lib.motion.regions import HeadMotion, face_masks, outside_face
from mexp_lib.spotting.intervals import candidate_apexes
from mexp_lib.spotting.settings import TYPES, grid_edges, half_window, spotting_settings

logger = logging.getLogger(__name__)


def cell_flows(frames: Iterable[tuple[np.ndarray, np.ndarray]], n_pairs: int, *, calc: Any, remove: HeadMotion, mask: np.ndarray, grid: int, what: str,
               regions: list[np.ndarray] | None = None) -> np.ndarray:
    """Mean flow vector per grid cell for each frame pair, head motion removed ->
    (P, grid*grid, 2) float32; with ``regions`` ((H, W) bool masks, e.g. the eyes, which ``mask``
    hides from the cells) their mean flows follow as extra columns (P, grid*grid + R, 2)."""
    size = mask.shape[0]
    edges = grid_edges(size, grid)
    keep = (~mask).astype(np.float32)
    cell_w = np.array([keep[edges[a]:edges[a + 1], edges[b]:edges[b + 1]].sum() for a in range(grid) for b in range(grid)], np.float32)
    regions = regions or []
    out = np.zeros((n_pairs, grid * grid + len(regions), 2), np.float32)
    for j, (a, b) in enumerate(progress(frames, n_pairs, what, every_s=10.0)):
        full = remove(calc(a, b))
        f = full * keep[..., None]
        sums = np.add.reduceat(np.add.reduceat(f, edges[:-1], axis=0), edges[:-1], axis=1).reshape(-1, 2)
        out[j, : grid * grid] = sums / np.maximum(cell_w, 1.0)[:, None]
        for r, region in enumerate(regions):
            out[j, grid * grid + r] = full[region].mean(0)
    return out


def remove_blinks(cells: np.ndarray, eyes: np.ndarray) -> np.ndarray:
    """Per-cell motion (T, C) less what the eyes' motion (T,) explains: blinks are the commonest
    false positive, and the eye mask does not stop a blink's pull on the skin around the eyes.
    Each cell's leakage ``b_c`` is the least-squares slope of the cell on the eye motion over
    the video (expressions are rare and not tied to blinks, so blinks dominate the fit); the
    result is ``max(cell - b_c * eyes, 0)``."""
    e = eyes.astype(np.float64)
    denom = float(e @ e)
    if denom <= 0:
        return cells
    slope = np.maximum(e @ cells.astype(np.float64) / denom, 0.0)
    return np.maximum(cells - e[:, None] * slope[None, :], 0.0).astype(np.float32)


def denoised(frames: Any, *, fps: float, spatial: float = 0.0, temporal: float = 0.0, chunk: int = 256) -> Any:
    """The aligned grey frames (T, S, S) with sensor noise and compression artefacts reduced before
    flow: a Gaussian blur of ``spatial`` px and a centred moving average over ``temporal`` seconds
    (``round(fps * temporal)`` frames, odd; 1 = none). Returns ``frames`` itself when both are off,
    else a uint8 array (read ``chunk`` frames at a time, so a long store is never held in float)."""
    w = max(1, int(round(fps * temporal)))
    w += 1 - w % 2
    if spatial <= 0 and w == 1:
        return frames
    n = frames.shape[0]
    out = np.empty(frames.shape, np.uint8)
    h = w // 2
    for a in range(0, n, chunk):
        lo, hi = max(0, a - h), min(n, a + chunk + h)
        block = frames[lo:hi].astype(np.float32)
        if w > 1:  # centred mean, the window shrunk at the ends
            c = np.concatenate([np.zeros((1, *block.shape[1:]), np.float32), np.cumsum(block, axis=0)])
            idx = np.arange(a, min(n, a + chunk)) - lo
            left, right = np.maximum(idx - h, 0), np.minimum(idx + h + 1, len(block))
            block = (c[right] - c[left]) / (right - left)[:, None, None]
        else:
            block = block[a - lo: a - lo + min(chunk, n - a)]
        if spatial > 0:
            block = np.stack([cv2.GaussianBlur(f, (0, 0), spatial) for f in block])
        out[a: a + len(block)] = np.clip(np.rint(block), 0, 255).astype(np.uint8)
    return out


def normalise_cells(cells: np.ndarray, mode: str) -> np.ndarray:
    """Per-cell statistics over the video (T, C) -> (T, C): ``none``; ``median`` subtracts each
    cell's median (its noise floor: textured or noisy cells no longer dominate the top cells);
    ``z`` also divides by the cell's robust spread (1.4826 MAD)."""
    if mode == "none" or len(cells) == 0:
        return cells
    med = np.median(cells, axis=0)
    out = cells - med
    if mode == "z":
        mad = 1.4826 * np.median(np.abs(out), axis=0)
        out = out / np.maximum(mad, 1e-3 + 0.1 * float(np.median(mad)))
    elif mode != "median":
        from mexp_lib.errors import ConfigError

        raise ConfigError(f"spotting.cell_norm must be none, median or z, not {mode!r}")
    return np.maximum(out, 0.0).astype(np.float32)


def boundary_scales(k: int, fps: float, seconds: tuple[float, float]) -> np.ndarray:
    """Candidate onset / offset distances (frames) of a type: about 20 % apart from
    ``seconds[0]`` to ``seconds[1]``, ``k`` included."""
    lo, hi = max(1, int(round(fps * seconds[0]))), max(2, int(round(fps * seconds[1])))
    n = max(2, int(np.ceil(np.log(hi / lo) / np.log(1.2))) + 1)
    return np.unique(np.concatenate([np.geomspace(lo, hi, n).round().astype(int), [k]]))


def apex_boundaries(frames: Any, apex: int, scales: np.ndarray, *, calc: Any, remove: HeadMotion, keep: np.ndarray, edges: np.ndarray,
                    cells: np.ndarray, rise: float) -> tuple[float, float]:
    """Onset and offset distances (frames) of an expression peaking at ``apex``: the motion of
    the apex's most active ``cells`` from ``apex - d`` to the apex (and from the apex to
    ``apex + d``) grows with d while d is inside the expression and levels off once d reaches
    its onset (offset); the distance is the smallest d whose motion reaches ``rise`` x the
    largest over the candidate ``scales``."""
    n = frames.shape[0]
    w = np.maximum(np.add.reduceat(np.add.reduceat(keep, edges[:-1], axis=0), edges[:-1], axis=1).reshape(-1), 1.0)

    def motion(a: int, b: int) -> float:
        f = remove(calc(frames[a], frames[b])) * keep[..., None]
        m = np.add.reduceat(np.add.reduceat(f, edges[:-1], axis=0), edges[:-1], axis=1).reshape(-1, 2) / w[:, None]
        return float(np.linalg.norm(m[cells], axis=1).mean())

    out = []
    for sign in (-1, 1):
        ds = [int(d) for d in scales if 0 <= apex + sign * d < n]
        if not ds:
            out.append(float(scales[0]))
            continue
        m = np.array([motion(apex + sign * d, apex) if sign < 0 else motion(apex, apex + d) for d in ds])
        out.append(float(ds[int(np.argmax(m >= rise * m.max()))]))
    return out[0], out[1]


def spotting_features(faces: Any, *, fps: float, cfg: dict[str, Any], video: str = "") -> dict[str, np.ndarray]:
    """Per-frame scores of one video for each type: {"micro": (T,), "macro": (T,), "k_micro": k,
    "cells_micro": (T, grid^2) the per-cell motions the score summarises (the learned spotter's
    input) ...}.

    ``faces``: an open faces store (h5py group with ``frames`` (T, S, S) uint8, ``landmarks`` and,
    optionally, ``found`` (T,) -- frames where the face stage found no face score 0 within k of
    them, so a faceless stretch is never spotted), read two frames at a time. ``cfg``: the
    ``spotting`` section (missing keys take the schema's defaults).
    """
    cfg = spotting_settings(cfg)
    den = cfg["denoise"]
    frames_ds = denoised(faces["frames"], fps=fps, spatial=float(den["spatial"]), temporal=float(den["temporal"]))
    n, size = frames_ds.shape[0], frames_ds.shape[1]
    lm = np.median(faces["landmarks"][()], axis=0)
    mask, nose = face_masks(lm, size, eye_dilate=float(cfg["eye_dilate"]))
    eyes = face_masks(lm, size, eye_dilate=0.0)[0]
    blinks = cfg["blinks"] == "regress" and bool(eyes.any())
    if cfg["region"] == "face":
        mask = mask | outside_face(lm, size)
    flow_method = cfg["flow_method"]
    calc = make_flow(FlowParams(flow_method, dict(cfg[flow_method])))
    remove = HeadMotion(cfg["head_motion"], mask, nose)
    grid, top = int(cfg["grid"]), int(cfg["top_cells"])
    method = cfg["method"]
    lost = ~faces["found"][()].astype(bool) if "found" in faces else np.zeros(n, bool)
    out: dict[str, np.ndarray] = {}
    multiscale = cfg["boundaries"] == "multiscale"
    if multiscale:
        bounds = np.zeros((2 * len(TYPES), n), np.float32)
        keep = (~mask).astype(np.float32)
        edges = grid_edges(size, grid)
    for t in TYPES:
        k = half_window(fps, float(cfg["k_seconds"][t]), n)
        if k < half_window(fps, float(cfg["k_seconds"][t])):
            logger.warning("%s: %d frames is short for the %s window of %g s: k = %d frames (a quarter of the video)", video, n, t,
                           float(cfg["k_seconds"][t]), k)
        score = np.zeros(n, np.float32)
        cells = np.zeros((n, grid * grid), np.float32)
        if n > 2 * k and method == "mdmd":
            from mexp_lib.spotting.mdmd import mdmd_scores

            score, cells = mdmd_scores(frames_ds, k, calc=calc, remove=remove, mask=mask, grid=grid, what=f"{video}: {t} MDMD (k={k})")
        elif n > 2 * k:
            pairs = ((frames_ds[i], frames_ds[i + k]) for i in range(n - k))
            m = cell_flows(pairs, n - k, calc=calc, remove=remove, mask=mask, grid=grid, what=f"{video}: {t} flow (k={k})", regions=[eyes] if blinks else None)
            d = np.linalg.norm(0.5 * (m[: n - 2 * k] - m[k: n - k]), axis=-1)  # |D_i| for i = k .. n-k-1
            if blinks:
                d = remove_blinks(d[:, : grid * grid], d[:, grid * grid])
            cells[k: n - k] = normalise_cells(d, str(cfg["cell_norm"]))
            score[k: n - k] = np.sort(cells[k: n - k], axis=1)[:, -top:].mean(1)
        else:
            logger.warning("%s: %d frames is too short for the %s window k=%d; no %s score", video, n, t, k, t)
        if lost.any():  # no score where the window [i-k, i+k] holds a frame without a face
            near = np.convolve(lost.astype(float), np.ones(2 * k + 1), mode="same") > 0
            score[near] = 0.0
            cells[near] = 0.0
        out[t] = score
        out[f"cells_{t}"] = cells
        out[f"k_{t}"] = np.array(k)
        if multiscale:  # onset / offset distances at the candidate apexes; k elsewhere
            i = TYPES.index(t)
            bounds[2 * i: 2 * i + 2] = k
            scales = boundary_scales(k, fps, tuple(cfg["boundary_seconds"][t]))
            for c in candidate_apexes(score, k, smooth=int(cfg["smooth"]), per_second=float(cfg["candidates_per_second"]), fps=fps):
                top_cells = np.argsort(-cells[c])[:top]
                on, off = apex_boundaries(frames_ds, int(c), scales, calc=calc, remove=remove, keep=keep, edges=edges, cells=top_cells,
                                          rise=float(cfg["boundary_rise"]))
                bounds[2 * i, max(0, c - 2): c + 3], bounds[2 * i + 1, max(0, c - 2): c + 3] = on, off
    if multiscale:
        out["bounds"] = bounds
    return out
