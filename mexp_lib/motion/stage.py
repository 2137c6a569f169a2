"""The motion stage as the workflow runs it, one function per rule and one store per sample:
``normalise_clip`` (the sample's clip cut from its video's faces, TIM) -> ``magnify_motion`` ->
``compute_flow``. Each store carries its sample's id and annotated interval (:func:`clip_interval`)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from mexp_lib.config import settings
from mexp_lib.errors import ConfigError, DataError
from mexp_lib.io.h5store import open_store, read_arrays, read_attrs, write_store
from mexp_lib.io.skip import skip_reason, write_skip
from mexp_lib.motion.flow import FlowParams, optical_flow, optical_strain
from mexp_lib.motion.interpolate import interpolate_clip, target_times
from mexp_lib.motion.magnify import magnify_clip
from mexp_lib.motion.regions import HeadMotion, face_masks, roi_box

logger = logging.getLogger(__name__)

# The settings each stage reads (dotted config paths; mexp_lib.stages collects them): the
# workflow passes exactly these, so a change reruns exactly the stages reading it.
NORMALISE_CLIP_READS = ("interpolation", "recognition.context")
MAGNIFY_MOTION_READS = ("magnification",)
COMPUTE_FLOW_READS = ("flow",)


def _propagate_skip(src: str | Path, out: str | Path) -> bool:
    reason = skip_reason(src)
    if reason is not None:
        write_skip(out, Path(src).stem, reason)
        return True
    return False


def normalise_clip(faces_h5: str, *, onset: int, apex: int, offset: int, fps: float, cfg: dict[str, Any], out: str | Path,
                   context: int = 0, sample: str = "") -> None:
    """Cut one sample's clip from its video's aligned faces and resample it to
    ``cfg['n_frames']`` frames (TIM).

    The clip is the sample's own frames ``onset..offset`` (as the sheet numbers them), widened by
    ``context`` frames on each side where the video has them -- so every expression of a long
    video gets its own clip from the one faces store of that video. Only the clip's frames are
    read. Stores ``frames`` (N, H, W) float32, ``times`` (frame numbers of the output frames),
    ``landmarks`` (68, 2: the clip's median aligned landmarks, for the flow stage's regions) and
    the attributes ``sample``, ``onset`` and ``offset`` (the sample's interval), ``first`` and
    ``last`` (the frames cut, context included), ``apex_index`` (output frame nearest the apex,
    -1 if unknown) and ``fps`` (the effective frame rate after resampling).
    """
    cfg = settings("interpolation", cfg)
    if _propagate_skip(faces_h5, out):
        return
    if context < 0:
        raise ConfigError(f"recognition.context must be >= 0 frames, not {context}")
    with open_store(faces_h5) as h:
        if "numbers" not in h or "frames" not in h or "landmarks" not in h:
            raise DataError(f"{faces_h5}: not a faces store (needs frames, numbers, landmarks)")
        numbers = h["numbers"][()]
        sel = np.flatnonzero((numbers >= onset - context) & (numbers <= offset + context))
        if len(sel) < 2:
            raise DataError(f"{faces_h5}: sample {sample or '?'}: frames {onset}..{offset} give {len(sel)} frame(s) "
                            f"(the video holds frames {numbers.min() if len(numbers) else '-'}..{numbers.max() if len(numbers) else '-'}); need >= 2")
        if h["frames"].ndim != 3:
            raise DataError(f"{faces_h5}: TIM needs grey faces (set face.grey: true)")
        part = slice(int(sel[0]), int(sel[-1]) + 1)  # numbers are increasing: the clip is one contiguous run
        frames, landmarks = h["frames"][part], h["landmarks"][part]
        numbers = numbers[part]
    n_out = int(cfg["n_frames"])
    times = target_times(len(numbers), n_out)
    out_frames = interpolate_clip(frames, times, cfg, source=faces_h5)
    t_numbers = numbers[0] + times * (numbers[-1] - numbers[0]) / max(len(numbers) - 1, 1)
    apex_index = int(np.argmin(np.abs(t_numbers - apex))) if apex >= 0 else -1
    fps_eff = fps * (n_out - 1) / max(int(numbers[-1] - numbers[0]), 1)
    lm = np.median(landmarks, axis=0).astype(np.float32)
    write_store(out, {"frames": out_frames, "times": t_numbers, "landmarks": lm},
                {"stage": "tim", "apex_index": apex_index, "fps": fps_eff, **_interval(sample, onset, offset), "first": int(numbers[0]), "last": int(numbers[-1])},
                params=cfg)


def _interval(sample: str, onset: int, offset: int) -> dict[str, Any]:
    """The attributes that name a clip's sample and its annotated interval (carried by every
    per-sample store)."""
    return {"sample": sample, "onset": int(onset), "offset": int(offset)}


def clip_interval(path: str | Path) -> tuple[str, int, int]:
    """``(sample, onset, offset)`` of a per-sample store (TIM, magnified or flow)."""
    a = read_attrs(path)
    if "onset" not in a:
        raise DataError(f"{path}: holds no sample interval (written by an older mexp: rerun normalise_clip)")
    return str(a.get("sample", "")), int(a["onset"]), int(a["offset"])


def magnify_motion(in_h5: str, *, cfg: dict[str, Any], out: str | Path) -> None:
    """Magnification of a stored clip (Eulerian or MagNet, :func:`mexp_lib.motion.magnify.magnify_clip`);
    the clip's times and landmarks are carried over. ``cfg``: the ``magnification`` section."""
    cfg = settings("magnification", cfg)
    if _propagate_skip(in_h5, out):
        return
    d = read_arrays(in_h5, "frames", "times", optional=("landmarks",))
    a = read_attrs(in_h5)
    d["frames"] = magnify_clip(d["frames"], float(a["fps"]), cfg, source=in_h5)
    carried: dict[str, Any] = {k: a[k] for k in ("sample", "onset", "offset", "first", "last") if k in a}
    write_store(out, d, {"stage": "magnified", "apex_index": a["apex_index"], "fps": a["fps"], **carried}, params=cfg)


