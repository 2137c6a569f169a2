"""Motion-stage speed and accuracy.

1. Optical flow: pairs/s and end-point error per method at 128x128 and 640x480 -- a textured
   image warped by a known smooth field (up to ~2.5 px), EPE away from the border -- and on the
   real face photograph moved by a known smooth field of 0.2-3 px (EPE inside the face).
2. The whole motion stage on a 100-frame 128x128 clip: interpolation (flow-based, 100 -> 100
   frames at shifted times), Eulerian magnification (ideal and Butterworth), TV-L1 onset -> every
   frame + strain; frames/s of each step and of the chain.
3. Accuracy figures of the interpolator (PSNR of a midpoint) and of magnification (0.2 px at
   3 Hz, alpha = 10, measured by TV-L1).
One OpenCV/torch thread, as in one workflow job. Run: .venv/bin/python benchmarks/bench_flow.py
"""

from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np

from mexp_lib.motion.flow import FlowParams, make_flow


def pair(h: int, w: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    a = cv2.GaussianBlur(rng.uniform(0, 255, (h, w)).astype(np.float32), (0, 0), 2.0)
    a = (a - a.min()) / (a.max() - a.min()) * 200 + 28
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    s = w / 128
    u = 2.0 * np.sin(xx / (25.0 * s)) * np.cos(yy / (30.0 * s))
    v = 1.5 * np.cos(xx / (20.0 * s) + 0.5)
    b = cv2.remap(a, xx - u, yy - v, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
    return a.astype(np.uint8), np.clip(b, 0, 255).astype(np.uint8), np.dstack([u, v])


def measure(calc, a, b, truth, reps: int) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    calc(a, b)
    t = time.perf_counter()
    for _ in range(reps):
        f = calc(a, b)
    dt = (time.perf_counter() - t) / reps
    m = max(8, a.shape[0] // 8)
    return 1.0 / dt, float(np.linalg.norm(f - truth, axis=-1)[m:-m, m:-m].mean())


def flow_function(params: FlowParams | None):  # type: ignore[no-untyped-def]
    """The flow function of a variant; None = OpenCV's TV-L1 with its default parameters."""
    if params is not None:
        return make_flow(params)
    tv = cv2.optflow.DualTVL1OpticalFlow_create()
    return lambda x, y: tv.calc(x, y, None)


def main() -> None:
    cv2.setNumThreads(1)
    variants = {
        "tvl1 (mexp default)": FlowParams("tvl1", {"scale_step": 0.5, "nscales": 4, "warps": 3, "epsilon": 0.02}),
        "tvl1 (OpenCV defaults)": None,
        "dis medium": FlowParams("dis", {"preset": "medium"}),
        "dis ultrafast": FlowParams("dis", {"preset": "ultrafast"}),
        "farneback": FlowParams("farneback"),
    }
    print(f"{'size':>8}  {'method':<24} {'pairs/s':>8} {'EPE px':>7}")
    for h, w in ((128, 128), (480, 640)):
        a, b, truth = pair(h, w)
        for name, params in variants.items():
            reps = 5 if h == 128 else 1
            rate, epe = measure(flow_function(params), a, b, truth, reps)
            print(f"{w}x{h:<4}  {name:<24} {rate:8.2f} {epe:7.3f}")
    face_pairs(variants)
    motion_stage()


def face_pairs(variants: dict) -> None:  # type: ignore[type-arg]
    from mexp_lib.datasets.demo_render import base_face
    from mexp_lib.motion.synthetic import move_by_field, smooth_field

    img, lm = base_face(192)
    for size in (192, 128):
        grey = cv2.resize(cv2.cvtColor(np.clip(img, 0, 255).astype(np.uint8), cv2.COLOR_BGR2GRAY), (size, size), interpolation=cv2.INTER_AREA)
        pts = lm * size / 192
        field = smooth_field(grey.shape)
        moved = np.clip(np.rint(move_by_field(grey, field)), 0, 255).astype(np.uint8)
        face = np.zeros(grey.shape, np.uint8)
        cv2.fillConvexPoly(face, cv2.convexHull(pts.astype(np.int32)), 1)
        print(f"\nface {size}x{size}, smooth field {np.linalg.norm(field, axis=-1)[face > 0].min():.2f}-{np.linalg.norm(field, axis=-1)[face > 0].max():.2f} px; EPE inside the face")
        for name, params in variants.items():
            calc = flow_function(params)
            t = time.perf_counter()
            f = calc(grey, moved)
            dt = time.perf_counter() - t
            print(f"  {name:<24} EPE {np.linalg.norm(f - field, axis=-1)[face > 0].mean():.3f} px  ({1 / dt:.1f} pairs/s)")


def motion_stage() -> None:
    import torch

    from mexp_lib.motion.flow import optical_flow, optical_strain
    from mexp_lib.motion.interpolate import interpolate_frames
    from mexp_lib.motion.magnify import magnify_eulerian
    from mexp_lib.motion.synthetic import band_texture, translate

    torch.set_num_threads(1)
    n, fps = 100, 100.0
    a = band_texture(128, fine=3.0, coarse=10.0)
    clip = np.stack([translate(a, 1.5 * np.sin(2 * np.pi * 2.0 * i / fps), 0.5 * np.sin(2 * np.pi * 1.0 * i / fps)) for i in range(n)])
    steps = {}
    t = time.perf_counter()
    tim = interpolate_frames(clip, np.linspace(0.5, n - 1.5, n))
    steps["interpolation (flow, 100 -> 100)"] = time.perf_counter() - t
    for filt in ("ideal", "butterworth"):
        t = time.perf_counter()
        mag = magnify_eulerian(tim, fps=fps, alpha=4, low_hz=0.5, high_hz=20, lambda_c=16, levels=4, filter=filt)
        steps[f"magnification ({filt})"] = time.perf_counter() - t
    t = time.perf_counter()
    flow, _ = optical_flow(mag, params=FlowParams("tvl1", {"scale_step": 0.5, "nscales": 4, "warps": 3, "epsilon": 0.02}))
    optical_strain(flow)
    steps["TV-L1 onset->every + strain"] = time.perf_counter() - t
    print(f"\nmotion stage, {n}-frame 128x128 clip (one thread)")
    for k, v in steps.items():
        print(f"  {k:<34} {n / v:8.1f} frames/s  ({v:.2f} s)")
    chain = steps["interpolation (flow, 100 -> 100)"] + steps["magnification (ideal)"] + steps["TV-L1 onset->every + strain"]
    print(f"  {'whole stage (ideal filter)':<34} {n / chain:8.1f} frames/s  ({chain:.2f} s)")

    b = translate(a, 1.6, 0.7)
    mid = interpolate_frames(np.stack([a, b]), np.array([0.5]))[0]
    mse = ((mid - translate(a, 0.8, 0.35))[8:-8, 8:-8] ** 2).mean()
    print(f"\ninterpolated midpoint of a (1.6, 0.7) px motion: PSNR {10 * np.log10(255**2 / max(mse, 1e-12)):.1f} dB")
    tex = band_texture(128)
    frames = np.stack([translate(tex, 0.2 * np.sin(2 * np.pi * 3.0 * i / 36.0)) for i in range(36)])
    tv = FlowParams("tvl1", {"scale_step": 0.5, "nscales": 4, "warps": 3, "epsilon": 0.02})
    for filt in ("ideal", "butterworth"):
        mag = magnify_eulerian(frames, fps=36.0, alpha=10, low_hz=2.0, high_hz=4.0, lambda_c=8, levels=5, filter=filt)
        f, _ = optical_flow(mag, params=tv)
        u = f[:, 24:-24, 24:-24, 0].mean(axis=(1, 2))
        print(f"magnified 0.2 px at 3 Hz, alpha 10, {filt}: {(u.max() - u.min()) / 2:.2f} px by TV-L1 (ideal linear answer 2.2)")


if __name__ == "__main__":
    from mexp_lib.errors import script_exit

    raise SystemExit(script_exit(main, Path(__file__).name))
