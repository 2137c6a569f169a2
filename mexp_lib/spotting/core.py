"""Spotting micro- and macro-expressions in long videos.

Features (:func:`spotting_features`, per video, streamed two frames at a time so memory does not
grow with the video): for each expression type, with a half-window ``k`` derived from the frame
rate (``k = round(fps * k_seconds[type])``), the optical flow ``F_i = flow(i -> i+k)`` of the
aligned face; head motion is removed by subtracting the mean flow of a nose box; the eyes
(landmark polygons, dilated) are masked out, since blinks are the commonest false positive; the
face is divided into a grid of cells and the mean flow vector of each cell is kept.

Score: the displacement of frame i relative to the mean of frames i-k and i+k (the feature
difference of Moilanen et al. 2014, on flow), ``D_i = (F_{i-k} - F_i) / 2`` per cell; the score is
the mean of the ``top_cells`` largest cell magnitudes. It peaks at the apex of an expression whose
onset and offset lie about k frames away.

Robustness to real recordings (sensor noise, JPEG, blinks; chosen on the development part of
``benchmarks/bench_spotting_realism.py``): ``region: face`` measures motion inside the face only
(background, hair and the crop's replicated border are flat, and flow there is mostly error);
``blinks: regress`` removes from every cell the part of its motion that the eyes' own motion
explains (:func:`remove_blinks`), since a blink pulls the skin around the eyes beyond any mask;
``denoise`` and ``cell_norm`` are further options. ``boundaries: multiscale`` measures the onset
and offset of each candidate apex (:func:`apex_boundaries`) instead of ``peak +/- k``, and
``type_by: duration`` types an interval by its length (micro up to ``micro_max`` s).

Spotting (:func:`spot_all`): moving-average smoothing, threshold
``max(mean + p (max - mean), floor * median)``, peaks at least k apart, interval = peak +/- k,
overlapping intervals merged. The type of a peak is decided by scale: a micro-expression is
over within the short window, so its micro score is close to its macro score, while a slow
macro-expression moves little within k_micro frames. A micro-score peak is kept as ``micro`` when
``micro / macro >= type_ratio`` around it, a macro-score peak as ``macro`` when the ratio is
below. ``p`` and ``floor`` are chosen per held-out subject on the *other* subjects' videos
(:func:`select_thresholds`), never on the test subject.

Two-stage spotting (``spotter: two_stage``, after TSMSNet): when the scores carry per-frame
boundary distances (``bounds``, :mod:`mexp_lib.spotting.learned`), the peaks are apexes
(stage one) and each becomes the interval proposal ``[apex - onset distance, apex + offset
distance]`` read around it (stage two) instead of the fixed ``peak +/- k``; overlapping
proposals of a type are merged (:func:`propose_intervals`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import pandas as pd
from scipy.ndimage import uniform_filter1d

from mexp_lib.log import progress
from mexp_lib.metrics import spotting_scores
from mexp_lib.motion.flow import FlowParams, make_flow
from mexp_lib.motion.regions import HeadMotion, face_masks, outside_face
from mexp_lib.spotting.settings import TYPES, grid_edges, half_window, is_learned, post_options, spotting_settings

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


def candidate_apexes(score: np.ndarray, k: int, *, smooth: int, per_second: float, fps: float) -> np.ndarray:
    """The strongest local maxima of the smoothed score, at least ``k`` apart: one per
    ``1 / per_second`` seconds of video at most (expressions are sparse, so every one that a
    threshold can keep is among them)."""
    s = _smooth(score, smooth)
    from scipy.signal import find_peaks  # scipy.signal costs ~1 s to import: only where peaks are found

    peaks, _ = find_peaks(s, distance=max(1, k))
    peaks = peaks[s[peaks] > 0]
    n_keep = max(1, int(np.ceil(len(score) / fps * per_second)))
    return np.sort(peaks[np.argsort(-s[peaks], kind="stable")[:n_keep]])


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


@dataclass
class Thresholds:
    p: float
    floor: float


def _smooth(score: np.ndarray, smooth: int) -> np.ndarray:
    return uniform_filter1d(score.astype(np.float64), size=max(1, smooth), mode="nearest")


def find_candidates(s: np.ndarray, k: int, th: Thresholds, floor_unit: str = "median") -> np.ndarray:
    """Peaks of a smoothed score above ``max(mean + p (max - mean), noise floor)``, >= k apart.

    The noise floor is the video's own: ``floor * median`` (``floor_unit: median``) or
    ``median + floor * 1.4826 MAD`` (``mad``: the score's robust spread, so a video without any
    expression -- whose largest peaks are noise -- yields nothing). The median is the noise level
    where most scored frames are neutral. With fewer than ``4 k`` scored frames (a clip of a few
    seconds) one expression, whose score spans ``2 k`` frames and more (a held one: to the end),
    can be most of them and the median is its own level: the lower quartile is the noise level
    there instead."""
    valid = s[s > 0]
    if valid.size == 0:
        return np.zeros(0, int)
    med = float(np.median(valid) if valid.size >= 4 * k else np.quantile(valid, 0.25))
    if floor_unit == "mad":
        noise = med + th.floor * 1.4826 * float(np.median(np.abs(valid - med)))
    elif floor_unit == "median":
        noise = th.floor * med
    else:
        from mexp_lib.errors import ConfigError

        raise ConfigError(f"spotting.floor_unit must be median or mad, not {floor_unit!r}")
    thr = max(valid.mean() + th.p * (valid.max() - valid.mean()), noise)
    from scipy.signal import find_peaks

    peaks, _ = find_peaks(s, height=thr, distance=max(1, k))
    return peaks


def to_intervals(peaks: Iterable[int], k: int, n: int) -> list[tuple[int, int]]:
    """peak +/- k clipped to the video, overlapping intervals merged (0-based, inclusive)."""
    merged: list[tuple[int, int]] = []
    for a, b in sorted((max(0, int(pk) - k), min(n - 1, int(pk) + k)) for pk in peaks):
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(b, merged[-1][1]))
        else:
            merged.append((a, b))
    return merged


def propose_intervals(apexes: Iterable[int], score: np.ndarray, on_dist: np.ndarray, off_dist: np.ndarray, n: int, *, merge_iou: float = 0.3,
                      reach: int = 1) -> list[tuple[int, int]]:
    """Stage two of two-stage spotting: one proposal per apex, its onset and offset distances
    (frames) averaged over ``apex +/- reach``; then, strongest apex first, a proposal whose
    temporal IoU with an already kept one is at least ``merge_iou`` is merged into it (the
    boundaries become the score-weighted mean), one whose apex lies inside a kept proposal is
    dropped (non-maximum suppression: the side lobes of one expression's score), and a kept
    proposal contained in another is dropped. Returns sorted 0-based inclusive intervals."""
    props = []
    for p in apexes:
        sl = slice(max(0, int(p) - reach), int(p) + reach + 1)
        on = max(0, int(round(p - float(np.mean(on_dist[sl])))))
        off = min(n - 1, int(round(p + float(np.mean(off_dist[sl])))))
        props.append([float(on), float(off), float(score[int(p)]), float(p)])
    kept: list[list[float]] = []
    for a, b, w, apex in sorted(props, key=lambda r: -r[2]):
        for k in kept:
            inter = min(b, k[1]) - max(a, k[0]) + 1
            union = max(b, k[1]) - min(a, k[0]) + 1
            if inter > 0 and inter / union >= merge_iou:
                k[0], k[1] = (k[0] * k[2] + a * w) / (k[2] + w), (k[1] * k[2] + b * w) / (k[2] + w)
                k[2] += w
                break
            if k[0] <= apex <= k[1]:  # a weaker apex inside a kept proposal: the same expression
                break
        else:
            kept.append([a, b, w, apex])
    spans = sorted((int(round(a)), int(round(b))) for a, b, *_ in kept)
    return [s for s in spans if not any(o != s and o[0] <= s[0] and s[1] <= o[1] for o in spans)]


def spot_video(sc: dict[str, np.ndarray], th: dict[str, Thresholds], *, smooth: int = 3, type_ratio: float | None = 0.5, types: Iterable[str] = TYPES,
               merge_iou: float = 0.3, floor_unit: str = "median", type_by: str = "ratio", micro_max: float = 0.5) -> dict[str, list[tuple[int, int]]]:
    """Intervals (0-based positions) of each of ``types`` in one video's scores (see module
    doc). A type's intervals depend only on that type's thresholds. ``type_ratio=None``: the
    scores are already type-specific (a learned spotter), no scale test. Scores carrying
    ``bounds`` are spotted in two stages (apex, then proposal; :func:`propose_intervals`);
    with ``type_by="duration"`` (and the video's ``fps`` in the scores) a proposal's type is its
    length, as the MEGC define it: micro up to ``micro_max`` seconds, macro beyond, instead of
    the score-ratio test."""
    s = {t: _smooth(sc[t], smooth) for t in TYPES}
    km, kM = int(sc["k_micro"]), int(sc["k_macro"])
    n = len(s["micro"])
    by_length = type_by == "duration" and "bounds" in sc and "fps" in sc
    if type_by not in ("ratio", "duration"):
        from mexp_lib.errors import ConfigError

        raise ConfigError(f"spotting.type_by must be ratio or duration, not {type_by!r}")
    limit = micro_max * float(sc["fps"]) if by_length else 0.0

    def ratio(i: int) -> float:
        macro = s["macro"][max(0, i - km): i + km + 1].max()
        return float(s["micro"][max(0, i - km): i + km + 1].max() / macro) if macro > 0 else float("inf")

    def intervals(t: str, peaks: list[int], k: int) -> list[tuple[int, int]]:
        if "bounds" not in sc:
            return to_intervals(peaks, k, n)
        i = TYPES.index(t)
        spans = propose_intervals(peaks, s[t], sc["bounds"][2 * i], sc["bounds"][2 * i + 1], n, merge_iou=merge_iou)
        if by_length:
            spans = [(a, b) for a, b in spans if ((b - a + 1) <= limit) == (t == "micro")]
        return spans

    def typed(p: int, t: str) -> bool:
        if type_ratio is None or by_length:
            return True
        return ratio(p) >= type_ratio if t == "micro" else ratio(p) < type_ratio

    out = {}
    if "micro" in types:
        out["micro"] = intervals("micro", [p for p in find_candidates(s["micro"], km, th["micro"], floor_unit) if typed(p, "micro")], km)
    if "macro" in types:
        out["macro"] = intervals("macro", [p for p in find_candidates(s["macro"], kM, th["macro"], floor_unit) if typed(p, "macro")], kM)
    return out


def spot_all(scores: dict[str, dict[str, np.ndarray]], th: dict[str, Thresholds], *, smooth: int = 3, type_ratio: float | None = 0.5, types: Iterable[str] = TYPES,
             classes: list[str] | None = None, merge_iou: float = 0.3, floor_unit: str = "median", type_by: str = "ratio", micro_max: float = 0.5) -> pd.DataFrame:
    """Spot every video. ``scores[video]`` holds ``macro``, ``micro``, ``k_macro``, ``k_micro``
    and ``numbers`` (frame numbers); returns ``video, onset, offset, type`` in frame numbers,
    and ``emotion`` when ``classes`` are given and the scores carry ``emotion_logits`` (a
    learned spotter with a recognition head: spot-then-recognise)."""
    from mexp_lib.spotting.learned import interval_emotion

    emotion_classes = classes or []
    recognise = bool(emotion_classes) and all("emotion_logits" in sc for sc in scores.values())
    rows = []
    for v, sc in scores.items():
        nums = sc["numbers"]
        for t, spans in spot_video(sc, th, smooth=smooth, type_ratio=type_ratio, types=types, merge_iou=merge_iou, floor_unit=floor_unit,
                                     type_by=type_by, micro_max=micro_max).items():
            rows += [(v, int(nums[a]), int(nums[b]), t, *((interval_emotion(sc["emotion_logits"], a, b, emotion_classes),) if recognise else ())) for a, b in spans]
    return pd.DataFrame(rows, columns=["video", "onset", "offset", "type", *(("emotion",) if recognise else ())])


def spot_configured(scores: dict[str, dict[str, np.ndarray]], th: dict[str, Thresholds], cfg: dict[str, Any]) -> pd.DataFrame:
    """:func:`spot_all` with the post-processing, type test and classes of a spotting config
    (missing keys take the schema's defaults)."""
    cfg = spotting_settings(cfg)
    return spot_all(scores, th, classes=cfg.get("classes"), **post_options(cfg))


def select_thresholds(scores: dict[str, dict[str, np.ndarray]], gt: pd.DataFrame, cfg: dict[str, Any]) -> tuple[dict[str, Thresholds], dict[str, float]]:
    """Grid search of (p, floor) per type maximising that type's F1 on the given (training)
    videos; each type's choice does not depend on the other's."""
    cfg = spotting_settings(cfg)
    post = post_options(cfg)
    chosen: dict[str, Thresholds] = {}
    best_f1: dict[str, float] = {}
    for t in TYPES:
        best = (-1.0, Thresholds(0.5, 0.0))
        for p in cfg["p_grid"]:
            for fl in cfg["floor_grid"]:
                trial = Thresholds(float(p), float(fl))
                pred = spot_all(scores, {t: trial}, types=(t,), **post)
                f1 = float(spotting_scores(gt, pred, types=(t,)).set_index("type").loc[t, "f1"])
                if f1 > best[0] + 1e-12:
                    best = (f1, trial)
        chosen[t], best_f1[t] = best[1], best[0]
    return chosen, best_f1


def spot_loso(scores: dict[str, dict[str, np.ndarray]], subjects: dict[str, str], gt: pd.DataFrame, cfg: dict[str, Any]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Leave-one-subject-out spotting: thresholds for each subject are selected on the others.

    Returns (predicted intervals, selection table with one row per fold and type).
    """
    cfg = spotting_settings(cfg)
    if cfg["spotter"] == "select":
        from mexp_lib.errors import ConfigError

        raise ConfigError("spotting.spotter select: spot with mexp_lib.spotting.select.spot_folds (it chooses the spotter per fold)")
    preds, sel = [], []
    for s, train, test in loso_splits(scores, subjects):
        pred, th, f1 = spot_fold(train, test, gt, cfg, fold=s)
        preds.append(pred)
        for t in TYPES:
            sel.append({"fold": s, "type": t, "p": th[t].p, "floor": th[t].floor, "train_f1": f1[t]})
    return pd.concat(preds, ignore_index=True), pd.DataFrame(sel)


def loso_splits(scores: dict[str, dict[str, np.ndarray]], subjects: dict[str, str]) -> Iterator[tuple[str, dict[str, dict[str, np.ndarray]], dict[str, dict[str, np.ndarray]]]]:
    """(subject, the other subjects' videos, its own videos) for every subject of ``subjects``
    (video -> subject), in sorted order: the leave-one-subject-out folds of ``scores``."""
    for s in sorted(set(subjects.values())):
        yield s, {v: sc for v, sc in scores.items() if subjects[v] != s}, {v: sc for v, sc in scores.items() if subjects[v] == s}


def spot_fold(train: dict[str, dict[str, np.ndarray]], test: dict[str, dict[str, np.ndarray]], gt: pd.DataFrame, cfg: dict[str, Any],
              fold: str = "") -> tuple[pd.DataFrame, dict[str, Thresholds], dict[str, float]]:
    """One fold: the spotter fitted on ``train`` (the network, when learned, then the thresholds;
    their ground truth only), ``test`` spotted. Returns (intervals, thresholds, training F1)."""
    if train and is_learned(cfg):  # the network sees the training subjects only
        from mexp_lib.spotting.learned import learned_fold

        train, test, _ = learned_fold(train, test, gt[gt.video.isin(list(train))], cfg)
        logger.info("fold %s: learned spotter trained on %d videos", fold, len(train))
    if train:
        th, f1 = select_thresholds(train, gt[gt.video.isin(list(train))], cfg)
    else:  # a single subject: nothing to select on, use the configured defaults
        th = {t: Thresholds(float(cfg["default_p"]), float(cfg["default_floor"])) for t in TYPES}
        f1 = {t: float("nan") for t in TYPES}
    return spot_configured(test, th, cfg), th, f1
