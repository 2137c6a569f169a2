"""The MEGC 2019 composite recognition benchmark, run through the workflow, timed.

Runs ``results/megc2019_flow_loso_metrics.csv`` -- 68 leave-one-subject-out folds, each one
Snakemake job training every seed of ``config/megc2019_flow.yaml`` on the 442 real onset->apex
flow inputs in ../shared -- in a fresh working directory with ``--cores N`` (default 2), then
prints the wall time, the pooled UF1 / UAR (mean ± std over seeds, and the seed ensemble)
overall and per source database, and the published figures it is compared with.
``--readme`` writes that table into README.md between its ``recognition-table`` markers.

``--dev`` is the development protocol the defaults were chosen with: leave-one-subject-out
among the development subjects only (every second subject of each database, sorted; about
half the composite), trained on development subjects alone, in this process -- the other half
of the subjects is never seen while choosing.

Every run, either protocol, appends one row to benchmarks/composite_trials.csv (the
configuration and its result), so a reader sees every configuration tried on the composite.

``--split DIR`` prints a kept run's scores on the development subjects and on the held-out half
separately (the held-out half is the part no design choice saw).

Run: .venv/bin/python benchmarks/bench_recognition.py [--cores 2] [--set training.KEY=VALUE ...] [--readme] [--dev] [--keep DIR] [--split DIR] [--table-from DIR] [--dry-run]
(``--table-from DIR [--readme]``: the table of a run kept with ``--keep DIR``, without training again.)
(``--dry-run``: only plan the workflow's jobs, ``snakemake -n``, and print their count; the README test uses it.)
"""

from __future__ import annotations

import argparse
import csv
import datetime
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from mexp_lib.config import resolve_config
from mexp_lib.datasets.table import read_sample_table
from mexp_lib.plan import DatasetPlan, dataset_plan
from mexp_lib.recognition.pipeline import pooled

REPO = Path(__file__).resolve().parents[1]
TRIALS = REPO / "benchmarks/composite_trials.csv"
TARGET = "results/megc2019_flow_loso_metrics.csv"
PUBLISHED = {"STSTNet (Liong et al. 2019)": (0.7353, 0.7605), "OFF-ApexNet (Gan et al. 2019)": (0.7196, 0.7096), "CapsuleNet (Van Quang et al. 2019)": (0.6520, 0.6506)}
TRIAL_FIELDS = ["time", "commit", "protocol", "training", "n", "folds", "seeds", "uf1", "uf1_std", "uar", "uar_std", "ensemble_uf1", "ensemble_uar", "wall_s", "cpu_s"]
MARK = ("<!-- recognition-table:start (written by benchmarks/bench_recognition.py --readme) -->", "<!-- recognition-table:end -->")
DATASET = "megc2019_flow"


def composite_config() -> dict[str, Any]:
    """config/megc2019_flow.yaml with its paths made absolute (they are relative to the repository)."""
    cfg = yaml.safe_load((REPO / "config/megc2019_flow.yaml").read_text())
    ds = cfg["datasets"]["megc2019_flow"]
    for entry in (ds, *ds.get("sources", {}).values()):
        for key in ("root", "annotations"):
            if key in entry:
                entry[key] = str((REPO / entry[key]).resolve())
    return cfg


def dataset_section(cfg: dict[str, Any], section: str) -> dict[str, Any]:
    """A config section (``recognition``, ``training``) as written for the composite dataset:
    the global section deep-merged with the keys set in the dataset's own entry, no defaults
    filled in (what the trials file records; code that runs the section reads
    :func:`composite_plan`'s)."""
    from mexp_lib.config import deep_merge

    return deep_merge(cfg.get(section) or {}, cfg["datasets"][DATASET].get(section))


def composite_plan(cfg: dict[str, Any], wd: Path) -> DatasetPlan:
    """The composite's plan (:func:`mexp_lib.plan.dataset_plan`: its recognition samples, class
    set, folds, resolved sections) under ``cfg`` resolved as the workflow resolves it
    (:func:`mexp_lib.config.resolve_config`), over the sample table the workflow wrote in ``wd``."""
    return dataset_plan(resolve_config(cfg), DATASET, read_sample_table(wd / "results/samples/megc2019_flow.csv"))


