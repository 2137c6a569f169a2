"""The linear SVMs of recognition, one code path: the ``flow_svm`` model's features (an
onset -> apex flow field, optionally blurred, its global motion removed, pooled into cells), a
linear SVM on standardised features with balanced classes (``flow_svm`` and ``lbptop_svm`` in
:func:`mexp_lib.recognition.fit.fit_predict_model`, and :mod:`mexp_lib.recognition.baseline`'s
leave-one-subject-out floor).

Nothing here sees a test sample while fitting: standardisation statistics and the SVM come from
the training rows alone; the features of one sample depend on that sample only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from mexp_lib.errors import ConfigError

# The flow_svm settings a nested selection grid may vary (training.flow_svm; ``source`` and
# ``size`` decide what build_inputs packs, so they are not selectable).
FLOW_SVM_SELECTABLE = ("grid", "c", "blur", "remove_median")


def flow_features(fields: np.ndarray, *, grid: int = 16, blur: float = 1.0, remove_median: bool = True) -> np.ndarray:
    """The ``flow_svm`` descriptor of onset -> apex flow fields.

    fields: (N, 2, H, W) float (u, v in pixels). Each field is blurred by a Gaussian of ``blur``
    px (0 = none), its
    global motion (the median u and v over the field: head motion, alignment drift) subtracted
    when ``remove_median``, then each of u and v averaged over ``grid`` x ``grid`` cells.
    Returns (N, 2 * grid * grid) float32: u cells then v cells."""
    if fields.ndim != 4 or fields.shape[1] != 2:
        raise ValueError(f"flow fields must be (N, 2, H, W), not {fields.shape}")
    if grid < 1 or blur < 0:
        raise ConfigError(f"training.flow_svm: grid {grid} (>= 1) and blur {blur} (>= 0)")
    out = np.empty((len(fields), 2 * grid * grid), np.float32)
    for i, f in enumerate(fields):
        hw: np.ndarray = np.ascontiguousarray(f.transpose(1, 2, 0), np.float32)  # (H, W, 2)
        if blur > 0:
            hw = cv2.GaussianBlur(hw, (0, 0), float(blur))
        if remove_median:
            hw = hw - np.median(hw.reshape(-1, 2), axis=0)
        cells = cv2.resize(hw, (grid, grid), interpolation=cv2.INTER_AREA)
        out[i] = cells.transpose(2, 0, 1).reshape(-1)
    return out


def flow_svm_settings(cfg: dict[str, Any]) -> dict[str, Any]:
    """``training.flow_svm`` with its defaults filled (the schema's, for a config not resolved
    by :func:`mexp_lib.config.resolve_config`, e.g. in tests)."""
    return {"source": "flow", "size": 0, "grid": 16, "c": 0.01, "blur": 1.0, "remove_median": True} | dict(cfg.get("flow_svm") or {})


@dataclass
class LinearSVM:
    """A fitted linear SVM on standardised features: ``mean``, ``std`` (D,) from the training
    rows, ``coef`` (K, D) and ``intercept`` (K,) (K = 1 for two classes), ``classes`` (the
    label indices it was trained on)."""

    mean: np.ndarray
    std: np.ndarray
    coef: np.ndarray
    intercept: np.ndarray
    classes: np.ndarray

    def scores(self, x: np.ndarray) -> np.ndarray:
        """(N, len(classes)) decision scores of raw features ``x`` (N, D); with two classes
        (-d, d), so the argmax is the SVM's label either way."""
        d = ((np.asarray(x, np.float64) - self.mean) / self.std) @ self.coef.T + self.intercept
        return np.hstack([-d, d]) if d.shape[1] == 1 else d

    def proba(self, x: np.ndarray, n_classes: int) -> np.ndarray:
        """(N, n_classes) softmax of the decision scores over every class (0 for a class absent
        from the training rows): scores, not calibrated probabilities, but their argmax is the
        SVM's label, and they let SVM folds join a seed ensemble."""
        s = self.scores(x)
        full = np.full((len(s), n_classes), -np.inf)
        full[:, self.classes] = s
        e = np.exp(full - full.max(1, keepdims=True))
        return e / e.sum(1, keepdims=True)

    def predict(self, x: np.ndarray) -> np.ndarray:
        """(N,) label indices of raw features ``x``."""
        return np.asarray(self.classes[self.scores(x).argmax(1)])

    def state(self) -> dict[str, np.ndarray]:
        return {"mean": self.mean, "std": self.std, "coef": self.coef, "intercept": self.intercept, "classes": self.classes}


def fit_svm(x: np.ndarray, y: np.ndarray, *, c: float, seed: int = 0) -> LinearSVM:
    """A linear SVM (``LinearSVC``, ``C = c``, classes balanced) on ``x`` (N, D) standardised
    with its own mean and standard deviation; ``y`` (N,) label indices, at least two classes."""
    from sklearn.svm import LinearSVC

    x = np.asarray(x, np.float64)
    y = np.asarray(y)
    if len(np.unique(y)) < 2:
        raise ValueError("the training rows hold fewer than two classes")
    mean, std = x.mean(0), x.std(0) + 1e-6
    svm = LinearSVC(C=float(c), class_weight="balanced", random_state=int(seed), max_iter=20000)
    svm.fit((x - mean) / std, y)
    return LinearSVM(mean, std, svm.coef_.astype(np.float64), svm.intercept_.astype(np.float64), np.asarray(svm.classes_))


def svm_loso(x: np.ndarray, labels: Sequence[str], subjects: Sequence[str], *, c: float) -> np.ndarray:
    """Leave-one-subject-out linear SVM: every subject's rows predicted by :func:`fit_svm` on
    the other subjects' rows. x: (N, D) features; labels, subjects: N each. Returns the N
    predicted labels."""
    x = np.asarray(x, np.float64)
    labels_a, subjects_a = np.asarray(labels).astype(str), np.asarray(subjects).astype(str)
    if not (len(x) == len(labels_a) == len(subjects_a)):
        raise ValueError(f"{len(x)} feature rows, {len(labels_a)} labels and {len(subjects_a)} subjects")
    names, y = np.unique(labels_a, return_inverse=True)
    pred = np.empty(len(x), dtype=object)
    for s in sorted(set(subjects_a)):
        test = subjects_a == s
        try:
            svm = fit_svm(x[~test], y[~test], c=c)
        except ValueError as e:
            raise ValueError(f"fold {s}: {e}") from None
        pred[test] = names[svm.predict(x[test])]
    return pred.astype(str)
