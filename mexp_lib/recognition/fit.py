"""Fitting one model on one fold's training inputs and predicting its test inputs, leak-free:
normalisation statistics, class weights and the schedule come from the training inputs and the
config alone (:func:`fit_predict` trains a network, :func:`fit_predict_model` any model of
``training.model``, the SVM models included), and a fold's outputs (its prediction rows and
checkpoint, :func:`prediction_rows`, :func:`write_fold`).
"""

from __future__ import annotations

import logging
import random
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
import torch.nn as nn

from mexp_lib.errors import ConfigError, DataError
from mexp_lib.io.atomic import atomic_path, write_csv
from mexp_lib.models import build_model
from mexp_lib.models.spatiotemporal import predict_labels
from mexp_lib.recognition.kinds import SVM_MODELS
from mexp_lib.recognition.settings import training_settings
from mexp_lib.recognition.svm import LinearSVM, fit_svm, flow_features, flow_svm_settings

logger = logging.getLogger(__name__)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)
    # deterministic mode also fills every new tensor with NaN to expose reads of uninitialised
    # memory (a debugging aid): it changes no result and cost a tenth of the training time
    torch.utils.deterministic.fill_uninitialized_memory = False  # type: ignore[attr-defined]



def model_options(cfg: dict[str, Any]) -> dict[str, Any]:
    """The model's own options (``training.options``), for :func:`mexp_lib.models.build_model`."""
    return dict(training_settings(cfg)["options"])



def _mirror_normalised(x: torch.Tensor, u_mirror: float) -> torch.Tensor:
    """Normalised inputs (..., C, H, W) mirrored left-right: columns flipped and u reflected
    about "no motion" (``u_mirror`` = 2 (centre - mean_u) / std_u in normalised units)."""
    xf = torch.flip(x, dims=[-1])
    xf[..., 0, :, :] = u_mirror - xf[..., 0, :, :]
    return xf



def _random_affine(x: torch.Tensor, gen: torch.Generator, *, shift: float, rotate: float, scale: float) -> torch.Tensor:
    """Each (C, H, W) input of a batch under its own small random affine warp (bilinear,
    border values repeated): translation up to ``shift`` of the side, rotation up to ``rotate``
    degrees, scaling by up to +-``scale``. Flow vectors are not rotated (angles stay small)."""
    n = x.shape[0]
    u = torch.rand(n, 4, generator=gen).to(x.device) * 2 - 1
    a = u[:, 0] * rotate * torch.pi / 180
    sc = 1 + u[:, 1] * scale
    theta = torch.zeros(n, 2, 3, device=x.device, dtype=x.dtype)
    theta[:, 0, 0], theta[:, 0, 1], theta[:, 1, 0], theta[:, 1, 1] = sc * torch.cos(a), -sc * torch.sin(a), sc * torch.sin(a), sc * torch.cos(a)
    theta[:, 0, 2], theta[:, 1, 2] = u[:, 2] * 2 * shift, u[:, 3] * 2 * shift
    grid = nn.functional.affine_grid(theta, list(x.shape), align_corners=False)
    return nn.functional.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)



def _lr_factor(schedule: str, step: int, total: int, warmup: int) -> float:
    """The learning-rate multiplier at ``step`` of ``total``: ``constant`` 1, ``cosine`` a
    half cosine from 1 to 0, both after a linear warm-up of ``warmup`` steps."""
    if step < warmup:
        return (step + 1) / warmup
    if schedule == "constant":
        return 1.0
    if schedule == "cosine":
        return 0.5 * (1 + float(np.cos(np.pi * (step - warmup) / max(total - warmup, 1))))
    raise ConfigError(f"training.schedule: {schedule!r} is not constant or cosine")