def apply_overrides(cfg: dict[str, Any], sets: list[str]) -> dict[str, Any]:
    """``training.lr=0.01``-style overrides (values parsed as YAML) applied to the config."""
    for s in sets:
        key, _, value = s.partition("=")
        *parents, leaf = key.split(".")
        node = cfg
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = yaml.safe_load(value)
    return cfg


def run_workflow(cfg: dict[str, Any], cores: int, wd: Path) -> tuple[float, float]:
    """Run the composite target in ``wd``; return the wall time and the CPU time (user + system of
    Snakemake and every job it ran: the run's cost on idle cores, whatever else the machine was
    doing), in seconds."""
    (wd / "config").mkdir(parents=True, exist_ok=True)
    (wd / "config/config.yaml").write_text(yaml.safe_dump(cfg))
    cmd = [str(Path(sys.executable).parent / "snakemake"), "-s", str(REPO / "Snakefile"), "-d", str(wd), "--cores", str(cores), "--quiet", "all", "--", TARGET]
    t0, ru0 = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
    run = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, env=os.environ | {"OMP_NUM_THREADS": "1"})
    if run.returncode != 0:
        raise RuntimeError(run.stdout[-3000:] + run.stderr[-3000:])
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.perf_counter() - t0, (ru.ru_utime - ru0.ru_utime) + (ru.ru_stime - ru0.ru_stime)


def dev_subjects(samples: pd.DataFrame) -> list[str]:
    """The development subjects: every second subject (sorted) of each source database."""
    return [s for _, g in samples.groupby("source") for s in sorted(g.subject.astype(str).unique())[::2]]


def run_dev(cfg: dict[str, Any], workdir: Path) -> tuple[pd.DataFrame, float]:
    """The development protocol in this process: LOSO among the development subjects, trained on
    them alone. Returns the predictions (with probabilities) and the wall time."""
    import numpy as np
    import torch

    from mexp_lib.device import select_device
    from mexp_lib.recognition.fit import fit_predict, prediction_rows
    from mexp_lib.recognition.inputs import read_input_pack
    from mexp_lib.recognition.train import training_au_targets

    torch.set_num_threads(1)
    wd = workdir
    t0 = time.perf_counter()
    if not (wd / "results/inputs/megc2019_flow.h5").exists():
        run_pack = [str(Path(sys.executable).parent / "snakemake"), "-s", str(REPO / "Snakefile"), "-d", str(wd), "--cores", "1", "--quiet", "all", "--", "results/inputs/megc2019_flow.h5"]
        (wd / "config").mkdir(parents=True, exist_ok=True)
        (wd / "config/config.yaml").write_text(yaml.safe_dump(cfg))
        subprocess.run(run_pack, check=True, capture_output=True, cwd=REPO)
    plan = composite_plan(cfg, wd)
    t = plan.training
    inputs, centre = read_input_pack(wd / "results/inputs/megc2019_flow.h5")
    dev = plan.kept[plan.kept.subject.astype(str).isin(dev_subjects(plan.kept))]
    classes = plan.class_set.classes
    rows: list[dict[str, Any]] = []
    for fold, tr, te in plan.splits(dev):
        x_tr, x_te = np.stack([inputs[v] for v in tr["sample"]]), np.stack([inputs[v] for v in te["sample"]])
        y_tr = np.array([classes.index(c) for c in tr.label])
        aux = training_au_targets(tr, t)  # a model with an AU branch learns the coded AUs, as in train_fold
        for seed in t["seeds"]:
            _, pred, proba, _ = fit_predict(x_tr, y_tr, x_te, n_classes=len(classes), cfg=t, seed=int(seed), device=select_device("cpu"), centre=centre,
                                            aux=aux)
            rows += prediction_rows(te, pred, classes, int(seed), fold, proba)
    return pd.DataFrame(rows), time.perf_counter() - t0


BASELINE = {"model": "flow + linear SVM (baseline)", "grid": 16, "C": 0.01}


