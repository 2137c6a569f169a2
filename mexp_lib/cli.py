"""``mexp``: the command line over the same functions the workflow's scripts call."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import mexp_lib
from mexp_lib.config import (
    SPOT_WITHOUT_MODEL,
    add_settings_options,
    cli_settings,
    default,
    describe_defaults,
    flag_help,
    load_schema,
)
from mexp_lib.errors import ConfigError, MexpError


def _need_file(path: str, what: str) -> None:
    if not Path(path).is_file():
        raise MexpError(f"{what} {path}: file not found")


def _read_csv(path: str, columns: set[str], what: str, *, frames: tuple[str, ...] = ()):  # type: ignore[no-untyped-def]
    """A CSV with ``columns``; the ``frames`` columns must hold whole frame numbers (the error
    names the line and the value)."""
    import pandas as pd

    _need_file(path, what)
    try:
        df = pd.read_csv(path, dtype={"subject": str, "video": str, "sample": str})
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as e:
        raise MexpError(f"{what} {path}: not a readable CSV ({str(e).strip()})") from None
    missing = columns - set(df.columns)
    if missing:
        raise MexpError(f"{what} {path}: missing column(s) {sorted(missing)}; found {list(df.columns)}")
    for col in frames:
        num = pd.to_numeric(df[col], errors="coerce")
        bad = df.index[num.isna() | (num != num.round())]
        if len(bad):
            i = int(bad[0])
            raise MexpError(f"{what} {path}: line {i + 2}: {col}={df[col].iloc[i]!r} is not a frame number")
        df[col] = num.astype("int64")
    return df


def _eval_recognition(a: argparse.Namespace) -> int:
    from mexp_lib.recognition.evaluate import check_predictions, read_megc2019_log, recognition_table

    labels = [c.strip() for c in a.labels.split(",")] if a.labels else None
    _need_file(a.predictions, "predictions")
    with open(a.predictions, errors="replace") as f:
        head = f.readline()
    if "label" in head and "pred" in head:
        preds = _read_csv(a.predictions, {"subject", "label", "pred"}, "predictions")
        classes = check_predictions(preds, f"predictions {a.predictions}", labels)
    else:  # a MEGC 2019 per-sample log with integer labels
        preds = read_megc2019_log(a.predictions, labels or MEGC2019_LABELS)
        classes = list(labels or MEGC2019_LABELS)
    present = set(preds.label) | set(preds.pred)
    return _show(recognition_table(preds, [c for c in classes if c in present]), a)


MEGC2019_LABELS = ("negative", "positive", "surprise")


def _eval_spotting(a: argparse.Namespace) -> int:
    from mexp_lib.metrics import check_intervals, spotting_scores

    cols, fr = {"video", "onset", "offset", "type"}, ("onset", "offset")
    gt, pred = _read_csv(a.gt, cols, "--gt", frames=fr), _read_csv(a.pred, cols, "--pred", frames=fr)
    gt, pred = check_intervals(gt, f"--gt {a.gt}"), check_intervals(pred, f"--pred {a.pred}", allow_empty=True)
    types = sorted(set(gt["type"]) | set(pred["type"]), key=lambda t: (t != "micro", t))
    return _show(spotting_scores(gt, pred, threshold=a.iou, types=types, matching=a.matching), a)


def _eval_strs(a: argparse.Namespace) -> int:
    import pandas as pd

    from mexp_lib.metrics import strs_scores

    cols, fr = {"video", "onset", "offset", "emotion"}, ("onset", "offset")
    gt, pred = _read_csv(a.gt, cols, "--gt", frames=fr), _read_csv(a.pred, cols, "--pred", frames=fr)
    if "subject" in gt.columns and "subject" in pred.columns:  # MEAN's files: video ids repeat across subjects
        for df in (gt, pred):
            df["video"] = df["subject"].astype(str) + "/" + df["video"].astype(str)
    return _show(pd.DataFrame([strs_scores(gt, pred, threshold=a.iou)]), a)


def _dataset_info(a: argparse.Namespace) -> int:
    from mexp_lib.config import read_config_file
    from mexp_lib.datasets import load_dataset

    if a.config:  # the workflow's own validation (types, ranges, unknown keys), then the entry
        cfg = read_config_file(a.config, "--config ")
        if a.name not in cfg["datasets"]:
            raise MexpError(f"{a.config}: no dataset {a.name!r} (has: {sorted(cfg['datasets'])})")
        dcfg = dict(cfg["datasets"][a.name])
    else:
        if not a.format or not (a.annotations or a.format == "demo"):
            raise MexpError("give --config FILE NAME, or --format and --annotations (--format demo: --root)")
        if a.format in ("demo", "generic", "precomputed") and not a.root:
            raise MexpError(f"--format {a.format} needs --root (the dataset's folder)")
        if a.format == "generic" and not a.fps:
            raise MexpError("--format generic needs --fps (the frame rate of its videos)")
        dcfg = {"format": a.format, "annotations": a.annotations}
        dcfg.update({k: v for k, v in (("root", a.root), ("camera", a.camera), ("fps", a.fps)) if v})
    dcfg["on_bad_row"] = "skip" if a.skip else dcfg.get("on_bad_row", "error")
    samples, report = load_dataset(a.name, dcfg)
    print(f"{a.name}: {len(samples)} samples, {samples.video.nunique()} videos, {samples.subject.nunique()} subjects; {report.summary()}")
    counts = samples.groupby(["source", "task", "type"]).size().rename("samples").reset_index()
    print(counts.to_string(index=False))
    emo = samples[samples.emotion != ""].groupby("source").emotion.value_counts().rename("samples").reset_index()
    if len(emo):
        print(emo.to_string(index=False))
    if len(report.skipped) or len(report.fixed):
        print(report.to_frame().to_string(index=False))
    return 0


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
    from mexp_lib.io.frames import video_name

    face = cli_settings(a, "face", {"backend": a.backend, "upsample": a.upsample, "detect_every": a.detect_every, "fan_weights": a.fan_weights,
                                    "detector": a.detector})
    detect_landmarks(a.frames, video=video_name(a.frames), numbering="position", strategy=a.strategy, face_cfg=face, out=a.output)
    return 0


def _spot(a: argparse.Namespace) -> int:
    import logging

    from mexp_lib.config import check_section, read_section, settings
    from mexp_lib.spotting.stage import DEFAULT_MODEL, spot_one_video

    face = settings("face", read_section(a.config, "face"), {k: v for k, v in (("backend", a.backend), ("detect_every", a.detect_every)) if v is not None})
    check_section("face", face)  # the --config file's face section validated, as every command's
    spotting = cli_settings(a, "spotting", base=SPOT_WITHOUT_MODEL)
    model = None if a.no_model else a.model or DEFAULT_MODEL
    if model is not None:  # a model carries its own spotting settings
        if a.set:
            raise ConfigError(f"mexp spot: --set {a.set[0]}: spotting settings apply with --no-model only (a model carries its own)")
        if read_section(a.config, "spotting"):
            logging.getLogger("mexp_lib.cli").warning("--config %s: its spotting section is not used (the model carries its own settings; "
                                                      "--no-model spots with them)", a.config)
    pred = spot_one_video(a.frames, fps=a.fps, out_csv=a.output, model=model, timeline_png=a.timeline, face_cfg=face, cfg=spotting)
    print(pred.to_string(index=False) if len(pred) else "nothing spotted")
    return 0


def _align(a: argparse.Namespace) -> int:
    from mexp_lib.face.stage import align_faces

    face = cli_settings(a, "face", {"size": a.size, "margin": a.margin, "grey": True})
    align_faces(a.frames, a.landmarks, numbering="position", face_cfg=face, out=a.output)
    return 0


def _read_clip(path: str):  # type: ignore[no-untyped-def]
    """Grey frames (T, H, W) of a frames folder, a video file, or an mexp HDF5 store with
    ``frames``; and the store's fps if it has one."""
    from mexp_lib.io.h5store import read_arrays, read_attrs

    if Path(path).suffix in (".h5", ".hdf5"):
        return read_arrays(path, "frames")["frames"].astype("float32"), read_attrs(path).get("fps")
    from mexp_lib.io.frames import open_frames

    src = open_frames(path)
    return src.read_range(0, len(src), grey=True), None


