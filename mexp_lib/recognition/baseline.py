"""The flow + linear SVM floor of recognition: what any pipeline must beat.

No temporal normalisation, no magnification, no network: the DIS optical flow from the onset
frame to the apex frame of the aligned face (the face stage's crop), inside the face (the hull
of its 68 landmarks; the background and the crop's border carry no expression), averaged over a
``grid`` x ``grid`` raster of cells, and a linear SVM on those vectors (features standardised
with the training subjects' statistics, classes balanced, C fixed), leave-one-subject-out.
The same chain as the ``flow_svm`` model with ``training.flow_svm: {source: faces, blur: 0,
remove_median: false}`` (one SVM code path: :mod:`mexp_lib.recognition.svm`).
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from mexp_lib.errors import DataError
from mexp_lib.io.h5store import open_store
from mexp_lib.motion.flow import FlowParams, make_flow
from mexp_lib.recognition.svm import flow_features, svm_loso

DEFAULT_GRID = 16
DEFAULT_C = 0.01


def face_mask(landmarks: np.ndarray, size: int) -> np.ndarray:
    """(size, size) bool: the convex hull of 68 landmarks (x, y in pixels) of a ``size`` crop."""
    hull = cv2.convexHull(np.round(landmarks).astype(np.int32))
    mask = np.zeros((size, size), np.uint8)
    cv2.fillConvexPoly(mask, hull, 1)
    return mask.astype(bool)


def onset_apex_field(onset: np.ndarray, apex: np.ndarray, *, mask: np.ndarray | None = None) -> np.ndarray:
    """DIS flow (OpenCV's ``medium`` preset) from ``onset`` to ``apex`` (two (H, W) uint8 grey
    frames), zeroed outside ``mask`` (H, W bool) when given: (2, H, W) float32, u then v, px."""
    if onset.shape != apex.shape or onset.ndim != 2:
        raise ValueError(f"onset and apex must be two grey frames of one shape, not {onset.shape} and {apex.shape}")
    flow = make_flow(FlowParams("dis", {"preset": "medium"}))(np.ascontiguousarray(onset, np.uint8), np.ascontiguousarray(apex, np.uint8))
    if mask is not None:
        flow = flow * mask[..., None]
    return np.ascontiguousarray(flow.transpose(2, 0, 1), np.float32)


def apex_flow_features(onset: np.ndarray, apex: np.ndarray, *, mask: np.ndarray | None = None, grid: int = DEFAULT_GRID) -> np.ndarray:
    """The baseline's descriptor of one expression: :func:`onset_apex_field`, each of u and v
    averaged over ``grid`` x ``grid`` cells (:func:`mexp_lib.recognition.svm.flow_features`
    without blur or global-motion removal).

    Returns (2 * grid * grid,) float32: u cells then v cells, in pixels."""
    return flow_features(onset_apex_field(onset, apex, mask=mask)[None], grid=grid, blur=0, remove_median=False)[0]


def faces_field(faces_h5: str, *, onset: int, apex: int) -> np.ndarray:
    """:func:`onset_apex_field` of one expression of a faces store (the face stage's ``frames``,
    ``numbers`` and ``landmarks``): frames numbered ``onset`` and ``apex`` (as the sheet numbers
    them; ``apex`` -1 = unknown: the frame up to the last whose field has the largest mean
    magnitude), masked by the hull of the onset frame's aligned landmarks. (2, H, W) float32."""
    with open_store(faces_h5) as h:
        numbers = h["numbers"][()]
        idx = {int(n): i for i, n in enumerate(numbers)}
        if onset not in idx or (apex >= 0 and apex not in idx):
            raise DataError(f"{faces_h5}: no frame {onset if onset not in idx else apex} (holds {numbers.min()}..{numbers.max()})")
        a = h["frames"][idx[onset]]
        lm = h["landmarks"][idx[onset]]
        if a.ndim != 2:
            raise DataError(f"{faces_h5}: the flow + SVM features need grey faces (face.grey: true)")
        mask = face_mask(lm, a.shape[0])
        if apex >= 0:
            return onset_apex_field(a, h["frames"][idx[apex]], mask=mask)
        fields = [onset_apex_field(a, h["frames"][i], mask=mask) for i in range(idx[onset] + 1, len(numbers))]
    if not fields:
        raise DataError(f"{faces_h5}: no frame after the onset {onset} to take as the apex")
    return fields[int(np.argmax([float(np.linalg.norm(f, axis=0).mean()) for f in fields]))]


def store_features(faces_h5: str, *, onset: int, apex: int, grid: int = DEFAULT_GRID) -> np.ndarray:
    """:func:`apex_flow_features` of one expression of a faces store (:func:`faces_field`)."""
    return flow_features(faces_field(faces_h5, onset=onset, apex=apex)[None], grid=grid, blur=0, remove_median=False)[0]


def flow_svm_loso(x: np.ndarray, labels: Sequence[str], subjects: Sequence[str], *, c: float = DEFAULT_C) -> np.ndarray:
    """Leave-one-subject-out linear SVM (:func:`mexp_lib.recognition.svm.svm_loso`, the one SVM
    code path): features standardised with the training subjects' statistics, classes
    balanced, ``C = c``. x: (N, D); labels, subjects: N each. Returns the N predicted labels."""
    return svm_loso(x, labels, subjects, c=c)
