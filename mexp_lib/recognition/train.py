"""Training one leave-one-subject-out fold, leak-free.

The test subject is only predicted: normalisation statistics, class weights and the schedule
come from the training subjects and the config alone (a fixed number of epochs, no early
stopping on the test fold). Several seeds are trained; each one's predictions are kept.
"""

from __future__ import annotations

import json
import logging
import random
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
from mexp_lib.io.atomic import atomic_path, write_csv
from mexp_lib.io.frames import IMAGE_EXTENSIONS
from mexp_lib.io.h5store import open_store, read_arrays, read_attrs, write_store
from mexp_lib.io.skip import skip_reason
from mexp_lib.models import build_model
from mexp_lib.models.aufusion import DEFAULT_AUS, au_targets
from mexp_lib.models.spatiotemporal import predict_labels
from mexp_lib.recognition.kinds import input_kind

logger = logging.getLogger(__name__)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)


def load_input(path: str | Path, size: int, kind: str = "apex", clip: str | Path | None = None) -> tuple[np.ndarray, float]:
    """One sample's input, float32, and the value of u meaning "no motion".

    ``path`` is a flow store (``.h5``: :func:`apex_flow_input`, :func:`sequence_flow_input` or,
    with the grey ``clip`` store the flow was computed from, :func:`sequence_grey_input`; u in
    pixels, centre 0) or a precomputed flow image (R, G, B = u, v, strain, each min-max
    normalised per image, scaled to 0..1 here; mirroring such an image maps u to 1 - u, so its
    centre is 0.5). Images hold one frame: they feed ``apex`` models only.
    """
    p = Path(path)
    if p.suffix.lower() in IMAGE_EXTENSIONS:
        if kind != "apex":
            raise ConfigError(f"{p}: a precomputed flow image holds one frame; models reading sequences need the motion stage's flow stores")
        img = cv2.imread(str(p), cv2.IMREAD_COLOR)
        if img is None:
            raise DataError(f"{p}: cannot read image")
        x = img[:, :, ::-1].astype(np.float32) / 255.0
        if x.shape[:2] != (size, size):
            x = cv2.resize(x, (size, size), interpolation=cv2.INTER_AREA)
        return np.ascontiguousarray(x.transpose(2, 0, 1)), 0.5
    if kind == "lbptop":
        return lbp_top(_resized(read_arrays(p, "frames")["frames"].astype(np.float32), size)), 0.0
    if kind == "sequence_grey":
        if clip is None:
            raise ConfigError(f"{p}: the {kind} input needs the grey clip store the flow was computed from")
        return sequence_grey_input(p, clip, size), 0.0
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


