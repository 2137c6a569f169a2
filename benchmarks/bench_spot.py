"""`mexp spot` on a long 640x480 video: time per frame and peak memory.

Renders a video file (default 10,000 frames, 640x480, 30 fps; the demo face -- a real photograph
-- with slow head drift, sensor noise and a happiness-like expression (AU6+12, 3 px) every 1,000 frames), runs
`mexp spot VIDEO --fps 30` in a child process and prints its wall time per frame and its peak
resident memory (the stages stream the video: memory must not grow with its length), and how
many of the rendered expressions were spotted.

Run: .venv/bin/python benchmarks/bench_spot.py [--frames 10000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from mexp_lib.datasets.demo_render import base_face, expression_field, warp_by_field


def render(path: Path, n: int, fps: float = 30.0, every: int = 1000, seed: int = 0) -> list[int]:
    """Write the video; returns the apex frame numbers (1-based) of the expressions."""
    img, lm = base_face(256)
    face = cv2.cvtColor(img.astype(np.uint8), cv2.COLOR_BGR2GRAY).astype(np.float32)
    field = expression_field(face.shape, lm, "happiness")
    apexes = list(range(every // 2, n, every))
    rng = np.random.default_rng(seed)
    out = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (640, 480), isColor=False)
    for i in range(n):
        a = max([0.0] + [3.0 * max(0.0, 1 - abs(i - ap) / 5) for ap in apexes if abs(i - ap) < 6])
        f = warp_by_field(face, field, a) if a else face
        canvas = np.full((480, 640), 90, np.float32)
        x, y = int(192 + 6 * np.sin(i / 300)), 112
        canvas[y:y + 256, x:x + 256] = f
        out.write(np.clip(canvas + rng.normal(0, 1.5, canvas.shape), 0, 255).astype(np.uint8))
    out.release()
    return [ap + 1 for ap in apexes]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=10_000)
    ap.add_argument("--keep", help="working folder to keep")
    a = ap.parse_args()
    wd = Path(a.keep) if a.keep else Path(tempfile.mkdtemp(prefix="mexp-spot-"))
    wd.mkdir(parents=True, exist_ok=True)
    video = wd / "long.avi"
    t0 = time.perf_counter()
    apexes = render(video, a.frames)
    print(f"rendered {a.frames} frames 640x480 in {time.perf_counter() - t0:.0f} s ({video.stat().st_size / 2**20:.0f} MiB)")
    exe = Path(sys.executable).parent / "mexp"
    t0 = time.perf_counter()
    run = subprocess.run([str(exe), "spot", str(video), "--fps", "30", "-o", str(wd / "intervals.csv"), "--timeline", str(wd / "timeline.png")],
                         capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if run.returncode != 0:
        print(run.stderr[-3000:], file=sys.stderr)
        return 1
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**10  # KiB -> MiB (Linux)
    pred = pd.read_csv(wd / "intervals.csv")
    hits = sum(((pred.onset <= apx) & (pred.offset >= apx)).any() for apx in apexes)
    print(f"mexp spot: {wall:.0f} s wall, {1000 * wall / a.frames:.1f} ms/frame ({a.frames / wall:.0f} frames/s), peak memory {peak:.0f} MiB")
    print(f"spotted {len(pred)} interval(s); {hits} of the {len(apexes)} rendered expressions inside one")
    if not a.keep:
        shutil.rmtree(wd)
    return 0


if __name__ == "__main__":
    from mexp_lib.errors import script_exit

    raise SystemExit(script_exit(main, Path(__file__).name))
