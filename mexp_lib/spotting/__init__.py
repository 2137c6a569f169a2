"""Spotting micro- and macro-expressions in long videos.

The settings and shared definitions live in :mod:`mexp_lib.spotting.settings`; the algorithm in
:mod:`mexp_lib.spotting.features` (per-frame motion scores), :mod:`mexp_lib.spotting.intervals`
(peaks, thresholds, boundaries and types: scores to intervals) and
:mod:`mexp_lib.spotting.folds` (leave-one-subject-out spotting, thresholds chosen per fold);
:mod:`mexp_lib.spotting.stage` runs it as the workflow's rules; :mod:`mexp_lib.spotting.learned`
and :mod:`mexp_lib.spotting.mdmd` hold the learned spotter and the MDMD score. Their main names
are re-exported here.
"""

from mexp_lib.spotting.features import cell_flows, spotting_features
from mexp_lib.spotting.folds import select_thresholds, spot_loso
from mexp_lib.spotting.intervals import (
    Thresholds,
    find_candidates,
    propose_intervals,
    spot_all,
    spot_configured,
    spot_video,
    to_intervals,
)
from mexp_lib.spotting.settings import SPOTTERS, TYPES, grid_edges, half_window, is_learned, post_options, type_ratio_of

__all__ = [
    "SPOTTERS", "TYPES", "Thresholds", "cell_flows", "find_candidates", "grid_edges", "half_window", "is_learned", "post_options",
    "propose_intervals", "select_thresholds", "spot_all", "spot_configured", "spot_loso", "spot_video", "spotting_features", "to_intervals",
    "type_ratio_of",
]
