"""The README's semi-synthetic figures (prose, development and test parts) are the ones the benchmark's
CSV files hold: each pooled F1 with its TP / FP / FN, as `bench_spotting_real_video.py` wrote it."""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import REPO

RUNS = {  # CSV -> the spotters the README quotes from it, and whether it spells out TP / FP / FN
    "spotting_real_video_semi_dev_run2.csv": {"default": True, "floor": True, "MDMD": False, "classical": False},
    "spotting_real_video_semi_dev_gain2.csv": {"default": True, "floor": True},
    "spotting_real_video_semi_dev_gain4.csv": {"default": True, "floor": True},
    "spotting_real_video_semi_test.csv": {"default": True, "floor": True, "MDMD": False, "classical": False},
}


SPOTTERS = {"default": "default (learned micro, classical macro)", "floor": "fixed-region flow (floor baseline)",
            "MDMD": "MDMD (MEGC 2020 baseline)", "classical": "classical"}


def _pooled(csv: str) -> dict[str, pd.Series]:
    t = pd.read_csv(REPO / "benchmarks" / csv)
    t = t[t.video == "all"]
    return {name: t[t.spotter == label].iloc[0] for name, label in SPOTTERS.items() if (t.spotter == label).any()}


@pytest.mark.parametrize("csv", sorted(RUNS))
def test_readme_quotes_the_semi_synthetic_csv(csv):
    text = " ".join((REPO / "README.md").read_text().split())
    rows = _pooled(csv)
    for name, labelled in RUNS[csv].items():
        r = rows[name]
        tp, fp, fn = (int(r[c]) for c in ("tp", "fp", "fn"))
        counts = f"TP {tp}, FP {fp}, FN {fn}" if labelled else f"{tp}, {fp}, {fn}"
        assert f"{r.value:.2f} ({counts})" in text, f"{csv}: {name} F1 {r.value:.3f} ({counts}) is not what the README says"


def test_the_test_parts_prose_claims_hold():
    """"ahead of the floor in each of the 4 injection seeds and level with it on one of the three
    real videos" (README, semi-synthetic test part)."""
    t = pd.read_csv(REPO / "benchmarks/spotting_real_video_semi_test.csv")
    t = t[t.what == "semi-synthetic F1"].pivot_table(index="video", columns="spotter", values="value")
    d, f = t[SPOTTERS["default"]], t[SPOTTERS["floor"]]
    seeds = [v for v in t.index if v.startswith("seed ")]
    videos = [v for v in t.index if v != "all" and v not in seeds]
    assert len(seeds) == 4 and (d[seeds] > f[seeds]).all()
    assert len(videos) == 3 and (d[videos] >= f[videos]).all() and int((d[videos] == f[videos]).sum()) == 1
