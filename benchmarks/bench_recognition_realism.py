"""Recognition on realistic short clips: real faces, sensor noise, JPEG frames, LOSO.

Renders CASME II-style short clips (one micro-expression each, 60 fps) from the real face crops
of the MEGC 2019 composite (``../shared/data/real/wangzhifengharrison__HTNet/combined_datasets_whole``,
one identity per source subject; read in place, never copied) with AU-like motions per class
(positive: AU6+12, negative: AU4+9+10, surprise: AU1+2+26; 0.5-3 px on a 224 px face, rising in
0.08-0.2 s and falling in 0.1-0.25 s), small head motion, blinks in a third of the clips,
illumination drift, sensor noise sigma and JPEG quality q, in the ``generic`` format
(``mexp_lib.datasets.demo.generate_demo(..., layout="generic")``). Every clip then goes through
the workflow's own stage functions (landmarks -> aligned face -> the sample's clip, TIM ->
magnification -> flow -> input pack -> one training per leave-one-subject-out fold -> the metric
table), for each model, beside the **flow + linear SVM baseline**
(``mexp_lib.recognition.baseline``: onset -> apex DIS flow inside the face, 16 x 16 cells,
linear SVM), the floor every pipeline must beat. ``--workflow`` also runs the default pipeline
through Snakemake itself (``results/<name>_loso_metrics.csv`` on a generated config) and prints
its figure beside the in-process one.

Two parts, never mixed: ``dev`` (9 source subjects, seed 301: what the recognition defaults
were chosen on) and ``test`` (9 other subjects, seed 402: only reported). Renders, faces, clips,
flow and runs are cached under ``--workdir``; every configuration evaluated (not a cache hit) is
appended to benchmarks/recognition_realism_trials.csv, so the number of tries is visible.

Run: .venv/bin/python benchmarks/bench_recognition_realism.py --part test [--conditions 3,80] [--models ...] [--csv FILE] [--readme]
(``--dry-run``: check the part's face photographs and every model's settings and print the
plan; render and train nothing. ``--from-csv FILE ...``: the table of earlier runs' ``--csv``
files, printed and with ``--readme`` written into the README. ``--set section.key=value``: a
trial variant of every model, development part only.)
"""

from __future__ import annotations

import argparse
import datetime
import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from mexp_lib.config import deep_merge, parse_assignments
from mexp_lib.datasets.demo import generate_demo
from mexp_lib.log import setup_logging
from mexp_lib.provenance import config_hash
from mexp_lib.recognition.pipeline import faces_of, pooled, run_recognition
from mexp_lib.report import add_run_arguments, publish_runs, replace_generated_block, start_benchmark

REPO = Path(__file__).resolve().parents[1]
FACES = REPO.parent / "shared/data/real/wangzhifengharrison__HTNet/combined_datasets_whole"
TRIALS = REPO / "benchmarks/recognition_realism_trials.csv"
DATASET = "realism"
TRIAL_FIELDS = ["time", "commit", "part", "condition", "model", "settings", "n", "uf1", "uf1_std", "uar", "uar_std", "ensemble_uf1", "ensemble_uar", "seconds"]
PARTS: dict[str, dict[str, Any]] = {
    # three subjects of each source database (CASME II, SAMM, SMIC) for development ...
    "dev": {"subjects": ["sub07", "012", "s06", "sub08", "013", "s08", "sub09", "014", "s09"], "seed": 301},
    # ... and nine others, reported only
    "test": {"subjects": ["sub11", "015", "s11", "sub12", "016", "s12", "sub13", "017", "s13"], "seed": 402},
}
# (noise sigma, JPEG quality or None for PNG)
CONDITIONS: list[tuple[float, int | None]] = [(0.0, None), (2.0, 90), (3.0, 80), (4.0, 60)]
CLIP_FPS = 60.0
CLIPS_PER_CLASS = 3

