"""The spotting section's settings and the definitions every spotting module shares: the
expression types, the spotters, the half-window in frames and the face's grid of cells."""

from __future__ import annotations

from typing import Any

import numpy as np

from mexp_lib.config import settings
from mexp_lib.errors import ConfigError

TYPES = ("macro", "micro")


def half_window(fps: float, k_seconds: float, frames: int | None = None) -> int:
    """k in frames for a frame rate and a half-window in seconds (at least 1). With ``frames``
    (the video's length), at most ``frames // 4``: a frame is scored against the frames k before
    and after it, so only frames k .. frames - k - 1 have a score, and a video shorter than four
    windows -- a clip of a few seconds against the macro window's 2 x 1.2 s -- would have no
    score, or one over a few frames around its middle, and its expressions could only come out
    as the other type. Capped, its middle half is scored. A video of 4 k frames or more keeps k."""
    k = max(1, int(round(fps * k_seconds)))
    return k if frames is None else max(1, min(k, frames // 4))


def grid_edges(size: int, grid: int) -> np.ndarray:
    """Pixel edges (grid + 1,) of the ``grid`` x ``grid`` cells of a ``size`` px face."""
    return np.linspace(0, size, grid + 1).round().astype(int)


# The registry of spotters: the values of spotting.spotter are SELECT and SPOTTERS; spotter
# select chooses per fold among SELECT_CANDIDATES (spotting.select_from, mexp_lib.spotting.select):
# the spotters it can stand for and ``floor`` (the fixed-region scores of
# mexp_lib.spotting.baseline, spotted by the classical spotter). The schema's enums are checked
# against these (tests/test_registries.py): a spotter is added here and in the schema together.
SPOTTERS = ("classical", "learned", "two_stage")
SELECT = "select"
SELECT_CANDIDATES = ("learned", "classical", "floor")
# Keys the workflow adds to the spotting section for spot-then-recognise (not config keys).
EXTRA_KEYS = ("classes", "class_mapping")


def spotting_settings(cfg: dict[str, Any] | None) -> dict[str, Any]:
    """The ``spotting`` section with the schema's defaults filled in (:func:`mexp_lib.config.settings`)."""
    return settings("spotting", cfg, passthrough=EXTRA_KEYS)


def is_learned(cfg: dict[str, Any]) -> bool:
    """Whether the config's spotter trains a network (``learned`` or ``two_stage``; ``select``
    chooses one per fold, :mod:`mexp_lib.spotting.select`: not itself)."""
    spotter = cfg["spotter"]
    if spotter == SELECT:
        return False
    if spotter not in SPOTTERS:
        raise ConfigError(f"spotting.spotter must be one of {(SELECT, *SPOTTERS)}, not {spotter!r}")
    return spotter != "classical"


def type_ratio_of(cfg: dict[str, Any]) -> float | None:
    """The micro/macro scale test's ratio, or None for a learned spotter or ``type_ratio: null``
    (type-specific scores: no scale test)."""
    ratio = cfg["type_ratio"]
    return None if is_learned(cfg) or ratio is None else float(ratio)


def post_options(cfg: dict[str, Any]) -> dict[str, Any]:
    """The post-processing keywords of :func:`spot_all` a spotting config sets."""
    return {"smooth": int(cfg["smooth"]), "type_ratio": type_ratio_of(cfg), "merge_iou": float(cfg["merge_iou"]),
            "floor_unit": str(cfg["floor_unit"]), "type_by": str(cfg["type_by"]), "micro_max": float(cfg["micro_max"])}