def flow_regions(flow: np.ndarray, landmarks: np.ndarray | None, cfg: dict[str, Any], source: str | Path) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Apply the flow options of the spotting methods to flow (P, S, S, 2): ``head_motion``
    (none | nose | affine), ``mask_eyes`` (zero flow in the dilated eye polygons) and ``rois``
    (named crops, :data:`mexp_lib.motion.regions.ROIS`). Returns the flow and
    ``{"roi_<name>": crop (P, h, w, 2) float16, "roibox_<name>": (4,) x0, y0, x1, y1}``.
    ``cfg``: the ``flow`` section."""
    cfg = settings("flow", cfg)
    head, mask_eyes, rois = cfg["head_motion"], bool(cfg["mask_eyes"]), list(cfg["rois"])
    if head == "none" and not mask_eyes and not rois:
        return flow, {}
    if landmarks is None:
        raise DataError(f"{source}: the flow options head_motion/mask_eyes/rois need the clip's landmarks, and this store has none "
                        "(written by an older mexp: rerun normalise_clip)")
    size = flow.shape[1]
    mask, nose = face_masks(landmarks, size, eye_dilate=float(cfg["eye_dilate"]))
    if head != "none":
        remove = HeadMotion(head, mask, nose)
        flow = np.stack([remove(f) for f in flow])
    if mask_eyes:
        flow = flow * (~mask)[None, :, :, None]
    extra: dict[str, np.ndarray] = {}
    for r in rois:
        x0, y0, x1, y1 = roi_box(landmarks, size, r)
        extra[f"roi_{r}"] = flow[:, y0:y1, x0:x1].astype(np.float16)
        extra[f"roibox_{r}"] = np.array([x0, y0, x1, y1], np.int32)
    return flow, extra


PAIRS = ("all", "apex")


def compute_flow(in_h5: str, *, cfg: dict[str, Any], out: str | Path, threads: int = 1, pairs: str = "all") -> None:
    """Optical flow (onset -> every frame by default) and strain of a stored clip; ``cfg``:
    the ``flow`` section (missing keys take the schema's defaults); the pairs are spread over
    ``threads`` threads.

    ``pairs="apex"`` (what an apex model reads): with ``reference: onset`` and a known apex only
    the pair (0, apex) is computed and stored (``pairs`` says which); an unknown apex (-1) needs
    every pair (the apex is then the frame of largest motion)."""
    cfg = settings("flow", cfg)
    if pairs not in PAIRS:
        raise ConfigError(f"compute_flow: pairs must be one of {PAIRS}, not {pairs!r}")
    if _propagate_skip(in_h5, out):
        return
    d = read_arrays(in_h5, "frames", optional=("landmarks",))
    a = read_attrs(in_h5)
    method = cfg["method"]
    frames = d["frames"]
    apex = int(a.get("apex_index", -1))
    only_apex = pairs == "apex" and cfg["reference"] == "onset" and 0 <= apex < len(frames)
    if only_apex:
        frames = frames[[0, apex]]
    flow, pairs_used = optical_flow(frames, params=FlowParams(method, dict(cfg[method])), reference=cfg["reference"], source=in_h5, threads=threads)
    if only_apex:  # the pair (0, apex) of the clip, numbered as the clip numbers its frames
        flow, pairs_used = flow[1:], [(0, apex)]
    landmarks = d.get("landmarks")
    if landmarks is not None and landmarks.ndim == 3:  # a faces store's per-frame landmarks: their median, as TIM keeps
        landmarks = np.median(landmarks, axis=0).astype(np.float32)
    flow, extra = flow_regions(flow, landmarks, cfg, in_h5)
    strain = optical_strain(flow)
    mag = np.linalg.norm(flow, axis=-1).mean(axis=(1, 2))
    logger.info("%s: %d flow pairs, mean |flow| max %.3f px at pair %d", Path(in_h5).stem, len(pairs_used), mag.max(), int(mag.argmax()))
    write_store(
        out, {"flow": flow.astype(np.float16), "strain": strain.astype(np.float16), "pairs": np.asarray(pairs_used, np.int32),
              **extra},
        {"stage": "flow", "apex_index": a.get("apex_index", -1), "reference": cfg["reference"], "method": method,
         **{k: a[k] for k in ("sample", "onset", "offset", "first", "last") if k in a}},
        params=cfg,
    )
