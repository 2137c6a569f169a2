"""A learned spotter in the manner of SoftNet (Liong et al. 2021) and MEAN (Liong et al. 2023):
a small network regresses a per-frame score for each expression type, trained on soft
pseudo-labels, leave-one-subject-out.

Input per video: the per-cell motions of both scales (``cells_micro``, ``cells_macro``:
(T, grid^2) each, :func:`mexp_lib.spotting.spotting_features`), each cell divided by its median
over the video (motion relative to the subject's own resting level) and ``log1p``-compressed.
Network: a temporal CNN (three 1-D convolutions, the middle one dilated) over the sequence,
one sigmoid output per type. Soft pseudo-labels: for every annotated expression of a type, a
triangle peaking at 1 at its apex (or its centre when the apex is unknown) and falling to 0
half an interval length plus k frames away -- the score the spotter's peak-picking expects,
peaking at the apex. Loss: mean squared error (SoftNet's regression), frames inside expressions weighted by
1 + ``pos_weight`` x label (they are few). The schedule is fixed
(``learned.epochs``); the held-out subject is only predicted; its thresholds are then selected
on the training videos' predicted scores, like every other score.

Spot-then-recognise (MEAN): with ``classes`` the network has a second head on the same trunk,
per-frame emotion logits trained with cross-entropy on the frames inside annotated
expressions whose emotion is in the class set; a spotted interval's emotion is the argmax of
its frames' mean logits (:func:`interval_emotion`).

Two-stage spotting (TSMSNet-style, ``spotting.spotter: two_stage``): the same trunk also
regresses, for every frame inside an expression of each type, its distances to the onset and
to the offset (in units of that type's k, softplus outputs, L1 loss on the frames inside
annotated expressions only: :func:`boundary_targets`). Stage one spots apexes as peaks of the
score; stage two turns every apex into an interval proposal from the boundaries predicted
around it, and merges proposals that overlap (:func:`mexp_lib.spotting.propose_intervals`).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import torch
import torch.nn as nn

from mexp_lib.spotting.settings import TYPES, spotting_settings


def video_input(sc: dict[str, np.ndarray]) -> np.ndarray:
    """(2 * grid^2, T) float32 network input of one video's stored features."""
    parts = []
    for t in TYPES:
        c = sc[f"cells_{t}"].astype(np.float32)
        ref = np.median(c[c.sum(1) > 0], axis=0) if (c.sum(1) > 0).any() else np.ones(c.shape[1], np.float32)
        parts.append(np.log1p(c / (ref + 1e-3)))
    return np.concatenate(parts, axis=1).T.copy()


def soft_labels(n: int, numbers: np.ndarray, gt: pd.DataFrame, k: dict[str, int]) -> np.ndarray:
    """(2, T) targets (rows in :data:`TYPES` order) from ``gt`` rows ``onset, offset, type[, apex]``
    in frame numbers; ``numbers``: the video's frame numbers."""
    y = np.zeros((len(TYPES), n), np.float32)
    pos = np.arange(n)
    for r in gt.itertuples(index=False):
        row = TYPES.index(r.type)
        on, off = np.searchsorted(numbers, r.onset), np.searchsorted(numbers, r.offset)
        apex = getattr(r, "apex", -1)
        c = np.searchsorted(numbers, apex) if apex is not None and apex >= 0 and r.onset <= apex <= r.offset else (on + off) / 2
        half = (off - on) / 2 + k[r.type]
        y[row] = np.maximum(y[row], np.clip(1 - np.abs(pos - c) / max(half, 1), 0, 1))
    return y


def boundary_targets(n: int, numbers: np.ndarray, gt: pd.DataFrame, k: dict[str, int]) -> np.ndarray:
    """(2 * len(TYPES), T) targets of the boundary head: rows ``2 i`` and ``2 i + 1`` hold, for
    frames inside an annotated expression of type ``TYPES[i]``, the distance to its onset and to
    its offset in units of that type's k; -1 elsewhere (no loss)."""
    y = np.full((2 * len(TYPES), n), -1.0, np.float32)
    for r in gt.itertuples(index=False):
        i = TYPES.index(r.type)
        on, off = int(np.searchsorted(numbers, r.onset)), int(np.searchsorted(numbers, r.offset))
        pos = np.arange(on, min(off, n - 1) + 1)
        y[2 * i, pos] = (pos - on) / k[r.type]
        y[2 * i + 1, pos] = (off - pos) / k[r.type]
    return y


# The trunk's dilations (kernel 5) unless ``learned.dilations`` sets them: 13 frames of receptive field.
DILATIONS = (1, 2)


class Heads(NamedTuple):
    """The network's outputs from one trunk pass: scores (N, 2, T) in [0, 1]; emotion logits
    (N, classes, T) or None; boundary distances (N, 4, T) in units of k, or None."""

    score: torch.Tensor
    emotion: torch.Tensor | None
    bounds: torch.Tensor | None


