"""Training one leave-one-subject-out fold, leak-free.

The test subject is only predicted: normalisation statistics, class weights and the schedule
come from the training subjects and the config alone (a fixed number of epochs, no early
stopping on the test fold). Several seeds are trained; each one's predictions are kept.
"""

from __future__ import annotations

import logging
import random
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pandas as pd
import torch
import torch.nn as nn

from mexp_lib.io.atomic import atomic_path, write_csv
from mexp_lib.io.h5store import open_store
from mexp_lib.io.skip import skip_reason
from mexp_lib.models import build_model

logger = logging.getLogger(__name__)


def select_device(preference: str = "auto") -> torch.device:
    """``auto``: CUDA when available, else CPU."""
    if preference == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(preference)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)


def apex_flow_input(flow_h5: str | Path, size: int) -> np.ndarray:
    """(3, size, size) float32: u, v, strain at the apex frame of a flow store.

    The apex is the stored ``apex_index``; when the sheet gave none (-1), the frame with the
    largest mean flow magnitude (computed from the sample's own motion, no label involved).
    """
    with open_store(flow_h5) as h:
        idx = int(h.attrs.get("apex_index", -1))
        if idx < 0:
            mags = [float(np.linalg.norm(h["flow"][i].astype(np.float32), axis=-1).mean()) for i in range(h["flow"].shape[0])]
            idx = int(np.argmax(mags))
        flow = h["flow"][idx].astype(np.float32)
        strain = h["strain"][idx].astype(np.float32)
    x = np.dstack([flow, strain[..., None]])
    x = cv2.resize(x, (size, size), interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(x.transpose(2, 0, 1))


def _train_one(x: np.ndarray, y: np.ndarray, n_classes: int, cfg: dict[str, Any], seed: int, device: torch.device) -> nn.Module:
    seed_everything(seed)
    model = build_model(cfg["model"], num_classes=n_classes).to(device)
    counts = np.bincount(y, minlength=n_classes).astype(np.float32)
    weights = torch.tensor(counts.sum() / np.maximum(counts, 1) / n_classes, device=device)
    loss_fn = nn.CrossEntropyLoss(weight=weights)
    opt = torch.optim.Adam(model.parameters(), lr=float(cfg["lr"]), weight_decay=float(cfg["weight_decay"]))
    xt, yt = torch.tensor(x, device=device), torch.tensor(y, device=device)
    gen = torch.Generator().manual_seed(seed)
    bs = int(cfg["batch_size"])
    model.train()
    for _ in range(int(cfg["epochs"])):
        perm = torch.randperm(len(xt), generator=gen).to(device)
        for i in range(0, len(xt), bs):
            b = perm[i: i + bs]
            xb = xt[b]
            if cfg.get("flip", True):  # mirror the face: flip columns and negate u
                flip = torch.rand(len(b), generator=gen).to(device) < 0.5
                xf = torch.flip(xb, dims=[3])
                xf[:, 0] = -xf[:, 0]
                xb = torch.where(flip[:, None, None, None], xf, xb)
            opt.zero_grad()
            loss = loss_fn(model(xb), yt[b])
            loss.backward()
            opt.step()
    model.eval()
    return model


def train_fold(samples: pd.DataFrame, flows: dict[str, str], *, test_subject: str, classes: list[str], cfg: dict[str, Any], out_predictions: str | Path, out_checkpoint: str | Path) -> pd.DataFrame:
    """Train on every subject but ``test_subject``; predict ``test_subject``'s samples.

    ``samples``: the recognition samples with a ``label`` column; ``flows``: video -> flow store.
    Writes per-sample predictions (``dataset`` = the source database, ``subject, sample, label,
    pred, seed``) and a
    checkpoint holding each seed's weights, the config, the classes and the normalisation.
    """
    torch.set_num_threads(int(cfg.get("threads", 1)))
    device = select_device(cfg.get("device", "auto"))
    usable = samples[[skip_reason(flows[v]) is None for v in samples.video]]
    if len(usable) < len(samples):
        logger.warning("%d sample(s) skipped by the face stage are left out", len(samples) - len(usable))
    train = usable[usable.subject != test_subject]
    test = usable[usable.subject == test_subject]
    size = int(cfg["input_size"])
    x_tr = np.stack([apex_flow_input(flows[v], size) for v in train.video])
    x_te = np.stack([apex_flow_input(flows[v], size) for v in test.video]) if len(test) else np.zeros((0, 3, size, size), np.float32)
    scale = x_tr.reshape(len(x_tr), 3, -1).transpose(1, 0, 2).reshape(3, -1).std(1) + 1e-6  # training subjects only
    x_tr, x_te = x_tr / scale[None, :, None, None], x_te / scale[None, :, None, None]
    cidx = {c: i for i, c in enumerate(classes)}
    y_tr = np.array([cidx[c] for c in train.label], np.int64)
    logger.info("fold %s: %d training samples, %d test samples, device %s", test_subject, len(train), len(test), device)
    rows, states = [], {}
    for seed in cfg["seeds"]:
        model = _train_one(x_tr.astype(np.float32), y_tr, len(classes), cfg, int(seed), device)
        with torch.no_grad():
            pred = model(torch.tensor(x_te.astype(np.float32), device=device)).argmax(1).cpu().numpy() if len(test) else np.zeros(0, int)
        states[int(seed)] = {k: v.cpu() for k, v in model.state_dict().items()}
        for (_, r), p in zip(test.iterrows(), pred):
            rows.append({"dataset": r.source, "subject": r.subject, "sample": r["sample"], "label": r.label, "pred": classes[int(p)], "seed": int(seed)})
        logger.info("fold %s seed %s: %d/%d correct", test_subject, seed, sum(r["label"] == r["pred"] for r in rows if r["seed"] == seed), len(test))
    preds = pd.DataFrame(rows, columns=["dataset", "subject", "sample", "label", "pred", "seed"])
    write_csv(preds, out_predictions)
    with atomic_path(out_checkpoint) as tmp:
        torch.save({"config": cfg, "classes": classes, "scale": scale.tolist(), "test_subject": test_subject, "states": states}, tmp)
    return preds
