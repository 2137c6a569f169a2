"""The ``build_inputs`` stage: every sample's model inputs read from its flow (or clip, or
faces) store and packed into one store per dataset, one array per input kind
(:func:`build_inputs`), and read back per kind by the fold jobs (:func:`read_input_pack`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pandas as pd

from mexp_lib.errors import ConfigError, DataError
from mexp_lib.features.lbptop import lbp_top
from mexp_lib.io.frames import IMAGE_EXTENSIONS
from mexp_lib.io.h5store import open_store, read_arrays, read_attrs, write_store
from mexp_lib.io.skip import skip_reason
from mexp_lib.recognition.baseline import faces_field
from mexp_lib.recognition.kinds import kind_stores

logger = logging.getLogger(__name__)


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
