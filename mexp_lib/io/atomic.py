"""Write outputs under a temporary name and rename, so an interrupted job leaves nothing half-written
(a killed job's temporary is removed when the output is next written)."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pandas costs ~0.5 s to import: the per-clip stages that write no table skip it
    import pandas as pd


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str], *, directory: bool = False) -> Iterator[Path]:
    """Yield a temporary sibling of ``path``; on success rename it to ``path``; on any error --
    in the body or in the rename (``path`` an existing folder, for a file) -- remove it.

    The temporary name keeps the suffix of ``path`` so libraries that dispatch on it still work.
    With ``directory=True`` a temporary directory is yielded and an existing target is replaced.
    The result gets the permissions an ordinary ``open``/``mkdir`` would give it under the
    process umask (0644 / 0755 under 022), not the private 0600 / 0700 of ``tempfile``.
    """
    target = Path(path)
    _check_kind(target, directory)  # before any work: checked again before the rename
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(target)
    mask = current_umask()
    if directory:
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
        os.chmod(tmp, 0o777 & ~mask)
    else:
        fd, name = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=".tmp" + target.suffix, dir=target.parent)
        try:
            os.fchmod(fd, 0o666 & ~mask)
        finally:
            os.close(fd)
        tmp = Path(name)
    try:
        yield tmp
        _check_kind(target, directory)
        if directory and target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
    except BaseException:  # the body, or the rename: the temporary never outlives the writer
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            tmp.unlink(missing_ok=True)
        raise


def _check_kind(target: Path, directory: bool) -> None:
    """An :class:`OSError` naming ``target`` when it exists as the other kind (a folder where a
    file is written, or a file where a folder is): ``os.replace`` cannot overwrite it."""
    if not directory and target.is_dir():
        raise IsADirectoryError(errno.EISDIR, "is a folder: give a file name for the output", str(target))
    if directory and target.exists() and not target.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, "is a file: give a folder for the output (or remove the file)", str(target))


def remove_stale_temporaries(target: Path) -> list[Path]:
    """Remove the temporaries an earlier writer of ``target`` left when it was killed (SIGKILL
    runs no cleanup): ``.<stem>.XXXXXXXX.tmp<suffix>`` files and ``.<name>.XXXXXXXX.tmp``
    folders beside it. Only names of exactly that form are touched (another target's
    temporaries differ in their stem), and a target has one writer at a time (one Snakemake job)."""
    rx = re.compile(rf"^\.(?:{re.escape(target.stem)}\.[a-z0-9_]{{8}}\.tmp{re.escape(target.suffix)}|{re.escape(target.name)}\.[a-z0-9_]{{8}}\.tmp)$")
    gone = []
    for p in target.parent.iterdir():
        if rx.match(p.name):
            if p.is_dir():
                shutil.rmtree(p, ignore_errors=True)
            else:
                p.unlink(missing_ok=True)
            gone.append(p)
    return gone


def current_umask() -> int:
    """The process umask, read without changing it where ``/proc`` allows (else set and restored)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_json(obj: Any, path: str | os.PathLike[str]) -> None:
    """Write ``obj`` as indented JSON, atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=1, sort_keys=False, default=_json_default) + "\n")


def write_csv(df: pd.DataFrame, path: str | os.PathLike[str], **kwargs: Any) -> None:
    """Write a DataFrame as CSV (no index), atomically; floats are written with 6 decimals."""
    kwargs.setdefault("index", False)
    kwargs.setdefault("float_format", "%.6f")
    with atomic_path(path) as tmp:
        df.to_csv(tmp, **kwargs)


def _json_default(o: Any) -> Any:
    import numpy as np

    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"cannot write {type(o).__name__} as JSON")
