"""Class sets: how a sample's emotion (or objective class) maps to the classes a protocol uses.

A sample whose emotion is not in the chosen set is excluded and counted in a report, never
silently lost. Built-in sets (config ``recognition.class_set``):

==================  ==========================================================================
composite3          MEGC 2019: negative (anger, contempt, disgust, fear, repression, sadness),
                    positive (happiness), surprise; "others" excluded
casme2_5            CASME II 5-class: happiness, disgust, repression, surprise, others
samm_5              SAMM 5-class: anger, contempt, happiness, surprise, other
binary              negative vs positive
objective           objective classes I..VII (CASME II/SAMM write 1..7, CAS(ME)^3 I..VII)
objective_5         objective classes I..V (the cross-database protocol of Davison et al. 2018)
casme3_7            CAS(ME)^3 7-class: happy, disgust, fear, anger, sad, surprise, others
casme3_4            CAS(ME)^3 4-class: negative (disgust, fear, anger, sad), positive, surprise, others
casme_sq_objective  CAS(ME)^2's objective emotion of each expression of its long videos
                    (sheet column 6, ``objective_class`` here): negative, positive, surprise, others
==================  ==========================================================================

A user mapping ``{emotion: class}`` in config works too.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from mexp_lib.errors import ConfigError

_NEG = ["anger", "contempt", "disgust", "fear", "repression", "sadness", "sad", "negative"]
_ROMAN = ["I", "II", "III", "IV", "V", "VI", "VII"]


@dataclass(frozen=True)
class ClassSet:
    """A mapping from the values of ``column`` (lower-cased) to class names."""

    name: str
    mapping: dict[str, str]
    column: str = "emotion"

    @property
    def classes(self) -> list[str]:
        """The classes, in first-appearance order of the mapping."""
        return list(dict.fromkeys(self.mapping.values()))


def _objective(n: int) -> dict[str, str]:
    return {**{str(i + 1): _ROMAN[i] for i in range(n)}, **{_ROMAN[i].lower(): _ROMAN[i] for i in range(n)}}


CLASS_SETS: dict[str, ClassSet] = {
    "composite3": ClassSet("composite3", {
        **{e: "negative" for e in _NEG},
        "happiness": "positive", "happy": "positive", "positive": "positive",
        "surprise": "surprise",
    }),
    "casme2_5": ClassSet("casme2_5", {e: e for e in ["happiness", "disgust", "repression", "surprise", "others"]}),
    "samm_5": ClassSet("samm_5", {"anger": "anger", "contempt": "contempt", "happiness": "happiness", "surprise": "surprise", "other": "other"}),
    "binary": ClassSet("binary", {**{e: "negative" for e in _NEG}, "happiness": "positive", "happy": "positive", "positive": "positive"}),
    "objective": ClassSet("objective", _objective(7), "objective_class"),
    "objective_5": ClassSet("objective_5", _objective(5), "objective_class"),
    "casme3_7": ClassSet("casme3_7", {e: e for e in ["happy", "disgust", "fear", "anger", "sad", "surprise", "others"]}),
    "casme3_4": ClassSet("casme3_4", {
        **{e: "negative" for e in ["disgust", "fear", "anger", "sad"]}, "happy": "positive", "surprise": "surprise", "others": "others",
    }),
    "casme_sq_objective": ClassSet("casme_sq_objective", {e: e for e in ["negative", "positive", "surprise", "others"]}, "objective_class"),
}


def resolve_class_set(name_or_mapping: str | dict[str, str]) -> ClassSet:
    """A built-in class set by name, or a user mapping ``{emotion: class}`` from config."""
    if isinstance(name_or_mapping, dict):
        return ClassSet("custom", {str(k).lower(): str(v) for k, v in name_or_mapping.items()})
    if name_or_mapping not in CLASS_SETS:
        raise ConfigError(f"recognition.class_set: unknown class set {name_or_mapping!r} (known: {sorted(CLASS_SETS)})")
    return CLASS_SETS[name_or_mapping]


def apply_class_set(samples: pd.DataFrame, class_set: ClassSet) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Add a ``label`` column; return (kept samples, excluded counts per value of the column)."""
    value = samples[class_set.column].astype(str).str.lower().str.strip()
    label = value.map(class_set.mapping)
    kept = samples.loc[label.notna()].copy()
    kept["label"] = label[label.notna()].values
    excl = value[label.isna()].value_counts().rename_axis(class_set.column).reset_index(name="excluded")
    return kept.reset_index(drop=True), excl