def composite_baseline(wd: Path, cfg: dict[str, Any], dev: bool) -> dict[str, float]:
    """The simple baseline beside the network, on the same inputs and folds: the u and v images of
    each clip's onset->apex input averaged over 16 x 16 cells and a linear SVM (classes balanced,
    C 0.01, standardised with the training subjects' statistics; the realistic benchmark's
    ``mexp_lib.recognition.baseline``, its grid and C unchanged -- nothing chosen here),
    leave-one-subject-out over all subjects or, with ``dev``, among the development subjects.
    Returns the pooled UF1 / UAR and n."""
    import cv2
    import numpy as np

    from mexp_lib.metrics import recognition_scores
    from mexp_lib.recognition.baseline import flow_svm_loso
    from mexp_lib.recognition.inputs import read_input_pack

    plan = composite_plan(cfg, wd)
    samples = plan.kept
    if dev:
        samples = samples[samples.subject.astype(str).isin(dev_subjects(samples))]
    inputs, _ = read_input_pack(wd / "results/inputs/megc2019_flow.h5")
    g = BASELINE["grid"]
    x = np.stack([np.concatenate([cv2.resize(np.ascontiguousarray(inputs[v][c], np.float32), (g, g), interpolation=cv2.INTER_AREA).ravel() for c in (0, 1)])
                  for v in samples["sample"]])
    pred = flow_svm_loso(x, list(samples.label), list(samples[plan.fold_column].astype(str)), c=BASELINE["C"])  # the plan's folds
    scores = recognition_scores(list(samples.label), list(pred), plan.class_set.classes)
    return {"uf1": scores["uf1"], "uar": scores["uar"], "n": len(samples)}


def trial_training(training: dict[str, Any]) -> dict[str, Any]:
    """A training section as the trials file records it (the machine's device and threads left out)."""
    return {k: v for k, v in training.items() if k not in ("device", "threads")}


def read_trials() -> list[dict[str, str]]:
    """The trials file's rows (none when it does not exist yet)."""
    if not TRIALS.exists():
        return []
    with TRIALS.open(newline="") as f:
        return list(csv.DictReader(f))


def full_runs(trials: list[dict[str, str]], *, training: dict[str, Any] | None = None, model: str | None = None) -> list[dict[str, str]]:
    """The 68-fold rows of ``trials``, of one training configuration or of one model when given."""
    rows = [(r, json.loads(r["training"])) for r in trials if r["protocol"].startswith("68-fold")]
    return [r for r, t in rows if (training is None or t == training) and (model is None or t.get("model") == model)]


def append_trial(protocol: str, training: dict[str, Any], **fields: Any) -> None:
    """Append one row to the trials file (created with its header when absent); fields not given stay empty."""
    row = {f: "" for f in TRIAL_FIELDS} | {"time": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), "commit": commit(),
                                           "protocol": protocol, "training": json.dumps(training, sort_keys=True)} | fields
    new = not TRIALS.exists()
    with TRIALS.open("a", newline="") as f:
        w = csv.DictWriter(f, fieldnames=TRIAL_FIELDS)
        if new:
            w.writeheader()
        w.writerow(row)


def log_baseline(protocol: str, scores: dict[str, float], folds: int) -> None:
    """The baseline's row in the trials file, once per protocol (it has nothing to tune)."""
    if any(r["protocol"] == protocol and json.loads(r["training"]) == BASELINE for r in read_trials()):
        return
    append_trial(protocol, BASELINE, n=int(scores["n"]), folds=folds, seeds=1, uf1=f"{scores['uf1']:.4f}", uar=f"{scores['uar']:.4f}")


def commit() -> str:
    r = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=REPO, capture_output=True, text=True)
    return r.stdout.strip()


def log_trial(protocol: str, training: dict[str, Any], table: pd.DataFrame, folds: int, wall: float, cpu: float | None = None) -> None:
    """Append one run's row to the trials file: its configuration and pooled result."""
    p = pooled(table)
    seeds = int(table[(table.fold == "all") & (table.dataset == "all")].seeds.iloc[0])

    def fmt(v: float) -> str:
        return "" if v != v else f"{v:.4f}"  # NaN (no ensemble): empty

    append_trial(protocol, trial_training(training), n=p["n"], folds=folds, seeds=seeds, uf1=fmt(p["uf1"]), uf1_std=fmt(p["uf1_std"]), uar=fmt(p["uar"]),
                 uar_std=fmt(p["uar_std"]), ensemble_uf1=fmt(p["ensemble_uf1"]), ensemble_uar=fmt(p["ensemble_uar"]), wall_s=f"{wall:.0f}",
                 cpu_s=f"{cpu:.0f}" if cpu is not None else "")


