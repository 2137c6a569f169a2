"""Face regions for the flow: eye masks, a nose box, ROI boxes, and head-motion removal.

All work on an aligned face (square, ``size`` px) and its 68 landmarks (iBUG order) in the
crop's coordinates:

* eye mask: the convex hull of each eye's six points, dilated by ``eye_dilate`` x the
  inter-ocular distance (blinks are the commonest false positive of spotting);
* nose box: the nose ridge's bounding box (points 27-30), widened by 0.1 inter-ocular distance --
  rigid, so its mean flow is head motion;
* ROI boxes (:data:`ROIS`): the bounding box of a region's points with a margin of
  ``margin`` x the inter-ocular distance, clipped to the crop;
* head-motion removal (:class:`HeadMotion`): ``nose`` subtracts the nose box's mean flow,
  ``affine`` subtracts a robust affine fit of the flow over the unmasked face (also removes
  alignment jitter), ``none`` leaves the flow.
"""

from __future__ import annotations

import cv2
import numpy as np

from mexp_lib.errors import ConfigError

# landmark indices of the ROI crops
ROIS: dict[str, list[int]] = {
    "eyebrows": list(range(17, 27)),
    "left_eyebrow": list(range(22, 27)),
    "right_eyebrow": list(range(17, 22)),
    "eyes": list(range(36, 48)),
    "nose": list(range(27, 36)),
    "mouth": list(range(48, 68)),
}


def roi_box(landmarks: np.ndarray, size: int, roi: str, *, margin: float = 0.15) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) of a named ROI (:data:`ROIS`), exclusive upper ends, clipped to the crop."""
    if roi not in ROIS:
        raise ConfigError(f"unknown ROI {roi!r}; known: {sorted(ROIS)}")
    iod = float(np.linalg.norm(landmarks[45] - landmarks[36]))
    pts = landmarks[ROIS[roi]]
    m = margin * iod
    x0, y0 = np.floor(pts.min(0) - m).astype(int)
    x1, y1 = np.ceil(pts.max(0) + m).astype(int) + 1
    return max(int(x0), 0), max(int(y0), 0), min(int(x1), size), min(int(y1), size)


def face_masks(landmarks: np.ndarray, size: int, *, eye_dilate: float = 0.25) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """(eye mask (H, W) bool, nose box x0, y0, x1, y1) from one frame's aligned landmarks."""
    iod = float(np.linalg.norm(landmarks[45] - landmarks[36]))
    mask: np.ndarray = np.zeros((size, size), np.uint8)
    for idx in (range(36, 42), range(42, 48)):
        hull = cv2.convexHull(landmarks[list(idx)].astype(np.float32)).astype(np.int32)
        cv2.fillConvexPoly(mask, hull, 1)
    r = max(1, int(round(eye_dilate * iod)))
    mask = cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1)))
    nose = landmarks[27:31]
    x0, x1 = int(nose[:, 0].min() - 0.1 * iod), int(nose[:, 0].max() + 0.1 * iod)
    y0, y1 = int(nose[:, 1].min()), int(nose[:, 1].max())
    return mask.astype(bool), (max(x0, 0), max(y0, 0), min(x1, size), min(y1, size))


class AffineMotion:
    """Robust affine fit of a flow field on the unmasked pixels (sampled every 4th pixel)."""

    def __init__(self, mask: np.ndarray, step: int = 4) -> None:
        size = mask.shape[0]
        yy, xx = np.mgrid[0:size:step, 0:size:step]
        self.step = step
        self.sel = ~mask[::step, ::step]
        self.design = np.stack([np.ones(self.sel.sum()), xx[self.sel], yy[self.sel]], 1)
        gy, gx = np.mgrid[0:size, 0:size]
        self.grid = np.stack([np.ones_like(gx), gx, gy], -1).astype(np.float32)

    def __call__(self, flow: np.ndarray) -> np.ndarray:
        """The affine motion field (H, W, 2) that best explains ``flow``."""
        f = flow[:: self.step, :: self.step][self.sel].astype(np.float64)
        keep = np.ones(len(f), bool)
        for _ in range(3):
            coef, *_ = np.linalg.lstsq(self.design[keep], f[keep], rcond=None)
            r = np.linalg.norm(f - self.design @ coef, axis=1)
            keep = r <= np.percentile(r, 80)
        return self.grid @ coef.astype(np.float32)


class HeadMotion:
    """Removes head motion from a flow field: ``affine`` (robust affine fit on the unmasked face,
    which also removes alignment jitter), ``nose`` (the mean flow of a nose box) or ``none``."""

    def __init__(self, mode: str, mask: np.ndarray, nose: tuple[int, int, int, int]) -> None:
        if mode not in ("affine", "nose", "none"):
            raise ConfigError(f"head_motion must be affine, nose or none, not {mode!r}")
        self.mode, self.nose = mode, nose
        self.affine = AffineMotion(mask) if mode == "affine" else None

    def __call__(self, f: np.ndarray) -> np.ndarray:
        if self.affine is not None:
            return f - self.affine(f)
        if self.mode == "nose":
            x0, y0, x1, y1 = self.nose
            return f - f[y0:y1, x0:x1].reshape(-1, 2).mean(0)
        return f




def outside_face(landmarks: np.ndarray, size: int, *, forehead: float = 0.5) -> np.ndarray:
    """(H, W) bool: the pixels outside the face -- the convex hull of the jaw line and the
    eyebrows (points 0-26), raised by ``forehead`` x the inter-ocular distance above the brows
    (brow raisers move the forehead). Background, hair and the crop's replicated border carry
    no facial motion, and optical flow in their flat areas is mostly error."""
    iod = float(np.linalg.norm(landmarks[45] - landmarks[36]))
    pts = landmarks[:27].astype(np.float32).copy()
    up = np.array([0.0, -forehead * iod], np.float32)
    hull = cv2.convexHull(np.concatenate([pts, pts[17:27] + up])).astype(np.int32)
    inside = np.zeros((size, size), np.uint8)
    cv2.fillConvexPoly(inside, hull, 1)
    return ~inside.astype(bool)
