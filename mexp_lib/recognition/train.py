"""Training one leave-one-subject-out fold, leak-free.

The test subject is only predicted: normalisation statistics, class weights and the schedule
come from the training subjects and the config alone (a fixed number of epochs, no early
stopping on the test fold). Several seeds are trained; each one's predictions are kept.
"""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pandas as pd
import torch
import torch.nn as nn

from mexp_lib.device import select_device
from mexp_lib.errors import ConfigError, DataError
from mexp_lib.features.lbptop import lbp_top
from mexp_lib.io.atomic import atomic_path, write_csv, write_json
from mexp_lib.io.frames import IMAGE_EXTENSIONS
from mexp_lib.io.h5store import open_store, read_arrays, read_attrs, write_store
from mexp_lib.io.skip import skip_reason
from mexp_lib.models import build_model
from mexp_lib.models.aufusion import DEFAULT_AUS, au_targets
from mexp_lib.models.spatiotemporal import predict_labels
from mexp_lib.recognition.baseline import faces_field
from mexp_lib.recognition.kinds import AUTO, SVM_MODELS, candidate_models, input_kind, input_kinds, kind_stores
from mexp_lib.recognition.settings import training_settings
from mexp_lib.recognition.svm import FLOW_SVM_SELECTABLE, LinearSVM, fit_svm, flow_features, flow_svm_settings

logger = logging.getLogger(__name__)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)
    # deterministic mode also fills every new tensor with NaN to expose reads of uninitialised
    # memory (a debugging aid): it changes no result and cost a tenth of the training time
    torch.utils.deterministic.fill_uninitialized_memory = False  # type: ignore[attr-defined]


def load_input(path: str | Path, size: int, kind: str = "apex", clip: str | Path | None = None) -> tuple[np.ndarray, float]:
    """One sample's input, float32, and the value of u meaning "no motion".

    ``path`` is a flow store (``.h5``: :func:`apex_flow_input`, :func:`sequence_flow_input`,
    :func:`apex_flow_field` or, with the grey ``clip`` store the flow was computed from,
    :func:`sequence_grey_input`; u in pixels, centre 0) or a precomputed flow image (R, G, B =
    u, v, strain, each min-max normalised per image, scaled to 0..1 here; mirroring such an
    image maps u to 1 - u, so its centre is 0.5). Images hold one frame: they feed ``apex``
    models and (their u, v) ``flow_field`` ones only. ``kind="flow_field"`` keeps the native
    resolution when ``size`` is 0.
    """
    p = Path(path)
    if p.suffix.lower() in IMAGE_EXTENSIONS:
        if kind not in ("apex", "flow_field"):
            raise ConfigError(f"{p}: a precomputed flow image holds one frame; models reading sequences need the motion stage's flow stores")
        img = cv2.imread(str(p), cv2.IMREAD_COLOR)
        if img is None:
            raise DataError(f"{p}: cannot read image")
        x: np.ndarray = img[:, :, ::-1].astype(np.float32) / 255.0
        if size and x.shape[:2] != (size, size):
            x = cv2.resize(x, (size, size), interpolation=cv2.INTER_AREA)
        x = np.ascontiguousarray(x.transpose(2, 0, 1))
        return (x[:2] - 0.5, 0.0) if kind == "flow_field" else (x, 0.5)
    if kind == "lbptop":
        return lbp_top(_resized(read_arrays(p, "frames")["frames"].astype(np.float32), size)), 0.0
    if kind == "sequence_grey":
        if clip is None:
            raise ConfigError(f"{p}: the {kind} input needs the grey clip store the flow was computed from")
        return sequence_grey_input(p, clip, size), 0.0
    if kind == "flow_field":
        return apex_flow_field(p, size), 0.0
    if kind not in ("apex", "sequence"):
        raise ConfigError(f"{p}: unknown input kind {kind!r}")
    return (apex_flow_input(p, size) if kind == "apex" else sequence_flow_input(p, size)), 0.0


