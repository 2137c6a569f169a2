"""Why the semi-synthetic benchmark of ``bench_spotting_real_video.py`` finds so little: two
measurements, on the caches that benchmark leaves (run it first, same ``--part`` and ``--workdir``).

1. **Displacement in the aligned face crop.** A frame of each real video (its median face size)
   and the same frame with one expression injected at full activation, both aligned with the
   frame's own landmarks (the face stage's transform, 128 px crop): the largest DIS-flow
   magnitude between the two crops, per amplitude and emotion; the same for the rendered faces of
   the part (the expression warped into the face photograph, :func:`expression_field`). Equal
   values: an amplitude means the same motion in the crop the spotters see, whatever the face's
   size in the real frame.
2. **Scores at the events.** The default spotter's per-frame scores (micro score for micro
   events, macro for macro) at every ground-truth event: its peak inside the event, the score of
   the same frames of the real video without injection, and how many of the video's other local
   maxima (outside every event, in usable frames) are at least as high, per minute; the same for
   the rendered videos of the middle bucket.

Run: nice -n 10 .venv/bin/python benchmarks/diagnose_semi_synthetic.py --part dev
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pandas as pd

from mexp_lib.datasets.demo_render import expression_field, identities, warp_by_field
from mexp_lib.datasets.inject import Injection, face_iod, inject_frames
from mexp_lib.face.align import face_transform, warp_face
from mexp_lib.io.frames import open_frames
from mexp_lib.io.landmarks_json import read_landmarks
from mexp_lib.log import setup_logging

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_spotting_real_video import (  # noqa: E402
    INJECT,
    INJECT_SEEDS,
    REAL,
    inject,
    link_real,
    training_set,
    usable_frames,
    video_fps,
)
from bench_spotting_stress import BUCKETS, PARTS, generator  # noqa: E402
from spotting_common import DEFAULT, FACE, REPO, face_stage, faces_dir, scores_of, spotter_configs  # noqa: E402

AMPLITUDES = (1.5, 4.0)  # the middle of the renders' micro and macro ranges
EMOTIONS = ("happiness", "surprise", "disgust")


def crop_motion(a: np.ndarray, b: np.ndarray, lm: np.ndarray) -> float:
    """Largest DIS-flow magnitude (px) between grey frames ``a`` and ``b`` aligned with ``lm``."""
    m = face_transform(lm, int(FACE["size"]), float(FACE["margin"]))
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    flow = dis.calc(warp_face(a, m, int(FACE["size"])), warp_face(b, m, int(FACE["size"])), None)
    return float(np.linalg.norm(flow, axis=-1).max())


def displacement_rows(real: Path, part: str) -> list[dict[str, Any]]:
    rows = []
    for v in INJECT:
        lm = read_landmarks(faces_dir(real) / f"{v}.json")
        iod = face_iod(lm.points)
        i = int(np.nanargmin(np.where(usable_frames(lm), np.abs(iod - np.nanmedian(iod)), np.inf)))
        img, pts = open_frames(str(REAL / v)).read(i, grey=True), lm.points[i].astype(np.float64)
        for amp in AMPLITUDES:
            for emo in EMOTIONS:  # frame 1 of a 3-frame injection is its apex (activation 1)
                out = list(inject_frames([img] * 3, np.stack([pts] * 3), [Injection("micro", emo, 0, 1, 2, amp)]))[1]
                rows.append({"source": f"real: {v}", "face_iod_px": float(iod[i]), "amplitude": amp, "emotion": emo, "crop_px": crop_motion(img, out, pts)})
    for ident, lm in identities(generator(part, BUCKETS[0].settings, int(PARTS[part]["seed"]))):
        grey = cv2.cvtColor(np.clip(ident, 0, 255).astype(np.uint8), cv2.COLOR_BGR2GRAY)
        for amp in AMPLITUDES:
            for emo in EMOTIONS:
                out = np.clip(np.rint(warp_by_field(grey.astype(np.float32), expression_field(grey.shape, lm, emo) * amp, 1.0)), 0, 255).astype(np.uint8)
                rows.append({"source": "render", "face_iod_px": float(face_iod(lm[None])[0]), "amplitude": amp, "emotion": emo, "crop_px": crop_motion(grey, out, lm)})
    return rows


def local_maxima(x: np.ndarray, k: int, mask: np.ndarray) -> np.ndarray:
    """Values of the local maxima (largest within +-``k`` frames) of ``x`` where ``mask``."""
    y = np.nan_to_num(x, nan=-np.inf)
    return np.array([y[i] for i in range(len(y)) if mask[i] and np.isfinite(y[i]) and y[i] == y[max(0, i - k): i + k + 1].max()])


def event_rows(source: str, scores: dict[str, dict[str, np.ndarray]], gt: pd.DataFrame, fps: dict[str, float],
               usable: dict[str, np.ndarray], plain: dict[str, dict[str, np.ndarray]] | None = None) -> list[dict[str, Any]]:
    """One row per event of ``gt`` (1-based frames) in ``scores``; ``plain``: the same videos'
    scores without injection (by the ``gt`` subject)."""
    rows = []
    for v, s in scores.items():
        ev = gt[gt.video == v]
        for e in ev.itertuples():
            t, x = e.type, s[e.type]
            k = int(s[f"k_{t}"])
            mask = usable[v].copy()
            for o in ev.itertuples():
                mask[max(0, o.onset - 1 - k): o.offset + k] = False
            peak = float(np.nanmax(x[e.onset - 1: e.offset]))
            higher = int((local_maxima(x, k, mask) >= peak).sum())
            row = {"source": source, "video": v, "type": t, "event_peak": peak, "higher_peaks_per_min": higher / (mask.sum() / fps[v] / 60),
                   "video_p95": float(np.nanpercentile(x[usable[v]], 95))}
            if plain is not None:
                row["same_frames_without_injection"] = float(np.nanmax(plain[e.subject][t][e.onset - 1: e.offset]))
            rows.append(row)
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--part", choices=sorted(PARTS), default="dev")
    ap.add_argument("--workdir", default=str(REPO / "benchmarks/.cache"))
    ap.add_argument("--inject-seeds", type=int, default=INJECT_SEEDS)
    a = ap.parse_args(argv)
    setup_logging(level=logging.WARNING)
    pd.set_option("display.width", 200)
    work = Path(a.workdir)
    real = work / "spotting_real_video" / "real"
    link_real(real)
    face_stage(real, INJECT, {"on_missing_face": "skip"})
    disp = pd.DataFrame(displacement_rows(real, a.part))
    print("1. largest flow (px) in the aligned 128 px crop of one injected / rendered expression at full activation")
    print(disp.groupby(["source", "amplitude"]).crop_px.agg(["median", "min", "max"]).round(2).to_string(), "\n")

    cfg, _ = spotter_configs(DEFAULT)
    tdir, tgt, tvideos = training_set(work / "spotting_stress", a.part)
    tfps = float(BUCKETS[0].settings["fps"])
    rsc = scores_of(tdir, tvideos, tfps, cfg)
    sdir, sgt, sfps = inject(work / "spotting_real_video", real, a.part, a.inject_seeds)
    ssc = scores_of(sdir, list(sfps), sfps, cfg)
    rfps = {Path(v).stem: video_fps(REAL / v) for v in INJECT}
    plain = {Path(v).stem: s for v, s in scores_of(real, INJECT, {v: rfps[Path(v).stem] for v in INJECT}, cfg).items()}
    use = {Path(v).stem: usable_frames(read_landmarks(faces_dir(real) / f"{v}.json")) for v in INJECT}
    rows = event_rows("render", rsc, tgt, dict.fromkeys(tvideos, tfps), {v: np.ones(len(s["micro"]), bool) for v, s in rsc.items()})
    rows += event_rows("semi", ssc, sgt, sfps, {v: use[sgt.subject[sgt.video == v].iloc[0]] for v in ssc}, plain)
    ev = pd.DataFrame(rows)
    print("2. the default spotter's scores at the events (medians over events)")
    cols = ["event_peak", "same_frames_without_injection", "higher_peaks_per_min", "video_p95"]
    print(ev.groupby(["source", "type"])[cols].median().round(3).to_string())
    semi = ev[ev.source == "semi"].copy()
    semi["real video"] = [sgt.subject[sgt.video == v].iloc[0] for v in semi.video]
    print(semi.groupby(["real video", "type"])[cols].median().round(3).to_string())
    return 0


if __name__ == "__main__":
    from mexp_lib.errors import script_exit

    raise SystemExit(script_exit(main, Path(__file__).name))