class TemporalScoreNet(nn.Module):
    """(N, C, T) -> (N, 2, T) per-frame scores in [0, 1] (macro, micro); with ``n_classes`` a
    recognition head on the same trunk gives per-frame emotion logits, with ``boundaries`` a
    head gives per-frame onset/offset distances (:class:`Heads`, from :meth:`forward`)."""

    def __init__(self, in_channels: int, width: int = 32, dropout: float = 0.2, n_classes: int = 0, boundaries: bool = False,
                 dilations: tuple[int, ...] = DILATIONS) -> None:
        super().__init__()
        self.dilations = tuple(int(d) for d in dilations)
        layers: list[nn.Module] = []
        for i, d in enumerate(self.dilations):  # kernel 5: the receptive field is 1 + 4 * sum(dilations) frames
            layers += [nn.Conv1d(in_channels if i == 0 else width, width, 5, padding=2 * d, dilation=d), nn.ReLU(inplace=True), nn.Dropout(dropout)]
        self.trunk = nn.Sequential(*layers)
        self.score = nn.Conv1d(width, len(TYPES), 1)
        self.emotion = nn.Conv1d(width, n_classes, 1) if n_classes else None
        self.bounds = nn.Conv1d(width, 2 * len(TYPES), 1) if boundaries else None

    def forward(self, x: torch.Tensor) -> Heads:
        """Every head's output from one pass through the trunk."""
        h = self.trunk(x)
        return Heads(torch.sigmoid(self.score(h)), self.emotion(h) if self.emotion is not None else None,
                     nn.functional.softplus(self.bounds(h)) if self.bounds is not None else None)

    @classmethod
    def from_state(cls, state: dict[str, torch.Tensor], learned_cfg: dict[str, Any] | None = None) -> TemporalScoreNet:
        """The network a saved ``state_dict`` belongs to, with those weights, in eval mode; the
        trunk's dilations come from the ``learned`` settings it was trained with."""
        dilations = tuple((learned_cfg or {}).get("dilations", DILATIONS))
        w = state["trunk.0.weight"]
        emo = state.get("emotion.weight")
        net = cls(w.shape[1], width=w.shape[0], n_classes=0 if emo is None else emo.shape[0], boundaries="bounds.weight" in state, dilations=dilations)
        net.load_state_dict(state)
        return net.eval()


def emotion_targets(n: int, numbers: np.ndarray, gt: pd.DataFrame, classes: list[str], mapping: dict[str, str]) -> np.ndarray:
    """(T,) class index of the annotated expression covering each frame, -1 elsewhere (and for
    emotions outside the class set)."""
    y = np.full(n, -1, np.int64)
    for r in gt.itertuples(index=False):
        cls = mapping.get(str(getattr(r, "emotion", "")).lower())
        if cls in classes:
            y[np.searchsorted(numbers, r.onset): np.searchsorted(numbers, r.offset, side="right")] = classes.index(cls)
    return y


def interval_emotion(logits: np.ndarray, a: int, b: int, classes: list[str]) -> str:
    """The class of frames a..b (0-based, inclusive): argmax of their mean logits (C, T)."""
    return classes[int(logits[:, a: b + 1].mean(1).argmax())]


def train_spotter(inputs: list[np.ndarray], targets: list[np.ndarray], cfg: dict[str, Any], seed: int = 0,
                  emotions: list[np.ndarray] | None = None, n_classes: int = 0, bounds: list[np.ndarray] | None = None) -> TemporalScoreNet:
    """Fit the network on whole training videos (one video per step, a fixed number of epochs);
    with ``emotions`` (per-frame class targets, -1 = none) also the recognition head, with
    ``bounds`` (:func:`boundary_targets`) also the boundary head. ``cfg``: the resolved
    ``spotting.learned`` settings."""
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    net = TemporalScoreNet(inputs[0].shape[0], width=int(cfg["width"]), n_classes=n_classes if emotions is not None else 0,
                           boundaries=bounds is not None, dilations=tuple(cfg["dilations"]))
    opt = torch.optim.Adam(net.parameters(), lr=float(cfg["lr"]), weight_decay=float(cfg["weight_decay"]))
    pos_weight = float(cfg["pos_weight"])
    xs = [torch.tensor(x)[None] for x in inputs]
    ys = [torch.tensor(y)[None] for y in targets]
    es = [torch.tensor(e)[None] for e in emotions] if emotions is not None else None
    bs = [torch.tensor(b)[None] for b in bounds] if bounds is not None else None
    net.train()
    for _ in range(int(cfg["epochs"])):
        for j in torch.randperm(len(xs), generator=g).tolist():
            opt.zero_grad()
            # frames inside expressions are few: weight them up (SoftNet balances its samples)
            out = net(xs[j])
            loss = ((out.score - ys[j]) ** 2 * (1 + pos_weight * ys[j])).mean()
            if es is not None and bool((es[j] >= 0).any()):
                loss = loss + nn.functional.cross_entropy(out.emotion, es[j], ignore_index=-1)
            if bs is not None and bool((bs[j] >= 0).any()):
                inside = bs[j] >= 0
                loss = loss + nn.functional.l1_loss(out.bounds[inside], bs[j][inside])
            loss.backward()
            opt.step()
    net.eval()
    return net


