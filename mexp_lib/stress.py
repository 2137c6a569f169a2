"""Stress sweeps: each generative factor varied on its own around a middle setting, and the
worst bucket of every method.

A sweep is a *middle* setting (a dict of generator settings) and, per factor, the values to try.
Each bucket changes one factor from the middle (the middle itself is a bucket too), so a method's
weakness shows as the bucket where it falls, not as an average over all of them. The recognition
and the spotting stress benchmarks (``benchmarks/bench_*_stress.py``) share this module: they
render one dataset per bucket and part, run every method on it, and hand the rows to
:func:`bucket_table`, :func:`margins` and :func:`worst_bucket`.

A run row holds at least ``part``, ``bucket``, ``method`` and the score column; a ``<score>_std``
column (the spread over seeds; 0 or missing for deterministic methods) is used by
:func:`margins` to tell a loss from noise.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from mexp_lib.errors import ConfigError

MIDDLE = "middle"


@dataclass(frozen=True)
class Bucket:
    """One rendered condition: ``factor`` (or ``"middle"``) set to ``value``; ``settings`` is the
    middle setting with that one change."""

    factor: str
    value: Any
    settings: dict[str, Any] = field(compare=False, hash=False)

    @property
    def name(self) -> str:
        """``middle`` or ``factor=value`` (lists written ``a-b``), the bucket's key in tables."""
        if self.factor == MIDDLE:
            return MIDDLE
        value = "-".join(str(v) for v in self.value) if isinstance(self.value, list | tuple) else str(self.value)
        return f"{self.factor}={value}"


def sweep_buckets(middle: Mapping[str, Any], factors: Mapping[str, Sequence[Any]]) -> list[Bucket]:
    """The middle bucket, then, factor by factor, one bucket per value that differs from the middle's.

    Every factor must be a key of ``middle`` (a typo would otherwise sweep nothing)."""
    unknown = sorted(set(factors) - set(middle))
    if unknown:
        raise ConfigError(f"stress factors {unknown} are not settings of the middle bucket ({sorted(middle)})")
    out = [Bucket(MIDDLE, None, dict(middle))]
    for factor, values in factors.items():
        for value in values:
            if value == middle[factor]:
                continue
            out.append(Bucket(factor, value, {**middle, factor: value}))
    names = [b.name for b in out]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ConfigError(f"stress buckets listed twice: {dupes}")
    return out


def select_buckets(buckets: Sequence[Bucket], names: Sequence[str] | None) -> list[Bucket]:
    """The buckets named (all when ``names`` is empty or None); an unknown name is an error
    listing the known ones."""
    if not names:
        return list(buckets)
    known = {b.name: b for b in buckets}
    missing = [n for n in names if n not in known]
    if missing:
        raise ConfigError(f"unknown stress bucket(s) {missing}; known: {list(known)}")
    return [known[n] for n in names]


def latest_mask(runs: pd.DataFrame) -> np.ndarray:
    """Per row of ``runs``: whether it is the run shown for its part, bucket and method -- the
    one over the most seeds (``seeds`` column; the later row on ties)."""
    runs = runs.reset_index(drop=True)
    if runs.empty:
        return np.zeros(0, dtype=bool)
    seeds = runs["seeds"].fillna(1).to_numpy() if "seeds" in runs else np.ones(len(runs))
    order = np.lexsort((np.arange(len(runs)), seeds))  # by seeds, then by position
    keys = [c for c in ("part", "bucket", "method") if c in runs]
    return np.asarray(runs.index.isin(runs.iloc[order].drop_duplicates(keys, keep="last").index))


def latest_runs(runs: pd.DataFrame) -> pd.DataFrame:
    """One run per bucket and method (:func:`latest_mask`), so a bucket rerun with more seeds
    replaces its one-seed run in every table and worst-bucket line, whichever file listed it
    first. Rows keep their order."""
    return runs.reset_index(drop=True)[latest_mask(runs)].reset_index(drop=True)


def bucket_table(runs: pd.DataFrame, *, score: str) -> pd.DataFrame:
    """Bucket x method table of ``score`` (one part's rows), buckets in the order they first
    appear; a missing run is NaN."""
    order = list(dict.fromkeys(runs["bucket"]))
    methods = list(dict.fromkeys(runs["method"]))
    table = runs.pivot_table(index="bucket", columns="method", values=score, aggfunc="last")
    return table.reindex(index=order, columns=methods)


def margins(runs: pd.DataFrame, *, method: str, baseline: str, score: str) -> pd.DataFrame:
    """Per bucket: ``method``'s and ``baseline``'s score, ``margin`` = method - baseline, the
    seed ``spread`` (the larger of the two ``<score>_std``, 0 when absent) and ``loses``: the
    margin is below minus the spread. Buckets where either run is missing are left out."""
    std = f"{score}_std"
    rows = []
    for bucket, g in runs.groupby("bucket", sort=False):
        a, b = g[g.method == method], g[g.method == baseline]
        if a.empty or b.empty:
            continue
        sa, sb = float(a[score].iloc[-1]), float(b[score].iloc[-1])
        spreads = [float(x[std].iloc[-1]) for x in (a, b) if std in x and np.isfinite(x[std].iloc[-1])]
        spread = max(spreads, default=0.0)
        rows.append({"bucket": bucket, method: sa, baseline: sb, "margin": sa - sb, "spread": spread, "loses": sa - sb < -spread})
    return pd.DataFrame(rows, columns=["bucket", method, baseline, "margin", "spread", "loses"])


def worst_bucket(runs: pd.DataFrame, *, method: str, score: str) -> tuple[str, float]:
    """The bucket where ``method`` scores lowest (the first such bucket on ties) and that score."""
    g = runs[runs.method == method].dropna(subset=[score])
    if g.empty:
        raise ValueError(f"no runs of {method!r} with a {score}")
    i = int(np.argmin(g[score].to_numpy()))
    return str(g["bucket"].iloc[i]), float(g[score].iloc[i])


def worst_bucket_lines(runs: pd.DataFrame, *, methods: Sequence[str], score: str, label: str | None = None) -> list[str]:
    """One line per method: its worst bucket and score (methods without runs are skipped)."""
    label = label or score
    out = []
    for m in methods:
        if not (runs.method == m).any():
            continue
        bucket, value = worst_bucket(runs, method=m, score=score)
        out.append(f"worst bucket of {m}: {bucket} ({label} {value:.3f})")
    return out
