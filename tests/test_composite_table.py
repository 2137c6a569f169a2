"""The README's composite table is the benchmark's: its pooled row and its baseline row are the
latest 68-fold rows of benchmarks/composite_trials.csv (the file bench_recognition.py appends
every run to), for the configuration config/megc2019_flow.yaml holds."""

from __future__ import annotations

import csv
import json
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))


def table_problems(readme: str, trials: list[dict[str, str]]) -> list[str]:
    """What in the README's recognition block does not match the trials file."""
    from bench_recognition import BASELINE, MARK, composite_config, dataset_section

    block = readme.split(MARK[0], 1)[1].split(MARK[1], 1)[0]
    training = {k: v for k, v in dataset_section(composite_config(), "training").items() if k not in ("device", "threads")}
    full = [r for r in trials if r["protocol"].startswith("68-fold")]
    runs = [r for r in full if json.loads(r["training"]) == training]
    if not runs:
        return [f"no 68-fold row of the trials file has the configuration of config/megc2019_flow.yaml: {training}"]
    r = runs[-1]
    problems = []
    pooled = re.search(r"^\| \*\*pooled \(MEGC 2019\)\*\* \| (\d+) \| ([\d.]+) ± ([\d.]+) \| ([\d.]+) ± ([\d.]+) \| ([\d.]+) \| ([\d.]+) \|$", block, re.M)
    if pooled is None:
        return ["the README block has no pooled row"]
    want = (r["n"], r["uf1"], r["uf1_std"], r["uar"], r["uar_std"], r["ensemble_uf1"], r["ensemble_uar"])
    if pooled.groups() != want:
        problems.append(f"pooled row {pooled.groups()} is not the latest run's {want}")
    if f"seeds {training['seeds']}" not in block:
        problems.append(f"the block does not give the seeds {training['seeds']}")
    from bench_recognition import PUBLISHED

    ref_uf1, ref_uar = PUBLISHED["STSTNet (Liong et al. 2019)"]
    against = (f"mean over seeds {float(r['uf1']) - ref_uf1:+.4f} UF1, {float(r['uar']) - ref_uar:+.4f} UAR; "
               f"seed ensemble {float(r['ensemble_uf1']) - ref_uf1:+.4f} UF1, {float(r['ensemble_uar']) - ref_uar:+.4f} UAR.")
    if f"Against the published STSTNet figure: {against}" not in block:
        problems.append(f"the comparison with the published figure is not {against}")
    base = [b for b in full if json.loads(b["training"]) == BASELINE]
    row = re.search(r"^\| pooled, flow \+ linear SVM \(baseline\)[^|]*\| (\d+) \| ([\d.]+) \| ([\d.]+) \|", block, re.M)
    if base and (row is None or row.groups() != (base[-1]["n"], base[-1]["uf1"], base[-1]["uar"])):
        problems.append(f"baseline row {row.groups() if row else None} is not the trials file's {base[-1]['uf1']} / {base[-1]['uar']}")
    return problems


def test_readme_composite_table_is_the_latest_run_of_the_configuration():
    readme = (REPO / "README.md").read_text()
    trials = list(csv.DictReader((REPO / "benchmarks/composite_trials.csv").open()))
    assert table_problems(readme, trials) == []
    # the paired failing case: a figure edited by hand no longer matches
    edited = re.sub(r"(\| \*\*pooled \(MEGC 2019\)\*\* \| \d+ \| )[\d.]+", r"\g<1>0.9999", readme)
    assert len(table_problems(edited, trials)) == 1
    worse = readme.replace("Against the published STSTNet figure: mean over seeds -", "Against the published STSTNet figure: mean over seeds +")
    assert worse == readme or len(table_problems(worse, trials)) == 1
