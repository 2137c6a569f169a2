"""Preprocessing throughput: mexp against the seed repositories' chain, and the workflow's
per-clip cost.

1. The same known-motion clip (the demo's face photograph, 320x320, 43 frames, every frame moved
   from the first by a known smooth field of up to 3 px, rising and falling like an expression)
   through the seed-style chain (``../shared/reference/seedstyle_chain.py``: dlib on frame 1, the
   same box from every frame, 128 px, OpenCV-default TV-L1 onset -> every frame, strain) and
   through mexp's command line (``mexp landmarks --strategy clip`` -> ``mexp align`` -> ``mexp
   flow --reference onset``, three processes; and ``mexp preprocess``, the same stage functions in
   one process), each with the schema's TV-L1 and with DIS + variational refinement,
   alternating, ``--reps`` times each (>= 3); the median wall time of each (interpreter start-up
   included, as a user pays it), its ratio to the seed chain, and the end-point error of each
   chain's flow against the known field (mapped into that chain's own 128 px crop, mean over
   every pair, inside the face), with whether it is at most the seed's. The workflow runs in the
   same alternation: ``--copies`` copies of the clip as a ``generic`` dataset, set up as the
   tight-crop DIS chain (every pair computed, as for a sequence model), one Snakemake run on one
   core per repetition; its time per clip is that run's wall time (planning included) over the
   copies.
2. Flow methods on that clip's mexp crops: pairs/s on one thread and end-point error (the
   schema's TV-L1, OpenCV's TV-L1, DIS presets, DIS with variational refinement).
3. The workflow's per-clip cost: a small demo's ``--clips`` short clips (its long videos untouched) through
   landmarks, faces, TIM, magnification and flow on one core, in jobs of
   ``batching.clips_per_job`` clips (``--clips-per-job``; default: the schema's); the sum of its
   jobs' benchmark times per clip, per stage, and clips per hour per core.

Timings on a shared machine are noisy: read the medians and the ratio, not single runs.
Run: .venv/bin/python benchmarks/bench_pipeline.py [--reps 3] [--threads 2] [--copies 20] [--skip-workflow] [--readme]
(``--readme`` writes what it printed, the command and the machine's load into README.md.)
(``--repo PATH`` runs another checkout's command line and workflow; ``--baseline-repo PATH`` adds
another checkout's command line to the alternation, e.g. the main branch before a change).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import yaml

REPO = Path(__file__).resolve().parents[1]
SEED_CHAIN = REPO.parent / "shared" / "reference" / "seedstyle_chain.py"
N_FRAMES, FRAME, CROP = 43, 320, 128


LINES: list[str] = []  # what this run printed, for --readme
BEGIN, END = "<!-- bench_pipeline: begin -->", "<!-- bench_pipeline: end -->"


def say(text: str) -> None:
    print(text)
    LINES.extend(text.split("\n"))


def write_readme(command: str) -> None:
    """Replace the README's generated block with this run's output, the command and the load."""
    load = os.getloadavg()
    body = (f"`{command}` on a {os.cpu_count()}-core machine shared with other jobs (load average "
            f"{load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} at the end: read the ratios, not the seconds):\n\n```text\n"
            + "\n".join(x.replace(f" ({REPO})", "") for x in LINES if x.strip()) + "\n```")
    from mexp_lib.report import replace_generated_block

    replace_generated_block(REPO / "README.md", BEGIN, END, body)


def known_motion_clip(folder: Path) -> np.ndarray:
    """Write the clip's frames as PNG; return the field (H, W, 2) and the per-frame scale."""
    from mexp_lib.datasets.demo_render import base_face
    from mexp_lib.motion.synthetic import move_by_field, smooth_field

    img, _ = base_face(FRAME)
    grey = cv2.cvtColor(np.clip(img, 0, 255).astype(np.uint8), cv2.COLOR_BGR2GRAY)
    field = smooth_field(grey.shape, low=0.2, high=3.0)
    folder.mkdir(parents=True, exist_ok=True)
    for i, s in enumerate(scales()):
        frame = grey if s == 0 else np.clip(np.rint(move_by_field(grey, field * s)), 0, 255).astype(np.uint8)
        cv2.imwrite(str(folder / f"img{i + 1:03d}.png"), frame)
    return field