def _resized(images: np.ndarray, size: int) -> np.ndarray:
    """Each image (H, W[, C]) of a stack resized to ``size`` x ``size`` (area interpolation)."""
    return np.stack([cv2.resize(f, (size, size), interpolation=cv2.INTER_AREA) for f in images])


def sequence_flow_input(flow_h5: str | Path, size: int) -> np.ndarray:
    """(T, 3, size, size) float32: u, v, strain of every frame of a flow store."""
    arrays = read_arrays(flow_h5, "flow", "strain")
    x = np.concatenate([arrays["flow"].astype(np.float32), arrays["strain"].astype(np.float32)[..., None]], axis=-1)
    return np.ascontiguousarray(_resized(x, size).transpose(0, 3, 1, 2))


def sequence_grey_input(flow_h5: str | Path, clip_h5: str | Path, size: int) -> np.ndarray:
    """(T, 4, size, size) float32: u, v, strain and the grey frame of every frame of a clip.

    ``clip_h5`` is the (TIM or magnified) store whose ``frames`` the flow store was computed
    from with a per-frame reference (onset or previous), so both hold T frames.
    """
    seq = sequence_flow_input(flow_h5, size)
    frames = read_arrays(clip_h5, "frames")["frames"].astype(np.float32)
    if frames.ndim != 3 or len(frames) != len(seq):
        raise DataError(f"{flow_h5}: {len(seq)} flow frames but {clip_h5} holds frames of shape {frames.shape}; "
                        "the grey input needs flow.reference onset or previous on grey clips")
    return np.ascontiguousarray(np.concatenate([seq, _resized(frames, size)[:, None]], axis=1))