def _train_one(x: np.ndarray, y: np.ndarray, n_classes: int, cfg: dict[str, Any], seed: int, device: torch.device,
               norm: tuple[np.ndarray, np.ndarray, float], aux: np.ndarray | None = None) -> nn.Module:
    """Train one model on raw inputs ``x``; ``norm`` = (mean, std, flip centre of u).

    A model that returns ``(logits, aux_logits)`` in training mode (the AU-fusion network) adds
    its ``auxiliary_loss(aux_logits, targets)`` with ``aux`` the per-sample targets.
    Options (schema defaults when absent): ``flip`` (mirror half the samples of each epoch),
    ``schedule`` (``constant`` or ``cosine`` learning rate per step, ``warmup_epochs``),
    ``mixup`` (Beta(a, a) mixing of pairs of inputs and their losses; 0 = off), ``affine``
    (``{shift, rotate, scale}`` random warp of each training input; all 0 = off),
    ``label_smoothing``, ``ema`` (the model returned carries an exponential moving average of
    the weights and buffers, decay ``ema``, updated after every step; 0 = the last weights).
    """
    cfg = training_settings(cfg)
    seed_everything(seed)
    model = build_model(cfg["model"], num_classes=n_classes, size=int(cfg["input_size"]), **model_options(cfg)).to(device)
    mean = torch.tensor(norm[0], device=device, dtype=torch.float32)[:, None, None]  # channel axis is -3
    std = torch.tensor(norm[1], device=device, dtype=torch.float32)[:, None, None]
    counts = np.bincount(y, minlength=n_classes).astype(np.float32)
    weights = torch.tensor(counts.sum() / np.maximum(counts, 1) / n_classes, device=device)
    loss_fn = nn.CrossEntropyLoss(weight=weights, label_smoothing=float(cfg["label_smoothing"]))
    opt = torch.optim.Adam(model.parameters(), lr=float(cfg["lr"]), weight_decay=float(cfg["weight_decay"]))
    xt, yt = torch.tensor(x, device=device), torch.tensor(y, device=device)
    at = torch.tensor(aux, device=device) if aux is not None else None
    n = len(xt)
    if cfg["flip"]:
        # mirrored copies, made once: flip the columns and reflect u about "no motion"
        xf = torch.flip(xt, dims=[-1])
        xf[..., 0, :, :] = 2 * norm[2] - xf[..., 0, :, :]
        xt = torch.cat([xt, xf])
    xt = (xt - mean) / std
    gen = torch.Generator().manual_seed(seed)
    bs = int(cfg["batch_size"])
    epochs = int(cfg["epochs"])
    steps_per_epoch = (n + bs - 1) // bs
    schedule = str(cfg["schedule"])
    warmup = int(cfg["warmup_epochs"]) * steps_per_epoch
    alpha = float(cfg["mixup"])
    affine = dict(cfg["affine"])
    warp = any(float(v) > 0 for v in affine.values())
    base_lr = float(cfg["lr"])
    decay = float(cfg["ema"])
    average = {k: v.detach().clone() for k, v in model.state_dict().items()} if decay > 0 else None
    step = 0
    model.train()
    for _ in range(epochs):
        perm = torch.randperm(n, generator=gen)
        if cfg["flip"]:  # each sample mirrored with probability 1/2
            perm = perm + n * (torch.rand(n, generator=gen) < 0.5).long()
        perm = perm.to(device)
        for i in range(0, n, bs):
            for g in opt.param_groups:
                g["lr"] = base_lr * _lr_factor(schedule, step, epochs * steps_per_epoch, warmup)
            step += 1
            b = perm[i: i + bs]
            xb, yb = xt[b], yt[b % n]
            if warp and xb.ndim == 4:
                xb = _random_affine(xb, gen, shift=float(affine["shift"]), rotate=float(affine["rotate"]), scale=float(affine["scale"]))
            lam, partner = 1.0, None
            if alpha > 0 and len(b) > 1:
                lam = float(np.random.default_rng(int(torch.randint(0, 2**31 - 1, (1,), generator=gen))).beta(alpha, alpha))
                partner = torch.randperm(len(b), generator=gen).to(device)
                xb = lam * xb + (1 - lam) * xb[partner]
            opt.zero_grad()
            out = model(xb)
            extra = None
            if isinstance(out, tuple):  # (logits, auxiliary logits)
                out, aux_out = out
                if at is None:
                    raise ConfigError(f"training.model {cfg['model']}: the model has an auxiliary branch but no auxiliary targets were given")
                extra = model.auxiliary_loss(aux_out, at[b % n])  # type: ignore[operator]
            if out.ndim == 3:  # per-frame logits: every frame carries its clip's label
                t = out.shape[1]
                out, yb = out.flatten(0, 1), yb.repeat_interleave(t)
                partner = None if partner is None else (partner[:, None] * t + torch.arange(t, device=device)).flatten()
            loss = loss_fn(out, yb)
            if partner is not None:
                loss = lam * loss + (1 - lam) * loss_fn(out, yb[partner])
            if extra is not None:
                loss = loss + extra
            loss.backward()
            opt.step()
            if average is not None:
                _update_average(average, model, decay)
    if average is not None:
        model.load_state_dict(average)
    model.eval()
    return model