def _write_clip(out: str, frames, attrs: dict, params: dict) -> None:  # type: ignore[no-untyped-def]
    from mexp_lib.io.h5store import write_store

    write_store(out, {"frames": frames.astype("float32")}, attrs, params=params)
    print(f"{out}: {len(frames)} frames {frames.shape[1]}x{frames.shape[2]}")


def _interpolate(a: argparse.Namespace) -> int:
    from mexp_lib.motion.interpolate import interpolate_clip, target_times, upsample_times

    frames, _ = _read_clip(a.frames)
    if (a.n_frames is None) == (a.factor is None):
        raise ConfigError("mexp interpolate: give exactly one of --n-frames and --factor")
    times = target_times(len(frames), a.n_frames) if a.n_frames else upsample_times(len(frames), a.factor)
    cfg = cli_settings(a, "interpolation", {"method": a.method, "rife_weights": a.weights})
    out = interpolate_clip(frames, times, cfg, source=a.frames)
    _write_clip(a.output, out, {"stage": "tim", "source": str(a.frames)}, cfg)
    return 0


def _magnify(a: argparse.Namespace) -> int:
    from mexp_lib.motion.magnify import magnify_clip

    cfg = cli_settings(a, "magnification", {"method": a.method, "alpha": a.alpha, "low_hz": a.low_hz, "high_hz": a.high_hz, "lambda_c": a.lambda_c,
                                            "levels": a.levels, "filter": a.filter, "order": a.order, "magnet_weights": a.weights})
    frames, stored_fps = _read_clip(a.frames)
    fps = a.fps or stored_fps
    if fps is None and cfg["method"] == "eulerian":
        raise ConfigError(f"mexp magnify: {a.frames} carries no frame rate; give --fps")
    out = magnify_clip(frames, float(fps or 0.0), cfg, source=a.frames)
    _write_clip(a.output, out, {"stage": "magnified", "source": str(a.frames), **({"fps": float(fps)} if fps else {})}, cfg)
    return 0


