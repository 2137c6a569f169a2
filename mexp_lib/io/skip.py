"""Recorded skips: a video the face stage could not use (``on_missing_face: skip``) still gets
every per-video output, holding only the reason, so the workflow completes and reports it."""

from __future__ import annotations

import json
from pathlib import Path

import h5py

from mexp_lib.io.atomic import atomic_path, write_json


def write_skip(path: str | Path, video: str, reason: str) -> None:
    """Write a skip marker in the format of ``path`` (.json or .h5)."""
    p = Path(path)
    if p.suffix == ".json":
        write_json({"schema": "mexp.skipped/1", "video": video, "skipped": reason}, p)
        return
    import mexp_lib

    with atomic_path(p) as tmp:
        with h5py.File(tmp, "w") as h:
            h.attrs["mexp_version"] = mexp_lib.__version__
            h.attrs["video"] = video
            h.attrs["skipped"] = reason


def skip_reason(path: str | Path) -> str | None:
    """The recorded reason if ``path`` is a skip marker, else None."""
    p = Path(path)
    if p.suffix == ".json":
        try:
            d = json.loads(p.read_text())
        except (OSError, ValueError):  # missing, not JSON, not text: not a skip marker
            return None
        return d.get("skipped") if isinstance(d, dict) else None
    try:
        with h5py.File(p, "r") as h:
            r = h.attrs.get("skipped")
            return str(r) if r is not None else None
    except OSError:
        return None