def apex_flow_input(flow_h5: str | Path, size: int) -> np.ndarray:
    """(3, size, size) float32: u, v, strain at the apex frame of a flow store.

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
        flow = h["flow"][idx].astype(np.float32)
        strain = h["strain"][idx].astype(np.float32)
    x = np.dstack([flow, strain[..., None]])
    x = cv2.resize(x, (size, size), interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(x.transpose(2, 0, 1))


def build_inputs(samples: pd.DataFrame, sources: dict[str, str], *, size: int, out: str | Path, kind: str = "apex",
                 clips: dict[str, str] | None = None) -> int:
    """The ``build_inputs`` stage: every sample's model input gathered into one store, so each
    fold job reads one file.

    ``sources``: sample id -> its flow store (``.h5``) or precomputed flow image; ``clips``:
    sample id -> its grey clip store (``kind="sequence_grey"`` only). Writes ``x`` (N, 3, size,
    size) for ``kind="apex"``, (N, T, C, size, size) for the sequences, float32, and ``sample``
    (N,) ids; attrs ``kind``, ``centre`` (u of "no motion") and ``skipped`` (samples whose video
    the face stage skipped, left out). Returns the number packed.
    """
    keep, xs, skipped, centre = [], [], [], 0.0
    for smp in samples["sample"]:
        if smp not in sources:
            raise DataError(f"{out}: no input file for sample {smp!r}")
        src = sources[smp]
        if Path(src).suffix == ".h5" and skip_reason(src) is not None:
            skipped.append(smp)
            continue
        x, centre = load_input(src, size, kind, clip=(clips or {}).get(smp))
        keep.append(smp)
        xs.append(x)
    if not xs:
        raise DataError(f"{out}: no usable sample to pack (all {len(skipped)} skipped by the face stage)")
    write_store(out, {"x": np.stack(xs).astype(np.float32), "sample": np.array(keep, dtype="S")},
                {"stage": "inputs", "kind": kind, "centre": centre, "size": size, "skipped": json.dumps(skipped)})
    if skipped:
        logger.warning("%d sample(s) whose video the face stage skipped are left out: %s", len(skipped), ", ".join(skipped))
    return len(keep)


def read_input_pack(path: str | Path, kind: str | None = None) -> tuple[dict[str, np.ndarray], float]:
    """sample id -> input, and the centre, from :func:`build_inputs`'s store (checked to hold
    ``kind`` inputs when given)."""
    attrs = read_attrs(path)
    if kind is not None and attrs.get("kind", "apex") != kind:
        raise DataError(f"{path}: holds {attrs.get('kind')!r} inputs, the model needs {kind!r}")
    arrays = read_arrays(path, "x", "sample")
    return {v.decode(): x for v, x in zip(arrays["sample"], arrays["x"])}, float(attrs["centre"])


def model_options(cfg: dict[str, Any]) -> dict[str, Any]:
    """The model's own options (``training.options``), for :func:`mexp_lib.models.build_model`."""
    return dict(cfg.get("options") or {})


def _train_one(x: np.ndarray, y: np.ndarray, n_classes: int, cfg: dict[str, Any], seed: int, device: torch.device,
               norm: tuple[np.ndarray, np.ndarray, float], aux: np.ndarray | None = None) -> nn.Module:
    """Train one model on raw inputs ``x``; ``norm`` = (mean, std, flip centre of u).

    A model that returns ``(logits, aux_logits)`` in training mode (the AU-fusion network) adds
    its ``auxiliary_loss(aux_logits, targets)`` with ``aux`` the per-sample targets.
    """
    seed_everything(seed)
    model = build_model(cfg["model"], num_classes=n_classes, size=int(cfg["input_size"]), **model_options(cfg)).to(device)
    mean = torch.tensor(norm[0], device=device, dtype=torch.float32)[:, None, None]  # channel axis is -3
    std = torch.tensor(norm[1], device=device, dtype=torch.float32)[:, None, None]
    counts = np.bincount(y, minlength=n_classes).astype(np.float32)
    weights = torch.tensor(counts.sum() / np.maximum(counts, 1) / n_classes, device=device)
    loss_fn = nn.CrossEntropyLoss(weight=weights)
    opt = torch.optim.Adam(model.parameters(), lr=float(cfg["lr"]), weight_decay=float(cfg["weight_decay"]))
    xt, yt = torch.tensor(x, device=device), torch.tensor(y, device=device)
    at = torch.tensor(aux, device=device) if aux is not None else None
    n = len(xt)
    if cfg.get("flip", True):
        # mirrored copies, made once: flip the columns and reflect u about "no motion"
        xf = torch.flip(xt, dims=[-1])
        xf[..., 0, :, :] = 2 * norm[2] - xf[..., 0, :, :]
        xt = torch.cat([xt, xf])
    xt = (xt - mean) / std
    gen = torch.Generator().manual_seed(seed)
    bs = int(cfg["batch_size"])
    model.train()
    for _ in range(int(cfg["epochs"])):
        perm = torch.randperm(n, generator=gen)
        if cfg.get("flip", True):  # each sample mirrored with probability 1/2
            perm = perm + n * (torch.rand(n, generator=gen) < 0.5).long()
        perm = perm.to(device)
        for i in range(0, n, bs):
            b = perm[i: i + bs]
            opt.zero_grad()
            out, yb = model(xt[b]), yt[b % n]
            extra = None
            if isinstance(out, tuple):  # (logits, auxiliary logits)
                out, aux_out = out
                if at is None:
                    raise ConfigError(f"training.model {cfg['model']}: the model has an auxiliary branch but no auxiliary targets were given")
                extra = model.auxiliary_loss(aux_out, at[b % n])  # type: ignore[operator]
            if out.ndim == 3:  # per-frame logits: every frame carries its clip's label
                out, yb = out.flatten(0, 1), yb.repeat_interleave(out.shape[1])
            loss = loss_fn(out, yb)
            if extra is not None:
                loss = loss + extra
            loss.backward()
            opt.step()
    model.eval()
    return model