def _flow(a: argparse.Namespace) -> int:
    import numpy as np

    from mexp_lib.io.h5store import write_store
    from mexp_lib.motion.flow import FlowParams, optical_flow, optical_strain, reference_pairs

    if a.reference is not None:
        reference_pairs(0, a.reference)  # names what is wrong with the flag (K of skip:K not an integer...)
    cfg = cli_settings(a, "flow", {"method": a.method, "reference": a.reference})
    method, reference = cfg["method"], cfg["reference"]
    frames, _ = _read_clip(a.frames)
    flow, pairs = optical_flow(frames, params=FlowParams(method, dict(cfg[method])), reference=reference, source=a.frames, threads=a.threads)
    write_store(a.output, {"flow": flow.astype(np.float16), "strain": optical_strain(flow).astype(np.float16), "pairs": np.asarray(pairs, np.int32)},
                {"stage": "flow", "method": method, "reference": reference, "video": str(a.frames)}, params=cfg)
    print(f"{a.output}: {len(pairs)} flow pairs ({method}, {reference})")
    return 0


def _preprocess(a: argparse.Namespace) -> int:
    """landmarks -> align -> flow of one clip in one process: the three commands' work, paid one
    start-up and one model loading (the stage functions the workflow runs, with the same settings)."""
    import tempfile

    from mexp_lib.config import check_section, parse_assignments, read_section, settings
    from mexp_lib.face.stage import align_faces, detect_landmarks
    from mexp_lib.io.frames import video_name
    from mexp_lib.motion.flow import reference_pairs
    from mexp_lib.motion.stage import compute_flow

    given = parse_assignments(a.set)
    unknown = set(given) - {"face", "flow"}
    if unknown:
        raise ConfigError(f"mexp preprocess: --set {sorted(unknown)[0]}...: give face.KEY=VALUE or flow.KEY=VALUE")
    if a.reference is not None:
        reference_pairs(0, a.reference)  # names what is wrong with the flag
    face = settings("face", read_section(a.config, "face"), given.get("face"), {"grey": True})
    flow = settings("flow", read_section(a.config, "flow"), given.get("flow"),
                    {k: v for k, v in (("method", a.method), ("reference", a.reference)) if v is not None})
    check_section("face", face)
    check_section("flow", flow)
    with tempfile.TemporaryDirectory(prefix="mexp-preprocess.") as tmp:
        landmarks = a.landmarks or str(Path(tmp) / "landmarks.json")
        faces = a.faces or str(Path(tmp) / "faces.h5")
        detect_landmarks(a.frames, video=video_name(a.frames), numbering="position", strategy=a.strategy, face_cfg=face, out=landmarks)
        align_faces(a.frames, landmarks, numbering="position", face_cfg=face, out=faces)
        compute_flow(faces, cfg=flow, out=a.output, threads=a.threads)
    print(f"{a.output}: flow + strain ({flow['method']}, {flow['reference']})")
    return 0


