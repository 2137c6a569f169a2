"""What ``training.model: auto`` costs and chooses on the real MEGC 2019 composite inputs.

The composite's published onset -> apex flow images (``config/megc2019_flow.yaml``, read in place
from ``../shared``) are packed once (:func:`mexp_lib.recognition.inputs.build_inputs`, every input
kind the models read), then every model runs leave-one-subject-out over the ``--subjects`` largest
subjects (LOSO among them, trained on them alone: a cost and choice measurement, not the
composite's score, which ``bench_recognition.py`` reports over all 68 folds) through
:func:`mexp_lib.recognition.train.train_fold`, in this process. The composite's recipe with a
fixed number of epochs (``training.selection.method: fixed``, no epoch grid) so that the
difference between models is the model choice alone. Printed per model: UF1 / UAR (mean and
spread over seeds, and the seed ensemble), how many folds chose each model (``auto``) and the
CPU seconds of training.

    .venv/bin/python benchmarks/bench_model_auto.py --subjects 12 --models ststnet flow_svm auto
    .venv/bin/python benchmarks/bench_model_auto.py --part dev --models auto --rule best

``--part dev`` runs on the composite's development subjects (every second subject of each
database, as ``bench_recognition.py --dev``), where a default may be chosen; rows are appended to
``--csv`` (``benchmarks/model_auto_trials.csv`` keeps every run).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
CONFIGS = ("config/config.yaml", "config/megc2019_flow.yaml")
DATASET = "megc2019_flow"


def composite_config(models_over: dict[str, Any] | None = None) -> dict[str, Any]:
    """config/config.yaml with config/megc2019_flow.yaml over it (as ``--configfile`` does), resolved
    against the schema; the epoch grid removed and selection fixed (auto still chooses the model)."""
    from mexp_lib.config import deep_merge, load_yaml_file, resolve_config

    raw: dict[str, Any] = {}
    for f in CONFIGS:
        raw = deep_merge(raw, load_yaml_file(REPO / f, f))
    raw = deep_merge(raw, {"training": {"selection": {"method": "fixed", "grid": {}}}})
    return resolve_config(deep_merge(raw, models_over or {}))


def run_model(samples: pd.DataFrame, pack: Path, subjects: list[str], classes: list[str], training: dict[str, Any], workdir: Path) -> tuple[pd.DataFrame, dict[str, int], float]:
    """Leave-one-subject-out over ``subjects``: the pooled predictions, the models chosen per fold
    and the CPU seconds."""
    from mexp_lib.recognition.train import train_fold

    preds, chosen = [], {}
    t0 = time.process_time()
    for s in subjects:
        d = workdir / s
        d.mkdir(parents=True, exist_ok=True)
        preds.append(train_fold(samples, pack, test_subject=s, classes=classes, cfg=training, out_predictions=d / "predictions.csv",
                                out_checkpoint=d / "model.pt", out_selection=d / "selection.json"))
        m = json.loads((d / "selection.json").read_text())["model"]
        chosen[m] = chosen.get(m, 0) + 1
    return pd.concat(preds, ignore_index=True), chosen, time.process_time() - t0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--subjects", type=int, default=12, help="the N subjects with the most clips (LOSO among them)")
    ap.add_argument("--part", choices=["largest", "dev"], default="largest",
                    help="largest: the --subjects largest subjects; dev: the composite's development subjects (bench_recognition.py --dev), where defaults are chosen")
    ap.add_argument("--models", nargs="+", default=["ststnet", "flow_svm", "auto"])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--rule", choices=["one_se", "best"], help="training.selection.rule of auto (default: the schema's)")
    ap.add_argument("--csv", help="append the rows here")
    a = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    from mexp_lib.datasets.classes import resolve_class_set
    from mexp_lib.datasets.load import load_dataset
    from mexp_lib.errors import MexpError
    from mexp_lib.recognition.evaluate import recognition_table
    from mexp_lib.recognition.inputs import build_inputs
    from mexp_lib.recognition.kinds import input_kinds
    from mexp_lib.recognition.pipeline import pooled
    from mexp_lib.recognition.samples import select_samples

    try:
        cfg = composite_config()
        dcfg = cfg["datasets"][DATASET]
        for k in ("root", "annotations"):
            dcfg[k] = str((REPO / dcfg[k]).resolve())
        for src in (dcfg.get("sources") or {}).values():
            src["annotations"] = str((REPO / src["annotations"]).resolve())
        table, _ = load_dataset(DATASET, dcfg)
        samples, _ = select_samples(table, cfg["recognition"])
    except MexpError as e:
        print(f"bench_model_auto.py: error: {e}", file=sys.stderr)
        return 2
    if a.part == "dev":
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from bench_recognition import dev_subjects

        subjects = sorted(dev_subjects(samples))
    else:
        subjects = samples.subject.astype(str).value_counts().sort_index().sort_values(ascending=False, kind="stable").index[: a.subjects].tolist()
    samples = samples[samples.subject.astype(str).isin(subjects)].reset_index(drop=True)
    classes = resolve_class_set(cfg["recognition"]["class_set"]).classes
    rows = []
    with tempfile.TemporaryDirectory(prefix="mexp_auto_") as tmp:
        work = Path(tmp)
        every = {"model": "auto", "selection": {"models": sorted({m for m in a.models if m != "auto"} | set(cfg["training"]["selection"]["models"]))}}
        pack = work / "pack.h5"
        build_inputs(samples, {Path(f).stem: str(f) for f in samples.frames}, size=int(cfg["training"]["input_size"]), out=pack,
                     kinds=input_kinds(cfg["training"] | every))
        print(f"{len(samples)} clips of {len(subjects)} subjects ({', '.join(subjects)}); seeds {a.seeds}")
        for m in a.models:
            training = cfg["training"] | {"model": m, "seeds": a.seeds, "threads": 1, "device": "cpu"}
            if a.rule:
                training["selection"] = training["selection"] | {"rule": a.rule}
            preds, chosen, secs = run_model(samples, pack, subjects, classes, training, work / m)
            p = pooled(recognition_table(preds, classes))
            rows.append({"part": a.part, "model": m, "rule": training["selection"]["rule"] if m == "auto" else "", "subjects": len(subjects), "n": int(p["n"]),
                         "uf1": round(p["uf1"], 4), "uf1_std": round(p["uf1_std"], 4), "uar": round(p["uar"], 4),
                         "ensemble_uf1": round(p["ensemble_uf1"], 4), "chosen": json.dumps(chosen, sort_keys=True), "cpu_seconds": round(secs, 1)})
            r = rows[-1]
            print(f"{m:10s} UF1 {r['uf1']:.4f} ± {r['uf1_std']:.4f} UAR {r['uar']:.4f} ensemble UF1 {r['ensemble_uf1']:.4f}  chosen {r['chosen']}  {r['cpu_seconds']} CPU s")
    if a.csv:
        out = pd.DataFrame(rows)
        if Path(a.csv).exists():
            out = pd.concat([pd.read_csv(a.csv), out], ignore_index=True)
        tmp_csv = Path(a.csv).with_suffix(".tmp")
        out.to_csv(tmp_csv, index=False)
        tmp_csv.replace(a.csv)
    return 0


if __name__ == "__main__":
    sys.exit(main())
