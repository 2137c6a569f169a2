"""Leave-one-subject-out spotting: thresholds, and the learned spotter's network, fitted per fold.

:func:`spot_loso` spots every subject's videos with a spotter fitted on the *other* subjects'
videos (:func:`loso_splits`, :func:`spot_fold`): the network first when the spotter is learned,
then ``p`` and ``floor`` per type by grid search on the training videos' F1
(:func:`select_thresholds`), never on the test subject.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd

from mexp_lib.metrics import spotting_scores
from mexp_lib.spotting.intervals import Thresholds, spot_all, spot_configured
from mexp_lib.spotting.settings import TYPES, is_learned, post_options, spotting_settings

logger = logging.getLogger(__name__)


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