def demo_generator(a: argparse.Namespace) -> dict[str, int]:
    """The generator block ``mexp demo`` renders: the schema's defaults, which are the workflow's
    demo (config/config.yaml's ``demo`` entry), with only ``--seed`` / ``--subjects`` given."""
    return {k: v for k, v in (("seed", a.seed), ("subjects", a.subjects)) if v is not None}


def _demo(a: argparse.Namespace) -> int:
    from mexp_lib.datasets.demo import generate_demo

    generate_demo(a.root, demo_generator(a))
    return 0


def _number(kind: type, low: float, *, strict: bool = True, high: float | None = None):  # type: ignore[no-untyped-def]
    """An argparse type: a ``kind`` number above ``low`` (or from ``low`` when not ``strict``),
    at most ``high``; anything else is argparse's one-line usage error naming the flag."""
    def parse(text: str):  # type: ignore[no-untyped-def]
        try:
            v = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {'an integer' if kind is int else 'a number'}") from None
        if v != v or (v <= low if strict else v < low) or (high is not None and v > high):
            bound = f"{'>' if strict else '>='} {low:g}" + (f" and <= {high:g}" if high is not None else "")
            raise argparse.ArgumentTypeError(f"{text} must be {bound}")
        return v
    return parse


POSITIVE, POSITIVE_INT, COUNT = _number(float, 0), _number(int, 0), _number(int, 0, strict=False)
IOU = _number(float, 0, high=1)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="mexp", description="Micro-expression spotting and recognition (the workflow runs through snakemake; see README).")
    p.add_argument("--version", action="version", version=f"mexp {mexp_lib.__version__}")
    sub = p.add_subparsers(dest="cmd", required=True)

    ev = sub.add_parser("eval", help="metrics of predictions, as MEGC defines them",
                        description="Metrics of predictions, as MEGC defines them: `eval recognition PREDICTIONS`; "
                                    "`eval spotting --gt GT.csv --pred PRED.csv` (ground truth and predicted intervals); "
                                    "`eval strs --gt GT.csv --pred PRED.csv` (spot-then-recognise).").add_subparsers(dest="what", required=True)
    r = ev.add_parser("recognition", help="WAR, UAR, UF1, macro-F1 per fold, per dataset and pooled (MEGC 2019)",
                      description="PREDICTIONS: a CSV with columns dataset,subject,sample,label,pred[,seed], or a MEGC 2019 per-sample log "
                                  "('<db> <subject>' lines, then '<clip> <gt> <pred>' with integer labels named by --labels).")
    r.add_argument("predictions", help="predictions CSV or MEGC 2019 log")
    r.add_argument("--labels", help="class names in order, comma-separated: every label and prediction of a CSV must be one of them "
                                    "(default: the classes present); names the integer labels of a log (default: negative,positive,surprise)")
    s = ev.add_parser("spotting", help="TP/FP/FN, precision, recall, F1 per type (IoU >= 0.5); columns video,onset,offset,type",
                      description="Spotting scores of predicted intervals against ground truth, per type (micro, macro) and overall. "
                                  "Both files: CSV with columns video,onset,offset,type (frames inclusive; type micro or macro).")
    s.add_argument("--gt", required=True, help="ground-truth intervals CSV (video,onset,offset,type)")
    s.add_argument("--pred", required=True, help="predicted intervals CSV (video,onset,offset,type; may have no rows)")
    s.add_argument("--iou", type=IOU, default=default("evaluation.iou"), help=flag_help("evaluation.iou", "IoU for a match"))
    s.add_argument("--matching", default="one_to_one", choices=["one_to_one", "pairs"], help="counting convention (see mexp_lib.metrics)")
    t = ev.add_parser("strs", help="spot-then-recognise (MEAN): spotting F1 x analysis F1; columns video,onset,offset,emotion[,subject]")
    t.add_argument("--gt", required=True, help="ground-truth CSV (video,onset,offset,emotion[,subject])")
    t.add_argument("--pred", required=True, help="predicted CSV (video,onset,offset,emotion[,subject])")
    t.add_argument("--iou", type=IOU, default=default("evaluation.iou"), help=flag_help("evaluation.iou", "IoU for a match"))
    for q in (r, s, t):
        g = q.add_mutually_exclusive_group()
        g.add_argument("--json", action="store_true", help="print JSON")
        g.add_argument("--csv", action="store_true", help="print CSV")
    r.set_defaults(func=_eval_recognition)
    s.set_defaults(func=_eval_spotting)
    t.set_defaults(func=_eval_strs)

    ds = sub.add_parser("dataset", help="datasets").add_subparsers(dest="what", required=True)
    di = ds.add_parser("info", help="load a dataset's annotations and print what is in them (samples, types, emotions, bad rows)")
    di.add_argument("name", help="dataset name (a key of the config's datasets, or any name with --format)")
    di.add_argument("--config", help="workflow config file holding datasets.NAME")
    di.add_argument("--format", help="loader (see mexp_lib.datasets.FORMATS), instead of --config")
    di.add_argument("--annotations", help="annotation sheet, with --format")
    di.add_argument("--root", help="folder of the videos: checks every sample's frames exist")
    di.add_argument("--camera", help="smic: HS, VIS or NIR")
    di.add_argument("--fps", type=POSITIVE, help="frame rate (generic: required; others: overrides the dataset's)")
    di.add_argument("--skip", action="store_true", help="record malformed rows instead of stopping at the first (on_bad_row: skip)")
    di.set_defaults(func=_dataset_info)

    lm = sub.add_parser("landmarks", help="68-point landmarks of a frames folder or video file -> JSON")
    lm.add_argument("frames")
    lm.add_argument("-o", "--output", required=True)
    lm.add_argument("--backend", choices=["dlib", "face_alignment"], help=flag_help("face.backend"))
    lm.add_argument("--detector", choices=["hog", "cnn"], help=flag_help("face.detector", "dlib face detector (cnn = MMOD, slower, more robust to pose)"))
    lm.add_argument("--fan-weights", help=flag_help("face.fan_weights", "face_alignment: path of 2DFAN4-11f355bf06.pth.tar (null: its cache)"))
    lm.add_argument("--strategy", default="long", choices=["clip", "long"], help="clip: detect once; long: track (default: %(default)s)")
    lm.add_argument("--upsample", type=COUNT, help=flag_help("face.upsample"))
    lm.add_argument("--detect-every", type=POSITIVE_INT, help=flag_help("face.detect_every"))
    add_settings_options(lm, "face")
    lm.set_defaults(func=_landmarks)

    sp = sub.add_parser("spot", help="spot micro- and macro-expressions in one long video -> intervals CSV")
    sp.add_argument("frames", help="frames folder or video file")
    sp.add_argument("-o", "--output", required=True, help="intervals CSV: video,onset,offset,type (1-based frames, inclusive)")
    sp.add_argument("--fps", type=POSITIVE, required=True, help="frame rate (sets the windows k)")
    which = sp.add_mutually_exclusive_group()
    which.add_argument("--model", help="results/spotting/<dataset>/model.pt of a workflow run (default: the spotter shipped with mexp, "
                                       "mexp_lib/spotting/models/default_spotter.pt: spotter select fitted on the spotting stress benchmark's "
                                       "development part; its provenance is in default_spotter.json beside it)")
    which.add_argument("--no-model", action="store_true", help="no trained model: MDMD with fixed thresholds, the settings below "
                                                               "(--config's spotting section and --set change them)")
    sp.add_argument("--timeline", help="also plot the score timeline with the spotted intervals to this PNG")
    sp.add_argument("--backend", choices=["dlib", "face_alignment"], help=flag_help("face.backend"))
    sp.add_argument("--detect-every", type=POSITIVE_INT, help=flag_help("face.detect_every"))
    add_settings_options(sp, "spotting", base=SPOT_WITHOUT_MODEL)
    sp.epilog = "With --no-model only (a model carries its own settings): " + (sp.epilog or "")
    sp.set_defaults(func=_spot)

    al = sub.add_parser("align", help="aligned face crops of a video -> HDF5")
    al.add_argument("frames")
    al.add_argument("--landmarks", required=True)
    al.add_argument("-o", "--output", required=True)
    al.add_argument("--size", type=_number(int, 32, strict=False), help=flag_help("face.size"))
    al.add_argument("--margin", type=_number(float, 0, strict=False, high=0.4), help=flag_help("face.margin"))
    add_settings_options(al, "face")
    al.set_defaults(func=_align)

    ip = sub.add_parser("interpolate", help="resample a clip (frames folder, video or .h5) to N frames or upsample it -> HDF5")
    ip.add_argument("frames")
    ip.add_argument("-o", "--output", required=True)
    ip.add_argument("--n-frames", type=_number(int, 2, strict=False), help="output frames spanning the clip (TIM)")
    ip.add_argument("--factor", type=POSITIVE_INT, help="upsample: factor - 1 new frames between each pair")
    ip.add_argument("--method", choices=["flow", "linear", "rife"], help=flag_help("interpolation.method"))
    ip.add_argument("--weights", help=flag_help("interpolation.rife_weights", "rife: RIFE v4.0 flownet.pkl"))
    add_settings_options(ip, "interpolation")
    ip.set_defaults(func=_interpolate)

    mg = sub.add_parser("magnify", help="magnify the motion of a clip (frames folder, video or .h5) -> HDF5")
    mg.add_argument("frames")
    mg.add_argument("-o", "--output", required=True)
    mg.add_argument("--method", choices=["eulerian", "magnet"], help=flag_help("magnification.method"))
    mg.add_argument("--alpha", type=POSITIVE, help=flag_help("magnification.alpha"))
    mg.add_argument("--fps", type=POSITIVE, help="frame rate (an .h5 from mexp interpolate/the workflow carries it)")
    mg.add_argument("--low-hz", type=POSITIVE, help=flag_help("magnification.low_hz"))
    mg.add_argument("--high-hz", type=POSITIVE, help=flag_help("magnification.high_hz"))
    mg.add_argument("--lambda-c", type=POSITIVE, help=flag_help("magnification.lambda_c"))
    mg.add_argument("--levels", type=POSITIVE_INT, help=flag_help("magnification.levels"))
    mg.add_argument("--filter", choices=["ideal", "butterworth"], help=flag_help("magnification.filter"))
    mg.add_argument("--order", type=POSITIVE_INT, help=flag_help("magnification.order"))
    mg.add_argument("--weights", help=flag_help("magnification.magnet_weights", "magnet: MagNet state dict"))
    add_settings_options(mg, "magnification")
    mg.set_defaults(func=_magnify)

    fl = sub.add_parser("flow", help="optical flow + strain of a clip (frames folder, video or .h5) -> HDF5")
    fl.add_argument("frames")
    fl.add_argument("-o", "--output", required=True)
    fl.add_argument("--method", choices=["tvl1", "dis", "farneback"], help=flag_help("flow.method"))
    fl.add_argument("--reference", help=flag_help("flow.reference", "onset | previous | skip:K"))
    fl.add_argument("--threads", type=POSITIVE_INT, default=1, help="frame pairs computed in parallel on this many threads (default: %(default)s)")
    add_settings_options(fl, "flow")
    fl.set_defaults(func=_flow)

    pp = sub.add_parser("preprocess", help="landmarks -> aligned faces -> flow + strain of one clip, in one process -> HDF5",
                        description="What `mexp landmarks`, `mexp align` and `mexp flow` do, in one process (one start-up, "
                                    "the models loaded once), with the face and flow sections' settings.")
    pp.add_argument("frames", help="frames folder or video file")
    pp.add_argument("-o", "--output", required=True, help="flow store (as mexp flow writes it)")
    pp.add_argument("--landmarks", help="also keep the landmarks JSON here")
    pp.add_argument("--faces", help="also keep the aligned faces store here")
    pp.add_argument("--strategy", default="clip", choices=["clip", "long"], help="clip: detect once; long: track (default: %(default)s)")
    pp.add_argument("--method", choices=["tvl1", "dis", "farneback"], help=flag_help("flow.method"))
    pp.add_argument("--reference", help=flag_help("flow.reference", "onset | previous | skip:K"))
    pp.add_argument("--threads", type=POSITIVE_INT, default=1, help="frame pairs computed in parallel on this many threads (default: %(default)s)")
    pp.add_argument("--config", metavar="FILE", help="a workflow config (config/config.yaml): its face and flow sections are used")
    pp.add_argument("--set", metavar="SECTION.KEY=VALUE", action="append", default=[],
                    help="one face or flow setting, e.g. --set flow.dis.finest_scale=0 (repeatable; YAML values)")
    pp.formatter_class = argparse.RawDescriptionHelpFormatter
    pp.epilog = describe_defaults("face") + "\n\n" + describe_defaults("flow")
    pp.set_defaults(func=_preprocess)

    dm = sub.add_parser("demo", help="render the synthetic demo dataset into a folder",
                        description="Render the synthetic demo dataset (short clips with a CASME II-style sheet, long videos with a "
                                    "CAS(ME)^2-style sheet) into ROOT: the workflow's demo (config/config.yaml's demo entry; its settings are "
                                    "the schema's generator defaults), as its generate_demo rule renders it.")
    dm.add_argument("root", help="folder to render into (created; replaced if it exists)")
    gen = load_schema()["properties"]["datasets"]["additionalProperties"]["properties"]["generator"]["properties"]
    dm.add_argument("--seed", type=int, help=f"random seed of the faces' expressions and timing (default: the workflow demo's, {gen['seed']['default']})")
    dm.add_argument("--subjects", type=_number(int, 2, strict=False),
                    help=f"number of subjects, at least 2 (default: the workflow demo's, {gen['subjects']['default']})")
    dm.set_defaults(func=_demo)
    return p


