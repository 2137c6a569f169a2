"""How much faster can the flow default get at the same error? TV-L1 and DIS settings on real faces.

Real face crops of six development subjects (the recognition realism benchmark's development
part, read in place from ``../shared``), grey, 128 x 128, each moved by two known smooth fields
(up to 0.6 px and up to 3 px, :func:`mexp_lib.motion.synthetic.smooth_field`) at two strengths
(x 0.3 and x 1): 24 pairs, sub-pixel motion included. For every setting: pairs/s on one thread,
the end-point error (EPE) away from the border, and the EPE relative to the motion (mean over
pairs of EPE / mean true motion, so sub-pixel pairs weigh as much as large ones).

Settings: the schema's TV-L1 (``flow.tvl1``), a grid over its pyramid scales, warps, inner
iterations and stopping threshold, and DIS with variational refinement (``bench_pipeline.py``'s
setting and its neighbours). It prints the fastest setting of each method whose EPE and
relative EPE are both at most the schema's TV-L1's, and its speed-up: the most a flow default
can gain at equal error. Development data only (no test part: it informs a choice, it reports
nothing). Run: nice .venv/bin/python benchmarks/bench_flow_settings.py
"""

from __future__ import annotations

import argparse
import itertools
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from bench_recognition_realism import FACES, PARTS  # type: ignore[import-not-found]

from mexp_lib.config import settings as section_settings
from mexp_lib.motion.flow import FlowParams, make_flow

DEV_SUBJECTS = PARTS["dev"]["subjects"][:6]  # the recognition realism benchmark's development part, first six
SIZE = 128
BORDER = 16


def cases() -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(first, second, true field) for every face, field and strength."""
    from mexp_lib.motion.synthetic import move_by_field, smooth_field

    out = []
    for s in DEV_SUBJECTS:
        path = sorted(FACES.glob(f"{s}_*"))[0]
        img = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
        if img is None:
            raise SystemExit(f"{path}: not a readable image")
        grey = cv2.resize(img, (SIZE, SIZE), interpolation=cv2.INTER_AREA)
        for high in (0.6, 3.0):
            field = smooth_field(grey.shape, low=0.1 * high, high=high)
            for strength in (0.3, 1.0):
                moved = np.clip(np.rint(move_by_field(grey, field * strength)), 0, 255).astype(np.uint8)
                out.append((grey, moved, field * strength))
    return out


def score(params: FlowParams, data: list[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> tuple[float, float, float]:
    """(pairs/s, EPE px, EPE relative to the motion) of one setting."""
    calc = make_flow(params)
    calc(data[0][0], data[0][1])  # warm-up
    inner = (slice(BORDER, -BORDER), slice(BORDER, -BORDER))
    errs, motion = [], []
    t = time.perf_counter()
    flows = [calc(a, b) for a, b, _ in data]
    dt = time.perf_counter() - t
    for f, (_, _, truth) in zip(flows, data, strict=True):
        errs.append(float(np.linalg.norm(f - truth, axis=-1)[inner].mean()))
        motion.append(float(np.linalg.norm(truth, axis=-1)[inner].mean()))
    return len(data) / dt, float(np.mean(errs)), float(np.mean(np.array(errs) / np.array(motion)))


def settings() -> list[tuple[str, FlowParams]]:
    """The schema's TV-L1 first, then the TV-L1 grid and the DIS settings."""
    tv = dict(section_settings("flow")["tvl1"])
    out = [("tvl1 (schema)", FlowParams("tvl1", tv))]
    for ns, w, inner, eps in itertools.product((3, 4), (1, 2, 3), (10, 30), (0.02, 0.03)):
        s = {**tv, "nscales": ns, "warps": w, "inner_iterations": inner, "epsilon": eps}
        if s != tv:
            out.append((f"tvl1 nscales {ns} warps {w} inner {inner} eps {eps}", FlowParams("tvl1", s)))
    refined = {"preset": "medium", "finest_scale": 0, "patch_size": 8, "patch_stride": 4, "variational_refinement_iterations": 10}
    dis: list[tuple[str, dict[str, Any]]] = [
        ("dis refined (bench_pipeline.py)", refined),
        ("dis refined, stride 3", {**refined, "patch_stride": 3}),
        ("dis refined, patch 6 stride 3", {**refined, "patch_size": 6, "patch_stride": 3}),
        ("dis refined, 50 descent iterations", {**refined, "gradient_descent_iterations": 50}),
        ("dis refined x5", {**refined, "variational_refinement_iterations": 5}),
        ("dis refined x25", {**refined, "variational_refinement_iterations": 25}),
        ("dis medium", {"preset": "medium"}),
    ]
    return out + [(name, FlowParams("dis", o)) for name, o in dis]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.parse_args()
    if not FACES.is_dir():
        print(f"the real face crops are not at {FACES}")
        return 1
    cv2.setNumThreads(1)
    data = cases()
    rows = [(name, *score(p, data)) for name, p in settings()]
    _, base_rate, base_epe, base_rel = rows[0]
    print(f"{len(data)} pairs: 6 development faces x 2 fields x 2 strengths, {SIZE}x{SIZE}, one thread")
    print(f"{'setting':<44} {'pairs/s':>8} {'EPE px':>7} {'EPE/motion':>10}  at most the schema's error")
    for name, rate, e, rel in sorted(rows, key=lambda r: -r[1]):
        print(f"{name:<44} {rate:8.1f} {e:7.4f} {100 * rel:9.2f}%  {'yes' if e <= base_epe and rel <= base_rel else ''}")
    for method in ("tvl1", "dis"):
        ok = [r for r in rows[1:] if r[0].startswith(method) and r[2] <= base_epe and r[3] <= base_rel]
        if ok:
            best = max(ok, key=lambda r: r[1])
            print(f"fastest {method} setting at most the schema's TV-L1 error: {best[0]}, {best[1] / base_rate:.2f}x the schema's TV-L1 "
                  f"({best[1]:.1f} vs {base_rate:.1f} pairs/s)")
        else:
            print(f"no {method} setting here is at most the schema's TV-L1 error (EPE {base_epe:.4f} px, {100 * base_rel:.2f}% of the motion)")
    return 0


if __name__ == "__main__":
    from mexp_lib.errors import script_exit

    raise SystemExit(script_exit(main, Path(__file__).name))