def _apex_pair(flow_h5: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """The onset -> apex flow (H, W, 2) and strain (H, W) of a flow store, float32.

    The apex is the stored ``apex_index``, its flow the stored pair (0, apex) (the only pair of
    a store computed for an apex model); when the sheet gave none (-1), the frame with the
    largest mean flow magnitude (computed from the sample's own motion, no label involved).
    """
    with open_store(flow_h5) as h:
        idx = int(h.attrs.get("apex_index", -1))
        if idx >= 0 and "pairs" in h:
            pairs = h["pairs"][()]
            hit = np.flatnonzero((pairs[:, 0] == 0) & (pairs[:, 1] == idx))
            if not len(hit):
                raise DataError(f"{flow_h5}: holds no flow pair (0, {idx}) for the apex")
            idx = int(hit[0])
        if idx < 0:
            mags = [float(np.linalg.norm(h["flow"][i].astype(np.float32), axis=-1).mean()) for i in range(h["flow"].shape[0])]
            idx = int(np.argmax(mags))
        return h["flow"][idx].astype(np.float32), h["strain"][idx].astype(np.float32)


def apex_flow_input(flow_h5: str | Path, size: int) -> np.ndarray:
    """(3, size, size) float32: u, v, strain of the onset -> apex pair of a flow store
    (:func:`_apex_pair`)."""
    flow, strain = _apex_pair(flow_h5)
    x = cv2.resize(np.dstack([flow, strain[..., None]]), (size, size), interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(x.transpose(2, 0, 1))


def apex_flow_field(flow_h5: str | Path, size: int = 0) -> np.ndarray:
    """(2, H, W) float32: u, v of the onset -> apex pair of a flow store (:func:`_apex_pair`),
    in pixels, at the store's resolution (``size`` 0) or resized to ``size`` x ``size``."""
    flow, _ = _apex_pair(flow_h5)
    if size and flow.shape[:2] != (size, size):
        flow = cv2.resize(flow, (size, size), interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(flow.transpose(2, 0, 1))


def build_inputs(samples: pd.DataFrame, sources: dict[str, str], *, size: int, out: str | Path, kinds: Sequence[str] = ("apex",),
                 clips: dict[str, str] | None = None, faces: dict[str, str] | None = None, field: dict[str, Any] | None = None) -> int:
    """The ``build_inputs`` stage: every sample's model inputs gathered into one store, so each
    fold job reads one file; one array per input kind the fold's candidate models read
    (:func:`mexp_lib.recognition.kinds.input_kinds`).

    ``sources``: sample id -> its flow store (``.h5``) or precomputed flow image; ``clips``:
    sample id -> its grey clip store (``lbptop`` and ``sequence_grey``); ``faces``: sample id ->
    the face stage's store of its video (``flow_field`` with ``field["source"] == "faces"``:
    DIS onset -> apex on the aligned faces, :func:`mexp_lib.recognition.baseline.faces_field`).
    ``field``: ``training.flow_svm`` (its ``source`` and ``size``, 0 = native). Writes
    ``x_<kind>``: (N, 3, size, size) for ``apex``, (N, T, C, size, size) for the sequences,
    (N, 2, H, W) for ``flow_field``, float32, and ``sample`` (N,) ids; attrs ``kinds``,
    ``centres`` (per kind, u of "no motion"), ``size`` and ``skipped`` (samples whose video the
    face stage skipped, left out). Returns the number packed.
    """
    fs: dict[str, Any] = {"source": "flow", "size": 0} | dict(field or {})
    field_size = int(fs["size"])
    training = {"flow_svm": fs}
    stores = {"flow": sources, "clip": clips or {}, "faces": faces or {}}
    rows = samples.set_index("sample", drop=False)
    keep: list[str] = []
    skipped: list[str] = []
    xs: dict[str, list[np.ndarray]] = {k: [] for k in kinds}
    centres: dict[str, float] = {k: 0.0 for k in kinds}
    for smp in samples["sample"]:
        files = {st: stores[st].get(smp) for k in kinds for st in kind_stores(k, training)}
        missing = [st for st, f in files.items() if f is None]
        if missing:
            raise DataError(f"{out}: no {' or '.join(missing)} file for sample {smp!r}")
        if any(Path(str(f)).suffix == ".h5" and skip_reason(str(f)) is not None for f in files.values()):
            skipped.append(smp)
            continue
        for k in kinds:
            if k == "flow_field" and fs["source"] == "faces":
                r = rows.loc[smp]
                x = faces_field(str(files["faces"]), onset=int(r.onset), apex=int(r.apex))
                if field_size and x.shape[1:] != (field_size, field_size):
                    x = np.ascontiguousarray(cv2.resize(x.transpose(1, 2, 0), (field_size, field_size), interpolation=cv2.INTER_AREA).transpose(2, 0, 1))
            elif k == "lbptop":
                x, centres[k] = load_input(str(files["clip"]), size, k)
            else:
                x, centres[k] = load_input(str(files["flow"]), field_size if k == "flow_field" else size, k, clip=files.get("clip"))
            xs[k].append(x)
        keep.append(smp)
    if not keep:
        raise DataError(f"{out}: no usable sample to pack (all {len(skipped)} skipped by the face stage)")
    arrays: dict[str, np.ndarray] = {"sample": np.array(keep, dtype="S")}
    for k, v in xs.items():
        if len({a.shape for a in v}) > 1:
            raise DataError(f"{out}: the {k} inputs differ in shape ({sorted({a.shape for a in v})}); set training.flow_svm.size")
        arrays[f"x_{k}"] = np.stack(v).astype(np.float32)
    write_store(out, arrays, {"stage": "inputs", "kinds": json.dumps(list(kinds)), "centres": json.dumps(centres), "size": size,
                              "skipped": json.dumps(skipped)})
    if skipped:
        logger.warning("%d sample(s) whose video the face stage skipped are left out: %s", len(skipped), ", ".join(skipped))
    return len(keep)


def read_input_pack(path: str | Path, kind: str | None = None) -> tuple[dict[str, np.ndarray], float]:
    """sample id -> input, and the centre, of one input kind of :func:`build_inputs`'s store
    (``kind`` None: its first kind; a DataError when it holds no ``kind`` inputs). A store
    holding one ``x`` array (attr ``kind``) is read as that kind."""
    attrs = read_attrs(path)
    if "kinds" in attrs:
        kinds = json.loads(attrs["kinds"])
        kind = kinds[0] if kind is None else kind
        if kind not in kinds:
            raise DataError(f"{path}: holds {', '.join(kinds)} inputs, the model needs {kind!r}")
        arrays = read_arrays(path, f"x_{kind}", "sample")
        x, centre = arrays[f"x_{kind}"], float(json.loads(attrs["centres"])[kind])
    else:
        if kind is not None and attrs.get("kind", "apex") != kind:
            raise DataError(f"{path}: holds {attrs.get('kind')!r} inputs, the model needs {kind!r}")
        arrays = read_arrays(path, "x", "sample")
        x, centre = arrays["x"], float(attrs["centre"])
    return {v.decode(): xi for v, xi in zip(arrays["sample"], x, strict=True)}, centre


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
    ``label_smoothing``.
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
    model.eval()
    return model


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


def _prediction_rows(test: pd.DataFrame, pred: np.ndarray, classes: list[str], seed: int, fold: str,
                     proba: np.ndarray | None = None) -> list[dict[str, Any]]:
    """One row per test sample; with ``proba`` (N, classes) also a ``prob_<class>`` column each."""
    rows = [{"dataset": r.source, "subject": r.subject, "sample": r["sample"], "label": r.label, "pred": classes[int(p)], "seed": seed}
            for (_, r), p in zip(test.iterrows(), pred, strict=True)]
    if proba is not None:
        for row, p in zip(rows, proba, strict=True):
            row.update({f"prob_{c}": float(v) for c, v in zip(classes, p, strict=True)})
    logger.info("fold %s seed %s: %d/%d correct", fold, seed, sum(r["label"] == r["pred"] for r in rows), len(rows))
    return rows


def _write_fold(rows: list[dict[str, Any]], checkpoint: dict[str, Any], out_predictions: str | Path, out_checkpoint: str | Path) -> pd.DataFrame:
    """The fold's predictions (CSV) and checkpoint, each written atomically."""
    extra = [k for k in (rows[0] if rows else {}) if k.startswith("prob_")]
    preds = pd.DataFrame(rows, columns=["dataset", "subject", "sample", "label", "pred", "seed", *extra])
    write_csv(preds, out_predictions)
    with atomic_path(out_checkpoint) as tmp:
        torch.save(checkpoint, tmp)
    return preds


def _svm_fold(train: pd.DataFrame, test: pd.DataFrame, x_tr: np.ndarray, x_te: np.ndarray, *, classes: list[str], cfg: dict[str, Any],
              test_subject: str, out_predictions: str | Path, out_checkpoint: str | Path) -> pd.DataFrame:
    """Linear SVM (:func:`mexp_lib.recognition.svm.fit_svm`) on given descriptors, ``training.svm_c``
    fixed in config; one fit per seed."""
    cidx = {c: i for i, c in enumerate(classes)}
    y_tr = np.array([cidx[c] for c in train.label], np.int64)
    rows, states = [], {}
    for seed in cfg["seeds"]:
        svm = fit_svm(x_tr.reshape(len(x_tr), -1), y_tr, c=float(cfg["svm_c"]), seed=int(seed))
        pred = svm.predict(x_te.reshape(len(x_te), -1)) if len(test) else np.zeros(0, int)
        rows += _prediction_rows(test, np.asarray(pred), classes, int(seed), test_subject)
        states[int(seed)] = svm.state()
    return _write_fold(rows, {"config": cfg, "classes": classes, "test_subject": test_subject, "states": states}, out_predictions, out_checkpoint)


def svm_loso(samples: pd.DataFrame, features: dict[str, np.ndarray], *, classes: list[str], cfg: dict[str, Any], workdir: str | Path) -> pd.DataFrame:
    """Leave-one-subject-out linear SVM on given descriptors (``video -> vector``), e.g. published
    LBP-TOP features; each fold's outputs go to ``workdir/<subject>/``. Returns all predictions."""
    cfg = training_settings(cfg)
    preds = []
    for subject in sorted(samples.subject.unique()):
        tr, te = samples[samples.subject != subject], samples[samples.subject == subject]
        out = Path(workdir) / str(subject)
        out.mkdir(parents=True, exist_ok=True)
        preds.append(_svm_fold(tr, te, np.stack([features[v] for v in tr.video]), np.stack([features[v] for v in te.video]), classes=classes,
                               cfg=cfg, test_subject=str(subject), out_predictions=out / "predictions.csv", out_checkpoint=out / "model.pt"))
    return pd.concat(preds, ignore_index=True)


SELECTABLE = ("epochs", "lr", "weight_decay", "batch_size", "mixup", "schedule", "label_smoothing", "warmup_epochs", "tta_flip", "flip", "options")


def _normalisation(x: np.ndarray, centre: float) -> tuple[np.ndarray, np.ndarray, float]:
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
    norm = _normalisation(x_tr, centre)
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


def train_fold(samples: pd.DataFrame, pack: str | Path, *, test_subject: str, classes: list[str], cfg: dict[str, Any], out_predictions: str | Path,
               out_checkpoint: str | Path, fold_by: str = "subject", out_selection: str | Path | None = None) -> pd.DataFrame:
    """Train on every subject but ``test_subject``; predict ``test_subject``'s samples.

    ``samples``: the recognition samples with a ``label`` column; ``pack``: the store of their
    inputs (:func:`build_inputs`). Writes per-sample predictions (``dataset`` = the source
    database, ``subject, sample, label, pred, seed``) and a checkpoint holding each seed's
    weights (an SVM model: its coefficients), the config, the model, the classes and the
    normalisation (from training subjects only). ``fold_by="source"`` makes it a
    holdout-database fold: ``test_subject`` names a source database, trained on all the others
    and tested on it. A fold whose test samples were all skipped by the face stage writes empty
    predictions. Predictions carry each seed's class probabilities (``prob_<class>``; an SVM's
    softmax scores), for the seed ensemble. With ``training.selection.method: inner`` the listed
    hyper-parameters, and with ``training.model: auto`` the model among
    ``training.selection.models``, are first chosen by :func:`select_hyperparameters` on the
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
    train = usable[usable[fold_by] != test_subject]
    test = usable[usable[fold_by] == test_subject]
    if train.empty:
        raise DataError(f"fold {test_subject!r} ({fold_by}): no training samples")
    xs_tr, xs_te = {}, {}
    for k, (inp, _) in packed.items():
        xs_tr[k] = np.stack([inp[v] for v in train["sample"]])  # float32, as packed
        xs_te[k] = np.stack([inp[v] for v in test["sample"]]) if len(test) else np.zeros((0, *xs_tr[k].shape[1:]), np.float32)
    centres = {k: c for k, (_, c) in packed.items()}
    cidx = {c: i for i, c in enumerate(classes)}
    y_tr = np.array([cidx[c] for c in train.label], np.int64)
    aux = None
    if "aufusion" in candidate_models(cfg):  # AU targets from the training samples' sheets (NaN rows: no AUs coded)
        aux = au_targets(train.aus.fillna("").astype(str), list(model_options(cfg).get("aus") or DEFAULT_AUS))
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
    norm = _normalisation(x_tr, centres[kind]) if cfg["model"] not in SVM_MODELS else None  # per channel, training subjects only
    for seed in cfg["seeds"]:
        model, pred, proba, _ = fit_predict_model(x_tr, y_tr, x_te, n_classes=len(classes), cfg=cfg, seed=int(seed), device=device,
                                                  centre=centres[kind], aux=aux)
        states[int(seed)] = model.state() if isinstance(model, LinearSVM) else {k: v.cpu() for k, v in model.state_dict().items()}
        rows += _prediction_rows(test, pred, classes, int(seed), test_subject, proba)
    checkpoint = {"config": cfg, "model": cfg["model"], "requested_model": requested, "classes": classes, "test_subject": test_subject,
                  "states": states, "selection": selection}
    if norm is not None:
        checkpoint |= {"mean": norm[0].tolist(), "std": norm[1].tolist()}
    return _write_fold(rows, checkpoint, out_predictions, out_checkpoint)
