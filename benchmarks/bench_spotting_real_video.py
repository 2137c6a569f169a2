"""Spotting on real face video: false detections per minute, a semi-synthetic benchmark and the
held smile of ``single_face.mp4``.

The real videos of ``../shared/data/real_video`` (see its ``SOURCES.md``; read in place, linked
from the cache, never copied) hold no annotated micro-expressions. Every spotter is fitted
(network, then thresholds) on the stress benchmark's middle bucket of its ``--part``
(``bench_spotting_stress.py``: six subjects rendered from real face crops), and then:

(a) **detections per minute** on each real video, and on the neutral stretches of the neutral
    video (``pexels-8090198``: frontal and still, no expression), where every detection is false;
(b) **semi-synthetic**: micro- and macro-expressions of known timing warped into the real videos
    (:mod:`mexp_lib.datasets.inject`; amplitudes and durations as in the middle bucket, scaled to
    each frame's face size), :data:`INJECT_PER_MIN` per minute of each video's usable frames
    (micro : macro 3 : 2, as in the renders), ``--inject-seeds`` independent injection plans per
    video (each its own injected copy of the real video); spotted leave-one-real-video-out (each
    fold fitted on the rendered videos and every injected copy of the other real videos) and
    scored with the MEGC metrics: pooled over seeds, per seed and per real video;
(c) **the held smile** of ``single_face.mp4`` (neutral to frame ~16, smile held to the end):
    spotted as one macro-expression, or not.

Run: nice -n 10 .venv/bin/python benchmarks/bench_spotting_real_video.py --part dev --spotters default floor mdmd [--inject-seeds 4] [--inject-gain 1] [--csv FILE]
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mexp_lib.datasets.inject import face_iod, injection_sheet, plan_injections, write_injected_video
from mexp_lib.io.frames import open_frames
from mexp_lib.io.landmarks_json import read_landmarks
from mexp_lib.log import setup_logging

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_spotting_stress import BUCKETS, PARTS, STRESS_FLOOR, bucket_dir, generator  # noqa: E402
from spotting_common import (  # noqa: E402
    NAMED,
    REPO,
    f1_row,
    face_stage,
    faces_dir,
    fit_and_spot,
    render,
    scores_of,
    spotter_configs,
)

REAL = REPO.parent / "shared/data/real_video"
VIDEOS = ["single_face.mp4", "WolfgangLanger_Pexels.mp4", "pexels-kindel-media-8164110.mp4", "pexels-8090198-sd_640_338_25fps.mp4",
          "face_noface.mov", "noface_face.mov"]
# neutral stretches (seconds, from SOURCES.md): every detection there is false
NEUTRAL = {"pexels-8090198-sd_640_338_25fps.mp4": [(0.0, 7.0), (27.0, 45.8)]}
# videos long enough to receive injections (single_face.mp4: 2.4 s; face_noface / noface_face: a
# face in the frame for a few seconds only)
INJECT = ["WolfgangLanger_Pexels.mp4", "pexels-kindel-media-8164110.mp4", "pexels-8090198-sd_640_338_25fps.mp4"]
# expressions injected per minute of a video's usable frames: the stress sweep's densest
# expressions_per_min bucket (the renders' middle is 15), so that each plan holds as many as the
# spotters are benchmarked on; micro : macro 3 : 2 as in the renders (micro_per_long, macro_per_long)
INJECT_PER_MIN = 24.0
INJECT_SEEDS = 4
SMILE = ("single_face.mp4", 16)  # the smile's onset frame (1-based, about)
FACE_REAL = {"on_missing_face": "skip"}


def video_fps(path: Path) -> float:
    import cv2

    cap = cv2.VideoCapture(str(path))
    fps = float(cap.get(cv2.CAP_PROP_FPS))
    cap.release()
    return fps


def link_real(cdir: Path) -> dict[str, float]:
    """Link the real videos into ``cdir/videos`` (not copied); their frame rates."""
    (cdir / "videos").mkdir(parents=True, exist_ok=True)
    for v in VIDEOS:
        dst = cdir / "videos" / v
        if not dst.exists():
            os.symlink(REAL / v, dst)
    return {v: video_fps(REAL / v) for v in VIDEOS}


def training_set(workdir: Path, part: str) -> tuple[Path, pd.DataFrame, list[str]]:
    """The stress benchmark's middle bucket of ``part`` (rendered and faced; cached)."""
    middle = BUCKETS[0]
    seed = int(PARTS[part]["seed"])
    cdir = bucket_dir(workdir, part, middle, seed)
    gt = render(cdir, generator(part, middle.settings, seed))
    videos = sorted(gt.video.unique())
    face_stage(cdir, videos)
    return cdir, gt, videos


def faced(cdir: Path, videos: list[str]) -> list[str]:
    """The videos whose face stage found a face (not skipped)."""
    from mexp_lib.io.skip import skip_reason

    return [v for v in videos if skip_reason(faces_dir(cdir) / f"{v}.json") is None]


