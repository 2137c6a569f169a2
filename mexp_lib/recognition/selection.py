"""Nested, leak-free model selection inside one fold: the candidates (``training.model: auto``'s
models, each with its grid of hyper-parameters, :func:`selection_candidates`), the inner
grouped folds over the training subjects (:func:`inner_groups`), their scores
(:func:`select_hyperparameters`) and the choice between them (:func:`choose_candidate`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch

from mexp_lib.errors import ConfigError
from mexp_lib.recognition.fit import fit_predict_model
from mexp_lib.recognition.kinds import AUTO, SVM_MODELS, candidate_models, input_kind
from mexp_lib.recognition.settings import training_settings
from mexp_lib.recognition.svm import FLOW_SVM_SELECTABLE, flow_svm_settings

logger = logging.getLogger(__name__)


SELECTABLE = ("epochs", "lr", "weight_decay", "batch_size", "mixup", "schedule", "label_smoothing", "ema", "warmup_epochs", "tta_flip", "flip", "options")



def _selectable(model: str) -> tuple[str, ...]:
    """The keys a selection grid may vary for ``model``: a network's training keys, the SVMs' C
    (``svm_c``; flow_svm: its own settings, :data:`mexp_lib.recognition.svm.FLOW_SVM_SELECTABLE`)."""
    if model == "flow_svm":
        return FLOW_SVM_SELECTABLE
    if model in SVM_MODELS:
        return ("svm_c",)
    return SELECTABLE



def _grid(grid: dict[str, list[Any]], model: str = "ststnet", where: str = "training.selection.grid") -> list[dict[str, Any]]:
    """Every combination of the grid's values, in the order given (the first key varies slowest)."""
    import itertools

    for key in grid:
        if key not in _selectable(model):
            raise ConfigError(f"{where}: {key!r} cannot be selected for {model} (selectable: {', '.join(_selectable(model))})")
        if not isinstance(grid[key], list) or not grid[key]:
            raise ConfigError(f"{where}.{key}: give a non-empty list of candidates")
    return [dict(zip(grid, values, strict=True)) for values in itertools.product(*grid.values())]



def selection_candidates(cfg: dict[str, Any]) -> list[dict[str, Any]]:
    """The candidates of nested selection, in order: with ``training.model: auto`` each model of
    ``training.selection.models`` (``{"model": name, ...}``), else the fixed model; per model,
    every combination of ``training.selection.grids.<model>`` when given, else of
    ``training.selection.grid`` (which applies to a fixed model and to every candidate network,
    not to the SVMs of ``auto``)."""
    cfg = training_settings(cfg)
    sel = dict(cfg["selection"])
    models = candidate_models(cfg)
    grids = dict(sel["grids"])
    for m in grids:
        if m not in models:
            raise ConfigError(f"training.selection.grids.{m}: not a candidate model ({', '.join(models)})")
    auto = cfg["model"] == AUTO
    out: list[dict[str, Any]] = []
    for m in models:
        shared = dict(sel["grid"]) if not auto or m not in SVM_MODELS else {}
        grid = dict(grids[m]) if m in grids else shared
        where = f"training.selection.grids.{m}" if m in grids else "training.selection.grid"
        out += [({"model": m} if auto else {}) | c for c in _grid(grid, m, where)]
    return out



def with_candidate(cfg: dict[str, Any], cand: dict[str, Any]) -> dict[str, Any]:
    """``cfg`` with a selection candidate's values set: its ``model``, a flow_svm candidate's
    keys in ``flow_svm``, the others at the top level."""
    out = dict(cfg)
    model = str(cand.get("model", cfg["model"]))
    out["model"] = model
    rest = {k: v for k, v in cand.items() if k != "model"}
    if model == "flow_svm":
        out["flow_svm"] = flow_svm_settings(cfg) | rest
    else:
        out.update(rest)
    return out



def inner_groups(subjects: Sequence[str], k: int, seed: int = 0) -> list[list[str]]:
    """The training subjects cut into ``k`` groups for the inner folds (``k`` = 0 or at least
    the number of subjects: one subject per group, i.e. inner LOSO); subjects shuffled with
    ``seed``, then dealt round-robin, so groups differ in size by at most one subject."""
    subs = sorted(set(str(s) for s in subjects))
    if k < 0 or k == 1:
        raise ConfigError(f"training.selection.folds: {k} (0 = inner leave-one-subject-out, or at least 2)")
    if k == 0 or k >= len(subs):
        return [[s] for s in subs]
    order = [subs[i] for i in np.random.default_rng(seed).permutation(len(subs))]
    return [sorted(order[i::k]) for i in range(k)]



