"""The SLURM profile against a real single-node SLURM (slurmctld, slurmd, slurmdbd on MariaDB,
munge), started and stopped by the test: the tiny workflow runs through `--profile
profiles/slurm`, sacct lists its jobs COMPLETED, and its metric tables equal those of the local
run of the same config (the session's ``tiny_run``)."""

import subprocess

import pytest
from slurm_cluster import Cluster, available
from workflow_runner import REPO, SNAKEMAKE, tiny_workdir

TARGETS = ["results/demo_loso_metrics.csv", "results/demo_spotting_metrics.csv"]

pytestmark = [pytest.mark.slurm, pytest.mark.slow]


def _job_logs(wd, cluster) -> str:
    """The SLURM job logs and the daemons' log tails, for a failure message: the executor's own
    message only says the job FAILED."""
    parts = [f"--- {p}\n{p.read_text(errors='replace')[-3000:]}" for p in sorted((wd / ".snakemake/slurm_logs").rglob("*.log"))]
    parts += [f"--- {p}\n{p.read_text(errors='replace')[-3000:]}" for p in sorted((cluster.root / "log").glob("slurm*.log"))]
    return "\n".join(parts)


def test_profile_runs_the_workflow_on_a_real_slurm(tmp_path, tiny_run):
    why = available()
    if why is not None:  # never skipped silently: `make test` installs what it needs
        pytest.fail(f"the SLURM test cannot run here: {why}")
    cluster = Cluster(tmp_path / "c").start()
    try:
        wd = tiny_workdir(tmp_path / "slurm")
        out = subprocess.run([SNAKEMAKE, "-s", str(REPO / "Snakefile"), "-d", str(wd), "--profile", str(REPO / "profiles/slurm"),
                              "--slurm-init-seconds-before-status-checks", "5", *TARGETS], capture_output=True, text=True, env=cluster.env, cwd=REPO)
        assert out.returncode == 0, f"{out.stdout[-3000:]}\n{out.stderr[-5000:]}\n{_job_logs(wd, cluster)}"
        acct = cluster.run("sacct", "-X", "-n", "-P", "-a", "-o", "JobID,JobName,State,AllocTRES").stdout.strip().splitlines()
        rows = [r.split("|") for r in acct]
        assert len(rows) >= 5, acct
        assert all(r[2] == "COMPLETED" for r in rows), acct
        assert any("gres/gpu=1" in r[3] for r in rows), "training asked for a GPU"
        assert sum("gres/gpu" not in r[3] for r in rows) >= 3, "CPU stages ask for none"
    finally:
        cluster.stop()
    assert all(p.poll() is not None for p in cluster.procs.values()), "every daemon stopped"
    local, _ = tiny_run
    for t in TARGETS:
        assert (wd / t).read_text() == (local / t).read_text(), t
