"""The registry of recognition models: every model name and what it reads (kept free of torch:
the workflow asks it when it parses).

:data:`INPUT_KINDS` is the one list of model names. The schema's enums ``training.model`` (with
``auto``) and ``training.selection.models`` and the network builders
(:data:`mexp_lib.models.BUILDERS`, every name but :data:`SVM_MODELS`) are checked against it
(tests/test_registries.py): a model is added here, in the builders and in the schema together.
"""

from __future__ import annotations

from typing import Any

from mexp_lib.config import default
from mexp_lib.errors import ConfigError

# What each model reads: "apex" = (3, s, s) onset->apex u, v, strain; "sequence" = (T, 3, s, s)
# the onset-referenced flow of every frame of the normalised clip; "sequence_grey" = (T, 4, s, s)
# the same plus the grey frame (ELRCN); "lbptop" = the LBP-TOP descriptor of the normalised (or
# magnified) grey clip, resized to s x s; "flow_field" = (2, H, W) the onset->apex u, v at their
# native resolution (from the flow stage's store or, training.flow_svm.source: faces, DIS flow
# on the aligned faces), pooled into cells at training time (flow_svm).
INPUT_KINDS = {
    "ststnet": "apex", "offapexnet": "apex", "aufusion": "apex", "htnet": "apex",
    "c3d": "sequence", "cnn_lstm": "sequence", "convlstm": "sequence", "cnn2d_vote": "sequence",
    "elrcn_se": "sequence_grey", "elrcn_te": "sequence_grey",
    "lbptop_svm": "lbptop", "flow_svm": "flow_field",
}
# Models fitted as linear SVMs (mexp_lib.recognition.svm), not trained as networks.
SVM_MODELS = ("lbptop_svm", "flow_svm")
# training.model: auto -- the model chosen per fold among training.selection.models.
AUTO = "auto"


def input_kind(model: str) -> str:
    """``apex``, ``sequence``, ``sequence_grey``, ``lbptop`` or ``flow_field`` for a model name
    (ConfigError for an unknown one)."""
    if model not in INPUT_KINDS:
        raise ConfigError(f"training.model: unknown model {model!r} (available: {sorted(INPUT_KINDS)})")
    return INPUT_KINDS[model]


def candidate_models(training: dict[str, Any]) -> list[str]:
    """The models a fold may train: ``training.model``, or with ``auto`` every model of
    ``training.selection.models`` (each checked to be known, none twice)."""
    model = str(training.get("model", default("training.model")))
    if model != AUTO:
        input_kind(model)
        return [model]
    models = [str(m) for m in (training.get("selection") or {}).get("models", default("training.selection.models"))]
    if not models:
        raise ConfigError("training.selection.models: model auto needs at least one candidate model")
    for m in models:
        if m == AUTO:
            raise ConfigError("training.selection.models: list model names, not auto")
        input_kind(m)
    if len(set(models)) < len(models):
        raise ConfigError(f"training.selection.models: {models} names a model twice")
    return models


def input_kinds(training: dict[str, Any]) -> list[str]:
    """Every input kind the candidate models read (:func:`candidate_models`), in their order,
    once each: what ``build_inputs`` packs."""
    return list(dict.fromkeys(input_kind(m) for m in candidate_models(training)))


def kind_stores(kind: str, training: dict[str, Any]) -> tuple[str, ...]:
    """The per-sample stores a kind is read from: ``flow`` (the flow stage's store, or a
    precomputed flow image), ``clip`` (the grey TIM / magnified clip) and ``faces`` (the
    face stage's aligned crops of the sample's video)."""
    if kind == "lbptop":
        return ("clip",)
    if kind == "sequence_grey":
        return ("flow", "clip")
    if kind == "flow_field" and (training.get("flow_svm") or {}).get("source", "flow") == "faces":
        return ("faces",)
    return ("flow",)


def needs_all_pairs(training: dict[str, Any]) -> bool:
    """Whether a candidate reads the flow of every frame (a sequence model), not only the
    onset -> apex pair."""
    return any(k.startswith("sequence") for k in input_kinds(training))