def _prediction_rows(test: pd.DataFrame, pred: np.ndarray, classes: list[str], seed: int, fold: str) -> list[dict[str, Any]]:
    rows = [{"dataset": r.source, "subject": r.subject, "sample": r["sample"], "label": r.label, "pred": classes[int(p)], "seed": seed}
            for (_, r), p in zip(test.iterrows(), pred)]
    logger.info("fold %s seed %s: %d/%d correct", fold, seed, sum(r["label"] == r["pred"] for r in rows), len(rows))
    return rows


def _write_fold(rows: list[dict[str, Any]], checkpoint: dict[str, Any], out_predictions: str | Path, out_checkpoint: str | Path) -> pd.DataFrame:
    """The fold's predictions (CSV) and checkpoint, each written atomically."""
    preds = pd.DataFrame(rows, columns=["dataset", "subject", "sample", "label", "pred", "seed"])
    write_csv(preds, out_predictions)
    with atomic_path(out_checkpoint) as tmp:
        torch.save(checkpoint, tmp)
    return preds


def _svm_fold(train: pd.DataFrame, test: pd.DataFrame, x_tr: np.ndarray, x_te: np.ndarray, *, classes: list[str], cfg: dict[str, Any],
              test_subject: str, out_predictions: str | Path, out_checkpoint: str | Path) -> pd.DataFrame:
    """Linear SVM on descriptors (the LBP-TOP baseline): features standardised with training
    statistics, classes balanced, ``training.svm_c`` fixed in config; one fit per seed."""
    from sklearn.svm import LinearSVC

    mean, std = x_tr.mean(0), x_tr.std(0) + 1e-6
    cidx = {c: i for i, c in enumerate(classes)}
    y_tr = np.array([cidx[c] for c in train.label], np.int64)
    rows, states = [], {}
    for seed in cfg["seeds"]:
        svm = LinearSVC(C=float(cfg.get("svm_c", 0.01)), class_weight="balanced", random_state=int(seed), max_iter=20000)
        svm.fit((x_tr - mean) / std, y_tr)
        pred = svm.predict((x_te - mean) / std) if len(test) else np.zeros(0, int)
        rows += _prediction_rows(test, np.asarray(pred), classes, int(seed), test_subject)
        states[int(seed)] = {"coef": svm.coef_, "intercept": svm.intercept_, "classes": svm.classes_}
    return _write_fold(rows, {"config": cfg, "classes": classes, "mean": mean, "std": std, "test_subject": test_subject, "states": states},
                       out_predictions, out_checkpoint)


def svm_loso(samples: pd.DataFrame, features: dict[str, np.ndarray], *, classes: list[str], cfg: dict[str, Any], workdir: str | Path) -> pd.DataFrame:
    """Leave-one-subject-out linear SVM on given descriptors (``video -> vector``), e.g. published
    LBP-TOP features; each fold's outputs go to ``workdir/<subject>/``. Returns all predictions."""
    preds = []
    for subject in sorted(samples.subject.unique()):
        tr, te = samples[samples.subject != subject], samples[samples.subject == subject]
        out = Path(workdir) / str(subject)
        out.mkdir(parents=True, exist_ok=True)
        preds.append(_svm_fold(tr, te, np.stack([features[v] for v in tr.video]), np.stack([features[v] for v in te.video]), classes=classes,
                               cfg=cfg, test_subject=str(subject), out_predictions=out / "predictions.csv", out_checkpoint=out / "model.pt"))
    return pd.concat(preds, ignore_index=True)