# name -> config over config/config.yaml (deep-merged); None: the flow + SVM baseline
BASELINE = "flow + linear SVM (baseline)"
MODELS: dict[str, dict[str, Any] | None] = {
    BASELINE: None,
    "default": {},
    "default without magnification": {"magnification": {"enabled": False}},
    "offapexnet": {"training": {"model": "offapexnet"}},
    "htnet": {"training": {"model": "htnet"}},
    "lbptop_svm": {"training": {"model": "lbptop_svm"}},
    "c3d": {"training": {"model": "c3d"}},
}


def generator(part: str, sigma: float, quality: int | None) -> dict[str, Any]:
    """The renderer's settings of one part and condition (the clips' motions depend on the part only)."""
    p = PARTS[part]
    return {
        "seed": p["seed"], "subjects": len(p["subjects"]), "clips_per_class": CLIPS_PER_CLASS, "frame_size": 360, "clip_fps": CLIP_FPS,
        "long_videos_per_subject": 0, "micro_amplitude": [0.5, 3.0], "noise_sigma": sigma, "jpeg_quality": quality,
        "faces": str(FACES), "face_subjects": p["subjects"],
    }


def condition_name(sigma: float, quality: int | None) -> str:
    return f"s{sigma:g}_q{quality or 'png'}"


def user_config() -> dict[str, Any]:
    """config/config.yaml as a user runs it (its demo dataset left out)."""
    cfg = yaml.safe_load((REPO / "config/config.yaml").read_text())
    cfg.pop("datasets", None)
    return cfg


def model_config(over: dict[str, Any], sets: dict[str, Any] | None = None) -> dict[str, Any]:
    """The full settings of one model: config/config.yaml with ``over`` and ``sets`` applied,
    resolved against the schema exactly as the workflow resolves them (every default filled in)."""
    from mexp_lib.config import resolve_config

    cfg = deep_merge(deep_merge(user_config(), over), sets or {})
    cfg["datasets"] = {DATASET: {"format": "generic", "root": ".", "annotations": "annotations.csv", "fps": CLIP_FPS}}
    return resolve_config(cfg)


def render(workdir: Path, part: str, sigma: float, quality: int | None) -> tuple[Path, pd.DataFrame]:
    """Render one condition's clips (cached); returns the condition's folder and the sample table
    the ``generic`` loader reads from the rendered sheet."""
    from mexp_lib.datasets import load_dataset

    cdir = workdir / part / condition_name(sigma, quality)
    videos = cdir / "videos"
    if not (videos / "annotations.csv").exists():
        generate_demo(videos, generator(part, sigma, quality), layout="generic")
    samples, _ = load_dataset(DATASET, {"format": "generic", "root": str(videos), "annotations": str(videos / "annotations.csv"),
                                        "fps": CLIP_FPS, "task": "recognition", "on_bad_row": "error"})
    return cdir, samples


def run_baseline(cdir: Path, samples: pd.DataFrame, cfg: dict[str, Any]) -> tuple[dict[str, float], bool]:
    """The flow + linear SVM baseline on the workflow's aligned faces: its scores, and whether
    its features were computed now (False: read from the cache)."""
    from mexp_lib.datasets.classes import resolve_class_set
    from mexp_lib.metrics import recognition_scores
    from mexp_lib.recognition.baseline import flow_svm_loso, store_features
    from mexp_lib.recognition.samples import select_samples

    kept, _ = select_samples(samples, cfg["recognition"])
    faces = faces_of(cdir, kept, cfg["face"])
    cache = cdir / "baseline" / f"{config_hash([cfg['face'], cfg['recognition']])}.npz"  # the rows are the samples the recognition section selects
    fresh = not cache.exists()
    if not fresh:
        x = np.load(cache)["x"]
    else:
        cache.parent.mkdir(parents=True, exist_ok=True)
        x = np.stack([store_features(str(faces[r.video]), onset=int(r.onset), apex=int(r.apex)) for r in kept.itertuples()])
        np.savez(cache, x=x)
    pred = flow_svm_loso(x, list(kept.label), list(kept.subject))
    return recognition_scores(list(kept.label), list(pred), resolve_class_set(cfg["recognition"]["class_set"]).classes), fresh


def commit() -> str:
    r = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=REPO, check=False)
    return r.stdout.strip()


