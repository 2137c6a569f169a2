"""A config mistake is one line naming the key; a broken dataset entry stops only its own
targets; `make lint` passes with the documented conda-environment lint and fails on others."""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml
from workflow_runner import REPO, planned_jobs, snakemake


def _workdir(tmp_path, cfg):
    (tmp_path / "config").mkdir(parents=True)
    (tmp_path / "config/config.yaml").write_text(yaml.safe_dump(cfg))
    return tmp_path


@pytest.mark.parametrize("edit, line", [
    ({"trainig": {"epochs": 3}}, "mexp: error: config: trainig: unknown key (did you mean 'training'?)"),
    ({"flow": {"methd": "dis"}}, "mexp: error: config: flow.methd: unknown key (did you mean 'method'?)"),
    ({"face": {"size": "big"}}, "mexp: error: config: face.size: 'big' is not of type 'integer'"),
])
def test_config_typo_is_one_line_naming_the_key(tmp_path, edit, line):
    cfg = yaml.safe_load((REPO / "tests/configs/tiny.yaml").read_text())
    for k, v in edit.items():
        cfg[k] = {**cfg.get(k, {}), **v}
    out = snakemake(_workdir(tmp_path, cfg), "-n", check=False)
    assert out.returncode != 0
    lines = [x for x in (out.stdout + out.stderr).splitlines() if not x.startswith("Using workflow specific profile")]
    assert lines == [line], lines  # Snakemake's own validate printed 1,600 lines for a typo
    assert not (tmp_path / "results").exists()


def test_broken_dataset_stops_only_its_own_targets(tmp_path):
    cfg = yaml.safe_load((REPO / "tests/configs/tiny.yaml").read_text())
    cfg["datasets"]["broken"] = {"format": "casme2", "annotations": str(tmp_path / "no_such_sheet.xlsx")}
    wd = _workdir(tmp_path / "work", cfg)
    out = snakemake(wd, "-n")  # the default target: the other dataset's jobs, a warning naming the broken one
    text = out.stdout + out.stderr
    assert f"mexp: warning: datasets.broken: {tmp_path / 'no_such_sheet.xlsx'}: annotation file not found (its targets are left out)" in text
    assert planned_jobs(text)["train_fold"] == 3 and "broken" not in text.split("Job stats:")[1]
    assert snakemake(wd, "-n", "results/demo_spotting_metrics.csv").returncode == 0
    for target in ("results/broken_loso_metrics.csv", "results/broken_spotting_metrics.csv"):
        bad = snakemake(wd, "-n", target, check=False)
        assert bad.returncode != 0
        assert "ConfigError: datasets.broken:" in bad.stdout + bad.stderr and "annotation file not found" in bad.stdout + bad.stderr


def test_lint_passes_with_the_documented_warning_only(tmp_path):
    """`make lint` runs workflow/lint.py: snakemake --lint exits 1 on the conda lint the Snakefile
    documents; the wrapper passes that and nothing else."""
    out = subprocess.run([sys.executable, "workflow/lint.py"], capture_output=True, text=True, cwd=REPO)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "all the documented one: Specify a conda environment or container for each rule." in out.stdout
    other = tmp_path / "Snakefile"  # a rule with no log: another lint, which must fail
    other.write_text('rule a:\n    output: "x"\n    shell: "touch {output}"\n')
    bad = subprocess.run([sys.executable, str(REPO / "workflow/lint.py"), "-s", str(other), "-d", str(tmp_path)], capture_output=True, text=True, cwd=tmp_path)
    assert bad.returncode != 0 and "lints other than the documented one" in bad.stderr, bad.stderr[-2000:]
