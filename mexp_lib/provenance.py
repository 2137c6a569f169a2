"""The provenance record of a metric table: config hash, code version, seeds, counts."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import mexp_lib
from mexp_lib.io.atomic import write_json


def config_hash(cfg: Any) -> str:
    """sha256 of the config as canonical JSON (first 16 hex digits)."""
    return hashlib.sha256(json.dumps(cfg, sort_keys=True, default=str).encode()).hexdigest()[:16]


def code_version() -> str:
    """mexp_lib's version plus the git commit of the checkout, when there is one."""
    here = Path(mexp_lib.__file__).parent
    try:
        rev = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=here, capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        rev = ""
    return f"{mexp_lib.__version__}+{rev}" if rev else mexp_lib.__version__


def write_provenance(path: str | Path, *, cfg: Any, seeds: Sequence[int], extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Write (and return) the provenance record of a metric table: config hash, code version,
    seeds, ``extra`` counts and the config itself."""
    record = {"config_hash": config_hash(cfg), "code_version": code_version(), "seeds": list(seeds), **(extra or {}), "config": cfg}
    write_json(record, path)
    return record


def input_fingerprint(path: str | Path, *, content: bool = False) -> str:
    """A cheap fingerprint of a video's input: its file, or every entry of its frame folder (and
    of the folders below it), as name, size and modification time in ns -- a frame replaced in
    place is seen even when its time is older, and no file is read. ``content``: each file's
    bytes are hashed too (reads the whole input). sha256 of that list, first 16 hex digits;
    ``"missing"`` when the path does not exist.

    The workflow passes it as a parameter of a video's first stage (``detect_landmarks``), so
    Snakemake's params trigger reruns that video's chunk, and what depends on it, when it changes.
    """
    root = Path(path)
    if not root.exists():
        return "missing"
    h = hashlib.sha256()
    for name, f in _files(root):
        st = os.stat(f)  # a symbolic link: its target's size and time
        h.update(f"{name}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
        if content:
            with open(f, "rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    h.update(block)
    return h.hexdigest()[:16]


def _files(root: Path) -> Iterator[tuple[str, str]]:
    """(name relative to ``root``, path) of the file ``root`` or of every file below the folder
    ``root``, in name order (os.walk: no stat call per entry to list them)."""
    if not root.is_dir():
        yield root.name, str(root)
        return
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        rel = os.path.relpath(folder, root)
        for name in sorted(files):
            yield (name if rel == "." else f"{rel}/{name}"), os.path.join(folder, name)
