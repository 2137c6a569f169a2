"""HDF5 stores of the per-video stages, written atomically and read lazily.

One file per video and stage. Layout (datasets present depend on the stage)::

    /frames        (T, H, W) uint8 | float32   aligned faces (faces, tim, magnified stages)
    /numbers       (T,)  int64    frame numbers as the annotation sheet counts them
                                  (float64 for interpolated timelines)
    /landmarks     (T, 68, 2) float32   landmarks in the coordinates of /frames
    /flow          (T, H, W, 2) float16   optical flow (u, v) in pixels (flow stage)
    /strain        (T, H, W) float16      optical-strain magnitude (flow stage)
    /pairs         (T, 2) int32           the frame pairs of /flow (flow stage)
    /times         (T,) float64           frame numbers of resampled frames (tim, magnified)
    /roi_<name>    (T, h, w, 2) float16   flow crops of named regions; /roibox_<name> (4,) their boxes
    attrs: "stage", "video", "dataset", "mexp_version", "params" (JSON), and stage-specific
           scalars (e.g. "apex_index", "reference").

Image stacks are chunked one frame per chunk and gzip-compressed, so training reads one frame
of one clip without loading the file.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import h5py
import numpy as np

import mexp_lib
from mexp_lib.errors import DataError
from mexp_lib.io.atomic import atomic_path


def write_store(
    path: str | Path,
    arrays: Mapping[str, np.ndarray],
    attrs: Mapping[str, Any],
    *,
    params: Mapping[str, Any] | None = None,
) -> None:
    """Write ``arrays`` and ``attrs`` to ``path`` (via a temporary file and a rename)."""
    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w") as h:
            for name, arr in arrays.items():
                arr = np.asarray(arr)
                if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
                    raise DataError(f"{path}: array {name!r} holds NaN or infinite values")
                chunks = (1, *arr.shape[1:]) if arr.ndim >= 3 and arr.shape[0] > 0 else None
                if chunks:
                    h.create_dataset(name, data=arr, chunks=chunks, compression="gzip", compression_opts=4, shuffle=True)
                else:
                    h.create_dataset(name, data=arr)
            h.attrs["mexp_version"] = mexp_lib.__version__
            h.attrs["params"] = json.dumps(dict(params or {}), sort_keys=True, default=str)
            for k, v in attrs.items():
                h.attrs[k] = v


def open_store(path: str | Path) -> h5py.File:
    """Open a store read-only; a missing, truncated or foreign file raises :class:`DataError`."""
    p = Path(path)
    if not p.is_file():
        raise DataError(f"{p}: HDF5 store not found")
    try:
        h = h5py.File(p, "r")
    except OSError as e:
        raise DataError(f"{p}: not a readable HDF5 file (truncated or corrupt?): {e}") from e
    if "mexp_version" not in h.attrs:
        h.close()
        raise DataError(f"{p}: not an mexp store (no mexp_version attribute)")
    return h


def read_arrays(path: str | Path, *names: str, optional: tuple[str, ...] = ()) -> dict[str, np.ndarray]:
    """Read whole datasets ``names`` from a store; a missing one raises :class:`DataError`.
    Datasets in ``optional`` are read when the store has them, left out when not."""
    with open_store(path) as h:
        out = {}
        for n in (*names, *(o for o in optional if o in h)):
            if n not in h:
                raise DataError(f"{path}: has no dataset {n!r} (has {sorted(h.keys())})")
            try:
                out[n] = h[n][()]
            except OSError as e:
                raise DataError(f"{path}: dataset {n!r} cannot be read (truncated?): {e}") from e
        return out


def read_attrs(path: str | Path) -> dict[str, Any]:
    """The attributes of a store, ``params`` decoded from JSON."""
    with open_store(path) as h:
        d = {k: (v.item() if isinstance(v, np.generic) else v) for k, v in h.attrs.items()}
    d["params"] = json.loads(d.get("params", "{}"))
    return d
