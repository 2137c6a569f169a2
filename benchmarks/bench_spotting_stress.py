"""Spotting stress sweep: each generative factor varied on its own around a middle setting.

Long videos rendered from the real face crops of the MEGC 2019 composite (read in place from
``../shared``, never copied) by the demo generator, one factor at a time away from the middle
setting (6 subjects, 20 s at 30 fps, five expressions per video: three micro 8-14 frames at
1-2 px and two macro 30-70 frames at 3-5 px on the 224 px face; blinks every 1.5-4 s; head drift
2.5 px and rotation 0.6 degrees; noise sigma 2; JPEG 80): micro amplitude and duration, macro
amplitude and duration, head drift and rotation, blink rate, non-expression facial motion
(talking, swallowing, gaze shifts), noise, JPEG, fps, expressions per minute and video length
(:func:`mexp_lib.stress.sweep_buckets`). Durations are given in frames at 30 fps (seconds are
kept when the fps changes).

Every bucket goes through the workflow's stage functions and leave-one-subject-out spotting for
each spotter (``spotting_common.SPOTTERS``: the default, every other spotter, MDMD and the
fixed-region floor); the floor's half-windows were chosen on development videos. With
``--seeds N`` each bucket is rendered with N seeds and the spread (std of F1 over seeds) is
reported; a loss of the default to the floor counts only beyond it.

Two parts with disjoint subjects, never mixed: ``dev`` (seed 301; subjects of the realism
benchmark's development part) and ``test`` (seed 302; subjects of its test part).

Run: nice -n 10 .venv/bin/python benchmarks/bench_spotting_stress.py --part dev --buckets middle "micro_px=0.3-0.8" --spotters default floor mdmd --csv FILE
(``--list``: print the buckets; ``--from-csv FILE ...``: the tables of earlier runs, e.g. one
bucket per run; ``--readme``: the test part's table into the README; ``--set face.margin=0``: a
trial face setting on the development part, its crops cached apart, its rows labelled with it.)
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mexp_lib.datasets.demo_plan import plan_demo
from mexp_lib.log import setup_logging
from mexp_lib.report import add_run_arguments, publish_earlier_runs, publish_runs, replace_generated_block
from mexp_lib.stress import (
    Bucket,
    bucket_table,
    latest_mask,
    margins,
    select_buckets,
    sweep_buckets,
    worst_bucket_lines,
)

sys.path.insert(0, str(Path(__file__).resolve().parent))
import spotting_common  # noqa: E402
from spotting_common import (  # noqa: E402
    DEFAULT,
    FACES,
    FLOOR,
    NAMED,
    REPO,
    SHORT,
    evaluate,
    face_stage,
    render,
    scores_of,
    spotter_configs,
)

PARTS: dict[str, dict[str, Any]] = {
    "dev": {"subjects": ["sub01", "006", "s01", "sub02", "007", "s02"], "seed": 301},
    "test": {"subjects": ["sub03", "009", "s03", "sub04", "010", "s04"], "seed": 302},
}
MIDDLE: dict[str, Any] = {
    "micro_px": (1.0, 2.0), "micro_frames": (8, 14), "macro_px": (3.0, 5.0), "macro_frames": (30, 70),
    "head_drift_px": 2.5, "head_rotation_deg": 0.6, "blink_every_s": (1.5, 4.0), "nuisance_per_min": 0.0,
    "noise_sigma": 2.0, "jpeg": 80, "fps": 30.0, "expressions_per_min": 15.0, "seconds": 20.0,
}
FACTORS: dict[str, list[Any]] = {
    "micro_px": [(0.3, 0.8), (0.8, 1.2), (2.0, 3.0)],
    "micro_frames": [(6, 8), (12, 15)],
    "macro_px": [(2.0, 3.0), (5.0, 7.0)],
    "macro_frames": [(20, 35), (60, 120)],
    "head_drift_px": [0.5, 5.0],
    "head_rotation_deg": [0.0, 2.0],
    "blink_every_s": [(0.8, 1.5), (4.0, 8.0)],
    "nuisance_per_min": [6.0, 15.0],
    "noise_sigma": [0.0, 4.0],
    "jpeg": [0, 60],  # 0: lossless PNG
    "fps": [25.0, 60.0, 200.0],
    "expressions_per_min": [6.0, 24.0],
    "seconds": [10.0, 60.0],
}
BUCKETS = sweep_buckets(MIDDLE, FACTORS)


def generator(part: str, settings: dict[str, Any], seed: int) -> dict[str, Any]:
    """The demo generator's settings of one bucket's stress settings."""
    p, s = PARTS[part], settings
    return {
        "seed": seed, "subjects": len(p["subjects"]), "clips_per_class": 0, "frame_size": 360, "long_videos_per_subject": 1,
        "long_fps": float(s["fps"]), "long_seconds": float(s["seconds"]), "micro_per_long": 3, "macro_per_long": 2,
        "expressions_per_minute": float(s["expressions_per_min"]),
        "micro_amplitude": list(s["micro_px"]), "macro_amplitude": list(s["macro_px"]),
        "micro_seconds": [f / 30.0 for f in s["micro_frames"]], "macro_seconds": [f / 30.0 for f in s["macro_frames"]],
        "head_motion": float(s["head_drift_px"]) / 1.5, "head_rotation": float(s["head_rotation_deg"]),
        "blink_interval": list(s["blink_every_s"]), "nuisance_per_minute": float(s["nuisance_per_min"]),
        "noise_sigma": float(s["noise_sigma"]), "jpeg_quality": int(s["jpeg"]) or None,
        "faces": str(FACES), "face_subjects": p["subjects"],
    }


def bucket_dir(workdir: Path, part: str, bucket: Bucket, seed: int) -> Path:
    return workdir / part / bucket.name.replace("=", "_").replace(".", "p") / f"seed{seed}"


def run_bucket(workdir: Path, part: str, bucket: Bucket, spotters: list[str], seeds: int) -> list[dict[str, Any]]:
    """Every spotter on one bucket (each seed rendered and spotted apart): one row per spotter,
    F1 and the counts averaged over seeds, ``f1_std`` their spread (NaN for one seed)."""
    t0 = time.perf_counter()
    per: dict[str, list[pd.Series]] = {n: [] for n in spotters}
    fps = float(bucket.settings["fps"])
    for i in range(seeds):
        seed = int(PARTS[part]["seed"]) + 1000 * i
        cdir = bucket_dir(workdir, part, bucket, seed)
        gt = render(cdir, generator(part, bucket.settings, seed))
        videos = sorted(gt.video.unique())
        face_stage(cdir, videos)
        for name in spotters:
            feat_cfg, spot_cfg = spotter_configs(name)
            floor = STRESS_FLOOR if name == FLOOR else None
            per[name].append(evaluate(scores_of(cdir, videos, fps, feat_cfg, floor=floor), gt, spot_cfg))
    rows = []
    for name, res in per.items():
        df = pd.DataFrame(res)
        row = {"part": part, "bucket": bucket.name, "method": name, **df.mean().round(4).to_dict(),
               "f1_std": float(df.f1.std()) if len(df) > 1 else float("nan"), "seeds": seeds}
        rows.append(row)
        print(f"{bucket.name:28s} {name:42s} F1 {row['f1']:.3f} (micro {row['micro_f1']:.3f}, macro {row['macro_f1']:.3f}; "
              f"TP {row['tp']:g} FP {row['fp']:g} FN {row['fn']:g})", flush=True)
    print(f"{bucket.name}: {time.perf_counter() - t0:.0f} s", flush=True)
    return rows


def run(workdir: Path, part: str, buckets: list[Bucket], spotters: list[str], seeds: int, jobs: int) -> pd.DataFrame:
    if jobs <= 1:
        rows = [r for b in buckets for r in run_bucket(workdir, part, b, spotters, seeds)]
    else:
        with ProcessPoolExecutor(jobs) as ex:
            rows = [r for rs in ex.map(run_bucket, *zip(*[(workdir, part, b, spotters, seeds) for b in buckets], strict=True)) for r in rs]
    return pd.DataFrame(rows)


# the floor's candidate settings (half-windows, region), tried on the dev part's middle bucket
FLOOR_GRID = [({"micro": km, "macro": kM}, r) for km, kM in ((0.18, 1.2), (0.12, 0.9), (0.24, 1.5)) for r in (0.5, 0.6)]


# the floor's settings chosen by --choose-floor on the dev middle bucket (F1 0.449 there, against
# 0.377 for the realism benchmark's k 0.18 / 1.2 s; benchmarks/spotting_stress_floor_choice_dev.csv)
STRESS_FLOOR = ({"micro": 0.12, "macro": 0.9}, 0.6)


def choose_floor(workdir: Path) -> pd.DataFrame:
    """Overall F1 (leave-one-subject-out) of every floor candidate on the dev part's middle
    bucket, best first: how the floor's settings are chosen (never on the test part)."""
    bucket, seed = BUCKETS[0], int(PARTS["dev"]["seed"])
    cdir = bucket_dir(workdir, "dev", bucket, seed)
    gt = render(cdir, generator("dev", bucket.settings, seed))
    videos = sorted(gt.video.unique())
    _, cfg = spotter_configs(FLOOR)
    rows = []
    for k, region in FLOOR_GRID:
        r = evaluate(scores_of(cdir, videos, float(bucket.settings["fps"]), None, floor=(k, region)), gt, cfg)
        rows.append({"k_micro": k["micro"], "k_macro": k["macro"], "region": region, **r.to_dict()})
        print(f"floor k {k} region {region}: F1 {r.f1:.3f} (micro {r.micro_f1:.3f}, macro {r.macro_f1:.3f})", flush=True)
    return pd.DataFrame(rows).sort_values("f1", ascending=False, kind="stable")