def markdown_table(table: pd.DataFrame, training: dict[str, Any], wall: float, cores: int, cpu: float | None = None,
                   baseline: dict[str, float] | None = None, details: list[str] | None = None) -> str:
    """The README's recognition section: pooled and per-database rows, mean ± std and ensemble."""
    t = training
    sel = t.get("selection") or {}
    protocol = ("nested selection (" + ", ".join(f"{k} from {v}" for k, v in (sel.get("grid") or {}).items()) + f", inner {sel.get('folds', 4) or 'LOSO'} folds over the training subjects)"
                if sel.get("method") == "inner" else "fixed schedule")
    epochs = "epochs chosen per fold" if "epochs" in (sel.get("grid") or {}) and sel.get("method") == "inner" else f"{t['epochs']} epochs"
    lines = [f"Composite (442 clips, 68 leave-one-subject-out folds, 3 classes), `training.model: {t['model']}`, {epochs}, lr {t['lr']}, "
             f"batch {t['batch_size']}, {t.get('schedule', 'constant')} schedule, mixup {t.get('mixup', 0)}, affine {t.get('affine') or 'off'}, flip {t.get('flip', True)}, test-time flip {t.get('tta_flip', False)}; "
             f"{protocol}; seeds {t['seeds']}; {wall / 60:.1f} min wall with `--cores {cores}`"
             + (f" on a shared machine; the run used {cpu / 60:.1f} CPU-min in all (Snakemake and its jobs), i.e. about {cpu / 60 / cores:.1f} min on "
                f"{cores} idle cores" if cpu else "") + ".", "",
             "| database | n | UF1 (mean ± std over seeds) | UAR (mean ± std over seeds) | UF1 seed ensemble | UAR seed ensemble |", "|---|---|---|---|---|---|"]
    for ds in ["all", *sorted(d for d in table.dataset.unique() if d != "all")]:
        m = table[(table.fold == "all") & (table.dataset == ds)].iloc[0]
        e = table[(table.fold == "ensemble") & (table.dataset == ds)]
        eu, ea = (f"{e.uf1.iloc[0]:.4f}", f"{e.uar.iloc[0]:.4f}") if len(e) else ("–", "–")
        name = "**pooled (MEGC 2019)**" if ds == "all" else ds
        lines.append(f"| {name} | {int(m.n)} | {m.uf1:.4f} ± {m.uf1_std:.4f} | {m.uar:.4f} ± {m.uar_std:.4f} | {eu} | {ea} |")
    if baseline is not None:
        lines.append(f"| pooled, {BASELINE['model']}: u, v in {BASELINE['grid']}×{BASELINE['grid']} cells, C {BASELINE['C']} | {int(baseline['n'])} | "
                     f"{baseline['uf1']:.4f} | {baseline['uar']:.4f} | – | – |")
    p = pooled(table)
    ref_uf1, ref_uar = PUBLISHED["STSTNet (Liong et al. 2019)"]
    lines += ["", f"Against the published STSTNet figure: mean over seeds {p['uf1'] - ref_uf1:+.4f} UF1, {p['uar'] - ref_uar:+.4f} UAR"
              + (f"; seed ensemble {p['ensemble_uf1'] - ref_uf1:+.4f} UF1, {p['ensemble_uar'] - ref_uar:+.4f} UAR" if p["ensemble_uf1"] == p["ensemble_uf1"] else "") + "."]
    lines += [x for d in (details or []) for x in ("", d)]
    full = full_runs(read_trials(), model=t["model"])  # every configuration run on all 68 folds: how many were tried on the test data
    if full:
        lines += ["", f"Every 68-fold run of `{t['model']}` in `benchmarks/composite_trials.csv` ({len(full)}), pooled UF1 / UAR (mean over seeds; seed ensemble), "
                  "time (the run's CPU time over 2 cores):"]
        for r in full:
            tr = json.loads(r["training"])
            sel_r = tr.get("selection") or {}
            how = ("nested selection of " + ", ".join(sel_r.get("grid", {})) if sel_r.get("method") == "inner" else f"fixed {tr.get('epochs')} epochs")
            wall_min = f", about {float(r['cpu_s']) / 120:.0f} min on 2 idle cores" if r["cpu_s"] else ""  # CPU time / 2: the machine was shared
            lines.append(f"- {r['time'][:10]}, {how}, {len(tr.get('seeds', []))} seeds: {r['uf1']} / {r['uar']}; ensemble {r['ensemble_uf1']} / {r['ensemble_uar']}{wall_min}")
    lines += ["", "Published, for comparison: " + "; ".join(f"{k} UF1 {u:.4f} / UAR {a:.4f}" for k, (u, a) in PUBLISHED.items())
              + " (STSTNet's figure chose the epoch on the test subject)."]
    return "\n".join(lines)