def scales() -> np.ndarray:
    return np.sin(np.pi * np.arange(N_FRAMES) / (N_FRAMES - 1)).astype(np.float32)


def crop_truth(field: np.ndarray, m: np.ndarray) -> np.ndarray:
    """The field seen in a crop made by the 2x3 affine ``m`` (frame -> crop): (CROP, CROP, 2)."""
    minv = cv2.invertAffineTransform(m)
    yy, xx = np.mgrid[0:CROP, 0:CROP].astype(np.float32)
    sx = (minv[0, 0] * xx + minv[0, 1] * yy + minv[0, 2]).astype(np.float32)
    sy = (minv[1, 0] * xx + minv[1, 1] * yy + minv[1, 2]).astype(np.float32)
    f = np.dstack([cv2.remap(field[..., c], sx, sy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE) for c in range(2)])
    return f @ m[:, :2].T


def epe(flow: np.ndarray, truth: np.ndarray, points: np.ndarray, *, relative: bool = False) -> float:
    """Mean end-point error over the pairs 1.. (pair i: onset -> frame i), inside the face, in
    crop pixels; ``relative``: divided by the mean true motion there (the chains' crops differ
    in scale, so their pixel errors are not comparable; this ratio is)."""
    face = np.zeros((CROP, CROP), np.uint8)
    cv2.fillConvexPoly(face, cv2.convexHull(points.astype(np.int32)), 1)
    face = cv2.erode(face, np.ones((9, 9), np.uint8)).astype(bool)
    errs = [np.linalg.norm(flow[i].astype(np.float32) - s * truth, axis=-1)[face].mean() for i, s in enumerate(scales()) if i > 0]
    motion = [np.linalg.norm(s * truth, axis=-1)[face].mean() for i, s in enumerate(scales()) if i > 0]
    return float(np.mean(errs) / np.mean(motion)) if relative else float(np.mean(errs))


def run(cmd: list[str], env: dict[str, str]) -> float:
    """Wall seconds of one command, run outside any checkout (``python -m`` would otherwise
    import the package of the current folder, whatever PYTHONPATH says)."""
    t = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=tempfile.gettempdir())
    if out.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{out.stderr[-3000:]}")
    return time.perf_counter() - t


WORKFLOW_CHAIN = "workflow, tight crop, DIS"


def workflow_dataset(work: Path, frames: Path, copies: int, repo: Path) -> tuple[Path, list[str]]:
    """A ``generic`` dataset of ``copies`` copies of the known-motion clip (one subject each) and a
    workflow configured as the tight-crop DIS chain: face.margin 0, DIS refined, onset -> every
    frame (a sequence model's input, so every pair is computed), no magnification, and TIM at the clip's own length (integer times: the frames
    themselves). Returns the working folder and the Snakemake command that computes every clip's
    flow (landmarks, faces, TIM, flow; jobs of the schema's ``batching.clips_per_job`` clips) on
    one core."""
    wd, root = work / "wf_chain", work / "wf_chain_frames"
    for i in range(copies):
        shutil.copytree(frames, root / f"clip{i + 1:02d}")
    (wd / "config").mkdir(parents=True)
    sheet = wd / "clips.csv"
    sheet.write_text("subject,video,onset,apex,offset,type,emotion\n"
                     + "".join(f"s{i + 1:02d},clip{i + 1:02d},1,{N_FRAMES // 2 + 1},{N_FRAMES},micro,surprise\n" for i in range(copies)))
    cfg = {"datasets": {"known": {"format": "generic", "root": str(root), "annotations": str(sheet), "fps": 30}},
           # a sequence model reads every pair, so the flow stage computes all 42 (onset -> every
           # frame), the seed chain's work (an apex model needs only onset -> apex)
           "training": {"model": "c3d"},
           "face": {"margin": 0.0}, "interpolation": {"n_frames": N_FRAMES}, "magnification": {"enabled": False},
           "flow": {"method": "dis", "reference": "onset",
                    "dis": {"finest_scale": 0, "patch_size": 8, "patch_stride": 4, "variational_refinement_iterations": 10}}}
    (wd / "config/config.yaml").write_text(yaml.safe_dump(cfg))
    smk = [str(Path(sys.executable).parent / "snakemake"), "-s", str(repo / "Snakefile"), "-d", str(wd), "--cores", "1", "--quiet", "all",
           "--omit-from", "build_inputs", "--", "results/inputs/known.h5"]
    return wd, smk


