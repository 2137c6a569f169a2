"""``spotting.spotter: select``: the spotter chosen per fold on that fold's training subjects.

For every outer (leave-one-subject-out) fold, each candidate of ``spotting.select_from`` --
``learned``, ``classical`` and ``floor`` (the fixed-region peak picker of
:mod:`mexp_lib.spotting.baseline`, computed on the aligned faces by the feature stage) -- is
scored by inner leave-one-subject-out folds over the training subjects only (each inner fold
fits the candidate, network and thresholds, on the other training subjects and spots the held-out
one; F1 of the pooled inner predictions, both types). The best candidate (the first in
``select_from`` on ties) is then fitted on all training subjects and spots the test subject. The
test subject's videos are never read before its own predictions, so the choice is leak-free
(a test changes them and checks it). The choice and every candidate's inner F1 go to the
selection table, one row per fold and type.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from mexp_lib.metrics import spotting_scores
from mexp_lib.spotting.folds import loso_splits, spot_fold, spot_loso
from mexp_lib.spotting.settings import TYPES, spotting_settings

logger = logging.getLogger(__name__)

Scores = dict[str, dict[str, np.ndarray]]


def candidate(scores: Scores, cfg: dict[str, Any], name: str) -> tuple[Scores, dict[str, Any]]:
    """The scores and the spotting config a candidate spots with: ``learned`` and ``classical``
    the feature stage's scores under that spotter; ``floor`` its fixed-region scores
    (``floor_micro``, ``floor_macro``: type-specific, no scale test, intervals = peak +/- k)."""
    if name == "floor":
        floor = {v: {k: a for k, a in sc.items() if k in ("numbers", "fps", "k_micro", "k_macro")} | {t: sc[f"floor_{t}"] for t in TYPES}
                 for v, sc in scores.items()}
        return floor, cfg | {"spotter": "classical", "type_ratio": None}
    return scores, cfg | {"spotter": name}


def available(scores: Scores, cfg: dict[str, Any]) -> list[str]:
    """The candidates of ``select_from`` the scores allow (``floor`` needs feature files written
    since it exists)."""
    return [c for c in cfg["select_from"] if c != "floor" or all(f"floor_{t}" in sc for sc in scores.values() for t in TYPES)]


def inner_f1(scores: Scores, subjects: dict[str, str], gt: pd.DataFrame, cfg: dict[str, Any], name: str) -> float:
    """A candidate's F1 (both types, pooled) over inner leave-one-subject-out folds of ``scores``
    (the outer fold's training videos)."""
    sc, ccfg = candidate(scores, cfg, name)
    pred, _ = spot_loso(sc, {v: subjects[v] for v in sc}, gt, ccfg)
    table = spotting_scores(gt[gt.video.isin(list(sc))], pred).set_index("type")
    return float(table.loc["all", "f1"])


def choose_spotter(scores: Scores, subjects: dict[str, str], gt: pd.DataFrame, cfg: dict[str, Any]) -> tuple[str, dict[str, float]]:
    """The candidate with the best inner F1 on these (training) videos, and each candidate's F1.
    With fewer than two subjects there are no inner folds: the first available candidate."""
    names = available(scores, cfg)
    if not names:
        from mexp_lib.errors import DataError

        raise DataError(f"spotting.select_from {cfg['select_from']}: no candidate can run on these features (rerun compute_spotting_features)")
    if len({subjects[v] for v in scores}) < 2:
        return names[0], {}
    f1 = {c: inner_f1(scores, subjects, gt, cfg, c) for c in names}
    best = max(names, key=lambda c: (f1[c], -names.index(c)))
    return best, f1


def select_fold(train: Scores, test: Scores, subjects: dict[str, str], gt: pd.DataFrame, cfg: dict[str, Any],
                fold: str = "") -> tuple[pd.DataFrame, dict[str, Any], dict[str, float], str, dict[str, float]]:
    """One fold of ``spotter: select``: the candidate chosen on ``train``'s subjects (the first
    available without training videos), fitted on ``train``, ``test`` spotted. Returns
    (intervals, thresholds, training F1, the candidate, every candidate's inner F1)."""
    chosen, f1 = choose_spotter(train, subjects, gt[gt.video.isin(list(train))], cfg) if train else (available(train | test, cfg)[0], {})
    logger.info("fold %s: spotter %s chosen on %d training videos (inner F1 %s)", fold, chosen, len(train), f1)
    (tr, ccfg), (te, _) = candidate(train, cfg, chosen), candidate(test, cfg, chosen)
    pred, th, train_f1 = spot_fold(tr, te, gt, ccfg, fold=fold)
    return pred, th, train_f1, chosen, f1


def fit_spot(train: Scores, test: Scores, subjects: dict[str, str], gt: pd.DataFrame, cfg: dict[str, Any]) -> tuple[pd.DataFrame, str]:
    """Spot the ``test`` videos with a spotter fitted on the ``train`` videos alone (one fold of
    :func:`spot_folds`; with ``spotter: select`` the spotter chosen on ``train``'s subjects).
    Returns (intervals, the spotter that ran)."""
    cfg = spotting_settings(cfg)
    if cfg["spotter"] == "select":
        pred, _, _, name, _ = select_fold(train, test, subjects, gt, cfg)
        return pred, name
    return spot_fold(train, test, gt, cfg)[0], str(cfg["spotter"])


def spot_folds(scores: Scores, subjects: dict[str, str], gt: pd.DataFrame, cfg: dict[str, Any]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Leave-one-subject-out spotting (:func:`mexp_lib.spotting.folds.spot_loso`); with
    ``spotter: select`` the spotter of each fold chosen on its training subjects (module doc).
    Returns (intervals, selection table: fold, type, p, floor, train_f1, spotter and
    ``inner_f1_<candidate>``)."""
    cfg = spotting_settings(cfg)
    if cfg["spotter"] != "select":
        return spot_loso(scores, subjects, gt, cfg)
    preds, sel = [], []
    for s, train, test in loso_splits(scores, subjects):
        pred, th, train_f1, chosen, f1 = select_fold(train, test, subjects, gt, cfg, fold=s)
        preds.append(pred)
        for t in TYPES:
            sel.append({"fold": s, "type": t, "p": th[t].p, "floor": th[t].floor, "train_f1": train_f1[t], "spotter": chosen,
                        **{f"inner_f1_{c}": f1.get(c, float("nan")) for c in cfg["select_from"]}})
    return pd.concat(preds, ignore_index=True), pd.DataFrame(sel)
