"""Training one leave-one-subject-out fold, leak-free.

The test subject is only predicted: normalisation statistics, class weights and the schedule
come from the training subjects and the config alone (a fixed number of epochs, no early
stopping on the test fold). Several seeds are trained; each one's predictions are kept.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from mexp_lib.device import select_device
from mexp_lib.errors import ConfigError, DataError
from mexp_lib.io.atomic import write_json
from mexp_lib.models.aufusion import DEFAULT_AUS, au_targets
from mexp_lib.plan import split_folds
from mexp_lib.recognition.fit import fit_predict_model, model_options, normalisation, prediction_rows, write_fold
from mexp_lib.recognition.inputs import read_input_pack
from mexp_lib.recognition.kinds import AUTO, SVM_MODELS, candidate_models, input_kind, input_kinds
from mexp_lib.recognition.selection import select_hyperparameters, with_candidate
from mexp_lib.recognition.settings import training_settings
from mexp_lib.recognition.svm import LinearSVM

logger = logging.getLogger(__name__)


def training_au_targets(train: pd.DataFrame, cfg: dict[str, Any]) -> np.ndarray | None:
    """The AU targets of the training samples (their sheets' ``aus``; NaN rows: no AUs coded) when
    a model of ``cfg`` has an AU branch (``aufusion``, alone or among the candidates), else None."""
    if "aufusion" not in candidate_models(cfg):
        return None
    return au_targets(train.aus.fillna("").astype(str), list(model_options(cfg).get("aus") or DEFAULT_AUS))


def train_fold(samples: pd.DataFrame, pack: str | Path, *, test_subject: str, classes: list[str], cfg: dict[str, Any], out_predictions: str | Path,
               out_checkpoint: str | Path, fold_by: str = "subject", out_selection: str | Path | None = None) -> pd.DataFrame:
    """Train on every subject but ``test_subject``; predict ``test_subject``'s samples.

    ``samples``: the recognition samples with a ``label`` column; ``pack``: the store of their
    inputs (:func:`mexp_lib.recognition.inputs.build_inputs`). Writes per-sample predictions
    (``dataset`` = the source database, ``subject, sample, label, pred, seed``) and a checkpoint holding each seed's
    weights (an SVM model: its coefficients), the config, the model, the classes and the
    normalisation (from training subjects only). ``fold_by="source"`` makes it a
    holdout-database fold: ``test_subject`` names a source database, trained on all the others
    and tested on it. A fold whose test samples were all skipped by the face stage writes empty
    predictions. Predictions carry each seed's class probabilities (``prob_<class>``; an SVM's
    softmax scores), for the seed ensemble. With ``training.selection.method: inner`` the listed
    hyper-parameters, and with ``training.model: auto`` the model among
    ``training.selection.models``, are first chosen by
    :func:`mexp_lib.recognition.selection.select_hyperparameters` on the
    training subjects alone; ``out_selection`` (JSON) records the chosen values and scores.
    ``cfg``: the ``training`` section (missing keys take the schema's defaults; the workflow
    passes the settings of :data:`mexp_lib.recognition.settings.TRAIN_FOLD_READS`).
    """
    cfg = training_settings(cfg)
    torch.set_num_threads(int(cfg["threads"]))
    device = select_device(cfg["device"])
    kinds = input_kinds(cfg)
    packed = {k: read_input_pack(pack, k) for k in kinds}
    inputs = packed[kinds[0]][0]
    usable = samples[samples["sample"].isin(inputs)]
    if len(usable) < len(samples):
        logger.warning("%d sample(s) skipped by the face stage are left out", len(samples) - len(usable))
    if fold_by not in ("subject", "source"):
        raise ValueError(f"fold_by must be 'subject' or 'source', not {fold_by!r}")
    _, train, test = next(split_folds(usable, fold_by, [test_subject]))
    if train.empty:
        raise DataError(f"fold {test_subject!r} ({fold_by}): no training samples")
    xs_tr, xs_te = {}, {}
    for k, (inp, _) in packed.items():
        xs_tr[k] = np.stack([inp[v] for v in train["sample"]])  # float32, as packed
        xs_te[k] = np.stack([inp[v] for v in test["sample"]]) if len(test) else np.zeros((0, *xs_tr[k].shape[1:]), np.float32)
    centres = {k: c for k, (_, c) in packed.items()}
    cidx = {c: i for i, c in enumerate(classes)}
    y_tr = np.array([cidx[c] for c in train.label], np.int64)
    aux = training_au_targets(train, cfg)
    if aux is not None:
        logger.info("AU branch: %d of %d training samples have coded AUs", int((~np.isnan(aux[:, 0])).sum()), len(aux))
    logger.info("fold %s: %d training samples, %d test samples, device %s", test_subject, len(train), len(test), device)
    selection: dict[str, Any] = {"method": "fixed", "chosen": {}, "scores": []}
    sel = dict(cfg["selection"])
    method = "inner" if cfg["model"] == AUTO else sel["method"]
    requested = cfg["model"]
    if method == "inner":
        chosen, scores = select_hyperparameters(train, xs_tr, y_tr, classes=classes, cfg=cfg, device=device, centre=centres, aux=aux)
        selection = {"method": "inner", "folds": int(sel["folds"]), "metric": sel["metric"], "chosen": chosen, "scores": scores}
        if requested == AUTO:
            selection["models"] = candidate_models(cfg)
            selection["rule"] = sel["rule"]
        logger.info("fold %s: selected on the training subjects only: %s", test_subject, chosen)
        cfg = with_candidate(cfg, chosen)
    elif method != "fixed":
        raise ConfigError(f"training.selection.method: {sel['method']!r} is not fixed or inner")
    if out_selection is not None:
        write_json({"test_fold": test_subject, "model": cfg["model"], **selection}, out_selection)
    kind = input_kind(cfg["model"])
    x_tr, x_te = xs_tr[kind], xs_te[kind]
    rows, states = [], {}
    norm = normalisation(x_tr, centres[kind]) if cfg["model"] not in SVM_MODELS else None  # per channel, training subjects only
    for seed in cfg["seeds"]:
        model, pred, proba, _ = fit_predict_model(x_tr, y_tr, x_te, n_classes=len(classes), cfg=cfg, seed=int(seed), device=device,
                                                  centre=centres[kind], aux=aux)
        states[int(seed)] = model.state() if isinstance(model, LinearSVM) else {k: v.cpu() for k, v in model.state_dict().items()}
        rows += prediction_rows(test, pred, classes, int(seed), test_subject, proba)
    checkpoint = {"config": cfg, "model": cfg["model"], "requested_model": requested, "classes": classes, "test_subject": test_subject,
                  "states": states, "selection": selection}
    if norm is not None:
        checkpoint |= {"mean": norm[0].tolist(), "std": norm[1].tolist()}
    return write_fold(rows, checkpoint, out_predictions, out_checkpoint)
