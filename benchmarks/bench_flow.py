"""Optical-flow speed and accuracy: pairs/s and end-point error per method, at 128x128 and 640x480.

A textured image is warped by a known smooth displacement field (up to ~2.5 px); the EPE is the
mean |flow - truth| away from the border. One OpenCV thread, as in one workflow job.
Run: .venv/bin/python benchmarks/bench_flow.py
"""

from __future__ import annotations

import time

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
            if params is None:
                tv = cv2.optflow.DualTVL1OpticalFlow_create()
                calc = lambda x, y: tv.calc(x, y, None)  # noqa: E731
            else:
                calc = make_flow(params)
            reps = 5 if h == 128 else 1
            rate, epe = measure(calc, a, b, truth, reps)
            print(f"{w}x{h:<4}  {name:<24} {rate:8.2f} {epe:7.3f}")


if __name__ == "__main__":
    main()
