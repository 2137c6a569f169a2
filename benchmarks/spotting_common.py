"""What the spotting benchmarks share: the spotters compared, the face stage, cached features,
leave-one-subject-out evaluation and spotting videos with a spotter fitted on others.

Used by ``bench_spotting_realism.py``, ``bench_spotting_stress.py`` and
``bench_spotting_real_video.py`` (``sys.path`` holds this folder when they run). Every step is a
call of the workflow's own stage functions; rendered videos, faces and features are cached under
a condition's folder (``videos/``, ``faces/<face settings hash>/``, ``features/<face settings
hash>-<feature settings hash>/``), so a rerun only computes what is missing, and a changed setting
never reads another setting's cache. The face settings are the workflow's (config/config.yaml).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mexp_lib.datasets.demo import generate_demo

REPO = Path(__file__).resolve().parents[1]
FACES = REPO.parent / "shared/data/real/wangzhifengharrison__HTNet/combined_datasets_whole"

# name -> settings over the configured default; None: the fixed-region baseline
ROUND1 = {"method": "feature_diff", "spotter": "classical", "k_seconds": {"micro": 0.18, "macro": 0.6}, "flow_method": "dis", "region": "crop", "blinks": "mask", "eye_dilate": 0.25,
          "boundaries": "fixed", "type_by": "ratio", "denoise": {}, "cell_norm": "none"}
LEARNED = {"epochs": 40, "lr": 0.003, "width": 32, "weight_decay": 0.0001, "seed": 0, "gate": 2.0}
FLOOR = "fixed-region flow (floor baseline)"
MDMD = "MDMD (MEGC 2020 baseline)"
DEFAULT = "default (learned micro, classical macro)"  # config/config.yaml's spotting section
# the schema's default spotter (config/config.yaml may set another): what the shipped model of
# `mexp spot` is (benchmarks/build_spot_model.py)
SELECT = "select (the schema's default spotter)"
SPOTTERS: dict[str, dict[str, Any] | None] = {
    FLOOR: None,
    MDMD: {**ROUND1, "method": "mdmd"},
    "feature_diff, round-1 default": ROUND1,
    "classical": {"spotter": "classical"},
    "learned, both types": {"spotter": "learned", "learned": {**LEARNED, "types": ["micro", "macro"]}},
    "two_stage": {"spotter": "two_stage", "learned": {**LEARNED, "types": ["micro", "macro"]}},
    DEFAULT: {},
}
# short names for command lines
SHORT = {"floor": FLOOR, "mdmd": MDMD, "round1": "feature_diff, round-1 default", "classical": "classical",
         "learned": "learned, both types", "two_stage": "two_stage", "default": DEFAULT}
# spotters run only when named (not part of a benchmark's "all")
ON_REQUEST: dict[str, dict[str, Any]] = {SELECT: {"spotter": "select"}}
ON_REQUEST_SHORT = {"select": SELECT}
NAMED = {**SHORT, **ON_REQUEST_SHORT}  # every short name a command line may give

# the fixed-region baseline's half-windows: its own, chosen on the development part like every
# spotter's (a baseline that kept the round-1 windows while the default's grew would be a straw man)
FLOOR_K = {"micro": 0.18, "macro": 1.2}
FLOOR_REGION = 0.6  # the central fraction of the frame it watches
# the fixed-region baseline's scores are type-specific (no scale test) and thresholded classically
BASELINE_SPOTTING = {"spotter": "classical", "type_ratio": None, "boundaries": "fixed", "type_by": "ratio"}


def _workflow_config() -> dict[str, Any]:
    """config/config.yaml resolved against the schema's defaults, exactly as the workflow resolves it."""
    import yaml

    from mexp_lib.config import resolve_config

    return resolve_config(yaml.safe_load((REPO / "config/config.yaml").read_text()))


def face_settings(**over: Any) -> dict[str, Any]:
    """The workflow's face settings (config/config.yaml's ``face`` section with the schema's
    defaults) with ``over`` applied: the benchmarks crop faces as the workflow does, from the one
    source of defaults."""
    return {**_workflow_config()["face"], **over}


FACE = face_settings()


def face_key(face_cfg: dict[str, Any] | None = None) -> str:
    """What the aligned crops depend on: every face setting (:data:`FACE` with ``face_cfg`` over
    it) but ``on_missing_face``, which only decides whether a faceless video stops the run."""
    s = {k: v for k, v in {**FACE, **(face_cfg or {})}.items() if k != "on_missing_face"}
    return hashlib.sha1(json.dumps(s, sort_keys=True).encode()).hexdigest()[:12]


def faces_dir(cdir: Path, face_cfg: dict[str, Any] | None = None) -> Path:
    """A condition's landmarks and aligned faces for these face settings: ``faces/<face_key>/``,
    so a changed crop (``face.margin``, say) is computed again, never read from another's cache."""
    return cdir / "faces" / face_key(face_cfg)


def spotting_config(**over: Any) -> dict[str, Any]:
    """The workflow's spotting settings (config/config.yaml resolved against the schema's
    defaults, exactly as the workflow resolves them) with ``over`` applied."""
    return {**_workflow_config()["spotting"], **over}


def spotter_configs(name: str) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """(feature settings or None for the floor, settings the spotting and its selection use)."""
    over = SPOTTERS[name] if name in SPOTTERS else ON_REQUEST[name]
    if over is None:
        return None, spotting_config(**BASELINE_SPOTTING)
    cfg = spotting_config(**over)
    return cfg, cfg


