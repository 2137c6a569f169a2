"""The SLURM profile against a real single-node SLURM (slurmctld, slurmd, slurmdbd on MariaDB,
munge), started and stopped by the test: the tiny workflow runs through `--profile
profiles/slurm`, sacct lists its jobs COMPLETED, and its metric tables equal a local run's."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from slurm_cluster import Cluster, available

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = str(Path(sys.executable).parent / "snakemake")
TARGETS = ["results/demo_loso_metrics.csv", "results/demo_spotting_metrics.csv"]

pytestmark = [pytest.mark.slurm, pytest.mark.slow]


def _workdir(root: Path) -> Path:
    (root / "config").mkdir(parents=True)
    shutil.copy(REPO / "tests/configs/tiny.yaml", root / "config/config.yaml")
    return root


def test_profile_runs_the_workflow_on_a_real_slurm(tmp_path):
    why = available()
    if why is not None:  # never skipped silently: `make test` installs what it needs
        pytest.fail(f"the SLURM test cannot run here: {why}")
    cluster = Cluster(tmp_path / "c").start()
    try:
        wd = _workdir(tmp_path / "slurm")
        out = subprocess.run([SNAKEMAKE, "-s", str(REPO / "Snakefile"), "-d", str(wd), "--profile", str(REPO / "profiles/slurm"),
                              "--slurm-init-seconds-before-status-checks", "5", *TARGETS], capture_output=True, text=True, env=cluster.env, cwd=REPO)
        assert out.returncode == 0, f"{out.stdout[-3000:]}\n{out.stderr[-5000:]}"
        acct = cluster.run("sacct", "-X", "-n", "-P", "-a", "-o", "JobID,JobName,State,AllocTRES").stdout.strip().splitlines()
        rows = [r.split("|") for r in acct]
        assert len(rows) >= 5, acct
        assert all(r[2] == "COMPLETED" for r in rows), acct
        assert any("gres/gpu=1" in r[3] for r in rows), "training asked for a GPU"
        assert sum("gres/gpu" not in r[3] for r in rows) >= 3, "CPU stages ask for none"
    finally:
        cluster.stop()
    assert all(p.poll() is not None for p in cluster.procs.values()), "every daemon stopped"
    local = _workdir(tmp_path / "local")
    out = subprocess.run([SNAKEMAKE, "-s", str(REPO / "Snakefile"), "-d", str(local), "--cores", "2", *TARGETS], capture_output=True, text=True, cwd=REPO)
    assert out.returncode == 0, out.stderr[-3000:]
    for t in TARGETS:
        assert (wd / t).read_text() == (local / t).read_text(), t
