"""The MEGC 2019 composite recognition benchmark, run through the workflow, timed.

Runs ``results/megc2019_flow_loso_metrics.csv`` -- 68 leave-one-subject-out folds, each one
Snakemake job training every seed of ``config/megc2019_flow.yaml`` on the 442 real onset->apex
flow inputs in ../shared -- in a fresh working directory with ``--cores N`` (default 2), then
prints the wall time, the pooled UF1 / UAR (mean and std over seeds) overall and per source
database, and the published figures it is compared with.

Run: .venv/bin/python benchmarks/bench_recognition.py [--cores 2] [--model ststnet] [--keep DIR] [--dry-run]
(``--dry-run``: only plan the jobs, ``snakemake -n``, and print their count; the README test uses it.)
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import yaml

REPO = Path(__file__).resolve().parents[1]
PUBLISHED = {"STSTNet (Liong et al. 2019)": (0.7353, 0.7605), "OFF-ApexNet (Gan et al. 2019)": (0.7196, 0.7096), "CapsuleNet (Van Quang et al. 2019)": (0.6520, 0.6506)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--model", help="override training.model")
    ap.add_argument("--keep", help="working directory to use and keep (default: a temporary one)")
    ap.add_argument("--dry-run", action="store_true", help="plan the jobs (snakemake -n) and print their count; train nothing")
    a = ap.parse_args()
    cfg = yaml.safe_load((REPO / "config/megc2019_flow.yaml").read_text())
    ds = cfg["datasets"]["megc2019_flow"]
    for entry in (ds, *ds.get("sources", {}).values()):  # the config's paths are relative to the repository
        for key in ("root", "annotations"):
            if key in entry:
                entry[key] = str((REPO / entry[key]).resolve())
    if a.model:
        cfg["training"]["model"] = a.model
    wd = Path(a.keep) if a.keep else Path(tempfile.mkdtemp(prefix="mexp-bench-"))
    (wd / "config").mkdir(parents=True, exist_ok=True)
    (wd / "config/config.yaml").write_text(yaml.safe_dump(cfg))
    target = "results/megc2019_flow_loso_metrics.csv"
    cmd = [str(Path(sys.executable).parent / "snakemake"), "-s", str(REPO / "Snakefile"), "-d", str(wd), "--cores", str(a.cores), "--quiet", "all", "--", target]
    if a.dry_run:
        cmd.insert(1, "-n")
    t0 = time.perf_counter()
    run = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
    wall = time.perf_counter() - t0
    if run.returncode != 0:
        print(run.stdout[-3000:], run.stderr[-3000:], file=sys.stderr)
        return 1
    if a.dry_run:
        jobs = re.search(r"^total\s+(\d+)$", run.stdout + run.stderr, re.M)
        print(f"dry run in {wd}: {jobs.group(1) if jobs else 0} jobs planned for {target}")
        if not a.keep:
            shutil.rmtree(wd)
        return 0
    table = pd.read_csv(wd / target, dtype={"fold": str})
    pooled = table[table.fold == "all"].set_index("dataset")
    t = cfg["training"]
    print(f"model {t['model']}: {t['epochs']} epochs, batch {t['batch_size']}, lr {t['lr']}, seeds {t['seeds']} (fixed schedule, leak-free)")
    print(f"68 folds x {len(t['seeds'])} seeds with --cores {a.cores}: {wall / 60:.1f} min wall")
    for ds, r in pooled.iterrows():
        print(f"  {ds:7s} n={int(r.n):3d}  UF1 {r.uf1:.4f} ± {r.uf1_std:.4f}   UAR {r.uar:.4f} ± {r.uar_std:.4f}   (mean ± std over seeds)")
    for name, (uf1, uar) in PUBLISHED.items():
        print(f"  published {name}: UF1 {uf1:.4f}  UAR {uar:.4f}")
    if not a.keep:
        shutil.rmtree(wd)
    return 0


if __name__ == "__main__":
    sys.exit(main())
