"""``mexp``: the command line over the same functions the workflow's scripts call."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import mexp_lib
from mexp_lib.errors import MexpError


def _eval_recognition(a: argparse.Namespace) -> int:
    import pandas as pd

    from mexp_lib.evaluate import recognition_table

    preds = pd.read_csv(a.predictions, dtype=str)
    missing = {"subject", "label", "pred"} - set(preds.columns)
    if missing:
        raise MexpError(f"{a.predictions}: missing column(s) {sorted(missing)}")
    if "seed" not in preds.columns:
        preds["seed"] = 0
    classes = sorted(set(preds.label) | set(preds.pred))
    return _show(recognition_table(preds, classes), a)


def _eval_spotting(a: argparse.Namespace) -> int:
    import pandas as pd

    from mexp_lib.metrics import spotting_scores

    gt, pred = pd.read_csv(a.gt), pd.read_csv(a.pred)
    for name, df in (("--gt", gt), ("--pred", pred)):
        missing = {"video", "onset", "offset", "type"} - set(df.columns)
        if missing:
            raise MexpError(f"{name} {getattr(a, name[2:])}: missing column(s) {sorted(missing)}")
    return _show(spotting_scores(gt, pred, threshold=a.iou), a)


def _show(df, a: argparse.Namespace) -> int:  # type: ignore[no-untyped-def]
    if a.json:
        print(json.dumps(df.to_dict(orient="records"), indent=1))
    elif a.csv:
        print(df.to_csv(index=False, float_format="%.4f"), end="")
    else:
        print(df.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    return 0


def _landmarks(a: argparse.Namespace) -> int:
    from mexp_lib.face.stage import detect_landmarks

    detect_landmarks(a.frames, video=Path(a.frames).stem, numbering="position", strategy=a.strategy,
                     face_cfg={"backend": a.backend, "upsample": a.upsample, "detect_every": a.detect_every}, out=a.output)
    return 0


def _align(a: argparse.Namespace) -> int:
    from mexp_lib.face.stage import align_faces

    align_faces(a.frames, a.landmarks, numbering="position", face_cfg={"size": a.size, "margin": a.margin, "grey": True}, out=a.output)
    return 0


def _flow(a: argparse.Namespace) -> int:
    import numpy as np

    from mexp_lib.io.frames import open_frames
    from mexp_lib.io.h5store import write_store
    from mexp_lib.motion.flow import FlowParams, compute_flow, optical_strain

    src = open_frames(a.frames)
    frames = src.read_range(0, len(src), grey=True)
    flow, pairs = compute_flow(frames, params=FlowParams(a.method), reference=a.reference)
    write_store(a.output, {"flow": flow.astype(np.float16), "strain": optical_strain(flow).astype(np.float16), "pairs": np.asarray(pairs, np.int32)},
                {"stage": "flow", "method": a.method, "reference": a.reference, "video": str(a.frames)})
    print(f"{a.output}: {len(pairs)} flow pairs ({a.method}, {a.reference})")
    return 0


def _demo(a: argparse.Namespace) -> int:
    from mexp_lib.datasets.demo import generate_demo
    from mexp_lib.log import setup_logging

    setup_logging()
    generate_demo(a.root, {"seed": a.seed, "subjects": a.subjects})
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="mexp", description="Micro-expression spotting and recognition (the workflow runs through snakemake; see README).")
    p.add_argument("--version", action="version", version=f"mexp {mexp_lib.__version__}")
    sub = p.add_subparsers(dest="cmd", required=True)

    ev = sub.add_parser("eval", help="metrics of predictions, as MEGC defines them").add_subparsers(dest="what", required=True)
    r = ev.add_parser("recognition", help="WAR, UAR, UF1 per fold and pooled; columns dataset,subject,sample,label,pred[,seed]")
    r.add_argument("predictions")
    s = ev.add_parser("spotting", help="TP/FP/FN, precision, recall, F1 per type (IoU >= 0.5); columns video,onset,offset,type")
    s.add_argument("--gt", required=True)
    s.add_argument("--pred", required=True)
    s.add_argument("--iou", type=float, default=0.5)
    for q in (r, s):
        g = q.add_mutually_exclusive_group()
        g.add_argument("--json", action="store_true", help="print JSON")
        g.add_argument("--csv", action="store_true", help="print CSV")
    r.set_defaults(func=_eval_recognition)
    s.set_defaults(func=_eval_spotting)

    lm = sub.add_parser("landmarks", help="68-point landmarks of a frames folder or video file -> JSON")
    lm.add_argument("frames")
    lm.add_argument("-o", "--output", required=True)
    lm.add_argument("--backend", default="dlib", choices=["dlib"])
    lm.add_argument("--strategy", default="long", choices=["clip", "long"])
    lm.add_argument("--upsample", type=int, default=0)
    lm.add_argument("--detect-every", type=int, default=10)
    lm.set_defaults(func=_landmarks)

    al = sub.add_parser("align", help="aligned face crops of a video -> HDF5")
    al.add_argument("frames")
    al.add_argument("--landmarks", required=True)
    al.add_argument("-o", "--output", required=True)
    al.add_argument("--size", type=int, default=128)
    al.add_argument("--margin", type=float, default=0.1)
    al.set_defaults(func=_align)

    fl = sub.add_parser("flow", help="optical flow + strain of a frames folder or video -> HDF5")
    fl.add_argument("frames")
    fl.add_argument("-o", "--output", required=True)
    fl.add_argument("--method", default="tvl1", choices=["tvl1", "dis", "farneback"])
    fl.add_argument("--reference", default="onset", help="onset | previous | skip:K")
    fl.set_defaults(func=_flow)

    dm = sub.add_parser("demo", help="render the synthetic demo dataset into a folder")
    dm.add_argument("root")
    dm.add_argument("--seed", type=int, default=7)
    dm.add_argument("--subjects", type=int, default=10)
    dm.set_defaults(func=_demo)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except MexpError as e:
        print(f"mexp: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