def workflow_errors(wd: Path, field: np.ndarray, cli_flow: Path | None) -> tuple[float, float, float]:
    """The workflow chain's end-point error (px, relative), mean over its clips, each against the
    truth in its own crop (from the workflow's own landmarks); and the largest difference from the
    command line's tight-crop DIS flow (the same stage functions: 0 expected)."""
    from mexp_lib.face.align import apply_transform, face_transform
    from mexp_lib.io.h5store import read_arrays
    from mexp_lib.io.landmarks_json import read_landmarks

    flows = sorted((wd / "results/flow/known").glob("*/*.h5"))
    if not flows:
        raise SystemExit(f"{wd}: the workflow wrote no flow store")
    cli = read_arrays(cli_flow, "flow")["flow"].astype(np.float32) if cli_flow is not None and cli_flow.exists() else None
    errs, diff = [], 0.0
    for f in flows:
        video = f.stem
        flow = read_arrays(f, "flow")["flow"]
        points = read_landmarks(next((wd / "results/landmarks/known").glob(f"*/{video}.json"))).points[0]
        m = face_transform(points, CROP, 0.0)
        region = (crop_truth(field, m), apply_transform(m, points))
        errs.append((epe(flow, *region), epe(flow, *region, relative=True)))
        if cli is not None:
            diff = max(diff, float(np.abs(flow.astype(np.float32) - cli).max()))
    return float(np.mean([e[0] for e in errs])), float(np.mean([e[1] for e in errs])), diff