def learned_types(cfg: dict[str, Any]) -> tuple[str, ...]:
    """The types whose score the network replaces (``spotting.learned.types``; a resolved
    section holds the schema's default ``[micro]``, a section without ``learned.types`` means
    all): the others keep the classical score."""
    types = tuple((cfg.get("learned") or {}).get("types", TYPES))
    bad = [t for t in types if t not in TYPES]
    if bad or not types:
        from mexp_lib.errors import ConfigError

        raise ConfigError(f"spotting.learned.types must be a non-empty subset of {list(TYPES)}, not {list(types)}")
    return types


def learned_gate(cfg: dict[str, Any]) -> float:
    """``spotting.learned.gate`` (0, no gate, for settings written before it existed)."""
    return float((cfg.get("learned") or {}).get("gate", 0.0))


def predict_scores(net: TemporalScoreNet, sc: dict[str, np.ndarray], types: tuple[str, ...] = TYPES, gate: float = 0.0) -> dict[str, np.ndarray]:
    """The video's features with the scores of ``types`` replaced by the network's scores
    (zero where the stored score is zero: ends of the video, faceless stretches); with those
    heads, ``emotion_logits`` (C, T) and ``bounds`` (4, T: onset and offset distance of each type
    in :data:`TYPES` order, in frames)."""
    with torch.no_grad():
        heads = net(torch.tensor(video_input(sc))[None])
    out = heads.score[0].numpy()
    new = dict(sc)
    if heads.emotion is not None:
        new["emotion_logits"] = heads.emotion[0].numpy()
    if heads.bounds is not None:  # the learned types' rows; the others keep their measured boundaries
        k = np.repeat([float(sc[f"k_{t}"]) for t in TYPES], 2)[:, None]
        learned = (heads.bounds[0].numpy() * k).astype(np.float32)
        rows = np.repeat([t in types for t in TYPES], 2)
        new["bounds"] = np.where(rows[:, None], learned, sc["bounds"]) if "bounds" in sc else learned
    for i, t in enumerate(TYPES):
        if t in types:
            new[t] = np.where(sc[t] > motion_gate(sc[t], gate), out[i], 0.0).astype(np.float32)
    return new


def motion_gate(score: np.ndarray, gate: float) -> float:
    """The level the measured (classical) score must exceed for the network's score to count:
    ``median + gate x 1.4826 MAD`` of the video's positive scores (0 with ``gate`` 0: only the
    ends of the video and faceless stretches, where the score is 0, are cut). The network sees
    patterns, the measured score sees motion: a network trained on few subjects can respond to
    a new face's blink or texture where nothing moves."""
    valid = score[score > 0]
    if gate <= 0 or valid.size == 0:
        return 0.0
    med = float(np.median(valid))
    return med + gate * 1.4826 * float(np.median(np.abs(valid - med)))


def learned_fold(train: dict[str, dict[str, np.ndarray]], test: dict[str, dict[str, np.ndarray]], gt: pd.DataFrame,
                 cfg: dict[str, Any]) -> tuple[dict[str, dict[str, np.ndarray]], dict[str, dict[str, np.ndarray]], TemporalScoreNet]:
    """Train on ``train`` videos (their ground truth only), score both sets."""
    cfg = spotting_settings(cfg)
    lcfg = dict(cfg["learned"])
    names = list(train)
    missing = [v for v in names if "cells_micro" not in train[v]]
    if missing:
        from mexp_lib.errors import DataError

        raise DataError(f"spotting features of {missing[0]} hold no per-cell motions; rerun compute_spotting_features")
    xs = [video_input(train[v]) for v in names]
    # per video: (frame count, frame numbers, its ground truth), and k per type
    frames_gt = {v: (len(train[v]["micro"]), train[v]["numbers"], gt[gt.video == v]) for v in names}
    ks = {v: {t: int(train[v][f"k_{t}"]) for t in TYPES} for v in names}
    ys = [soft_labels(*frames_gt[v], ks[v]) for v in names]
    classes = list(cfg.get("classes") or [])
    es = None
    if classes:
        mapping = dict(cfg.get("class_mapping") or {c: c for c in classes})
        es = [emotion_targets(*frames_gt[v], classes, mapping) for v in names]
    bs = [boundary_targets(*frames_gt[v], ks[v]) for v in names] if cfg["spotter"] == "two_stage" else None
    net = train_spotter(xs, ys, lcfg, seed=int(lcfg["seed"]), emotions=es, n_classes=len(classes), bounds=bs)
    types, gate = learned_types(cfg), learned_gate(cfg)
    return ({v: predict_scores(net, sc, types, gate) for v, sc in train.items()}, {v: predict_scores(net, sc, types, gate) for v, sc in test.items()},
            net)
