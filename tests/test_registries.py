"""One registry per name list: the schema's enums of model names, dataset formats and spotters
are the registries' names (mexp_lib.recognition.kinds.INPUT_KINDS, mexp_lib.datasets.load.FORMATS,
mexp_lib.spotting.settings), and every registered name has what it needs (a model its builder
or its SVM, a format its loader, a spotter its place in the code). A name added in one place
and not the others fails here."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

from mexp_lib.config import load_schema
from mexp_lib.errors import ConfigError

SCHEMA = load_schema()["properties"]


def enum(*path: str) -> list[str]:
    """The enum of the schema node at ``path`` (``items`` followed for an array)."""
    node: Any = SCHEMA
    for i, part in enumerate(path):
        node = node[part] if i == 0 else node["properties"][part]
    node = node.get("items", node)
    return list(node["enum"])


def registry_problems(names: list[str], registry: list[str], what: str) -> list[str]:
    """How an enum and a registry differ (order aside), one line each."""
    return [f"{what}: {n!r} is in the schema only" for n in names if n not in registry] + \
        [f"{what}: {n!r} is in the registry only" for n in registry if n not in names] + \
        [f"{what}: {n!r} twice" for n in {n for n in names if names.count(n) > 1}]


def test_registry_problems_names_each_difference():
    """The paired failing case: a name added to the schema or the registry alone is caught."""
    assert registry_problems(["a", "b"], ["b", "a"], "x") == []
    assert registry_problems(["a", "b", "c"], ["a", "b"], "x") == ["x: 'c' is in the schema only"]
    assert registry_problems(["a"], ["a", "d"], "x") == ["x: 'd' is in the registry only"]
    assert registry_problems(["a", "a"], ["a"], "x") == ["x: 'a' twice"]


# --- models -------------------------------------------------------------------------------------

def test_model_enums_are_the_model_registry():
    from mexp_lib.recognition.kinds import AUTO, INPUT_KINDS

    assert registry_problems(enum("training", "model"), [AUTO, *INPUT_KINDS], "training.model") == []
    assert registry_problems(enum("training", "selection", "models"), list(INPUT_KINDS), "training.selection.models") == []
    assert SCHEMA["training"]["properties"]["model"]["default"] == AUTO
    assert set(SCHEMA["training"]["properties"]["selection"]["properties"]["models"]["default"]) <= set(INPUT_KINDS)


def test_every_model_is_a_network_builder_or_an_svm():
    from mexp_lib.models import BUILDERS, build_model
    from mexp_lib.recognition.kinds import INPUT_KINDS, SVM_MODELS

    assert registry_problems(sorted(BUILDERS), sorted(set(INPUT_KINDS) - set(SVM_MODELS)), "mexp_lib.models.BUILDERS") == []
    assert set(SVM_MODELS) <= set(INPUT_KINDS)
    for name in SVM_MODELS:
        with pytest.raises(ConfigError, match="linear SVM"):
            build_model(name, num_classes=3)
    with pytest.raises(ConfigError, match="unknown model"):
        build_model("ststnet2", num_classes=3)


# The input each kind packs for one sample at input_size 28 (mexp_lib.recognition.kinds), T = 4.
KIND_SHAPES = {"apex": (3, 28, 28), "sequence": (4, 3, 28, 28), "sequence_grey": (4, 4, 28, 28)}


@pytest.mark.parametrize("name", sorted(__import__("mexp_lib.models", fromlist=["BUILDERS"]).BUILDERS))
def test_every_registered_network_builds_and_reads_its_kind(name):
    """Each network builds with the default options and maps a batch of the input its kind
    names to one logit per class (the frame-voting network: per frame)."""
    from mexp_lib.models import build_model
    from mexp_lib.recognition.kinds import input_kind

    model = build_model(name, num_classes=3, size=28).eval()
    with torch.no_grad():
        out = model(torch.zeros(2, *KIND_SHAPES[input_kind(name)]))
    assert out.shape[0] == 2 and out.shape[-1] == 3 and np.isfinite(out.numpy()).all(), (name, out.shape)


def test_candidate_models_default_comes_from_the_schema():
    from mexp_lib.recognition.kinds import candidate_models

    assert candidate_models({}) == SCHEMA["training"]["properties"]["selection"]["properties"]["models"]["default"]
    with pytest.raises(ConfigError, match="unknown model 'ststnet2'"):
        candidate_models({"model": "auto", "selection": {"models": ["ststnet2"]}})


# --- dataset formats ------------------------------------------------------------------------------

def test_format_enum_is_the_format_registry():
    from mexp_lib.datasets.load import FORMATS

    names = SCHEMA["datasets"]["additionalProperties"]["properties"]["format"]["enum"]
    assert registry_problems(names, list(FORMATS), "datasets.<name>.format") == []


@pytest.mark.parametrize("fmt", list(__import__("mexp_lib.datasets.load", fromlist=["FORMATS"]).FORMATS))
def test_every_format_has_a_loader(fmt, tmp_path):
    """Each format reaches its own loader: an entry without its sheet stops in that loader (a
    missing sheet or folder named), never at 'unknown format'."""
    from mexp_lib.datasets import load_dataset
    from mexp_lib.errors import DataError

    entry = {"format": fmt, "root": str(tmp_path / "none"), "annotations": str(tmp_path / "none.csv"), "fps": 30.0}
    with pytest.raises((ConfigError, DataError, FileNotFoundError)) as err:
        load_dataset("d", entry)
    assert "unknown format" not in str(err.value), str(err.value)
    with pytest.raises(ConfigError, match="unknown format 'casme4'"):
        load_dataset("d", entry | {"format": "casme4"})


# --- spotters -------------------------------------------------------------------------------------

def test_spotter_enums_are_the_spotter_registry():
    from mexp_lib.spotting.settings import SELECT, SELECT_CANDIDATES, SPOTTERS

    assert registry_problems(enum("spotting", "spotter"), [SELECT, *SPOTTERS], "spotting.spotter") == []
    assert registry_problems(enum("spotting", "select_from"), list(SELECT_CANDIDATES), "spotting.select_from") == []
    assert set(SCHEMA["spotting"]["properties"]["select_from"]["default"]) <= set(SELECT_CANDIDATES)


def test_every_spotter_and_candidate_runs_as_a_spotter():
    """Each spotter is classical or learned; each candidate of select spots as a registered
    spotter; an unregistered name is refused."""
    from mexp_lib.spotting.settings import SELECT, SELECT_CANDIDATES, SPOTTERS, is_learned
    from mexp_lib.spotting.stage import candidate

    assert [is_learned({"spotter": s}) for s in SPOTTERS] == [False, True, True]
    assert is_learned({"spotter": SELECT}) is False
    scores = {"v": {"numbers": np.arange(5), "fps": 30.0, "k_micro": 1, "k_macro": 2, "micro": np.zeros(5), "macro": np.zeros(5),
                    "floor_micro": np.ones(5), "floor_macro": np.ones(5)}}
    for name in SELECT_CANDIDATES:
        sc, cfg = candidate(scores, {"spotter": SELECT}, name)
        assert cfg["spotter"] in SPOTTERS, name
        assert (sc["v"]["micro"] == (1 if name == "floor" else 0)).all(), name
    with pytest.raises(ConfigError, match="spotting.spotter"):
        is_learned({"spotter": "learnt"})