def chains(work: Path, reps: int, threads: int, repo: Path, env: dict[str, str], with_dis: bool = True,
           baseline: Path | None = None, copies: int = 20) -> None:
    frames = work / "clip"
    field = known_motion_clip(frames)
    mexp = [sys.executable, "-m", "mexp_lib.cli"]
    threads_flag = ["--threads", str(threads)] if threads > 1 else []
    dis = ["--method", "dis", "--set", "dis.finest_scale=0", "--set", "dis.patch_size=8", "--set", "dis.patch_stride=4",
           "--set", "dis.variational_refinement_iterations=10"]
    chain_cmds = {
        "seed-style chain": {"seed": [sys.executable, str(SEED_CHAIN), str(frames), str(work / "seed.npz")]},
        "mexp CLI chain": {
            "landmarks": mexp + ["landmarks", str(frames), "-o", str(work / "lm.json"), "--strategy", "clip"],
            "align": mexp + ["align", str(frames), "--landmarks", str(work / "lm.json"), "-o", str(work / "faces.h5")],
            "flow": mexp + ["flow", str(work / "faces.h5"), "-o", str(work / "flow.h5"), "--reference", "onset"] + threads_flag},
        "mexp, DIS refined": {
            "landmarks": mexp + ["landmarks", str(frames), "-o", str(work / "lm2.json"), "--strategy", "clip"],
            "align": mexp + ["align", str(frames), "--landmarks", str(work / "lm2.json"), "-o", str(work / "faces2.h5")],
            "flow": mexp + ["flow", str(work / "faces2.h5"), "-o", str(work / "flow2.h5"), "--reference", "onset"] + dis + threads_flag},
    }
    # One process for the three steps (`mexp preprocess`: one start-up, the models loaded once),
    # with the schema's flow (TV-L1) and with DIS + variational refinement.
    chain_cmds["mexp preprocess"] = {
        "preprocess": mexp + ["preprocess", str(frames), "-o", str(work / "flow3.h5"), "--landmarks", str(work / "lm3.json")] + threads_flag}
    chain_cmds["preprocess, DIS refined"] = {
        "preprocess": mexp + ["preprocess", str(frames), "-o", str(work / "flow4.h5"), "--landmarks", str(work / "lm4.json")]
        + [a.replace("dis.", "flow.dis.") for a in dis] + threads_flag}
    # the same with the face cropped as tightly as the seed's dlib box (face.margin 0: the
    # landmarks' extent, no margin), so both chains see the face at about the same scale; the
    # DIS setting and this margin were chosen on another known-motion clip (a real face of the
    # composite, another field), not on this one
    chain_cmds["preprocess, tight crop"] = {  # the schema's TV-L1 at that crop: its error, for the same comparison
        "preprocess": mexp + ["preprocess", str(frames), "-o", str(work / "flow6.h5"), "--landmarks", str(work / "lm6.json"), "--set", "face.margin=0"]
        + threads_flag}
    chain_cmds["preprocess, tight crop, DIS"] = {
        "preprocess": mexp + ["preprocess", str(frames), "-o", str(work / "flow5.h5"), "--landmarks", str(work / "lm5.json"), "--set", "face.margin=0"]
        + [a.replace("dis.", "flow.dis.") for a in dis] + threads_flag}
    # the workflow itself on `copies` copies of the clip, set up as the tight-crop DIS chain: its
    # time per clip is the wall time of the whole Snakemake run (planning included) over the copies
    wf_dir, wf_cmd = workflow_dataset(work, frames, copies, repo) if with_dis and copies > 0 else (None, None)
    if wf_cmd is not None:
        chain_cmds[WORKFLOW_CHAIN] = {"workflow": wf_cmd}
    if not with_dis:
        del chain_cmds["mexp, DIS refined"], chain_cmds["preprocess, DIS refined"], chain_cmds["preprocess, tight crop"], chain_cmds["preprocess, tight crop, DIS"]
    envs = {k: env for k in chain_cmds}
    if baseline is not None:  # another checkout's command line (e.g. main before this change), same clip
        chain_cmds["baseline mexp CLI"] = {
            "landmarks": mexp + ["landmarks", str(frames), "-o", str(work / "lm0.json"), "--strategy", "clip"],
            "align": mexp + ["align", str(frames), "--landmarks", str(work / "lm0.json"), "-o", str(work / "faces0.h5")],
            "flow": mexp + ["flow", str(work / "faces0.h5"), "-o", str(work / "flow0.h5"), "--reference", "onset"]}
        envs["baseline mexp CLI"] = dict(env, PYTHONPATH=str(baseline))
    times: dict[str, dict[str, list[float]]] = {k: {s: [] for s in v} for k, v in chain_cmds.items()}
    for _ in range(reps):  # alternating, so every chain sees the same load
        for chain, steps in chain_cmds.items():
            for step, cmd in steps.items():
                if chain == WORKFLOW_CHAIN and wf_dir is not None:
                    shutil.rmtree(wf_dir / "results", ignore_errors=True)  # every repetition computes everything again
                    times[chain][step].append(run(cmd, envs[chain]) / copies)
                else:
                    times[chain][step].append(run(cmd, envs[chain]))

    from mexp_lib.face.align import apply_transform, face_transform
    from mexp_lib.io.h5store import read_arrays
    from mexp_lib.io.landmarks_json import read_landmarks

    seed = np.load(work / "seed.npz")
    seed_flow = np.concatenate([np.zeros((1, CROP, CROP, 2), np.float32), seed["flow"]])
    x0, y0, x1, y1 = _seed_box(frames)
    sx, sy = CROP / (x1 - x0), CROP / (y1 - y0)  # cv2.resize: crop u <- frame (u + 0.5) / s - 0.5 + x0
    a = np.array([[sx, 0, -sx * x0 + 0.5 * sx - 0.5], [0, sy, -sy * y0 + 0.5 * sy - 0.5]])
    lm = read_landmarks(work / "lm.json")
    m = face_transform(lm.points[0], CROP, 0.1)
    seed_region = (crop_truth(field, a), apply_transform(a, seed["landmarks"].astype(np.float64)))
    errors = {"seed-style chain": (epe(seed_flow, *seed_region), epe(seed_flow, *seed_region, relative=True))}
    for chain, out, own_lm, margin in (("mexp CLI chain", "flow.h5", "lm.json", 0.1), ("mexp, DIS refined", "flow2.h5", "lm2.json", 0.1),
                                       ("baseline mexp CLI", "flow0.h5", "lm0.json", 0.1), ("mexp preprocess", "flow3.h5", "lm3.json", 0.1),
                                       ("preprocess, DIS refined", "flow4.h5", "lm4.json", 0.1), ("preprocess, tight crop", "flow6.h5", "lm6.json", 0.0),
                                       ("preprocess, tight crop, DIS", "flow5.h5", "lm5.json", 0.0)):
        if chain in chain_cmds:  # each chain's flow against the truth in its own crop (from its own landmarks, at its face.margin)
            f = read_arrays(work / out, "flow")["flow"]
            points = read_landmarks(work / own_lm).points[0]
            m_own = face_transform(points, CROP, margin)
            region = (crop_truth(field, m_own), apply_transform(m_own, points))
            errors[chain] = (epe(f, *region), epe(f, *region, relative=True))
    if wf_dir is not None:
        e_px, e_rel, diff = workflow_errors(wf_dir, field, work / "flow5.h5")
        errors[WORKFLOW_CHAIN] = (e_px, e_rel)
    total = {k: statistics.median([sum(r) for r in zip(*v.values(), strict=False)]) for k, v in times.items()}
    say(f"1. one {N_FRAMES}-frame {FRAME}x{FRAME} clip, known motion up to 3 px; {reps} alternating runs each ({repo})")
    say(f"   {'chain':<28} {'median s':>9}  {'steps (median s)':<40} {'EPE px':>7} {'EPE / motion':>12}")
    for k in times:
        steps = " ".join(f"{s} {statistics.median(v):.2f}" for s, v in times[k].items())
        e, rel = errors[k]
        if k == WORKFLOW_CHAIN:
            steps = f"{copies} copies, wall per clip"
        say(f"   {k:<28} {total[k]:9.2f}  {steps:<40} {e:7.3f} {100 * rel:11.1f}%")
    for k in times:
        if k != "seed-style chain":
            note = ("its own defaults, one thread" if k.startswith("baseline") else
                    f"per clip, {copies} copies in one Snakemake run on one core" if k == WORKFLOW_CHAIN else f"flow on {threads} thread(s)")
            # the chains' crops differ in scale, so the verdict compares the error relative to the motion
            verdict = "lower or equal" if errors[k][1] <= errors["seed-style chain"][1] else "HIGHER"
            say(f"   {k}: {total['seed-style chain'] / total[k]:.2f}x the seed-style chain ({note}); "
                f"end-point error {verdict} than the seed's relative to the motion ({100 * errors[k][1]:.2f}% vs "
                f"{100 * errors['seed-style chain'][1]:.2f}%; {errors[k][0]:.3f} vs {errors['seed-style chain'][0]:.3f} px)")
    if wf_dir is not None:
        say(f"   {WORKFLOW_CHAIN}: its flow differs from `preprocess, tight crop, DIS`'s by at most {diff:.2g} px (the same stage functions)")
    rates = flow_methods(read_arrays(work / "faces.h5", "frames")["frames"], crop_truth(field, m), apply_transform(m, lm.points[0]))
    if "preprocess, DIS refined" in total:
        say(five_x_budget(total["seed-style chain"], total["preprocess, DIS refined"], rates["dis, finest scale 0, refined"],
                          rates["tvl1 (schema default)"], N_FRAMES - 1))


