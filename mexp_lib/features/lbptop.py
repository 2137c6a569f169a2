"""LBP-TOP: local binary patterns on three orthogonal planes (Zhao & Pietikäinen, TPAMI 2007),
the descriptor of the CASME II / SMIC baselines.

For a clip (T, H, W), uniform LBP codes (P neighbours on a circle of radius R; ``nri_uniform``
gives P(P-1)+3 = 59 bins for P = 8) are computed in every XY frame, every XT slice (one per row
y) and every YT slice (one per column x). The frame is divided into ``blocks x blocks`` regions;
each region gets one normalised histogram per plane, over all frames (XY) or the frames at least
R from either end (XT, YT, whose circles reach R frames back and forward). The descriptor is
their concatenation: blocks^2 x 3 x 59 values.
"""

from __future__ import annotations

import numpy as np
from skimage.feature import local_binary_pattern


def _codes(img: np.ndarray, p: int, r: float) -> np.ndarray:
    return local_binary_pattern(img, p, r, method="nri_uniform").astype(np.int64)


def lbp_top(frames: np.ndarray, *, blocks: int = 5, p: int = 8, r: float = 1.0) -> np.ndarray:
    """The LBP-TOP descriptor of a grey clip ``frames`` (T, H, W); float32 vector."""
    clip = np.clip(np.rint(np.asarray(frames, np.float64)), 0, 255).astype(np.uint8)  # LBP wants integer grey levels
    t, h, w = clip.shape
    if t < 2 * int(np.ceil(r)) + 1:
        raise ValueError(f"LBP-TOP needs at least {2 * int(np.ceil(r)) + 1} frames, got {t}")
    bins = p * (p - 1) + 3
    xy = np.stack([_codes(f, p, r) for f in clip])                               # (T, H, W)
    xt = np.stack([_codes(clip[:, y, :], p, r) for y in range(h)], axis=1)      # (T, H, W)
    yt = np.stack([_codes(clip[:, :, x], p, r) for x in range(w)], axis=2)      # (T, H, W)
    lo, hi = int(np.ceil(r)), t - int(np.ceil(r))
    ys = np.linspace(0, h, blocks + 1).astype(int)
    xs = np.linspace(0, w, blocks + 1).astype(int)
    out = []
    for i in range(blocks):
        for j in range(blocks):
            sl = (slice(ys[i], ys[i + 1]), slice(xs[j], xs[j + 1]))
            for vol, frames_used in ((xy, slice(None)), (xt, slice(lo, hi)), (yt, slice(lo, hi))):
                hist = np.bincount(vol[frames_used][:, sl[0], sl[1]].ravel(), minlength=bins).astype(np.float64)
                out.append(hist / max(hist.sum(), 1.0))
    return np.concatenate(out).astype(np.float32)
