"""benchmarks/bench_model_auto.py: the composite config it runs and the README table it writes."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

import bench_model_auto as bench  # noqa: E402


def test_the_composite_recipe_with_fixed_epochs_and_auto_candidates():
    """The composite's settings over config/config.yaml, resolved, selection fixed (auto's
    candidate networks keep the composite's epoch grid); auto's candidates are the schema's."""
    cfg = bench.composite_config()
    t = cfg["training"]
    assert t["model"] == "ststnet" and t["input_size"] == 28 and t["selection"]["method"] == "fixed" and t["selection"]["grid"] == {"epochs": [10, 20, 30]}
    assert cfg["datasets"]["megc2019_flow"]["format"] == "precomputed"
    assert bench.composite_config({"training": {"model": "auto"}})["training"]["selection"]["models"] == ["flow_svm", "ststnet"]


def test_readme_table_is_the_trials_file():
    """The README's block is what --readme writes from the trials file (rerun it after a run)."""
    text = (REPO / "README.md").read_text()
    block = text.split(bench.BEGIN, 1)[1].split(bench.END, 1)[0].strip("\n")
    assert block == bench.readme_block(pd.read_csv(REPO / "benchmarks/model_auto_trials.csv")).strip("\n")