def record_trial(part: str, cond: str, name: str, over: dict[str, Any], sets: dict[str, Any], res: dict[str, float], seconds: float) -> None:
    """Append one evaluated configuration to the trials file."""
    row = {"time": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M"), "commit": commit(), "part": part, "condition": cond,
           "model": name, "settings": json.dumps(deep_merge(over, sets), sort_keys=True), **{k: round(v, 4) if isinstance(v, float) else v for k, v in res.items()},
           "seconds": round(seconds)}
    pd.DataFrame([row]).reindex(columns=TRIAL_FIELDS).to_csv(TRIALS, mode="a", header=not TRIALS.exists(), index=False)


def run_workflow(cdir: Path, cores: int = 1) -> dict[str, float]:
    """The default pipeline through Snakemake itself: a config naming the rendered clips as a
    ``generic`` dataset on top of config/config.yaml, target ``results/<name>_loso_metrics.csv``."""
    wd = cdir / "workflow"
    (wd / "config").mkdir(parents=True, exist_ok=True)
    cfg = user_config()
    videos = (cdir / "videos").resolve()
    cfg["datasets"] = {DATASET: {"format": "generic", "root": str(videos), "annotations": str(videos / "annotations.csv"), "fps": CLIP_FPS, "task": "recognition"}}
    (wd / "config/config.yaml").write_text(yaml.safe_dump(cfg))
    target = f"results/{DATASET}_loso_metrics.csv"
    cmd = [str(Path(sys.executable).parent / "snakemake"), "-s", str(REPO / "Snakefile"), "-d", str(wd), "--cores", str(cores), "--quiet", "all", "--", target]
    run = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, env=os.environ | {"OMP_NUM_THREADS": "1"}, check=False)
    if run.returncode != 0:
        raise RuntimeError(run.stdout[-3000:] + run.stderr[-3000:])
    return pooled(pd.read_csv(wd / target))


def run(workdir: Path, part: str, conditions: list[tuple[float, int | None]], models: list[str], sets: dict[str, Any], workflow: bool) -> pd.DataFrame:
    rows = []
    for sigma, quality in conditions:
        cond = condition_name(sigma, quality)
        t0 = time.perf_counter()
        cdir, samples = render(workdir, part, sigma, quality)
        for name in models:
            over = MODELS[name]
            t1 = time.perf_counter()
            if over is None:
                scores, fresh = run_baseline(cdir, samples, model_config({}, sets))
                res = {"n": int(scores["n"]), "uf1": scores["uf1"], "uar": scores["uar"]}
            else:
                table, fresh = run_recognition(samples, model_config(over, sets), cdir)
                res = pooled(table)
            secs = time.perf_counter() - t1
            if fresh:
                record_trial(part, cond, name, over or {}, sets, res, secs)
            rows.append({"part": part, "sigma": sigma, "jpeg": quality or "png", "model": name, **res, "seconds": round(secs, 1)})
            ens = f", ensemble {res['ensemble_uf1']:.3f}" if np.isfinite(res.get("ensemble_uf1", np.nan)) else ""
            print(f"{cond:10s} {name:30s} UF1 {res['uf1']:.3f} UAR {res['uar']:.3f}{ens} (n {res['n']}, {secs:.0f} s{'' if fresh else ', cached'})", flush=True)
        if workflow:
            t1 = time.perf_counter()
            res = run_workflow(cdir)
            rows.append({"part": part, "sigma": sigma, "jpeg": quality or "png", "model": "default, run by Snakemake", **res, "seconds": round(time.perf_counter() - t1, 1)})
            print(f"{cond:10s} {'default, run by Snakemake':30s} UF1 {res['uf1']:.3f} UAR {res['uar']:.3f} (n {res['n']}, {time.perf_counter() - t1:.0f} s)", flush=True)
        print(f"{cond}: {time.perf_counter() - t0:.0f} s", flush=True)
    return pd.DataFrame(rows)