def usable_frames(lm: Any) -> np.ndarray:
    """Frames of a real video whose landmarks ``lm`` hold a tracked, near-frontal face (outer eye corners at least
    0.7 x their median apart): where injections may go."""
    iod = face_iod(lm.points)
    return np.array([h in ("detected", "tracked") for h in lm.how]) & np.isfinite(iod) & (iod >= 0.7 * np.nanmedian(iod))


def inject(workdir: Path, real: Path, part: str, seeds: int, gain: float = 1.0) -> tuple[Path, pd.DataFrame, dict[str, float]]:
    """The semi-synthetic videos ``<real video>_i<seed>``: injections planned in each video's
    usable frames (:func:`usable_frames`, the real video's own landmarks), written as JPEG 95
    frames; their ground truth (subject: the real video). ``gain``: every amplitude times this
    (1: the middle bucket's; more: how large an expression must be to stand out of the real
    video's motion). Cached per injection rate and gain."""
    middle = BUCKETS[0].settings
    cdir = workdir / "semi" / part / (f"per_min{INJECT_PER_MIN:g}" + ("" if gain == 1 else f"_x{gain:g}"))
    (cdir / "videos").mkdir(parents=True, exist_ok=True)
    sheets, fps = [], {}
    for i, v in enumerate(INJECT):
        stem, rate = Path(v).stem, video_fps(REAL / v)
        lm = read_landmarks(faces_dir(real) / f"{v}.json")
        usable = usable_frames(lm)
        n = int(round(INJECT_PER_MIN * usable.sum() / rate / 60))
        micro = int(round(n * 3 / 5))
        for seed in range(seeds):
            name = f"{stem}_i{seed}"
            fps[name] = rate
            rng = np.random.default_rng([int(PARTS[part]["seed"]), 7, i, seed])
            inj = plan_injections(usable, rate, rng, micro=micro, macro=n - micro, micro_amplitude=tuple(gain * x for x in middle["micro_px"]),
                                  macro_amplitude=tuple(gain * x for x in middle["macro_px"]), micro_seconds=tuple(f / 30 for f in middle["micro_frames"]),
                                  macro_seconds=tuple(f / 30 for f in middle["macro_frames"]))
            if not (cdir / "videos" / name).exists():
                write_injected_video(open_frames(str(REAL / v)).iter_frames(), lm.points, inj, cdir / "videos" / name)
            sheets.append(injection_sheet(name, stem, inj))
    gt = pd.concat(sheets, ignore_index=True)
    face_stage(cdir, list(fps))
    return cdir, gt, fps


def touched(gt: pd.DataFrame, pred: pd.DataFrame) -> int:
    """Ground-truth events that some predicted interval overlaps at all, whatever its type (the
    MEGC match needs IoU >= 0.5 and the type): found roughly, or not at all."""
    from mexp_lib.metrics import iou

    return sum(any(iou((g.onset, g.offset), (p.onset, p.offset)) > 0 for p in pred[pred.video == g.video].itertuples()) for g in gt.itertuples())


