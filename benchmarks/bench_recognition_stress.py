"""Recognition stress sweep: each generative factor varied on its own around a middle setting.

Short clips are rendered from the real face crops of the MEGC 2019 composite
(``../shared/data/real/wangzhifengharrison__HTNet/combined_datasets_whole``, one identity per source
subject; read in place, never copied) by ``mexp_lib.datasets.demo.generate_demo(..., layout="generic")``,
in the regime where methods separate: the **middle** setting has AU-like motions of 0.4-1 px on a
224 px face, a weaker movement of another class overlapping each expression at 0-45 % of its
amplitude (``clip_overlap``), head drift of 1x the amplitude (``clip_drift``), 100 fps, 6 subjects x
9 clips, blinks in a third of the clips, noise sigma 3 and JPEG 80. Each bucket changes one factor
(``mexp_lib.stress.sweep_buckets``): amplitude (0.2-3 px), overlap (0-50 %), drift (0-2x), frame
rate (30-200 fps), subjects (6, 9, 13, 26), noise / JPEG, face scale in the frame (100-400 px; the
motion scales with the face, so this bucket measures resolution only).

Every bucket runs the default pipeline and each fixed family (the default's chain with
``training.model`` fixed, selection off) through the workflow's own stage functions
(``mexp_lib.recognition.pipeline.run_recognition``, leave-one-subject-out), beside the **flow +
linear SVM baseline** (``mexp_lib.recognition.baseline``) and ``training.model: flow_svm`` where the
schema has it. Networks: UF1 mean and std over ``training.seeds`` (the seed spread). The worst
bucket of every method is printed (``mexp_lib.stress.worst_bucket_lines``), and the default's
margin against the baseline per bucket.

Two parts, never mixed: ``dev`` (26 source subjects, seed 501: where losses are diagnosed) and
``test`` (26 other subjects, seed 602: only reported). A bucket with fewer subjects takes the
first ones of its part. Renders, faces, flow and runs are cached under ``--workdir``; every run
row is appended to ``--csv`` as it finishes (with the ``--set`` variant it ran under), so a sweep
can be split into several calls.

Run: .venv/bin/python benchmarks/bench_recognition_stress.py --part dev [--buckets middle fps=30 ...] [--methods ...] [--seeds 0] [--csv FILE]
(``--dry-run``: the plan only. ``--from-csv FILE ...``: the table of earlier runs, with ``--readme``
written into the README, test part only.)
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from bench_recognition_realism import FACES, run_baseline, user_config  # type: ignore[import-not-found]

from mexp_lib.config import deep_merge, resolve_config
from mexp_lib.datasets.demo import generate_demo
from mexp_lib.datasets.demo_render import PHOTO_FRACTION
from mexp_lib.log import setup_logging
from mexp_lib.recognition.pipeline import pooled, run_recognition
from mexp_lib.report import add_run_arguments, append_row, replace_generated_block, start_benchmark
from mexp_lib.stress import Bucket, bucket_table, margins, select_buckets, sweep_buckets, worst_bucket_lines

REPO = Path(__file__).resolve().parents[1]
DATASET = "stress"
CLIPS_PER_CLASS = 3
REFERENCE_FACE = 224  # px: the face the amplitudes are given on

_CASME = [f"sub{i:02d}" for i in (1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 13, 14, 15, 16, 17, 19, 20, 21, 22, 23, 24, 25, 26)]
_SAMM = [f"{i:03d}" for i in (6, 7, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 26, 28, 30, 31, 32, 33, 34, 35, 36, 37)]
_SMIC = [f"s{i:02d}" for i in (1, 2, 3, 4, 5, 6, 8, 9, 11, 12, 13, 14, 15, 18, 19, 20)]


def interleaved_subjects() -> list[str]:
    """The composite's 68 source subjects, one of each database in turn (CASME II, SAMM, SMIC;
    a database that runs out is skipped), so that any prefix mixes the three."""
    out: list[str] = []
    for i in range(max(len(_CASME), len(_SAMM), len(_SMIC))):
        out += [db[i] for db in (_CASME, _SAMM, _SMIC) if i < len(db)]
    return out


_ALL = interleaved_subjects()
# alternate subjects of the interleaved list: disjoint parts, each mixing the three databases
PARTS: dict[str, dict[str, Any]] = {
    "dev": {"subjects": _ALL[0::2][:26], "seed": 501},
    "test": {"subjects": _ALL[1::2][:26], "seed": 602},
}

# factor -> the middle value; (noise sigma, JPEG quality or None for PNG)
MIDDLE: dict[str, Any] = {
    "amplitude": [0.4, 1.0], "overlap": [0.0, 0.45], "drift": 1.0, "fps": 100, "subjects": 6, "noise": [3.0, 80], "face": 224,
}
FACTORS: dict[str, list[Any]] = {
    "amplitude": [[0.2, 0.4], [1.0, 2.0], [2.0, 3.0]],
    "overlap": [[0.0, 0.0], [0.25, 0.5]],
    "drift": [0.0, 0.5, 2.0],
    "fps": [30, 60, 200],
    "subjects": [9, 13, 26],
    "noise": [[0.0, None], [2.0, 90], [5.0, 60]],
    "face": [100, 160, 400],
}

BASELINE = "flow + linear SVM (baseline)"
FIXED = {"selection": {"method": "fixed"}}
# name -> config over config/config.yaml (deep-merged); None: the flow + SVM baseline
METHODS: dict[str, dict[str, Any] | None] = {
    "default": {},
    BASELINE: None,
    "flow_svm": {"training": {"model": "flow_svm", **FIXED}},
    "ststnet": {"training": {"model": "ststnet", **FIXED}},
    "offapexnet": {"training": {"model": "offapexnet", **FIXED}},
}


def buckets() -> list[Bucket]:
    """Every bucket of the sweep: the middle, then one factor changed at a time."""
    return sweep_buckets(MIDDLE, FACTORS)


def generator(part: str, settings: dict[str, Any]) -> dict[str, Any]:
    """The renderer's settings of one part and bucket: the bucket's factors mapped onto
    ``mexp_lib.datasets.demo`` generator keys (amplitudes scaled from the 224 px reference face to
    the bucket's face; the frame is the face over ``PHOTO_FRACTION``)."""
    p = PARTS[part]
    n = int(settings["subjects"])
    if n > len(p["subjects"]):
        raise ValueError(f"{n} subjects asked, the {part} part has {len(p['subjects'])}")
    face = int(settings["face"])
    scale = face / REFERENCE_FACE
    sigma, quality = settings["noise"]
    return {
        "seed": p["seed"], "subjects": n, "clips_per_class": CLIPS_PER_CLASS, "frame_size": int(round(face / PHOTO_FRACTION)),
        "clip_fps": float(settings["fps"]), "long_videos_per_subject": 0,
        "micro_amplitude": [float(a) * scale for a in settings["amplitude"]], "clip_overlap": [float(x) for x in settings["overlap"]],
        "clip_drift": float(settings["drift"]), "noise_sigma": float(sigma), "jpeg_quality": None if quality is None else int(quality),
        "faces": str(FACES), "face_subjects": list(p["subjects"][:n]),
    }


def methods_available() -> list[str]:
    """The methods this checkout can run (``flow_svm`` only where the schema lists that model)."""
    from mexp_lib.config import section_schema

    models = section_schema("training")["properties"]["model"]["enum"]
    return [m for m, over in METHODS.items() if over is None or over.get("training", {}).get("model", "ststnet") in models]


def method_config(over: dict[str, Any], fps: float, seeds: list[int] | None = None, sets: dict[str, Any] | None = None) -> dict[str, Any]:
    """config/config.yaml with ``over`` (and ``sets``) applied, resolved against the schema for a
    ``generic`` dataset at ``fps``; ``seeds`` overrides ``training.seeds``."""
    cfg = deep_merge(deep_merge(user_config(), over), sets or {})
    if seeds is not None:
        cfg = deep_merge(cfg, {"training": {"seeds": list(seeds)}})
    cfg["datasets"] = {DATASET: {"format": "generic", "root": ".", "annotations": "annotations.csv", "fps": fps}}
    return resolve_config(cfg)


def render(workdir: Path, part: str, bucket: Bucket) -> tuple[Path, pd.DataFrame]:
    """Render one bucket's clips (cached): its folder and the sample table the ``generic`` loader reads."""
    from mexp_lib.datasets import load_dataset

    bdir = workdir / part / bucket.name
    videos = bdir / "videos"
    fps = float(bucket.settings["fps"])
    if not (videos / "annotations.csv").exists():
        generate_demo(videos, generator(part, bucket.settings), layout="generic")
    samples, _ = load_dataset(DATASET, {"format": "generic", "root": str(videos), "annotations": str(videos / "annotations.csv"),
                                        "fps": fps, "task": "recognition", "on_bad_row": "error"})
    return bdir, samples


def run_method(bdir: Path, samples: pd.DataFrame, name: str, fps: float, seeds: list[int] | None, sets: dict[str, Any]) -> tuple[dict[str, float], bool]:
    """One method on one rendered bucket: its pooled scores and whether they were computed now."""
    over = METHODS[name]
    if over is None:
        scores, fresh = run_baseline(bdir, samples, method_config({}, fps, seeds, sets))
        return {"n": int(scores["n"]), "uf1": scores["uf1"], "uf1_std": 0.0, "uar": scores["uar"], "uar_std": 0.0}, fresh
    table, fresh = run_recognition(samples, method_config(over, fps, seeds, sets), bdir)
    return pooled(table), fresh


def run(workdir: Path, part: str, chosen: list[Bucket], methods: list[str], seeds: list[int] | None, sets: dict[str, Any], csv: str | None) -> pd.DataFrame:
    rows = []
    for b in chosen:
        t0 = time.perf_counter()
        bdir, samples = render(workdir, part, b)
        for name in methods:
            t1 = time.perf_counter()
            res, fresh = run_method(bdir, samples, name, float(b.settings["fps"]), seeds, sets)
            secs = time.perf_counter() - t1
            row = {"part": part, "bucket": b.name, "method": name, **{k: res[k] for k in ("n", "uf1", "uf1_std", "uar", "uar_std")},
                   "seeds": "-" if METHODS[name] is None else " ".join(map(str, seeds if seeds is not None else method_config({}, 100.0)["training"]["seeds"])),
                   "set": json.dumps(sets, sort_keys=True) if sets else "", "seconds": round(secs, 1)}
            rows.append(row)
            if csv:
                append_row(csv, row)
            print(f"{b.name:22s} {name:30s} UF1 {res['uf1']:.3f} ± {res['uf1_std']:.3f} UAR {res['uar']:.3f} "
                  f"(n {res['n']}, {secs:.0f} s{'' if fresh else ', cached'})", flush=True)
        print(f"{b.name}: {time.perf_counter() - t0:.0f} s", flush=True)
    return pd.DataFrame(rows)


def markdown(table: pd.DataFrame) -> str:
    """Bucket x method table of UF1 (± the seed spread where there is one), then the default's
    margin against the baseline per bucket and every method's worst bucket."""
    uf1 = bucket_table(table, score="uf1")
    std = bucket_table(table, score="uf1_std") if "uf1_std" in table else uf1 * np.nan
    methods = list(uf1.columns)
    lines = ["| bucket | " + " | ".join(methods) + " |", "|---|" + "---|" * len(methods)]
    for bucket in uf1.index:
        cells = []
        for m in methods:
            v, s = uf1.loc[bucket, m], std.loc[bucket, m]
            cells.append("–" if not np.isfinite(v) else f"{v:.3f}" + (f" ± {s:.3f}" if np.isfinite(s) and s > 0 else ""))
        lines.append(f"| {bucket} | " + " | ".join(cells) + " |")
    out = "\n".join(lines)
    if "default" in methods and BASELINE in methods:
        mg = margins(table, method="default", baseline=BASELINE, score="uf1")
        losses = list(mg.bucket[mg.loses])
        out += ("\n\nThe default loses to the baseline by more than the seed spread in: " + (", ".join(losses) if losses else "no bucket") + ".")
    return out + "\n\n" + "\n".join(f"- {line}" for line in worst_bucket_lines(table, methods=methods, score="uf1", label="UF1"))


BEGIN, END = "<!-- bench_recognition_stress: begin -->", "<!-- bench_recognition_stress: end -->"


def write_readme(table: pd.DataFrame, part: str) -> None:
    """Replace the README's generated block with this table (test part only)."""
    p = PARTS[part]
    block = (f"*Generated by `benchmarks/bench_recognition_stress.py --part {part} --readme`: the {part} part ({len(p['subjects'])} source "
             f"subjects, seed {p['seed']}, never used for design); middle: {MIDDLE}; one factor changed per bucket. UF1 pooled over the "
             f"leave-one-subject-out folds (networks: mean ± std over seeds).*\n\n{markdown(table)}")
    replace_generated_block(REPO / "README.md", BEGIN, END, block)


def main() -> int:
    from mexp_lib.config import parse_assignments

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--part", choices=sorted(PARTS), default="dev")
    ap.add_argument("--workdir", default=str(REPO / "benchmarks/.cache/recognition_stress"), help="cache of clips, faces, flow and runs")
    ap.add_argument("--buckets", nargs="*", help=f"default: all ({', '.join(b.name for b in buckets())})")
    ap.add_argument("--methods", nargs="*", choices=list(METHODS), help="default: every method this checkout has")
    ap.add_argument("--seeds", nargs="*", type=int, help="training.seeds of the networks (default: config/config.yaml's)")
    ap.add_argument("--jobs", type=int, default=1, help="torch threads (the sweep itself runs one method at a time)")
    ap.add_argument("--set", nargs="*", default=[], metavar="SECTION.KEY=VALUE", help="a trial variant of every method (development part only)")
    add_run_arguments(ap)
    a = ap.parse_args()
    if start_benchmark(a, script=Path(__file__).name, markdown=markdown, write_readme=write_readme, faces=FACES):
        return 0
    sets = parse_assignments(a.set)
    chosen = select_buckets(buckets(), a.buckets)
    available = methods_available()
    methods = a.methods or available
    missing = [m for m in methods if m not in available]
    if missing:
        raise SystemExit(f"--methods: {missing} not in this checkout's schema")
    setup_logging(level=logging.WARNING)
    if a.dry_run:
        for b in chosen:
            generator(a.part, b.settings)
        print(f"dry run: part {a.part} ({', '.join(PARTS[a.part]['subjects'])}), {len(chosen)} buckets x {len(methods)} methods")
        return 0
    import torch

    torch.set_num_threads(max(1, a.jobs))
    table = run(Path(a.workdir), a.part, chosen, methods, a.seeds, sets, a.csv)
    print()
    print(markdown(table))
    if a.readme:
        write_readme(table, a.part)
    return 0


if __name__ == "__main__":
    from mexp_lib.errors import script_exit

    raise SystemExit(script_exit(main, Path(__file__).name))
