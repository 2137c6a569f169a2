"""The plan of one dataset, built once from a resolved config and its sample table.

Everything the workflow, the in-process pipeline (:mod:`mexp_lib.recognition.pipeline`) and the
benchmarks derive from a dataset before any stage runs lives here: the recognition samples kept
by the class set and the ones left out (with why), the folds (one per subject, or one per source
database under ``recognition.protocol: holdout_db``), what the candidate models read (the input
kinds ``build_inputs`` packs, the per-sample stores they come from, the flow pairs
``compute_flow`` computes), and the chunks of the per-clip stages with each video's landmark
strategy. ``workflow/rules/common.smk`` holds one :class:`DatasetPlan` per dataset
(:class:`DatasetPlans`) and its input functions only read it; :func:`split_folds` is the one
fold splitter.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from mexp_lib.chunks import chunk_of, plan_chunks
from mexp_lib.config import canonical, dataset_section
from mexp_lib.datasets.classes import ClassSet, resolve_class_set
from mexp_lib.datasets.load import planned_samples
from mexp_lib.datasets.table import LoadReport
from mexp_lib.errors import ConfigError, DataError, MexpError
from mexp_lib.recognition.kinds import input_kinds, kind_stores, needs_all_pairs
from mexp_lib.recognition.samples import check_classes, select_samples

# The sample table's columns the plan reads (mexp_lib.datasets.table.SAMPLE_COLUMNS).
PLAN_COLUMNS = ("sample", "video", "subject", "task", "source")
# recognition.protocol -> the sample table's column whose values are the folds.
FOLD_COLUMNS = {"loso": "subject", "holdout_db": "source"}


@dataclass(frozen=True, eq=False)
class DatasetPlan:
    """What one dataset runs, derived once (:func:`dataset_plan`).

    ``samples``: the whole sample table; ``recognition`` / ``training``: the sections as this
    dataset runs them (the global section deep-merged with the dataset's own keys, keys sorted);
    ``kept``: the recognition samples, with a ``label`` column (:func:`select_samples`);
    ``excluded``: the other samples of the table, one row each with its ``reason``;
    ``excluded_counts``: the class set's exclusions, counted per value of its column (column
    ``excluded``); ``fold_column`` / ``folds``: the column whose values are the folds and its
    values among the kept samples, sorted (empty when none is kept: :meth:`require_folds` says
    why); ``flow_pairs``: ``"apex"`` (the onset -> apex pair) or ``"all"`` (every frame, for a
    sequence model); ``pack_kinds`` / ``pack_stores``: the input kinds the candidate models
    read and the per-sample stores (``flow``, ``clip``, ``faces``) they come from; ``strategy``:
    ``{video: "clip" | "long"}``; ``chunks``: ``{chunk: videos}`` of the per-clip stages and
    ``video_chunk`` its inverse; ``videos``: the sample table's first row of each video, indexed
    by video (where its frames are, how they are numbered, its frame rate); ``sample_video``:
    ``{sample: video}``; ``spotting_videos``: the videos holding spotting ground truth, in table
    order.
    """

    dataset: str
    samples: pd.DataFrame
    recognition: dict[str, Any]
    training: dict[str, Any]
    class_set: ClassSet
    kept: pd.DataFrame
    excluded: pd.DataFrame
    excluded_counts: pd.DataFrame
    fold_column: str
    folds: tuple[str, ...]
    flow_pairs: str
    pack_kinds: tuple[str, ...]
    pack_stores: frozenset[str]
    strategy: dict[str, str]
    chunks: dict[str, list[str]]
    video_chunk: dict[str, str]
    videos: pd.DataFrame
    sample_video: dict[str, str]
    spotting_videos: tuple[str, ...]

    def exclusions(self) -> dict[str, int]:
        """``{value: count}`` of the recognition samples the class set leaves out (reported by
        the recognition table's provenance)."""
        e = self.excluded_counts
        return {str(k): int(v) for k, v in zip(e.iloc[:, 0], e["excluded"], strict=True)}

    def require_folds(self) -> tuple[str, ...]:
        """The folds, checked to be trainable: a :class:`ConfigError` naming the dataset when
        no recognition sample is kept (with what the class set left out), when fewer than two
        classes are (:func:`check_classes`), or when ``holdout_db`` finds one source database."""
        if not self.folds:
            rec = self.recognition
            where = ("its expressions" if rec["long_videos"] else
                     "its short clips (recognition.long_videos: true adds the expressions of long videos)")
            raise ConfigError(
                f"datasets.{self.dataset}: no recognition samples: class set {rec['class_set']!r} keeps none of "
                f"{where}; left out: {self.exclusions() or 'nothing to leave out'}")
        check_classes(self.kept, self.dataset, self.recognition)
        if self.fold_column == "source" and len(self.folds) < 2:
            raise ConfigError(f"recognition.protocol holdout_db: dataset {self.dataset} has one source database "
                              f"({list(self.folds)}); it needs two or more")
        return self.folds

    def splits(self, samples: pd.DataFrame | None = None) -> Iterator[tuple[str, pd.DataFrame, pd.DataFrame]]:
        """``(fold, train, test)`` by the plan's fold column (:func:`split_folds`): of every fold
        (:meth:`require_folds`) over the kept samples, or over ``samples`` (a subset of them, e.g.
        a benchmark's development subjects) of the folds that subset holds."""
        if samples is None:
            return split_folds(self.kept, self.fold_column, self.require_folds())
        return split_folds(samples, self.fold_column)

    def chunk_samples(self, chunk: str) -> pd.DataFrame:
        """The kept recognition samples whose clips are cut from the videos of ``chunk``."""
        return self.kept[self.kept.video.isin(self.chunks[chunk])]


def split_folds(samples: pd.DataFrame, column: str, folds: Sequence[str] | None = None) -> Iterator[tuple[str, pd.DataFrame, pd.DataFrame]]:
    """The one fold splitter: ``(fold, train, test)`` for each value of ``column`` (``subject``:
    leave-one-subject-out; ``source``: leave-one-database-out), in sorted order or in the order
    of ``folds``; ``test`` holds the samples whose ``column`` is the fold (compared as text),
    ``train`` all the others. A :class:`DataError` when ``samples`` has no ``column``."""
    if column not in samples.columns:
        raise DataError(f"sample table: no column {column!r} to split folds by (columns: {list(samples.columns)})")
    values = samples[column].astype(str)
    for fold in (sorted(values.unique()) if folds is None else folds):
        test = values == str(fold)
        yield str(fold), samples[~test], samples[test]


def video_strategies(samples: pd.DataFrame) -> dict[str, str]:
    """``{video: "clip" | "long"}``: landmarks of a short clip (one expression, detected once) or
    of a long video (tracked); a video holding spotting ground truth or several expressions is long."""
    one_rec = samples.task.eq("recognition").groupby(samples.video).all() & samples.groupby("video").size().eq(1)
    return {str(v): "clip" if ok else "long" for v, ok in one_rec.items()}


def excluded_samples(samples: pd.DataFrame, kept: pd.DataFrame, rec: Mapping[str, Any], class_set: ClassSet) -> pd.DataFrame:
    """The samples of the table recognition leaves out, each with its ``reason``: an expression
    of a long video (``recognition.long_videos: false``) or a value of the class set's column it
    has no class for."""
    out = samples[~samples["sample"].isin(kept["sample"])].copy()
    col = class_set.column
    long_video = out.task.ne("recognition") & (not rec["long_videos"])
    value = out[col].astype(str) if col in out.columns else pd.Series("", index=out.index)
    out["reason"] = [
        "an expression of a long video (recognition.long_videos: false)" if lv
        else f"class set {class_set.name!r} has no class for {col} {v!r}"
        for lv, v in zip(long_video, value, strict=True)
    ]
    return out.reset_index(drop=True)


def dataset_plan(config: Mapping[str, Any], dataset: str | None, samples: pd.DataFrame) -> DatasetPlan:
    """The plan of ``dataset`` (its name in ``config["datasets"]``; None: a dataset run with the
    global sections alone, as the in-process pipeline does) from ``config`` (resolved:
    :func:`mexp_lib.config.resolve_config`) and its sample table (``samples``, as
    :func:`mexp_lib.datasets.planned_samples` or the ``build_sample_table`` stage gives it).

    Raises a :class:`ConfigError` naming the key for a dataset not in the config, an unknown
    protocol, class set or model, a bad ``batching.clips_per_job``; a :class:`DataError` naming
    the missing columns for a sample table without the columns the plan reads."""
    name = "dataset" if dataset is None else dataset
    if dataset is not None and dataset not in (config.get("datasets") or {}):
        raise ConfigError(f"datasets.{dataset}: no such dataset in the config (configured: {sorted(config.get('datasets') or {})})")
    missing = [c for c in PLAN_COLUMNS if c not in samples.columns]
    if missing:
        raise DataError(f"datasets.{name}: the sample table has no column {', '.join(missing)} (columns: {list(samples.columns)})")
    if dataset is None:
        rec, training = canonical(dict(config["recognition"])), canonical(dict(config["training"]))
    else:
        rec, training = canonical(dataset_section(config, dataset, "recognition")), canonical(dataset_section(config, dataset, "training"))
    if rec.get("protocol") not in FOLD_COLUMNS:
        raise ConfigError(f"recognition.protocol: {rec.get('protocol')!r} is not one of {sorted(FOLD_COLUMNS)} (dataset {name})")
    class_set = resolve_class_set(rec["class_set"])
    kept, counts = select_samples(samples, rec)
    fold_column = FOLD_COLUMNS[rec["protocol"]]
    kinds = tuple(input_kinds(training))
    strategy = video_strategies(samples)
    chunks = plan_chunks(strategy, long=[v for v, k in strategy.items() if k == "long"],
                         clips_per_job=config["batching"]["clips_per_job"])
    return DatasetPlan(
        dataset=name,
        samples=samples,
        recognition=rec,
        training=training,
        class_set=class_set,
        kept=kept,
        excluded=excluded_samples(samples, kept, rec, class_set),
        excluded_counts=counts,
        fold_column=fold_column,
        folds=tuple(sorted(kept[fold_column].astype(str).unique())),
        flow_pairs="all" if needs_all_pairs(training) else "apex",
        pack_kinds=kinds,
        pack_stores=frozenset(st for k in kinds for st in kind_stores(k, training)),
        strategy=strategy,
        chunks=chunks,
        video_chunk=chunk_of(chunks),
        videos=samples.drop_duplicates("video").set_index("video", drop=False),
        sample_video=dict(zip(samples["sample"].astype(str), samples.video.astype(str), strict=True)),
        spotting_videos=tuple(str(v) for v in samples.loc[samples.task == "spotting", "video"].unique()),
    )


class DatasetPlans(dict[str, DatasetPlan]):
    """The plan of every dataset of a resolved config, by name, each built once from the sample
    table known before any rule runs (:func:`mexp_lib.datasets.planned_samples`): what the
    workflow's input functions read.

    A dataset whose entry is broken (its sheet missing or unreadable: a
    :class:`~mexp_lib.errors.MexpError` loading it) is left out, with a warning naming it on
    stderr, and kept in ``broken`` (name -> its one-line error): asking for its plan raises that
    error as a :class:`ConfigError`, so one bad entry does not stop the other datasets.
    ``reports``: per dataset, what loading its sheet did (rows skipped, quirks fixed).
    A problem in the plan itself (:func:`dataset_plan`) is raised."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        super().__init__()
        self.broken: dict[str, str] = {}
        self.reports: dict[str, LoadReport] = {}
        for name, entry in config["datasets"].items():
            self.reports[name] = LoadReport()
            try:
                samples = planned_samples(name, entry, self.reports[name])
            except MexpError as e:
                self.broken[name] = str(e) if str(e).startswith(f"datasets.{name}") else f"datasets.{name}: {e}"
                print(f"mexp: warning: {self.broken[name]} (its targets are left out)", file=sys.stderr)
                continue
            self[name] = dataset_plan(config, name, samples)

    def __getitem__(self, name: str) -> DatasetPlan:
        if name in self.broken:
            raise ConfigError(self.broken[name])
        return super().__getitem__(name)
