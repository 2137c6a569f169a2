"""Class sets: how sheet emotions map to the classes a recognition protocol uses.

A sample whose emotion is not in the chosen set is excluded and counted in a report.
"""

from __future__ import annotations

import pandas as pd

from mexp_lib.errors import ConfigError

# MEGC 2019 composite: negative = {anger, contempt, disgust, fear, repression, sadness}.
_NEG = ["anger", "contempt", "disgust", "fear", "repression", "sadness", "sad", "negative"]
CLASS_SETS: dict[str, dict[str, str]] = {
    "composite3": {
        **{e: "negative" for e in _NEG},
        "happiness": "positive", "happy": "positive", "positive": "positive",
        "surprise": "surprise",
    },
    "casme2_5": {e: e for e in ["happiness", "disgust", "repression", "surprise", "others"]},
    "samm_5": {"anger": "anger", "contempt": "contempt", "happiness": "happiness", "surprise": "surprise", "other": "other"},
    "binary": {**{e: "negative" for e in _NEG}, "happiness": "positive", "happy": "positive", "positive": "positive"},
}


def class_names(mapping: dict[str, str]) -> list[str]:
    """The classes of a mapping, in first-appearance order."""
    return list(dict.fromkeys(mapping.values()))


def resolve_class_set(name_or_mapping: str | dict[str, str]) -> dict[str, str]:
    """A built-in class set by name, or a user mapping ``{emotion: class}`` from config."""
    if isinstance(name_or_mapping, dict):
        return {str(k).lower(): str(v) for k, v in name_or_mapping.items()}
    if name_or_mapping not in CLASS_SETS:
        raise ConfigError(f"recognition.class_set: unknown class set {name_or_mapping!r} (known: {sorted(CLASS_SETS)})")
    return CLASS_SETS[name_or_mapping]


def apply_class_set(samples: pd.DataFrame, mapping: dict[str, str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Add a ``label`` column; return (kept samples, excluded counts per emotion)."""
    emo = samples["emotion"].astype(str).str.lower().str.strip()
    label = emo.map(mapping)
    kept = samples.loc[label.notna()].copy()
    kept["label"] = label[label.notna()].values
    excl = emo[label.isna()].value_counts().rename_axis("emotion").reset_index(name="excluded")
    return kept.reset_index(drop=True), excl
