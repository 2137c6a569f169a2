"""Running the workflow from tests: the snakemake command, the tiny config's work folder, and
a dry run's job counts (shared by the workflow, report and SLURM tests)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = str(Path(sys.executable).parent / "snakemake")


def snakemake(workdir: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run the repository's workflow in ``workdir`` on 2 cores; fail with its output tails."""
    cmd = [SNAKEMAKE, "-s", str(REPO / "Snakefile"), "-d", str(workdir), "--cores", "2", *args]
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
    if check and out.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed:\n{out.stdout[-4000:]}\n{out.stderr[-4000:]}")
    return out


def planned_jobs(out: str) -> dict[str, int]:
    """Rule -> job count from a dry run's 'Job stats' table."""
    table = out.split("Job stats:")[1].split("total")[0]
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.M)}


def tiny_workdir(root: Path) -> Path:
    """A work folder whose config/config.yaml is the tiny test config."""
    (root / "config").mkdir(parents=True)
    shutil.copy(REPO / "tests/configs/tiny.yaml", root / "config/config.yaml")
    return root
