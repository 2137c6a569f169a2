"""Which samples recognition uses: one place for the workflow (when it plans the jobs) and
the stages that read the sample table back (``build_inputs``, ``train_fold``)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from mexp_lib.datasets.classes import apply_class_set, resolve_class_set


def select_samples(samples: pd.DataFrame, rec: dict[str, Any]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The recognition samples of a sample table under a recognition config (a dataset's
    ``recognition`` section, global settings updated with its own): the short clips and, with
    ``long_videos: true``, every expression annotated in a long video too (each becomes its own
    clip, cut from its video by its onset..offset). Returns (kept samples with a ``label``
    column, excluded counts per value of the class set's column), as
    :func:`mexp_lib.datasets.classes.apply_class_set`.
    """
    candidates = samples if rec["long_videos"] else samples[samples.task == "recognition"]
    return apply_class_set(candidates, resolve_class_set(rec["class_set"]))


def check_classes(kept: pd.DataFrame, dataset: str, rec: dict[str, Any]) -> None:
    """Recognition needs two classes or more: a :class:`~mexp_lib.errors.ConfigError` naming
    the dataset, the class set and the counts when the kept samples (:func:`select_samples`)
    hold fewer, before any fold trains (a one-class model reports a perfect-looking UF1)."""
    from mexp_lib.errors import ConfigError

    counts = kept["label"].value_counts() if "label" in kept.columns else pd.Series(dtype=int)
    if len(kept) and len(counts) < 2:
        shown = ", ".join(f"{k}: {v}" for k, v in counts.items())
        raise ConfigError(f"datasets.{dataset}: recognition needs two classes or more; class set {rec['class_set']!r} "
                          f"keeps one ({shown}); choose another class set (recognition.class_set) or add samples of other classes")