def feature_key(cfg: dict[str, Any]) -> str:
    """What the per-video features depend on (the spotter and thresholds do not change them)."""
    keys = ("method", "flow_method", "dis", "tvl1", "farneback", "k_seconds", "head_motion", "grid", "top_cells", "eye_dilate", "denoise", "cell_norm",
            "region", "blinks", "boundaries", "boundary_rise", "boundary_seconds", "candidates_per_second", "smooth")
    return hashlib.sha1(json.dumps({k: cfg.get(k) for k in keys}, sort_keys=True).encode()).hexdigest()[:12]


def render(cdir: Path, gen: dict[str, Any]) -> pd.DataFrame:
    """Render ``gen``'s long videos into ``cdir/videos`` (generic layout; cached) and return
    the ground truth (subject, video, onset, offset, type, ...)."""
    videos = cdir / "videos"
    if not (videos / "annotations.csv").exists():
        generate_demo(videos, gen, layout="generic")
    return pd.read_csv(videos / "annotations.csv")


def video_names(cdir: Path) -> list[str]:
    """The videos (frame folders or files) of a condition's ``videos/`` folder."""
    return sorted(p.name for p in (cdir / "videos").iterdir() if p.name != "annotations.csv" and not p.name.startswith("."))


def face_stage(cdir: Path, videos: list[str], face_cfg: dict[str, Any] | None = None) -> None:
    """Landmarks and aligned faces of every video of ``cdir/videos`` into :func:`faces_dir` (cached)."""
    from mexp_lib.face.stage import align_faces, detect_landmarks

    faces = faces_dir(cdir, face_cfg)
    face_cfg = {**FACE, **(face_cfg or {})}
    faces.mkdir(parents=True, exist_ok=True)
    for v in videos:
        if not (faces / f"{v}.h5").exists():
            detect_landmarks(str(cdir / "videos" / v), video=v, numbering="position", strategy="long", face_cfg=face_cfg, out=faces / f"{v}.json")
            align_faces(str(cdir / "videos" / v), str(faces / f"{v}.json"), numbering="position", face_cfg=face_cfg, out=faces / f"{v}.h5")


def floor_key(k: dict[str, float], region: float) -> str:
    return f"fixed_region_{k['micro']:g}_{k['macro']:g}" + ("" if region == FLOOR_REGION else f"_r{region:g}")


def scores_of(cdir: Path, videos: list[str], fps: float | dict[str, float], cfg: dict[str, Any] | None,
              floor: tuple[dict[str, float], float] | None = None) -> dict[str, dict[str, np.ndarray]]:
    """Per-video scores of one spotter's features (cached per feature settings); ``cfg`` None:
    the floor's fixed-region scores (``floor``: its half-windows and region, default
    :data:`FLOOR_K`, :data:`FLOOR_REGION`). ``fps``: one rate, or one per video."""
    from mexp_lib.spotting.baseline import fixed_region_scores
    from mexp_lib.spotting.stage import compute_spotting_features, load_scores

    fk, region = floor or (FLOOR_K, FLOOR_REGION)
    key = floor_key(fk, region) if cfg is None else f"{face_key()}-{feature_key(cfg)}"  # the floor reads the frames, not the faces
    fdir = cdir / "features" / key
    fdir.mkdir(parents=True, exist_ok=True)
    out = {}
    for v in videos:
        rate = float(fps[v]) if isinstance(fps, dict) else float(fps)
        stem = Path(v).stem
        if cfg is None:
            f = fdir / f"{stem}.npz"
            if not f.exists():
                np.savez(f.with_suffix(".tmp.npz"), **fixed_region_scores(str(cdir / "videos" / v), fps=rate, k_seconds=fk, region=region))
                f.with_suffix(".tmp.npz").rename(f)
            out[v] = dict(np.load(f))
        else:
            h5 = fdir / f"{v}.h5"
            if not h5.exists():
                compute_spotting_features(str(faces_dir(cdir) / f"{v}.h5"), fps=rate, cfg=cfg, out=h5)
            out.update(load_scores([str(h5)]))
    return out


def f1_row(gt: pd.DataFrame, pred: pd.DataFrame) -> dict[str, Any]:
    """MEGC metrics of predicted intervals: F1 overall, micro and macro, with the counts."""
    from mexp_lib.metrics import spotting_scores

    r = spotting_scores(gt, pred).set_index("type")
    return {"f1": r.loc["all", "f1"], "micro_f1": r.loc["micro", "f1"], "macro_f1": r.loc["macro", "f1"],
            "tp": int(r.loc["all", "tp"]), "fp": int(r.loc["all", "fp"]), "fn": int(r.loc["all", "fn"])}


def evaluate(scores: dict[str, dict[str, np.ndarray]], gt: pd.DataFrame, cfg: dict[str, Any]) -> pd.Series:
    """Leave-one-subject-out spotting as the workflow runs it (:func:`mexp_lib.spotting.select.spot_folds`:
    thresholds, networks and, with ``spotter: select``, the spotter fitted on the other subjects)
    and the MEGC metrics (:func:`f1_row`)."""
    from mexp_lib.spotting.select import spot_folds

    subjects = dict(zip(gt.video, gt.subject, strict=False))
    pred, _ = spot_folds(scores, {v: subjects[v] for v in scores}, gt, cfg)
    return pd.Series(f1_row(gt, pred))


def fit_and_spot(train: dict[str, dict[str, np.ndarray]], train_gt: pd.DataFrame, test: dict[str, dict[str, np.ndarray]],
                 cfg: dict[str, Any]) -> pd.DataFrame:
    """Spot the ``test`` videos with a spotter fitted on the ``train`` videos alone
    (:func:`mexp_lib.spotting.select.fit_spot`)."""
    from mexp_lib.spotting.select import fit_spot

    subjects = dict(zip(train_gt.video, train_gt.subject, strict=False))
    return fit_spot(train, test, subjects, train_gt[train_gt.video.isin(list(train))], cfg)[0]