def markdown(table: pd.DataFrame) -> str:
    """Bucket x spotter table of overall F1 (buckets in the sweep's order, whichever runs' files
    hold them; a bucket rerun with more seeds shows that run: :func:`mexp_lib.stress.latest_mask`),
    then the default's margin over the floor."""
    rank = {b.name: i for i, b in enumerate(BUCKETS)}
    table, shown = table.reset_index(drop=True), latest_mask(table)
    replaced, table = table[~shown], table[shown]
    table = table.iloc[np.argsort(table.bucket.map(rank).to_numpy(), kind="stable")]
    f1 = bucket_table(table, score="f1")
    lines = ["| bucket | " + " | ".join(f1.columns) + " | default − floor |", "|---|" + "---|" * (len(f1.columns) + 1)]
    marg = margins(table, method=DEFAULT, baseline=FLOOR, score="f1").set_index("bucket") if {DEFAULT, FLOOR} <= set(table.method) else None
    for bucket, r in f1.iterrows():
        cells = ["" if np.isnan(v) else f"{v:.2f}" for v in r]
        m = "" if marg is None or bucket not in marg.index else f"{marg.loc[bucket, 'margin']:+.2f}" + (" (loses)" if marg.loc[bucket, "loses"] else "")
        lines.append(f"| {bucket} | " + " | ".join(cells) + f" | {m} |")
    lines.append("")
    for bucket, g in replaced.groupby("bucket", sort=False):  # what a rerun over more seeds replaced
        shown = table[table.bucket == bucket]
        was = ", ".join(f"{r.method} {r.f1:.2f}" for r in g.itertuples())
        now = ", ".join(f"{r.method} {r.f1:.2f} ± {r.f1_std:.2f}" for r in shown.itertuples() if r.method in set(g.method))
        lines.append(f"- {bucket}: rerun over {int(shown.seeds.max())} seeds (the first one's included), shown above: {now}; "
                     f"its earlier run over {int(g.seeds.max())} seed(s): {was}.")
    lines += [f"- {line}" for line in worst_bucket_lines(table, methods=list(dict.fromkeys(table.method)), score="f1", label="F1")]
    return "\n".join(lines)