# Commands that read every frame of a video: a progress bar on a terminal, log lines otherwise.
LONG_COMMANDS = (_landmarks, _spot, _align, _interpolate, _magnify, _flow, _preprocess, _demo)


def _check_output(output: str | None) -> None:
    """``-o`` names a file to write: an existing folder there is refused before any work (the
    rename at the end could not replace it)."""
    if output and Path(output).is_dir():
        raise MexpError(f"-o {output}: is a folder; give the file to write")


def main(argv: list[str] | None = None) -> int:
    """Run one command. Bad input ends in one line ``mexp: error: ...`` and exit status 2; a
    closed output pipe (``mexp ... | head``) ends quietly with status 141, as for other tools."""
    args = build_parser().parse_args(argv)
    if args.func in LONG_COMMANDS:
        from mexp_lib.log import setup_logging, show_progress_bars

        setup_logging()  # progress and warnings on stderr; stdout keeps the result
        show_progress_bars(sys.stderr if sys.stderr.isatty() else None)
    try:
        _check_output(getattr(args, "output", None))
        return int(args.func(args))
    except MexpError as e:
        print(f"mexp: error: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        if isinstance(e, BrokenPipeError):
            # the reader went away: stop writing, and keep Python from failing on the final flush
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 141
        where = f"{e.filename}: " if e.filename else ""
        print(f"mexp: error: {where}{e.strerror or e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