def train_fold(samples: pd.DataFrame, pack: str | Path, *, test_subject: str, classes: list[str], cfg: dict[str, Any], out_predictions: str | Path,
               out_checkpoint: str | Path, fold_by: str = "subject") -> pd.DataFrame:
    """Train on every subject but ``test_subject``; predict ``test_subject``'s samples.

    ``samples``: the recognition samples with a ``label`` column; ``pack``: the store of their
    inputs (:func:`build_inputs`). Writes per-sample predictions (``dataset`` = the source
    database, ``subject, sample, label, pred, seed``) and a checkpoint holding each seed's
    weights, the config, the classes and the normalisation (from training subjects only).
    ``fold_by="source"`` makes it a holdout-database fold: ``test_subject`` names a source
    database, trained on all the others and tested on it. A fold whose test samples were all
    skipped by the face stage writes empty predictions.
    """
    torch.set_num_threads(int(cfg.get("threads", 1)))
    device = select_device(cfg.get("device", "auto"))
    inputs, centre = read_input_pack(pack, input_kind(cfg["model"]))
    usable = samples[samples["sample"].isin(inputs)]
    if len(usable) < len(samples):
        logger.warning("%d sample(s) skipped by the face stage are left out", len(samples) - len(usable))
    if fold_by not in ("subject", "source"):
        raise ValueError(f"fold_by must be 'subject' or 'source', not {fold_by!r}")
    train = usable[usable[fold_by] != test_subject]
    test = usable[usable[fold_by] == test_subject]
    if train.empty:
        raise DataError(f"fold {test_subject!r} ({fold_by}): no training samples")
    size = int(cfg["input_size"])
    x_tr = np.stack([inputs[v] for v in train["sample"]])  # float32, as packed
    x_te = np.stack([inputs[v] for v in test["sample"]]) if len(test) else np.zeros((0, *x_tr.shape[1:]), np.float32)
    if input_kind(cfg["model"]) == "lbptop":
        return _svm_fold(train, test, x_tr, x_te, classes=classes, cfg=cfg, test_subject=test_subject, out_predictions=out_predictions, out_checkpoint=out_checkpoint)
    if x_tr.shape[-1] != size:
        raise DataError(f"{pack}: inputs are {x_tr.shape[-1]} px, training.input_size is {size}")
    flat = np.moveaxis(x_tr, -3, 0).reshape(x_tr.shape[-3], -1)
    norm = (flat.mean(1), flat.std(1) + 1e-6, centre)  # per channel, training subjects only
    cidx = {c: i for i, c in enumerate(classes)}
    y_tr = np.array([cidx[c] for c in train.label], np.int64)
    aux = None
    if cfg["model"] == "aufusion":  # AU targets from the training samples' sheets (NaN rows: no AUs coded)
        aux = au_targets(train.aus.fillna("").astype(str), list(model_options(cfg).get("aus") or DEFAULT_AUS))
        logger.info("AU branch: %d of %d training samples have coded AUs", int((~np.isnan(aux[:, 0])).sum()), len(aux))
    logger.info("fold %s: %d training samples, %d test samples, device %s", test_subject, len(train), len(test), device)
    rows, states = [], {}
    x_te_n = torch.tensor(((x_te - norm[0][:, None, None]) / norm[1][:, None, None]).astype(np.float32), device=device)
    for seed in cfg["seeds"]:
        model = _train_one(x_tr, y_tr, len(classes), cfg, int(seed), device, norm, aux)
        with torch.no_grad():
            pred = predict_labels(model(x_te_n)).cpu().numpy() if len(test) else np.zeros(0, int)
        states[int(seed)] = {k: v.cpu() for k, v in model.state_dict().items()}
        rows += _prediction_rows(test, pred, classes, int(seed), test_subject)
    return _write_fold(rows, {"config": cfg, "classes": classes, "mean": norm[0].tolist(), "std": norm[1].tolist(), "test_subject": test_subject, "states": states},
                       out_predictions, out_checkpoint)