def write_readme(section: str) -> None:
    """The README's recognition table, between its markers (atomically; an error naming them if absent)."""
    from mexp_lib.report import replace_generated_block

    replace_generated_block(REPO / "README.md", *MARK, section)


def kept_run_table(wd: Path, cfg: dict[str, Any], cores: int) -> str:
    """The README table of a kept 68-fold run: its metric table, its baseline, and the wall and
    CPU time the trials file recorded for it (the row of its configuration whose pooled UF1 is
    the table's). The run must be of ``cfg``'s training configuration."""
    try:
        run_cfg = yaml.safe_load((wd / "config/config.yaml").read_text())
        table = pd.read_csv(wd / TARGET, dtype={"fold": str})
    except OSError as e:
        raise ValueError(f"not a kept run ({e})") from None
    training, wanted = trial_training(dataset_section(run_cfg, "training")), trial_training(dataset_section(cfg, "training"))
    if training != wanted:
        raise ValueError(f"the run's training section {training} is not the configuration's {wanted}")
    p = pooled(table)
    rows = [r for r in full_runs(read_trials(), training=training) if r["uf1"] == f"{p['uf1']:.4f}" and r["uar"] == f"{p['uar']:.4f}"]
    if not rows:
        raise ValueError(f"{TRIALS.name} has no 68-fold row of this configuration with UF1 {p['uf1']:.4f} / UAR {p['uar']:.4f}")
    r = rows[-1]
    return markdown_table(table, training, float(r["wall_s"]), cores, float(r["cpu_s"]) if r["cpu_s"] else None, composite_baseline(wd, run_cfg, False),
                          run_details(wd))


def split_lines(wd: Path) -> list[str]:
    """A kept 68-fold run's pooled scores on the development subjects and on the held-out half
    (the subjects the development protocol never used), one line each."""
    from mexp_lib.recognition.evaluate import recognition_table

    samples = read_sample_table(wd / "results/samples/megc2019_flow.csv")
    dev = set(dev_subjects(samples[samples.task == "recognition"]))
    preds = pd.read_csv(wd / "results/recognition/megc2019_flow/predictions.csv", dtype={"subject": str})
    lines = []
    for name, part in (("development subjects", preds[preds.subject.isin(dev)]), ("held-out subjects", preds[~preds.subject.isin(dev)])):
        t = recognition_table(part.assign(dataset="all"), ["negative", "positive", "surprise"]).set_index("fold")
        m, e = t.loc["all"], t.loc["ensemble"]
        lines.append(f"{name} ({part.subject.nunique()} subjects, n={int(m.n)}): UF1 {m.uf1:.4f} ± {m.uf1_std:.4f}, UAR {m.uar:.4f} ± {m.uar_std:.4f}; "
                     f"ensemble UF1 {e.uf1:.4f}, UAR {e.uar:.4f}")
    return lines


