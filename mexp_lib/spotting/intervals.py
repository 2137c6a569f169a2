"""Intervals from per-frame scores: candidate peaks, thresholds, boundaries and types.

Spotting (:func:`spot_all`): moving-average smoothing, threshold
``max(mean + p (max - mean), floor * median)``, peaks at least k apart, interval = peak +/- k,
overlapping intervals merged. The type of a peak is decided by scale: a micro-expression is
over within the short window, so its micro score is close to its macro score, while a slow
macro-expression moves little within k_micro frames. A micro-score peak is kept as ``micro`` when
``micro / macro >= type_ratio`` around it, a macro-score peak as ``macro`` when the ratio is
below. ``p`` and ``floor`` (:class:`Thresholds`) are chosen per fold by
:mod:`mexp_lib.spotting.folds`; ``type_by: duration`` types an interval by its length (micro up
to ``micro_max`` s) instead.

Two-stage spotting (``spotter: two_stage``, after TSMSNet): when the scores carry per-frame
boundary distances (``bounds``, :mod:`mexp_lib.spotting.learned`, or ``boundaries: multiscale``
in :mod:`mexp_lib.spotting.features`), the peaks are apexes (stage one) and each becomes the
interval proposal ``[apex - onset distance, apex + offset distance]`` read around it (stage two)
instead of the fixed ``peak +/- k``; overlapping proposals of a type are merged
(:func:`propose_intervals`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.ndimage import uniform_filter1d

from mexp_lib.spotting.settings import TYPES, post_options, spotting_settings


@dataclass
class Thresholds:
    p: float
    floor: float


def _smooth(score: np.ndarray, smooth: int) -> np.ndarray:
    return uniform_filter1d(score.astype(np.float64), size=max(1, smooth), mode="nearest")


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