def markdown(table: pd.DataFrame) -> str:
    """One row per model, one column per condition: UF1 / UAR (pooled over the folds, mean over seeds)."""
    conds = list(dict.fromkeys(zip(table.sigma, table.jpeg.astype(str), strict=True)))
    lines = ["| model | " + " | ".join(f"σ {s:g}, {'PNG' if q == 'png' else f'JPEG {q}'}" for s, q in conds) + " |", "|---|" + "---|" * len(conds)]
    for name in dict.fromkeys(table.model):
        cells = []
        for s, q in conds:
            r = table[(table.model == name) & (table.sigma == s) & (table.jpeg.astype(str) == q)]
            cells.append("–" if r.empty else f"**{r.uf1.iloc[0]:.3f}** / {r.uar.iloc[0]:.3f}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


BEGIN, END = "<!-- bench_recognition_realism: begin -->", "<!-- bench_recognition_realism: end -->"


def write_readme(table: pd.DataFrame, part: str) -> None:
    """Replace the README's generated block with this table."""
    p = PARTS[part]
    cfg = model_config({})
    t, m = cfg["training"], cfg["magnification"]
    default = (f"TIM {cfg['interpolation']['n_frames']} frames → {'Eulerian magnification α ' + format(m['alpha'], 'g') if m['enabled'] else 'no magnification'} → "
               f"{cfg['flow']['method']} flow → `{t['model']}` at {t['input_size']} px, {t['epochs']} epochs, seeds {t['seeds']}")
    block = (f"*Generated by `benchmarks/bench_recognition_realism.py --part {part} --readme`: the {part} part ({len(p['subjects'])} subjects, "
             f"{len(p['subjects']) * CLIPS_PER_CLASS * 3} clips, never used for design). UF1 / UAR pooled over the leave-one-subject-out folds "
             f"(networks: mean over seeds). Default: {default}.*\n\n{markdown(table)}")
    replace_generated_block(REPO / "README.md", BEGIN, END, block)


def dry_run(part: str, conditions: list[tuple[float, int | None]], models: list[str], sets: dict[str, Any]) -> int:
    """Check what a run needs (one usable face photograph per subject of the part, every model's
    settings valid against the schema) and print the plan."""
    from mexp_lib.datasets.demo_render import face_bank

    subjects = PARTS[part]["subjects"]
    face_bank(FACES, int(generator(part, *conditions[0])["frame_size"]), subjects=list(subjects))
    for name in models:
        model_config(MODELS[name] or {}, sets)
    print(f"dry run: part {part}, {len(subjects)} subjects ({', '.join(subjects)}), {len(subjects) * CLIPS_PER_CLASS * 3} clips, "
          f"{len(conditions)} conditions x {len(models)} models = {len(conditions) * len(models)} runs")
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--part", choices=sorted(PARTS), default="dev")
    ap.add_argument("--workdir", default=str(REPO / "benchmarks/.cache/recognition_realism"), help="cache of clips, faces, flow and runs")
    ap.add_argument("--conditions", nargs="*", help="sigma,quality (quality 0 = PNG); default: all four (0,0 2,90 3,80 4,60)")
    ap.add_argument("--models", nargs="*", choices=list(MODELS), help="default: all")
    ap.add_argument("--set", nargs="*", default=[], metavar="SECTION.KEY=VALUE", help="a trial variant of every model (development part only)")
    ap.add_argument("--workflow", action="store_true", help="also run the default pipeline through Snakemake (results/<name>_loso_metrics.csv)")
    add_run_arguments(ap)
    a = ap.parse_args()
    if start_benchmark(a, script=Path(__file__).name, markdown=markdown, write_readme=write_readme, faces=FACES):
        return 0
    sets = parse_assignments(a.set)
    setup_logging(level=logging.WARNING)
    conds = CONDITIONS if not a.conditions else [(float(s), int(q) or None) for s, q in (c.split(",") for c in a.conditions)]
    models = a.models or list(MODELS)
    if a.dry_run:
        return dry_run(a.part, conds, models, sets)
    import torch

    torch.set_num_threads(1)
    table = run(Path(a.workdir), a.part, conds, models, sets, a.workflow)
    print()
    publish_runs(table, part=a.part, markdown=markdown, write_readme=write_readme, csv=a.csv, readme=a.readme)
    return 0


if __name__ == "__main__":
    from mexp_lib.errors import script_exit

    raise SystemExit(script_exit(main, Path(__file__).name))
