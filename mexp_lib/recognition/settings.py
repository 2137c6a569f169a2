"""The settings the recognition stages read, and the training section as they run it (kept free
of torch: the workflow asks it when it parses).

Every default comes from the schema (:func:`mexp_lib.config.settings`); a dataset's own
``training`` / ``recognition`` keys are deep-merged over the global section by the workflow
(:func:`mexp_lib.config.dataset_section`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mexp_lib.config import settings

# What select_samples reads (the scripts of both stages call it on the sample table).
SELECT_SAMPLES_READS = ("recognition.class_set", "recognition.long_videos")
# The settings each stage reads (dotted config paths; mexp_lib.stages collects them). The
# model's input kind (from training.model) and the fold column (from recognition.protocol) are
# part of the plan and reach the stages as their own params.
# what build_inputs packs: the input kinds of the candidate models (training.model, with auto
# training.selection.models), at training.input_size, flow_svm's fields as training.flow_svm says
BUILD_INPUTS_READS = (*SELECT_SAMPLES_READS, "training.input_size", "training.model", "training.selection.models", "training.flow_svm")
TRAIN_FOLD_READS = (*SELECT_SAMPLES_READS, "recognition.protocol", "training")

# Keys a fold's training config carries beyond the schema's section: the job's thread count.
TRAINING_EXTRA_KEYS = ("threads",)


def training_settings(cfg: Mapping[str, Any] | None) -> dict[str, Any]:
    """The ``training`` section with the schema's defaults filled in (deep: a ``selection`` with
    only ``grid`` keeps the default ``folds`` and ``metric``); idempotent. ``threads`` (the
    job's) passes through; it defaults to 1."""
    out = settings("training", dict(cfg or {}), passthrough=TRAINING_EXTRA_KEYS)
    out.setdefault("threads", 1)
    return out