def five_x_budget(seed_s: float, dis_chain_s: float, dis_rate: float, tvl1_rate: float, pairs: int) -> str:
    """What 5x the seed-style chain leaves the flow of `mexp preprocess`: the seed chain's time
    over 5, less what `mexp preprocess` spends outside the flow -- estimated from its DIS chain
    (the same process but for the flow: its total less ``pairs`` at DIS's one-thread rate of part
    2; DIS is fast, so the estimate hardly depends on that rate) -- as pairs/s and as a multiple
    of the schema's TV-L1."""
    target = seed_s / 5
    outside = dis_chain_s - pairs / dis_rate
    head = (f"   5x the seed-style chain: at most {target:.2f} s per clip; `mexp preprocess` spends about {outside:.2f} s outside "
            f"the flow (`preprocess, DIS refined`'s {dis_chain_s:.2f} s less {pairs} pairs at DIS's {dis_rate:.1f} pairs/s below)")
    room = target - outside
    if room <= 0:
        return head + ", more than that already"
    need = pairs / room
    return (head + f", so the flow may take {room:.2f} s: {need:.0f} pairs/s, {need / tvl1_rate:.1f}x the schema's TV-L1 "
            "(what TV-L1 settings gain at equal error: benchmarks/bench_flow_settings.py)")