def select_hyperparameters(train: pd.DataFrame, x_tr: np.ndarray | dict[str, np.ndarray], y_tr: np.ndarray, *, classes: list[str], cfg: dict[str, Any],
                           device: torch.device, centre: float | dict[str, float], aux: np.ndarray | None = None) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Nested, leak-free model selection over the outer fold's training subjects only.

    ``cfg["selection"]``: the candidates (:func:`selection_candidates`: models of ``auto``, each
    with its grid), ``folds`` (inner grouped folds over the training subjects; 0 = inner LOSO),
    ``metric`` (``uf1`` or ``uar``, of the pooled inner predictions; the mean over ``seeds``).
    ``x_tr`` (and ``centre``): the training inputs, or per input kind when the candidates read
    several. Each candidate is trained on the other inner groups and scored on the held-out
    group; the best one (the first in candidate order on ties) wins; with ``auto`` and a
    single training subject, the first candidate, unscored. Returns the chosen values and
    every candidate's score."""
    from mexp_lib.metrics import recognition_scores

    cfg = training_settings(cfg)
    sel = dict(cfg["selection"])
    metric = str(sel["metric"])
    if metric not in ("uf1", "uar"):
        raise ConfigError(f"training.selection.metric: {metric!r} is not uf1 or uar")
    candidates = selection_candidates(cfg)
    xs = x_tr if isinstance(x_tr, dict) else {input_kind(cfg["model"]): x_tr}
    centres = centre if isinstance(centre, dict) else dict.fromkeys(xs, float(centre))
    subjects = train.subject.astype(str).to_numpy()
    groups = inner_groups(subjects, int(sel["folds"]), int(sel["split_seed"]))
    if len(groups) < 2:
        if cfg["model"] == AUTO:  # nothing to choose on: the first candidate, as on a tie
            logger.warning("selection: %d training subject(s), no inner folds: model auto takes the first candidate %s", len(groups), candidates[0])
            return candidates[0], []
        raise ConfigError(f"training.selection: inner folds need at least 2 training subjects, this fold has {len(groups)}; use method: fixed")
    seeds = [int(s) for s in sel["seeds"]]
    scores: list[dict[str, Any]] = []
    per_group: list[np.ndarray] = []  # each candidate's metric on each inner group (mean over seeds)
    names = [classes[i] for i in y_tr]
    for cand in candidates:
        inner_cfg = with_candidate(cfg, cand)
        kind = input_kind(inner_cfg["model"])
        x = xs[kind]
        per_seed, groups_seed = [], []
        for seed in seeds:
            pred = np.full(len(y_tr), -1)
            for g in groups:
                held = np.isin(subjects, g)
                _, p, _, _ = fit_predict_model(x[~held], y_tr[~held], x[held], n_classes=len(classes), cfg=inner_cfg, seed=seed, device=device,
                                               centre=centres[kind], aux=None if aux is None else aux[~held])
                pred[held] = p
            guessed = [classes[i] for i in pred]
            per_seed.append(recognition_scores(names, guessed, classes)[metric])
            groups_seed.append([recognition_scores([names[i] for i in np.flatnonzero(np.isin(subjects, g))],
                                                   [guessed[i] for i in np.flatnonzero(np.isin(subjects, g))], classes)[metric] for g in groups])
        per_group.append(np.mean(groups_seed, axis=0))
        scores.append({**cand, metric: float(np.mean(per_seed)), "groups": [round(float(v), 4) for v in per_group[-1]]})
        logger.info("selection: %s -> inner %s %.4f", cand, metric, scores[-1][metric])
    best = choose_candidate(candidates, [sc[metric] for sc in scores], per_group, rule=str(sel["rule"]) if cfg["model"] == AUTO else "best")
    return candidates[best], scores



def choose_candidate(candidates: Sequence[dict[str, Any]], score: Sequence[float], per_group: Sequence[np.ndarray], *, rule: str = "best") -> int:
    """The index of the chosen selection candidate. Within a model, the best pooled inner score
    (the first in candidate order on ties). ``rule: best`` takes the best overall; ``one_se``
    (``training.model: auto``) keeps the first model in ``training.selection.models`` order (the
    simplest first) unless a later model's best beats it by more than one standard error of
    their paired per-inner-group difference: a model is only replaced on evidence its inner folds
    show, not on noise (the one-standard-error rule, here between model families)."""
    if rule not in ("best", "one_se"):
        raise ConfigError(f"training.selection.rule: {rule!r} is not best or one_se")
    order: dict[str, list[int]] = {}
    for i, c in enumerate(candidates):
        order.setdefault(str(c.get("model", "")), []).append(i)
    firsts = [max(idx, key=lambda i: (score[i], -i)) for idx in order.values()]  # each model's best, models in order
    top = max(firsts, key=lambda i: (score[i], -i))
    if rule == "best" or len(firsts) < 2:
        return top
    for i in firsts:
        d = np.asarray(per_group[top], float) - np.asarray(per_group[i], float)
        se = float(np.std(d, ddof=1) / np.sqrt(len(d))) if len(d) > 1 else 0.0
        if score[top] - score[i] <= se:
            return i
    return top