def semi_rows(part: str, name: str, sgt: pd.DataFrame, pred: pd.DataFrame, what: str = "semi-synthetic F1") -> list[dict[str, Any]]:
    """The semi-synthetic rows of one spotter: pooled over every injected video, per injection
    seed and per real video (MEGC metrics with their counts; ``touched``: :func:`touched`)."""
    rows = []
    seed_of = {v: v.rsplit("_i", 1)[1] for v in sgt.video.unique()}
    groups = [("all", list(seed_of))]
    groups += [(f"seed {s}", [v for v in seed_of if seed_of[v] == s]) for s in sorted(set(seed_of.values()), key=int)]
    groups += [(subject, sorted(sgt.video[sgt.subject == subject].unique())) for subject in sorted(sgt.subject.unique())]
    for label, videos in groups:
        g, p = sgt[sgt.video.isin(videos)], pred[pred.video.isin(videos)]
        r = {**f1_row(g, p), "touched": touched(g, p)}
        rows.append({"part": part, "spotter": name, "what": what, "video": label, "value": r["f1"], **{k: r[k] for k in r if k != "f1"}})
        print(f"{name:42s} {what} {label:32s} F1 {r['f1']:.3f} (micro {r['micro_f1']:.3f}, macro {r['macro_f1']:.3f}; "
              f"TP {r['tp']} FP {r['fp']} FN {r['fn']}; {r['touched']} of {len(g)} overlapped at all)", flush=True)
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--part", choices=sorted(PARTS), default="dev", help="the rendered part the spotters are fitted on")
    ap.add_argument("--spotters", nargs="*", choices=list(NAMED), default=["default", "floor", "mdmd", "classical"],
                    help="select: the schema's default spotter, which mexp spot ships fitted (benchmarks/build_spot_model.py)")
    ap.add_argument("--workdir", default=str(REPO / "benchmarks/.cache"), help="cache (the stress benchmark's folder is shared)")
    ap.add_argument("--skip", nargs="*", default=[], choices=["a", "b", "c"], help="parts of the benchmark not to run")
    ap.add_argument("--inject-seeds", type=int, default=INJECT_SEEDS, help="injection plans (injected copies) per real video")
    ap.add_argument("--inject-gain", type=float, default=1.0, help="injected amplitudes times this (1: the middle bucket's)")
    ap.add_argument("--csv", help="write the rows here too")
    a = ap.parse_args(argv)
    if not REAL.is_dir():
        print(f"the real videos are not at {REAL}", file=sys.stderr)
        return 2
    setup_logging(level=logging.WARNING)
    work = Path(a.workdir)
    t0 = time.perf_counter()
    tdir, tgt, tvideos = training_set(work / "spotting_stress", a.part)
    real = work / "spotting_real_video" / "real"
    fps = link_real(real)
    face_stage(real, VIDEOS, FACE_REAL)
    rvideos = faced(real, VIDEOS)
    print(f"training: {len(tvideos)} rendered videos; real videos with a face: {rvideos} ({time.perf_counter() - t0:.0f} s)", flush=True)
    semi = inject(work / "spotting_real_video", real, a.part, a.inject_seeds, a.inject_gain) if "b" not in a.skip else None
    rows: list[dict[str, Any]] = []
    for short in a.spotters:
        name = NAMED[short]
        feat_cfg, spot_cfg = spotter_configs(name)
        floor = STRESS_FLOOR if feat_cfg is None else None
        train = scores_of(tdir, tvideos, float(BUCKETS[0].settings["fps"]), feat_cfg, floor=floor)
        if not {"a", "c"} <= set(a.skip):
            test = scores_of(real, rvideos, fps, feat_cfg, floor=floor)
            pred = fit_and_spot(train, tgt, test, spot_cfg)
            for v in rvideos:
                p = pred[pred.video == v]
                n = len(test[v]["micro"])
                minutes = n / fps[v] / 60
                row = {"part": a.part, "spotter": name, "what": "detections per minute", "video": v, "value": len(p) / minutes}
                rows.append(row)
                print(f"{name:42s} {v:40s} {len(p):3d} detections in {minutes * 60:5.1f} s: {row['value']:.1f} /min", flush=True)
                if v in NEUTRAL:
                    spans = NEUTRAL[v]
                    inside = [(o, f) for o, f in zip(p.onset, p.offset, strict=True) if any(lo * fps[v] <= o - 1 and f - 1 <= hi * fps[v] for lo, hi in spans)]
                    neutral_min = sum(min(hi, n / fps[v]) - lo for lo, hi in spans) / 60
                    rows.append({"part": a.part, "spotter": name, "what": "false detections per minute (neutral)", "video": v, "value": len(inside) / neutral_min})
                    print(f"{name:42s} {v:40s} neutral stretches: {len(inside)} false detections in {neutral_min * 60:.0f} s: "
                          f"{len(inside) / neutral_min:.1f} /min", flush=True)
                if v == SMILE[0]:
                    later = p[p.offset >= SMILE[1]]
                    one = len(later) == 1 and (later.type == "macro").all()
                    rows.append({"part": a.part, "spotter": name, "what": "held smile as one macro", "video": v, "value": float(one)})
                    spans = ", ".join(f"{t} {o}-{f}" for t, o, f in zip(p.type, p.onset, p.offset, strict=True)) or "nothing"
                    print(f"{name:42s} held smile: {'one macro-expression' if one else 'NOT one macro-expression'} ({spans})", flush=True)
        if semi is not None:
            sdir, sgt, sfps = semi
            svideos = faced(sdir, list(sfps))
            sc = scores_of(sdir, svideos, sfps, feat_cfg, floor=floor)
            subject = dict(zip(sgt.video, sgt.subject, strict=False))
            preds = []
            for held in sorted({subject[v] for v in svideos}):  # leave one real video (every injected copy) out
                out = [v for v in svideos if subject[v] == held]
                tr = {**train, **{u: sc[u] for u in svideos if subject[u] != held}}
                preds.append(fit_and_spot(tr, pd.concat([tgt, sgt[sgt.subject != held]], ignore_index=True), {v: sc[v] for v in out}, spot_cfg))
            what = "semi-synthetic F1" + ("" if a.inject_gain == 1 else f" (amplitudes x{a.inject_gain:g})")
            rows += semi_rows(a.part, name, sgt[sgt.video.isin(svideos)], pd.concat(preds, ignore_index=True), what)
    table = pd.DataFrame(rows)
    if a.csv:
        table.to_csv(a.csv, index=False)
    print(f"done in {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    from mexp_lib.errors import script_exit

    raise SystemExit(script_exit(main, Path(__file__).name))