def _seed_box(frames: Path) -> tuple[int, int, int, int]:
    """The box seedstyle_chain.py crops (dlib HOG, upsample 1, on frame 1)."""
    import dlib

    first = cv2.imread(str(sorted(frames.glob("*.png"))[0]), cv2.IMREAD_GRAYSCALE)
    boxes = dlib.get_frontal_face_detector()(first, 1)
    if not boxes:
        return 0, 0, first.shape[1] - 1, first.shape[0] - 1
    b = boxes[0]
    return max(b.left(), 0), max(b.top(), 0), b.right(), b.bottom()


def flow_methods(crops: np.ndarray, truth: np.ndarray, points: np.ndarray) -> dict[str, float]:
    """Part 2: pairs/s and errors of each flow method on the mexp crops; returns pairs/s by name."""
    from mexp_lib.config import settings
    from mexp_lib.motion.flow import FlowParams, optical_flow

    cv2.setNumThreads(1)
    flow = settings("flow")
    dis_vr = {"preset": "medium", "finest_scale": 0, "patch_size": 8, "patch_stride": 4, "variational_refinement_iterations": 10}
    variants = {
        "tvl1 (schema default)": FlowParams("tvl1", flow["tvl1"]),
        "tvl1 (OpenCV defaults)": FlowParams("tvl1", {}),
        "dis medium": FlowParams("dis", {"preset": "medium"}),
        "dis fast": FlowParams("dis", {"preset": "fast"}),
        "dis, finest scale 0, refined": FlowParams("dis", dis_vr),
        "dis, finest scale 0, refined x25": FlowParams("dis", dis_vr | {"patch_stride": 2, "variational_refinement_iterations": 25}),
        "farneback": FlowParams("farneback", flow["farneback"]),
    }
    say(f"\n2. flow methods on the mexp crops ({len(crops) - 1} pairs onset -> every frame, one thread)")
    say(f"   {'method':<34} {'pairs/s':>8} {'EPE px':>7} {'EPE / motion':>12}")
    rates: dict[str, float] = {}
    for name, params in variants.items():
        t = time.perf_counter()
        f, _ = optical_flow(crops, params=params, reference="onset")
        dt = time.perf_counter() - t
        rates[name] = (len(crops) - 1) / dt
        say(f"   {name:<34} {rates[name]:8.1f} {epe(f, truth, points):7.3f} {100 * epe(f, truth, points, relative=True):11.1f}%")
    return rates


STAGES = ("detect_landmarks", "align_faces", "normalise_clip", "magnify_motion", "compute_flow")


def demo_generator(subjects: int) -> dict[str, Any]:
    """The generator block of part 3's demo: one clip per subject and class, short long videos,
    PNG frames with light noise (what the committed results were measured on; the generator's
    defaults, the schema's, are the workflow demo's JPEG 80 and noise 3)."""
    return {"seed": 7, "subjects": subjects, "clips_per_class": 1, "long_seconds": 8, "micro_per_long": 1, "macro_per_long": 1,
            "micro_amplitude": [0.8, 3.0], "macro_seconds": [0.8, 1.8], "noise_sigma": 1.5, "jpeg_quality": None}


