"""MDMD: main directional maximal difference (Wang et al. 2017; the MEGC 2020 spotting baseline).

For the current frame ``CF = i``, the head frame ``HF = i - k`` and the tail frame ``TF = i + k``:
two optical flows, ``HF -> CF`` and ``HF -> TF`` (head motion removed, eyes masked). The face is
divided into ``grid x grid`` blocks; in each block the flow vectors of ``HF -> CF`` are binned
into 8 directions and the *main direction* is the fullest bin. The block's difference is

    d_b = max(rho_CF - max(rho_TF, 0), 0)

with ``rho_CF`` the mean magnitude of the main-direction vectors of ``HF -> CF`` and ``rho_TF``
the mean component of ``HF -> TF`` along that direction at the same pixels: large when the face
has moved away from the head frame at ``CF`` and come back by ``TF`` -- the apex of an expression
lasting about 2k frames. The frame's score is the mean of the largest third of the block
differences. No training; thresholds and peaks are handled as for every score
(:mod:`mexp_lib.spotting`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from mexp_lib.log import progress
from mexp_lib.spotting.settings import grid_edges

N_DIRECTIONS = 8


def block_ids(size: int, grid: int) -> np.ndarray:
    """(size, size) index of the grid block of every pixel (the cells of :func:`grid_edges`)."""
    edges = grid_edges(size, grid)
    row = np.searchsorted(edges, np.arange(size), side="right") - 1
    return (row[:, None] * grid + row[None, :]).astype(np.int64)


def mdmd_difference(f_cf: np.ndarray, f_tf: np.ndarray, blocks: np.ndarray, keep: np.ndarray, n_blocks: int) -> np.ndarray:
    """Per-block main directional maximal difference (n_blocks,) of the flows HF->CF and HF->TF
    (H, W, 2); ``keep``: the unmasked pixels."""
    ang = np.arctan2(f_cf[..., 1], f_cf[..., 0])
    bins = ((ang + np.pi) / (2 * np.pi / N_DIRECTIONS)).astype(np.int64) % N_DIRECTIONS
    b, d = blocks[keep], bins[keep]
    counts = np.bincount(b * N_DIRECTIONS + d, minlength=n_blocks * N_DIRECTIONS).reshape(n_blocks, N_DIRECTIONS)
    main = counts.argmax(1)
    centre = (main + 0.5) * (2 * np.pi / N_DIRECTIONS) - np.pi
    unit = np.stack([np.cos(centre), np.sin(centre)], 1)  # (n_blocks, 2)
    sel = d == main[b]
    fc, ft, bs = f_cf[keep][sel], f_tf[keep][sel], b[sel]
    n = np.maximum(np.bincount(bs, minlength=n_blocks), 1)
    rho_cf = np.bincount(bs, np.linalg.norm(fc, axis=1), minlength=n_blocks) / n
    rho_tf = np.bincount(bs, (ft * unit[bs]).sum(1), minlength=n_blocks) / n
    return np.maximum(rho_cf - np.maximum(rho_tf, 0.0), 0.0)


def mdmd_scores(frames: Any, k: int, *, calc: Callable[[np.ndarray, np.ndarray], np.ndarray], remove: Callable[[np.ndarray], np.ndarray],
                mask: np.ndarray, grid: int = 6, what: str = "MDMD") -> tuple[np.ndarray, np.ndarray]:
    """MDMD score (T,) of a stack of aligned grey frames (array or HDF5 dataset, read three
    frames at a time), 0 within k frames of either end, and the block differences (T, grid^2)."""
    n, size = frames.shape[0], frames.shape[1]
    blocks, keep = block_ids(size, grid), ~mask
    n_blocks, top = grid * grid, max(1, (grid * grid) // 3)
    score = np.zeros(n, np.float32)
    cells = np.zeros((n, n_blocks), np.float32)
    for i in progress(range(k, n - k), max(n - 2 * k, 0), what, every_s=10.0):
        hf = frames[i - k]
        cells[i] = mdmd_difference(remove(calc(hf, frames[i])), remove(calc(hf, frames[i + k])), blocks, keep, n_blocks)
        score[i] = np.sort(cells[i])[-top:].mean()
    return score, cells
