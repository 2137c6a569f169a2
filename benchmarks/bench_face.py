"""Face stage speed: frames/s of detection + landmarks (+ alignment) per backend and strategy,
on one core, at 640x480 and on 128 px face crops.

The video is the demo face (a real photograph) drifting slowly with sensor noise, rendered in
memory (decoding is not timed). Strategies: ``detect`` -- the detector + landmarks on every frame
(what a clip's reference frame costs); ``long`` -- detection every ``detect_every`` frames and
tracking in between (:func:`mexp_lib.face.landmarks.track_landmarks`), then the aligned 128 px
crop of every frame. Also prints the crop jitter of a still face. FAN (``face_alignment``) is
timed with its real weights when they are in its cache, else with randomly initialised weights
of the same network (speed does not depend on the weight values; its landmarks are then
meaningless and are not counted).

With ``--video FILE`` it times instead the long-video strategy (decoding, detection and
tracking: :func:`mexp_lib.face.landmarks.detect_video_landmarks`) on a real video, in frames per
CPU-second, and counts the frames where the face is found, in all and in ``--range A-B`` (frame
positions, inclusive): on a video whose face leaves and comes back, what a lost face costs and
whether it is marked lost.

Run: .venv/bin/python benchmarks/bench_face.py [--frames 300]
     .venv/bin/python benchmarks/bench_face.py --video ../shared/data/real_video/face_noface.mov
     .venv/bin/python benchmarks/bench_face.py --video ../shared/data/real_video/pexels-8090198-sd_640_338_25fps.mp4 --range 300-520
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import torch

from mexp_lib.datasets.demo_render import base_face
from mexp_lib.face.align import face_transform, warp_face
from mexp_lib.face.landmarks import (
    DlibLandmarker,
    FanLandmarker,
    detect_video_landmarks,
    fan_weights_file,
    track_landmarks,
)
from mexp_lib.face.qc import crop_jitter
from mexp_lib.io.frames import open_frames


def render(n: int, *, size: tuple[int, int], face_px: int, drift: float, seed: int = 0) -> list[np.ndarray]:
    """``n`` grey frames (h, w) with the demo face (``face_px`` wide) drifting ``drift`` px/frame."""
    img, _ = base_face(face_px)
    face = cv2.cvtColor(img.astype(np.uint8), cv2.COLOR_BGR2GRAY).astype(np.float32)
    h, w = size
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        canvas = np.full((h, w), 90, np.float32)
        x = int(round((w - face_px) / 2 + drift * 10 * np.sin(i / 40)))
        y = (h - face_px) // 2
        canvas[max(y, 0):y + face_px, max(x, 0):x + face_px] = face[max(-y, 0):h - y, max(-x, 0):w - x]
        out.append(np.clip(canvas + rng.normal(0, 2, canvas.shape), 0, 255).astype(np.uint8))
    return out


def fps(fn, n: int) -> float:
    t0 = time.perf_counter()
    fn()
    return n / (time.perf_counter() - t0)


def bench(name: str, lm, frames: list[np.ndarray], every: int) -> None:
    n = len(frames)
    det = fps(lambda: [lm.detect(f) for f in frames[: max(n // 5, 10)]], max(n // 5, 10))
    result = {}

    def long() -> None:
        pts, _, _, how = track_landmarks(iter(frames), n, lm, detect_every=every, smooth=5)
        for f, p in zip(frames, pts, strict=False):
            warp_face(f, face_transform(p, 128, 0.1), 128)
        result.update(how=how, pts=pts)

    lg = fps(long, n)
    how = result["how"]
    print(f"  {name:38s} detect every frame {det:7.1f} fps | long (detect every {every}, track, align) {lg:7.1f} fps "
          f"[{how.count('detected')} detected, {how.count('tracked')} tracked, {how.count('missing')} missing]")


def bench_video(path: str, span: str | None, every: int) -> None:
    """Frames per CPU-second of the long strategy on a real video, and where the face is found."""
    src = open_frames(path)
    dlib = DlibLandmarker(upsample=0)
    c0, t0 = time.process_time(), time.perf_counter()
    lm = detect_video_landmarks(src, dlib, video=Path(path).stem, strategy="long", detect_every=every)
    cpu, wall = time.process_time() - c0, time.perf_counter() - t0
    found = np.array([h != "interpolated" for h in lm.how])
    lost = np.flatnonzero(np.diff(np.r_[1, found.astype(int), 1]))  # edges of the not-found runs
    runs = ", ".join(f"{a}-{b - 1}" for a, b in zip(lost[::2], lost[1::2], strict=True)) or "none"
    print(f"{Path(path).name}: {len(found)} frames, {len(found) / cpu:.1f} frames/CPU-s ({len(found) / wall:.1f} frames/s wall), "
          f"one core; found {found.sum()} of {len(found)}; not found: {runs}")
    if span:
        a, b = (int(x) for x in span.split("-"))
        print(f"  frames {a}-{b}: {found[a:b + 1].sum()} of {len(found[a:b + 1])} found")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=300)
    ap.add_argument("--detect-every", type=int, default=10)
    ap.add_argument("--video", help="time the long strategy on this video file or frame folder instead")
    ap.add_argument("--range", dest="span", metavar="A-B", help="with --video: count the found frames in positions A..B")
    a = ap.parse_args()
    cv2.setNumThreads(1)
    torch.set_num_threads(1)
    if a.video:
        bench_video(a.video, a.span, a.detect_every)
        return 0
    videos = {"640x480": render(a.frames, size=(480, 640), face_px=256, drift=1.0),
              "128 px crop": render(a.frames, size=(128, 128), face_px=128, drift=0.2)}
    dlib = DlibLandmarker(upsample=0)
    print(f"one core, {a.frames} frames per video (frames in memory)")
    for vname, frames in videos.items():
        print(f"{vname}:")
        bench("dlib HOG + 68-point predictor", dlib, frames, a.detect_every)
    still = render(200, size=(480, 640), face_px=256, drift=0.0, seed=1)
    pts, *_ = track_landmarks(iter(still), len(still), dlib, detect_every=a.detect_every, smooth=5)
    raw = np.stack([d.points for d in (dlib.detect(f) for f in still[:: a.detect_every]) if d is not None])
    print(f"still face, 200 frames 640x480: crop jitter {crop_jitter(pts):.3f} px RMS (long strategy) vs "
          f"{crop_jitter(raw):.3f} px between raw detections (128 px crop)")
    try:
        weights, note = fan_weights_file(None), "real weights"
    except Exception:  # noqa: BLE001 - not in the cache: time the same network with random weights
        from face_alignment.models import FAN

        tmp = Path(tempfile.mkdtemp()) / "2DFAN4-11f355bf06.pth.tar"
        torch.manual_seed(0)
        torch.save(FAN(4).state_dict(), tmp)
        weights, note = tmp, "random weights: timing only"
    fan = FanLandmarker(fan_weights=str(weights), upsample=0)
    for vname, frames in videos.items():
        k = 10
        boxes = [fan.boxes.detect(f) for f in frames[:k]]
        fan._fa.get_landmarks_from_image(np.dstack([frames[0]] * 3), detected_faces=[boxes[0].bbox.astype(np.float64)])  # warm-up (numba JIT)
        t0 = time.perf_counter()
        for f, d in zip(frames[:k], boxes, strict=True):
            fan._fa.get_landmarks_from_image(np.dstack([f] * 3), detected_faces=[d.bbox.astype(np.float64)])
        print(f"{vname}: FAN landmarks in a given box ({note}): {k / (time.perf_counter() - t0):.1f} fps")
    return 0


if __name__ == "__main__":
    from mexp_lib.errors import script_exit

    raise SystemExit(script_exit(main, Path(__file__).name))
