"""The spotting stage as the workflow runs it: per-video features, then dataset-level spotting."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mexp_lib.config import SPOT_WITHOUT_MODEL, settings
from mexp_lib.datasets.table import read_sample_table
from mexp_lib.errors import DataError
from mexp_lib.io.atomic import atomic_path, write_csv
from mexp_lib.io.frames import video_name
from mexp_lib.io.h5store import open_store, write_store
from mexp_lib.io.skip import skip_reason, write_skip
from mexp_lib.spotting.baseline import stack_scores
from mexp_lib.spotting.evaluate import plot_timeline
from mexp_lib.spotting.features import spotting_features
from mexp_lib.spotting.folds import select_thresholds
from mexp_lib.spotting.intervals import Thresholds, spot_configured
from mexp_lib.spotting.select import available, candidate, choose_spotter, spot_folds
from mexp_lib.spotting.settings import TYPES, is_learned, spotting_settings

logger = logging.getLogger(__name__)

# The settings each stage reads (dotted config paths; mexp_lib.stages collects them): the
# workflow passes exactly these, so a change reruns exactly the stages reading it. The feature
# stage reads these 19 spotting keys (a test runs it with a recording config); spot_intervals
# reads the whole section (its model file stores it: `mexp spot --model` computes a new
# video's features with the same settings).
COMPUTE_SPOTTING_FEATURES_READS = tuple(f"spotting.{k}" for k in (
    "blinks", "boundaries", "boundary_rise", "boundary_seconds", "candidates_per_second", "cell_norm", "denoise", "dis", "eye_dilate",
    "farneback", "flow_method", "grid", "head_motion", "k_seconds", "method", "region", "smooth", "top_cells", "tvl1"))
SPOT_INTERVALS_READS = ("spotting",)


def compute_spotting_features(faces_h5: str, *, fps: float, cfg: dict[str, Any], out: str | Path) -> None:
    """Compute a long video's per-frame scores and store them with its frame numbers; ``cfg``:
    the ``spotting`` section (missing keys take the schema's defaults)."""
    cfg = spotting_settings(cfg)
    reason = skip_reason(faces_h5)
    if reason is not None:
        write_skip(out, Path(faces_h5).stem, reason)
        return
    with open_store(faces_h5) as h:
        feats = spotting_features(h, fps=fps, cfg=cfg, video=Path(faces_h5).stem)
        numbers = h["numbers"][()]
        floor = stack_scores(h["frames"][()], fps=fps, k_seconds=cfg["k_seconds"])  # the floor candidate of spotter: select
    arrays = {**{t: feats[t] for t in TYPES}, **{f"cells_{t}": feats[f"cells_{t}"].astype(np.float16) for t in TYPES}, "numbers": numbers,
              **{f"floor_{t}": floor[t] for t in TYPES}}
    if "bounds" in feats:
        arrays["bounds"] = feats["bounds"]
    write_store(out, arrays, {"stage": "spotting_features", **{f"k_{t}": int(feats[f"k_{t}"]) for t in TYPES}, "fps": fps}, params=cfg)


def load_scores(feature_files: Sequence[str]) -> dict[str, dict[str, np.ndarray]]:
    """video -> {macro, micro, numbers, k_macro, k_micro[, bounds, cells_*]}; skipped videos are left out."""
    scores = {}
    for f in feature_files:
        if skip_reason(f) is not None:
            logger.warning("%s: skipped by the face stage (%s)", f, skip_reason(f))
            continue
        with open_store(f) as h:
            arrays = [k for k in (*TYPES, "numbers", "bounds", *(f"cells_{t}" for t in TYPES), *(f"floor_{t}" for t in TYPES)) if k in h]
            scores[Path(f).stem] = {**{k: h[k][()] for k in arrays}, **{f"k_{t}": np.array(int(h.attrs[f"k_{t}"])) for t in TYPES},
                                    **({"fps": np.array(float(h.attrs["fps"]))} if "fps" in h.attrs else {})}
    return scores


# What `mexp spot --no-model` changes in the schema's spotting defaults (classical MDMD,
# fixed thresholds): defined with the other command-line settings, light to import.
WITHOUT_MODEL = SPOT_WITHOUT_MODEL


def spot_intervals(samples_csv: str, feature_files: Sequence[str], *, cfg: dict[str, Any], out_intervals: str | Path, out_selection: str | Path,
                 out_timelines: str | Path, out_model: str | Path | None = None, out_strs: str | Path | None = None) -> pd.DataFrame:
    """LOSO spotting of every long video; intervals, threshold selection and timeline plots.

    With ``cfg["classes"]`` (and ``class_mapping``, emotion -> class) a learned spotter also
    recognises each spotted interval; ``out_strs`` gets the STRS table (spotting F1 x the
    macro-F1 of the spotted true positives' emotions; NaN when nothing is recognised).
    ``out_model``: the model for new videos (``mexp spot --model``, a torch file): the spotting
    settings, the thresholds selected on *all* of the dataset's videos and, for the learned
    spotter, the network trained on all of them (for use elsewhere; the metric table comes from
    the leave-one-subject-out predictions only)."""
    cfg = spotting_settings(cfg)
    samples = read_sample_table(samples_csv)
    long = samples[samples.task == "spotting"]
    gt = long[["video", "onset", "offset", "type", "apex", "emotion"]]
    scores = load_scores(feature_files)
    if not scores:  # every long video skipped (face.on_missing_face: skip): nothing to spot on
        reasons = "; ".join(f"{Path(f).stem}: {skip_reason(f)}" for f in feature_files)
        raise DataError(f"{samples_csv}: all {len(feature_files)} long videos were skipped by the face stage, nothing to spot ({reasons})")
    subjects = dict(zip(long.video, long.subject, strict=True))
    pred, sel = spot_folds(scores, {v: subjects[v] for v in scores}, gt, cfg)
    pred = pred.sort_values(["video", "onset"]).reset_index(drop=True)
    logger.info("spotted %d intervals in %d videos", len(pred), len(scores))
    write_csv(pred, out_intervals)
    write_csv(sel, out_selection)
    if out_model is not None:
        write_spotting_model(scores, gt, cfg, out_model, subjects=subjects)
    if out_strs is not None:
        write_csv(strs_table(gt, pred, cfg), out_strs)
    with atomic_path(out_timelines, directory=True) as tmp:
        for v, sc in scores.items():
            plot_timeline(v, sc, gt, pred, tmp / f"{v}.png")
    return pred


MODEL_KIND = "mexp.spotting/1"


def strs_table(gt: pd.DataFrame, pred: pd.DataFrame, cfg: dict[str, Any]) -> pd.DataFrame:
    """One row: STRS and its parts for spotted-and-recognised intervals (ground-truth emotions
    mapped to the configured classes), or NaN with ``recognised = False``."""
    from mexp_lib.metrics import strs_scores

    if "emotion" not in pred.columns:
        return pd.DataFrame([{"recognised": False, "strs": float("nan")}])
    mapping = dict(cfg.get("class_mapping") or {})
    g = gt.assign(emotion=[mapping.get(str(e).lower(), str(e)) for e in gt.emotion])
    return pd.DataFrame([{"recognised": True, **strs_scores(g, pred)}])


def write_spotting_model(scores: dict[str, dict[str, np.ndarray]], gt: pd.DataFrame, cfg: dict[str, Any], out: str | Path,
                         subjects: dict[str, str] | None = None, provenance: dict[str, Any] | None = None) -> tuple[str, dict[str, float]]:
    """Fit the spotter on every video (the learned network, then the thresholds) and save it.
    With ``spotter: select`` the spotter is first chosen on every video (inner folds over
    ``subjects``; the first candidate without them) and stored as ``select_from: [chosen]``.
    ``provenance`` (where the videos came from, ...) is stored with the chosen spotter and its
    inner F1 under the model's ``provenance`` key (:func:`read_model_provenance`).
    Returns (the spotter that was fitted, each candidate's inner F1; empty unless selected)."""
    import torch

    cfg = spotting_settings(cfg)
    gt = gt[gt.video.isin(list(scores))]
    stored = cfg
    chosen, inner = str(cfg["spotter"]), dict[str, float]()
    if cfg["spotter"] == "select":
        chosen, inner = choose_spotter(scores, subjects, gt, cfg) if subjects else (available(scores, cfg)[0], {})
        stored = cfg | {"select_from": [chosen]}
        scores, cfg = candidate(scores, cfg, chosen)
    net = None
    if is_learned(cfg):
        from mexp_lib.spotting.learned import learned_fold

        scores, _, net = learned_fold(scores, {}, gt, cfg)
    th, f1 = select_thresholds(scores, gt, cfg)
    with atomic_path(out) as tmp:
        torch.save({"kind": MODEL_KIND, "spotting": dict(stored), "thresholds": {t: {"p": th[t].p, "floor": th[t].floor} for t in TYPES},
                    "train_f1": f1, "videos": len(scores), "net": None if net is None else net.state_dict(),
                    "provenance": None if provenance is None else {**provenance, "spotter": chosen, "inner_f1": inner, "train_f1": f1}}, tmp)
    return chosen, inner


# The spotter that ships with mexp (package data): `mexp spot` uses it when no --model is given.
# Written by benchmarks/build_spot_model.py -- the workflow's default spotter (spotter: select)
# fitted on the development part of the spotting stress benchmark; its provenance is stored in
# it (read_model_provenance) and beside it, as JSON.
DEFAULT_MODEL = Path(__file__).resolve().parent / "models" / "default_spotter.pt"


def _load_model(path: str | Path) -> dict[str, Any]:
    import torch

    from mexp_lib.errors import ConfigError

    p = Path(path)
    try:
        d = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - missing, truncated or foreign file
        raise ConfigError(f"{p}: cannot read a spotting model ({type(e).__name__}: {e})") from e
    if not isinstance(d, dict) or d.get("kind") != MODEL_KIND:
        raise ConfigError(f"{p}: not a spotting model (results/spotting/<dataset>/model.pt of a workflow run)")
    return d


def read_model_provenance(path: str | Path = DEFAULT_MODEL) -> dict[str, Any] | None:
    """Where a spotting model came from, as its builder stored it (the shipped default's: the
    benchmark part, seed and subjects it was fitted on, the settings, the chosen spotter, the mexp
    version and the date), or None for a model written without it (a workflow run's)."""
    prov = _load_model(path).get("provenance")
    return dict(prov) if isinstance(prov, dict) else None


def describe_model(path: str | Path, cfg: dict[str, Any]) -> str:
    """One line on a spotting model for the log: its spotter and, for a model with provenance
    (the shipped default), what it was trained on."""
    spotter = cfg["select_from"][0] if cfg.get("spotter") == "select" else cfg.get("spotter")
    prov = read_model_provenance(path)
    default = Path(path).resolve() == DEFAULT_MODEL
    what = "the default spotter shipped with mexp, " if default else ""
    if prov is None:
        return f"{what}spotter {spotter}"
    return f"{what}spotter {spotter}, {prov.get('trained_on', 'trained on unknown videos')} (mexp {prov.get('mexp_version', '?')}, {prov.get('date', '?')})"


def read_spotting_model(path: str | Path) -> tuple[dict[str, Any], dict[str, Thresholds], Any]:
    """(spotting settings, thresholds per type, the learned network or None) of a ``model.pt``
    written by the workflow (or the shipped :data:`DEFAULT_MODEL`)."""
    d = _load_model(path)
    net = None
    if d.get("net") is not None:
        from mexp_lib.spotting.learned import TemporalScoreNet

        net = TemporalScoreNet.from_state(d["net"], d["spotting"].get("learned"))
    return d["spotting"], {t: Thresholds(float(v["p"]), float(v["floor"])) for t, v in d["thresholds"].items()}, net


def spot_one_video(frames_path: str | Path, *, fps: float, out_csv: str | Path, model: str | Path | None = None, face_cfg: dict[str, Any] | None = None,
                   timeline_png: str | Path | None = None, workdir: str | Path | None = None, cfg: dict[str, Any] | None = None) -> pd.DataFrame:
    """Spot one long video (frames folder or video file) outside the workflow.

    Landmarks (long-video strategy) -> aligned faces -> scores -> intervals, each streamed
    through files in ``workdir`` (a temporary folder by default) so memory does not grow with
    the video. With ``model`` (a workflow ``model.pt``, or :data:`DEFAULT_MODEL`, the one
    ``mexp spot`` uses by default) its settings, thresholds and network are used (and logged);
    with ``model=None``, no trained model: the schema's defaults with :data:`WITHOUT_MODEL` over
    them (MDMD, fixed thresholds), and ``cfg`` (a ``spotting`` section) over those. Writes
    ``video,onset,offset,type[,emotion]`` (1-based frame positions, inclusive) to ``out_csv``
    and, if asked, the score timeline.
    """
    import tempfile

    from mexp_lib.face.stage import align_faces, detect_landmarks

    net = None
    if model is not None:
        cfg, th, net = read_spotting_model(model)
        how = f"with {model}: {describe_model(model, cfg)}"
    else:
        cfg = settings("spotting", WITHOUT_MODEL, cfg)
        th = {t: Thresholds(float(cfg["default_p"]), float(cfg["default_floor"])) for t in TYPES}
        how = f"without a trained model: {cfg['method']} score, {cfg['spotter']} spotter, fixed thresholds (p {th['micro'].p:g}, floor {th['micro'].floor:g})"
    video = video_name(frames_path)
    face = settings("face", face_cfg, {"grey": True})
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        t = Path(tmp)
        detect_landmarks(str(frames_path), video=video, numbering="position", strategy="long", face_cfg=face, out=t / f"{video}.json")
        align_faces(str(frames_path), str(t / f"{video}.json"), numbering="position", face_cfg=face, out=t / f"{video}_faces.h5")
        compute_spotting_features(str(t / f"{video}_faces.h5"), fps=fps, cfg=cfg, out=t / f"{video}.h5")
        scores = load_scores([str(t / f"{video}.h5")])
    logger.info("%s: spotting %s", video, how)  # after the frames were read: bad input stays one error line
    if net is not None:
        from mexp_lib.spotting.learned import learned_gate, learned_types, predict_scores

        scores = {v: predict_scores(net, sc, learned_types(cfg), learned_gate(cfg)) for v, sc in scores.items()}
    if cfg["spotter"] == "select":  # a model of spotter select stores its choice
        scores, cfg = candidate(scores, cfg, cfg["select_from"][0])
    pred = spot_configured(scores, th, cfg)
    write_csv(pred, out_csv)
    if timeline_png is not None and video in scores:
        plot_timeline(video, scores[video], pd.DataFrame(columns=["video", "onset", "offset", "type"]), pred, timeline_png)
    logger.info("%s: %d interval(s) spotted", video, len(pred))
    return pred