@torch.no_grad()
def _update_average(average: dict[str, torch.Tensor], model: nn.Module, decay: float) -> None:
    """One step of the weights' exponential moving average: floating tensors (weights, batch-norm
    statistics) move ``1 - decay`` of the way to the model's; counters take the model's value."""
    for k, v in model.state_dict().items():
        if v.dtype.is_floating_point:
            average[k].mul_(decay).add_(v.detach(), alpha=1 - decay)
        else:
            average[k].copy_(v)



def predict_proba(model: nn.Module, x: torch.Tensor, *, tta_flip: bool = False, u_mirror: float = 0.0) -> np.ndarray:
    """(N, classes) class probabilities of normalised inputs ``x``: the softmax of the logits
    (per-frame logits: the mean of the frames' softmax), with ``tta_flip`` averaged with the
    mirrored inputs' (:func:`_mirror_normalised`)."""
    def probs(inp: torch.Tensor) -> torch.Tensor:
        out = model(inp)
        return out.softmax(-1) if out.ndim == 2 else out.softmax(-1).mean(1)

    with torch.no_grad():
        p = probs(x)
        if tta_flip:
            p = (p + probs(_mirror_normalised(x, u_mirror))) / 2
    return p.cpu().numpy().astype(np.float64)



def normalisation(x: np.ndarray, centre: float) -> tuple[np.ndarray, np.ndarray, float]:
    """Per-channel mean and std of raw inputs (channel axis -3) and the flip centre of u."""
    flat = np.moveaxis(x, -3, 0).reshape(x.shape[-3], -1)
    return flat.mean(1), flat.std(1) + 1e-6, centre



def fit_predict(x_tr: np.ndarray, y_tr: np.ndarray, x_te: np.ndarray, *, n_classes: int, cfg: dict[str, Any], seed: int, device: torch.device,
                centre: float, aux: np.ndarray | None = None) -> tuple[nn.Module, np.ndarray, np.ndarray, tuple[np.ndarray, np.ndarray, float]]:
    """Normalise with ``x_tr``'s statistics, train one seed, predict ``x_te``.

    Returns the model, the predicted labels (N,), the class probabilities (N, classes; with
    ``training.tta_flip`` averaged with the mirrored input's, and then the labels are their
    argmax) and the normalisation (mean, std, centre). ``cfg``: the ``training`` section
    (missing keys take the schema's defaults)."""
    cfg = training_settings(cfg)
    norm = normalisation(x_tr, centre)
    model = _train_one(x_tr, y_tr, n_classes, cfg, seed, device, norm, aux)
    if not len(x_te):
        return model, np.zeros(0, np.int64), np.zeros((0, n_classes)), norm
    mean, std = norm[0][:, None, None], norm[1][:, None, None]
    xt = torch.tensor(((x_te - mean) / std).astype(np.float32), device=device)
    tta = bool(cfg["tta_flip"])
    proba = predict_proba(model, xt, tta_flip=tta, u_mirror=float(2 * (centre - norm[0][0]) / norm[1][0]))
    if tta:
        pred = proba.argmax(1)
    else:
        with torch.no_grad():
            pred = predict_labels(model(xt)).cpu().numpy()
    return model, pred, proba, norm