def workflow_cost(work: Path, clips: int, repo: Path, env: dict[str, str], clips_per_job: int | None = None) -> None:
    """Per-clip job seconds of the demo's per-clip stages, from Snakemake's benchmark files: a
    demo of about ``clips`` short clips (its long videos are not run), every recognition clip
    through landmarks, faces, TIM, magnification and flow on one core, the jobs cut into chunks
    of ``batching.clips_per_job`` clips (the schema's default unless given)."""
    import pandas as pd

    wd = work / "wf"
    (wd / "config").mkdir(parents=True)
    subjects = max(2, int(np.ceil(clips / 3)))
    cfg = {"datasets": {"demo": {"format": "demo", "generator": demo_generator(subjects)}}}
    if clips_per_job is not None:
        cfg["batching"] = {"clips_per_job": clips_per_job}
    (wd / "config/config.yaml").write_text(yaml.safe_dump(cfg))
    smk = [str(Path(sys.executable).parent / "snakemake"), "-s", str(repo / "Snakefile"), "-d", str(wd), "--cores", "1"]
    run(smk + ["results/samples/demo.csv"], env)
    wall = run(smk + ["results/inputs/demo.h5", "--omit-from", "build_inputs"], env)
    flows = sorted((wd / "results/flow/demo").glob("**/*.h5"))
    if not flows:
        raise SystemExit(f"{wd}: the workflow wrote no flow store")
    rows = []
    for tsv in (wd / "benchmarks").glob("*/demo/*.tsv"):
        rule = tsv.parent.parent.name
        if rule in STAGES:
            rows.append({"rule": rule, "s": float(pd.read_csv(tsv, sep="\t")["s"].iloc[0])})
    jobs = pd.DataFrame(rows)
    per_rule = jobs.groupby("rule")["s"].sum() / len(flows)
    per_clip = float(per_rule.sum())
    chunk = yaml.safe_load((wd / "config/config.yaml").read_text()).get("batching", {}).get("clips_per_job", "the schema's default")
    say(f"\n3. workflow, {len(flows)} demo clips in {len(jobs)} jobs (batching.clips_per_job: {chunk}), one core ({repo}): "
          "job seconds per clip by stage")
    for rule in STAGES:
        say(f"   {rule:<18} {per_rule.get(rule, float('nan')):6.2f} s")
    say(f"   {'per clip':<18} {per_clip:6.2f} s  -> {3600 / per_clip:.0f} clips per hour per core "
          f"(wall {wall / len(flows):.2f} s per clip with Snakemake's own overhead)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reps", type=int, default=3, help="alternating runs of each chain (>= 3)")
    ap.add_argument("--threads", type=int, default=1, help="mexp flow --threads")
    ap.add_argument("--clips", type=int, default=40, help="demo clips for the workflow's per-clip cost")
    ap.add_argument("--clips-per-job", type=int, help="batching.clips_per_job of the workflow run (default: the schema's)")
    ap.add_argument("--copies", type=int, default=20, help="copies of the known-motion clip the workflow chain runs (0: leave it out)")
    ap.add_argument("--skip-workflow", action="store_true")
    ap.add_argument("--skip-chains", action="store_true", help="only the workflow's per-clip cost")
    ap.add_argument("--baseline-repo", type=Path, help="also run this checkout's command line in the alternation (e.g. ../main, before a change)")
    ap.add_argument("--no-dis", action="store_true", help="leave out the DIS chain (a checkout whose mexp flow has no --set)")
    ap.add_argument("--readme", action="store_true", help="write this run's output into README.md's bench_pipeline block")
    ap.add_argument("--repo", type=Path, default=REPO, help="checkout whose command line and workflow run (default: this one)")
    a = ap.parse_args()
    if a.reps < 3:
        ap.error("--reps must be >= 3 (medians)")
    env = dict(os.environ, PYTHONPATH=str(a.repo.resolve()), OMP_NUM_THREADS="1")
    with tempfile.TemporaryDirectory() as tmp:
        if not a.skip_chains:
            chains(Path(tmp), a.reps, a.threads, a.repo.resolve(), env, with_dis=not a.no_dis,
                   baseline=a.baseline_repo.resolve() if a.baseline_repo else None, copies=a.copies)
        if not a.skip_workflow:
            workflow_cost(Path(tmp), a.clips, a.repo.resolve(), env, a.clips_per_job)
    say(f"\n(shared {os.cpu_count()}-core machine: timings are noisy; compare medians and ratios)")
    if a.readme:
        write_readme(".venv/bin/python benchmarks/bench_pipeline.py " + " ".join(sys.argv[1:]))


if __name__ == "__main__":
    from mexp_lib.errors import script_exit

    raise SystemExit(script_exit(main, Path(__file__).name))
