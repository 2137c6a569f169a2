"""The flow + linear SVM floor of recognition: what any pipeline must beat.

No temporal normalisation, no magnification, no network: the DIS optical flow from the onset
frame to the apex frame of the aligned face (the face stage's crop), inside the face (the hull
of its 68 landmarks; the background and the crop's border carry no expression), averaged over a
``grid`` x ``grid`` raster of cells, and a linear SVM on those vectors (features standardised
with the training subjects' statistics, classes balanced, C fixed), leave-one-subject-out.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from mexp_lib.errors import DataError
from mexp_lib.io.h5store import open_store
from mexp_lib.motion.flow import FlowParams, make_flow

DEFAULT_GRID = 16
DEFAULT_C = 0.01


def face_mask(landmarks: np.ndarray, size: int) -> np.ndarray:
    """(size, size) bool: the convex hull of 68 landmarks (x, y in pixels) of a ``size`` crop."""
    hull = cv2.convexHull(np.round(landmarks).astype(np.int32))
    mask = np.zeros((size, size), np.uint8)
    cv2.fillConvexPoly(mask, hull, 1)
    return mask.astype(bool)


def apex_flow_features(onset: np.ndarray, apex: np.ndarray, *, mask: np.ndarray | None = None, grid: int = DEFAULT_GRID) -> np.ndarray:
    """The baseline's descriptor of one expression: DIS flow (OpenCV's ``medium`` preset) from
    ``onset`` to ``apex`` (two (H, W) uint8 grey frames), zeroed outside ``mask`` (H, W bool)
    when given, each of u and v averaged over ``grid`` x ``grid`` cells (area interpolation).

    Returns (2 * grid * grid,) float32: u cells then v cells, in pixels."""
    if onset.shape != apex.shape or onset.ndim != 2:
        raise ValueError(f"onset and apex must be two grey frames of one shape, not {onset.shape} and {apex.shape}")
    flow = make_flow(FlowParams("dis", {"preset": "medium"}))(np.ascontiguousarray(onset, np.uint8), np.ascontiguousarray(apex, np.uint8))
    if mask is not None:
        flow = flow * mask[..., None]
    cells = cv2.resize(flow, (grid, grid), interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(cells.transpose(2, 0, 1)).reshape(-1).astype(np.float32)


def store_features(faces_h5: str, *, onset: int, apex: int, grid: int = DEFAULT_GRID) -> np.ndarray:
    """:func:`apex_flow_features` of one expression of a faces store (the face stage's
    ``frames``, ``numbers`` and ``landmarks``): frames numbered ``onset`` and ``apex`` (as the
    sheet numbers them), masked by the hull of the onset frame's aligned landmarks."""
    with open_store(faces_h5) as h:
        numbers = h["numbers"][()]
        idx = {int(n): i for i, n in enumerate(numbers)}
        if onset not in idx or apex not in idx:
            raise DataError(f"{faces_h5}: no frame {onset if onset not in idx else apex} (holds {numbers.min()}..{numbers.max()})")
        a, b = h["frames"][idx[onset]], h["frames"][idx[apex]]
        lm = h["landmarks"][idx[onset]]
    if a.ndim != 2:
        raise DataError(f"{faces_h5}: the baseline needs grey faces (face.grey: true)")
    return apex_flow_features(a, b, mask=face_mask(lm, a.shape[0]), grid=grid)


def flow_svm_loso(x: np.ndarray, labels: Sequence[str], subjects: Sequence[str], *, c: float = DEFAULT_C) -> np.ndarray:
    """Leave-one-subject-out linear SVM: every subject's samples predicted by a linear SVM
    (``C = c``, classes balanced) trained on the other subjects' samples, features standardised
    with the training samples' mean and standard deviation.

    x: (N, D) features; labels, subjects: N each. Returns the N predicted labels."""
    from sklearn.svm import LinearSVC

    x = np.asarray(x, np.float64)
    labels_a, subjects_a = np.asarray(labels).astype(str), np.asarray(subjects).astype(str)
    if not (len(x) == len(labels_a) == len(subjects_a)):
        raise ValueError(f"{len(x)} feature rows, {len(labels_a)} labels and {len(subjects_a)} subjects")
    pred = np.empty(len(x), dtype=object)
    for s in sorted(set(subjects_a)):
        test = subjects_a == s
        if len(set(labels_a[~test])) < 2:
            raise ValueError(f"fold {s}: the training subjects hold fewer than two classes")
        mean, std = x[~test].mean(0), x[~test].std(0) + 1e-6
        svm = LinearSVC(C=c, class_weight="balanced", max_iter=20000, random_state=0)
        svm.fit((x[~test] - mean) / std, labels_a[~test])
        pred[test] = svm.predict((x[test] - mean) / std)
    return pred.astype(str)
