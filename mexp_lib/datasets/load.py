"""Load a configured dataset (``datasets.<name>`` of the config) into the sample table: the
format's loader, the composite's per-database sources, and the table known before any rule runs."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from mexp_lib.config import PER_DATASET_SECTIONS, load_schema
from mexp_lib.datasets.casme2 import load_casme2
from mexp_lib.datasets.casme3 import load_casme3
from mexp_lib.datasets.casme_sq import load_casme_sq
from mexp_lib.datasets.composite import DATABASES, load_composite
from mexp_lib.datasets.demo_plan import CLIP_DIR, CLIP_SHEET, LONG_DIR, LONG_SHEET, demo_samples, settings
from mexp_lib.datasets.generic import load_generic
from mexp_lib.datasets.mmew import load_mmew
from mexp_lib.datasets.precomputed import load_precomputed
from mexp_lib.datasets.samm import load_samm, load_samm_lv
from mexp_lib.datasets.smic import load_smic
from mexp_lib.datasets.table import SAMPLE_COLUMNS, LoadReport, check_unique_samples
from mexp_lib.errors import ConfigError, DataError
from mexp_lib.io.atomic import write_csv

logger = logging.getLogger(__name__)



def planned_samples(name: str, dcfg: dict[str, Any], report: LoadReport | None = None) -> pd.DataFrame:
    """The sample table known before any rule runs (used to build the DAG).

    For ``demo`` this is the generator's plan (the frames do not exist yet); for every other
    format it is the loader's output on the annotation sheet, whose skipped and fixed rows are
    added to ``report`` when one is given.
    """
    if dcfg["format"] == "demo":
        return demo_samples(name, dcfg["root"], dcfg.get("generator"))
    samples, rep = load_dataset(name, dcfg)
    if report is not None:
        report.skipped.extend(rep.skipped)
        report.fixed.extend(rep.fixed)
    return samples


# The sheet formats: format -> (loader, default fps or None when the loader knows it, extra
# config keys it takes); each is read by :func:`_load_sheet`.
LOADERS: dict[str, tuple[Callable[..., pd.DataFrame], float | None, tuple[str, ...]]] = {
    "generic": (load_generic, None, ("task",)),
    "casme2": (load_casme2, 200.0, ()),
    "casme_sq": (load_casme_sq, 30.0, ()),
    "samm": (load_samm, 200.0, ()),
    "samm_lv": (load_samm_lv, 200.0, ("zero_onset", "fractional")),
    "smic": (load_smic, None, ("camera",)),
    "mmew": (load_mmew, 90.0, ()),
    "casme3": (load_casme3, 30.0, ()),
}


def _required_root(name: str, fmt: str, root: str | Path | None) -> str | Path:
    """``root`` of a format that reads or renders into a folder (demo, generic, precomputed);
    a :class:`ConfigError` naming the dataset if it is not set."""
    if root is None:
        what = {"demo": "the folder the demo is rendered into", "generic": "the folder of videos", "precomputed": "the folder of flow images"}[fmt]
        raise ConfigError(f"datasets.{name}: format {fmt} needs 'root' ({what})")
    return root


def _load_demo(name: str, dcfg: dict[str, Any], report: LoadReport) -> pd.DataFrame:
    """The rendered demo: its short clips (a CASME II sheet) and long videos (a CAS(ME)^2 sheet)."""
    root_dir = Path(_required_root(name, "demo", dcfg.get("root")))
    on_bad = dcfg.get("on_bad_row", "error")
    g = settings(dcfg.get("generator"))
    clips = load_casme2(root_dir / CLIP_SHEET, dataset=name, root=root_dir / CLIP_DIR, fps=g["clip_fps"], on_bad_row=on_bad, report=report)
    long = load_casme_sq(root_dir / LONG_SHEET, dataset=name, root=root_dir / LONG_DIR, fps=g["long_fps"], on_bad_row=on_bad, report=report)
    out = pd.concat([clips, long], ignore_index=True)
    check_unique_samples(out, f"datasets.{name} (demo: {CLIP_SHEET} + {LONG_SHEET})")
    return out


def _load_megc2019(name: str, dcfg: dict[str, Any], report: LoadReport) -> pd.DataFrame:
    """The MEGC 2019 composite list, joined to its ``sources``' sheets when given."""
    on_bad = dcfg.get("on_bad_row", "error")
    annotations = _annotations(name, dcfg)
    tables = _source_tables(annotations, dcfg.get("sources"), on_bad, report)
    return load_composite(annotations, dataset=name, sources=tables, on_bad_row=on_bad, report=report)