def run_details(wd: Path) -> list[str]:
    """Markdown lines on a kept run: the held-out half's scores beside the development subjects',
    and, with nested selection, how often each value was chosen (from its selection.json files)."""
    import collections

    lines = ["This run on the development subjects and on the held-out half (`--split`): " + "; ".join(split_lines(wd)) + "."]
    chosen = collections.Counter()
    for f in sorted((wd / "results/train" / DATASET).glob("*/selection.json")):
        rec = json.loads(f.read_text())
        if rec.get("method") == "inner":
            chosen[json.dumps(rec["chosen"], sort_keys=True)] += 1
    if chosen:
        lines.append("Chosen per fold (`results/train/megc2019_flow/<fold>/selection.json`): "
                     + ", ".join(f"{', '.join(f'{k} {v}' for k, v in json.loads(c).items())} in {n} folds" for c, n in chosen.most_common()) + ".")
    return lines


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--model", help="override training.model")
    ap.add_argument("--set", action="append", default=[], help="override a config key, e.g. training.epochs=20 (value as YAML)")
    ap.add_argument("--dev", action="store_true", help="the development protocol (development subjects only, in this process)")
    ap.add_argument("--readme", action="store_true", help="write the table into README.md")
    ap.add_argument("--keep", help="working directory to use and keep (default: a temporary one)")
    ap.add_argument("--dry-run", action="store_true", help="plan the jobs (snakemake -n) and print their count; train nothing")
    ap.add_argument("--table-from", metavar="DIR", help="print (with --readme: write) the table of a kept 68-fold run (--keep DIR) of the current configuration without "
                    "running it again: its metric table, and the wall and CPU time of its row in the trials file")
    ap.add_argument("--split", metavar="DIR", help="only print a kept run's (--keep DIR) scores on the development and the held-out subjects")
    a = ap.parse_args()
    if a.split:
        print("\n".join(split_lines(Path(a.split))))
        return 0
    if a.table_from:
        try:
            section = kept_run_table(Path(a.table_from), apply_overrides(composite_config(), a.set), a.cores)
        except ValueError as e:
            print(f"bench_recognition.py --table-from {a.table_from}: {e}", file=sys.stderr)
            return 2
        print(section)
        if a.readme:
            write_readme(section)
        return 0
    cfg = apply_overrides(composite_config(), a.set + ([f"training.model={a.model}"] if a.model else []))
    wd = Path(a.keep) if a.keep else Path(tempfile.mkdtemp(prefix="mexp-bench-"))
    if a.dry_run:
        (wd / "config").mkdir(parents=True, exist_ok=True)
        (wd / "config/config.yaml").write_text(yaml.safe_dump(cfg))
        cmd = [str(Path(sys.executable).parent / "snakemake"), "-n", "-s", str(REPO / "Snakefile"), "-d", str(wd), "--cores", str(a.cores), "--quiet", "all", "--", TARGET]
        run = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
        if run.returncode != 0:
            print(run.stdout[-3000:], run.stderr[-3000:], file=sys.stderr)
            return 1
        jobs = re.search(r"^total\s+(\d+)$", run.stdout + run.stderr, re.M)
        print(f"dry run in {wd}: {jobs.group(1) if jobs else 0} jobs planned for {TARGET}")
        if not a.keep:
            shutil.rmtree(wd)
        return 0
    from mexp_lib.recognition.evaluate import recognition_table

    classes = ["negative", "positive", "surprise"]
    cpu = None
    if a.dev:
        ru0 = resource.getrusage(resource.RUSAGE_SELF)
        preds, wall = run_dev(cfg, wd)
        ru = resource.getrusage(resource.RUSAGE_SELF)
        cpu = (ru.ru_utime - ru0.ru_utime) + (ru.ru_stime - ru0.ru_stime)
        table, protocol, folds = recognition_table(preds, classes), "dev: LOSO among the development subjects", preds.subject.nunique()
    else:
        try:
            wall, cpu = run_workflow(cfg, a.cores, wd)
        except RuntimeError as e:
            print(e, file=sys.stderr)
            return 1
        table, protocol, folds = pd.read_csv(wd / TARGET, dtype={"fold": str}), "68-fold LOSO (workflow)", 68
    t = dataset_section(cfg, "training")
    log_trial(protocol, t, table, int(folds), wall, cpu)
    baseline = composite_baseline(wd, cfg, a.dev)
    log_baseline(protocol, baseline, int(folds))
    section = markdown_table(table, t, wall, a.cores, None if a.dev else cpu, baseline, None if a.dev else run_details(wd))
    print(f"protocol: {protocol}, {folds} folds\n{section}")
    if a.readme and not a.dev:
        write_readme(section)
    if not a.keep:
        shutil.rmtree(wd)
    return 0


if __name__ == "__main__":
    from mexp_lib.errors import script_exit

    raise SystemExit(script_exit(main, Path(__file__).name))
