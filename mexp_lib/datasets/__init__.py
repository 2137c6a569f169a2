"""Dataset loaders into one sample table (:mod:`mexp_lib.datasets.table`), and the demo."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from mexp_lib.datasets.casme2 import load_casme2
from mexp_lib.datasets.casme_sq import load_casme_sq
from mexp_lib.datasets.demo import CLIP_DIR, CLIP_SHEET, LONG_DIR, LONG_SHEET, demo_samples, settings
from mexp_lib.datasets.generic import load_generic
from mexp_lib.datasets.table import SAMPLE_COLUMNS, LoadReport, videos
from mexp_lib.errors import ConfigError

FORMATS = ("demo", "generic", "casme2", "casme_sq")


def planned_samples(name: str, dcfg: dict[str, Any]) -> pd.DataFrame:
    """The sample table known before any rule runs (used to build the DAG).

    For ``demo`` this is the generator's plan (the frames do not exist yet); for every other
    format it is the loader's output on the annotation sheet.
    """
    if dcfg["format"] == "demo":
        return demo_samples(name, dcfg["root"], dcfg.get("generator"))
    return load_dataset(name, dcfg)[0]


def load_dataset(name: str, dcfg: dict[str, Any], *, check_frames: bool = False) -> tuple[pd.DataFrame, LoadReport]:
    """Load a configured dataset (``datasets.<name>`` of the config) into the sample table.

    ``check_frames``: for formats whose frame folders are not listed at load time, check they
    exist (a missing one is a bad row).
    """
    fmt = dcfg.get("format")
    on_bad = dcfg.get("on_bad_row", "error")
    report = LoadReport()
    root = dcfg.get("root")
    if fmt == "demo":
        g = settings(dcfg.get("generator"))
        clips = load_casme2(Path(root) / CLIP_SHEET, dataset=name, root=Path(root) / CLIP_DIR, fps=g["clip_fps"], on_bad_row=on_bad, report=report)
        long = load_casme_sq(Path(root) / LONG_SHEET, dataset=name, root=Path(root) / LONG_DIR, fps=g["long_fps"], on_bad_row=on_bad, report=report)
        out = pd.concat([clips, long], ignore_index=True)
    elif fmt == "generic":
        out = load_generic(dcfg["annotations"], dataset=name, root=root, fps=dcfg["fps"], task=dcfg.get("task", "recognition"), on_bad_row=on_bad, report=report)
    elif fmt == "casme2":
        out = load_casme2(dcfg["annotations"], dataset=name, root=root if check_frames else None, fps=dcfg.get("fps", 200.0), on_bad_row=on_bad, report=report)
        if root is not None and not check_frames:
            out["frames"] = [str(Path(root) / f) for f in out["frames"]]
    elif fmt == "casme_sq":
        out = load_casme_sq(dcfg["annotations"], dataset=name, root=root, fps=dcfg.get("fps", 30.0), on_bad_row=on_bad, report=report)
    else:
        raise ConfigError(f"datasets.{name}.format: unknown format {fmt!r} (known: {', '.join(FORMATS)})")
    return out[SAMPLE_COLUMNS], report


__all__ = ["SAMPLE_COLUMNS", "FORMATS", "LoadReport", "load_dataset", "planned_samples", "videos"]