def _load_precomputed(name: str, dcfg: dict[str, Any], report: LoadReport) -> pd.DataFrame:
    """A folder of onset -> apex flow images and their label list (joined to ``sources`` when given)."""
    on_bad = dcfg.get("on_bad_row", "error")
    folder = _required_root(name, "precomputed", dcfg.get("root"))
    annotations = _annotations(name, dcfg)
    tables = _source_tables(annotations, dcfg.get("sources"), on_bad, report)
    return load_precomputed(annotations, dataset=name, root=folder, on_bad_row=on_bad, report=report, sources=tables)


def _load_sheet(name: str, dcfg: dict[str, Any], report: LoadReport) -> pd.DataFrame:
    """A format of :data:`LOADERS`: its loader on the annotation sheet, with the format's
    default frame rate and the extra keys it takes."""
    fmt = dcfg["format"]
    root = dcfg.get("root")
    if fmt == "generic":
        root = _required_root(name, fmt, root)
    loader, default_fps, extra = LOADERS[fmt]
    kwargs = {k: dcfg[k] for k in extra if k in dcfg}
    fps = dcfg.get("fps", default_fps)
    if fps is not None:
        kwargs["fps"] = fps
    if fps is None and fmt == "generic":
        raise ConfigError(f"datasets.{name}: format generic needs 'fps' (the frame rate of its videos)")
    return loader(_annotations(name, dcfg), dataset=name, root=root, on_bad_row=dcfg.get("on_bad_row", "error"), report=report, **kwargs)


# The registry of dataset formats: every value of datasets.<name>.format -> the function loading
# such an entry (name, entry, report) into the sample table, in the schema enum's order. The
# schema's enum is checked against it (tests/test_registries.py): a format is added here and in
# the schema together.
FORMATS: dict[str, Callable[[str, dict[str, Any], LoadReport], pd.DataFrame]] = {
    "demo": _load_demo,
    **dict.fromkeys(LOADERS, _load_sheet),
    "megc2019": _load_megc2019,
    "precomputed": _load_precomputed,
}


def load_dataset(name: str, dcfg: dict[str, Any]) -> tuple[pd.DataFrame, LoadReport]:
    """Load a configured dataset (``datasets.<name>`` of the config) into the sample table, by
    its format's loader (:data:`FORMATS`).

    When ``root`` is given every sample's frames folder must exist under it (a missing one is a
    bad row); without it the ``frames`` column holds the path relative to the dataset's root.
    """
    fmt = dcfg.get("format")
    report = LoadReport()
    root = dcfg.get("root")
    if root is not None and Path(root).exists() and not Path(root).is_dir():
        raise ConfigError(f"datasets.{name}.root: {root} is a file; root is the folder that holds the videos (frame folders or video files)")
    if fmt not in FORMATS:
        raise ConfigError(f"datasets.{name}.format: unknown format {fmt!r} (known: {', '.join(FORMATS)})")
    out = FORMATS[str(fmt)](name, dcfg, report)
    return out[SAMPLE_COLUMNS], report


# The settings the stage reads (mexp_lib.stages): the dataset entry's own keys, not the sections it overrides (recognition, training, spotting):
# those reach, and rerun, only the stages they configure.
BUILD_SAMPLE_TABLE_READS = tuple(f"datasets.{{dataset}}.{key}" for key in load_schema()["properties"]["datasets"]["additionalProperties"]["properties"]
                                 if key not in PER_DATASET_SECTIONS)


def build_sample_table(name: str, dcfg: dict[str, Any], *, out_samples: str | Path, out_skipped: str | Path) -> pd.DataFrame:
    """The ``build_sample_table`` stage: load a configured dataset (:func:`load_dataset`) and
    write its sample table and the rows it skipped (with why), each atomically."""
    samples, report = load_dataset(name, dcfg)
    logger.info("%s: %d samples in %d videos; %s", name, len(samples), samples.video.nunique(), report.summary())
    write_csv(samples, out_samples)
    write_csv(report.to_frame(), out_skipped)
    return samples


def _source_tables(annotations: str, sources: dict[str, dict[str, Any]] | None, on_bad: str, report: LoadReport) -> dict[str, pd.DataFrame] | None:
    """The sample tables of a composite's ``sources`` (per database its own dataset entry), each
    loaded by :func:`load_dataset`; their skipped and fixed rows go to ``report``."""
    if not sources:
        return None
    tables = {}
    for db, dcfg in sources.items():
        if db not in DATABASES:
            raise DataError(f"{annotations}: sources.{db}: not one of {DATABASES}")
        table, sub_report = load_dataset(db, {"on_bad_row": on_bad, **dcfg})
        report.skipped.extend(sub_report.skipped)
        report.fixed.extend(sub_report.fixed)
        tables[db] = table
    return tables


def _annotations(name: str, dcfg: dict[str, Any]) -> str:
    if not dcfg.get("annotations"):
        raise ConfigError(f"datasets.{name}: format {dcfg.get('format')} needs 'annotations' (the annotation sheet)")
    return str(dcfg["annotations"])