def _svm_features(cfg: dict[str, Any], x: np.ndarray) -> tuple[np.ndarray, float]:
    """An SVM model's feature rows of its packed inputs ``x`` and its C: flow_svm pools the flow
    fields (:func:`mexp_lib.recognition.svm.flow_features`), lbptop_svm reads the descriptors."""
    if cfg["model"] == "flow_svm":
        f = flow_svm_settings(cfg)
        return flow_features(x, grid=int(f["grid"]), blur=float(f["blur"]), remove_median=bool(f["remove_median"])), float(f["c"])
    return x.reshape(len(x), -1), float(cfg["svm_c"])



def fit_predict_model(x_tr: np.ndarray, y_tr: np.ndarray, x_te: np.ndarray, *, n_classes: int, cfg: dict[str, Any], seed: int, device: torch.device,
                      centre: float, aux: np.ndarray | None = None) -> tuple[nn.Module | LinearSVM, np.ndarray, np.ndarray, tuple[np.ndarray, np.ndarray, float] | None]:
    """:func:`fit_predict` for any model of ``cfg["model"]``: a network is trained, an SVM model
    (flow_svm, lbptop_svm) fitted by :func:`mexp_lib.recognition.svm.fit_svm` on its features
    (standardised with ``x_tr``'s statistics; its probabilities the softmax of its scores,
    normalisation None)."""
    if cfg["model"] not in SVM_MODELS:
        if x_tr.shape[-1] != int(cfg["input_size"]):
            raise DataError(f"inputs are {x_tr.shape[-1]} px, training.input_size is {cfg['input_size']}")
        return fit_predict(x_tr, y_tr, x_te, n_classes=n_classes, cfg=cfg, seed=seed, device=device, centre=centre,
                           aux=aux if cfg["model"] == "aufusion" else None)
    f_tr, c = _svm_features(cfg, x_tr)
    svm = fit_svm(f_tr, y_tr, c=c, seed=seed)
    if not len(x_te):
        return svm, np.zeros(0, np.int64), np.zeros((0, n_classes)), None
    f_te, _ = _svm_features(cfg, x_te)
    proba = svm.proba(f_te, n_classes)
    return svm, proba.argmax(1), proba, None



def prediction_rows(test: pd.DataFrame, pred: np.ndarray, classes: list[str], seed: int, fold: str,
                     proba: np.ndarray | None = None) -> list[dict[str, Any]]:
    """One row per test sample; with ``proba`` (N, classes) also a ``prob_<class>`` column each."""
    rows = [{"dataset": r.source, "subject": r.subject, "sample": r["sample"], "label": r.label, "pred": classes[int(p)], "seed": seed}
            for (_, r), p in zip(test.iterrows(), pred, strict=True)]
    if proba is not None:
        for row, p in zip(rows, proba, strict=True):
            row.update({f"prob_{c}": float(v) for c, v in zip(classes, p, strict=True)})
    logger.info("fold %s seed %s: %d/%d correct", fold, seed, sum(r["label"] == r["pred"] for r in rows), len(rows))
    return rows



def write_fold(rows: list[dict[str, Any]], checkpoint: dict[str, Any], out_predictions: str | Path, out_checkpoint: str | Path) -> pd.DataFrame:
    """The fold's predictions (CSV) and checkpoint, each written atomically."""
    extra = [k for k in (rows[0] if rows else {}) if k.startswith("prob_")]
    preds = pd.DataFrame(rows, columns=["dataset", "subject", "sample", "label", "pred", "seed", *extra])
    write_csv(preds, out_predictions)
    with atomic_path(out_checkpoint) as tmp:
        torch.save(checkpoint, tmp)
    return preds