BEGIN, END = "<!-- bench_spotting_stress: begin -->", "<!-- bench_spotting_stress: end -->"


def readme_block(table: pd.DataFrame, part: str) -> str:
    """The README's generated block: how many buckets were run, then :func:`markdown`."""
    run, every = table.bucket.nunique(), len(BUCKETS)
    which = "every bucket" if run == every else f"{run} of the {every} buckets (the others not run yet on this part)"
    return (f"*Generated by `benchmarks/bench_spotting_stress.py --part {part} --readme`: overall F1 per bucket (one factor away from "
            f"the middle setting), MEGC IoU ≥ 0.5, leave-one-subject-out; {which}.*\n\n{markdown(table)}")


def write_readme(table: pd.DataFrame, part: str) -> None:
    replace_generated_block(REPO / "README.md", BEGIN, END, readme_block(table, part))


def face_trial(assignments: list[str], part: str) -> str:
    """Apply ``--set face.KEY=VALUE ...`` to the face settings every spotter's crops are made with
    (:data:`spotting_common.FACE`; cached apart, :func:`spotting_common.faces_dir`) and return
    the label its rows carry ("" for none). Only face keys, and only on the development part."""
    from mexp_lib.config import parse_assignments, settings
    from mexp_lib.errors import ConfigError

    over = parse_assignments(assignments)
    if not over:
        return ""
    if set(over) != {"face"}:
        raise ConfigError(f"--set: only face settings can be tried here, not {sorted(set(over) - {'face'})}")
    if part != "dev":
        raise ConfigError("--set: trial settings are for the development part only")
    spotting_common.FACE = settings("face", spotting_common.FACE, over["face"])  # checked against the schema
    return ", ".join(f"face.{k} {v}" for k, v in sorted(over["face"].items()))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--part", choices=sorted(PARTS), default="dev")
    ap.add_argument("--buckets", nargs="*", help="bucket names (see --list); default: all")
    ap.add_argument("--spotters", nargs="*", choices=list(NAMED), help="default: all but select (named only on request)")
    ap.add_argument("--seeds", type=int, default=1, help="render seeds per bucket (the spread needs 2 or more)")
    ap.add_argument("--jobs", type=int, default=1, help="buckets run in parallel")
    ap.add_argument("--workdir", default=str(REPO / "benchmarks/.cache/spotting_stress"), help="cache of videos, faces and features")
    ap.add_argument("--list", action="store_true", help="print the buckets and their settings")
    ap.add_argument("--choose-floor", action="store_true", help="F1 of the floor's candidate settings on the dev part's middle bucket")
    ap.add_argument("--set", nargs="*", default=[], metavar="face.KEY=VALUE",
                    help="a trial face setting over config/config.yaml's (development part only), e.g. face.margin=0; "
                         "the spotters' rows are labelled with it (the floor reads the frames, not the faces)")
    add_run_arguments(ap)
    a = ap.parse_args(argv)
    trial = face_trial(a.set, a.part)
    if a.list:
        for b in BUCKETS:
            print(b.name)
        return 0
    if publish_earlier_runs(a, script=Path(__file__).name, markdown=markdown, write_readme=write_readme):
        return 0
    if a.choose_floor:
        setup_logging(level=logging.WARNING)
        print(choose_floor(Path(a.workdir)).to_string(index=False))
        return 0
    buckets = select_buckets(BUCKETS, a.buckets)
    spotters = [NAMED[s] for s in (a.spotters or list(SHORT))]
    if a.dry_run:
        for b in buckets:  # every bucket's expressions fit in its videos
            plan_demo(generator(a.part, b.settings, int(PARTS[a.part]["seed"])))
        for s in spotters:
            spotter_configs(s)
        print(f"dry run: part {a.part}, {len(buckets)} buckets x {len(spotters)} spotters x {a.seeds} seeds")
        return 0
    if not FACES.is_dir():
        print(f"the real face crops are not at {FACES}", file=sys.stderr)
        return 2
    setup_logging(level=logging.WARNING)
    table = run(Path(a.workdir), a.part, buckets, spotters, a.seeds, a.jobs)
    if trial:
        table["method"] = [m if m == FLOOR else f"{m}, {trial}" for m in table.method]
    print()
    publish_runs(table, part=a.part, markdown=markdown, write_readme=write_readme, csv=a.csv, readme=a.readme)
    return 0


if __name__ == "__main__":
    from mexp_lib.errors import script_exit

    raise SystemExit(script_exit(main, Path(__file__).name))
