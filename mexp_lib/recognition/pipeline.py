"""The recognition workflow in one process, for benchmarks and tests that run many settings.

The same stage functions the workflow's rules call, in the same order, with the same settings
(a config resolved by :func:`mexp_lib.config.resolve_config`): per video ``detect_landmarks`` and
``align_faces``; per sample ``normalise_clip`` (TIM), ``magnify_motion`` (when enabled) and
``compute_flow`` (only the onset -> apex pair for apex models); ``build_inputs``; one
``train_fold`` per fold of the dataset's plan (:mod:`mexp_lib.plan`: per subject, or per source
database under ``recognition.protocol: holdout_db``); ``evaluate_recognition``. Every output is
cached under ``workdir`` by a hash of the settings (:func:`mexp_lib.provenance.config_hash`) it depends on, so settings that share a
stage share its files (two models on one flow, two flows on one face crop).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from mexp_lib.provenance import config_hash

SECTIONS = ("face", "interpolation", "magnification", "flow", "training", "recognition")


def faces_of(workdir: Path, samples: pd.DataFrame, face: dict[str, Any]) -> dict[str, Path]:
    """video -> its aligned faces store (the face stage, short clips: landmarks detected once
    per clip; cached per face settings under ``workdir/faces``). ``samples``: a sample table
    (``video``, ``frames``, ``numbering``)."""
    from mexp_lib.face.stage import align_faces, detect_landmarks

    fdir = Path(workdir) / "faces" / config_hash(face)
    fdir.mkdir(parents=True, exist_ok=True)
    out = {}
    for v, frames, numbering in sorted(set(zip(samples.video, samples.frames, samples.numbering, strict=True))):
        h5 = fdir / f"{v}.h5"
        if not h5.exists():
            detect_landmarks(frames, video=v, numbering=numbering, strategy="clip", face_cfg=face, out=fdir / f"{v}.json")
            align_faces(frames, str(fdir / f"{v}.json"), numbering=numbering, face_cfg=face, out=h5)
        out[v] = h5
    return out


def motion_of(workdir: Path, samples: pd.DataFrame, faces: dict[str, Path], cfg: dict[str, Any], pairs: str) -> tuple[dict[str, str], dict[str, str]]:
    """sample -> its flow store and sample -> its grey clip (magnified when enabled, else TIM),
    computed as the workflow's motion rules do (cached per settings under ``workdir``)."""
    from mexp_lib.motion.stage import compute_flow, magnify_motion, normalise_clip

    workdir = Path(workdir)
    rec = cfg["recognition"]
    k_tim = config_hash([cfg["face"], cfg["interpolation"], rec["context"]])
    k_clip = config_hash([k_tim, cfg["magnification"]]) if cfg["magnification"]["enabled"] else k_tim
    k_flow = config_hash([k_clip, cfg["flow"], pairs])
    flows, clips = {}, {}
    for r in samples.itertuples():
        tim = workdir / "tim" / k_tim / f"{r.sample}.h5"
        if not tim.exists():
            tim.parent.mkdir(parents=True, exist_ok=True)
            normalise_clip(str(faces[r.video]), sample=r.sample, onset=int(r.onset), apex=int(r.apex), offset=int(r.offset), fps=float(r.fps),
                           context=int(rec["context"]), cfg=cfg["interpolation"], out=tim)
        clip = tim
        if cfg["magnification"]["enabled"]:
            clip = workdir / "magnified" / k_clip / f"{r.sample}.h5"
            if not clip.exists():
                clip.parent.mkdir(parents=True, exist_ok=True)
                magnify_motion(str(tim), cfg=cfg["magnification"], out=clip)
        flow = workdir / "flow" / k_flow / f"{r.sample}.h5"
        if not flow.exists():
            flow.parent.mkdir(parents=True, exist_ok=True)
            compute_flow(str(clip), cfg=cfg["flow"], out=flow, pairs=pairs)
        flows[r.sample], clips[r.sample] = str(flow), str(clip)
    return flows, clips


def run_recognition(samples: pd.DataFrame, cfg: dict[str, Any], workdir: str | Path, *, dataset: str | None = None) -> tuple[pd.DataFrame, bool]:
    """The recognition workflow of one dataset in this process: ``samples`` (its sample table,
    as ``build_sample_table`` writes it) under ``cfg`` (a resolved config: every section of
    :data:`SECTIONS` with its defaults), one fold per subject, or per source database under
    ``recognition.protocol: holdout_db``: the dataset's plan (:func:`mexp_lib.plan.dataset_plan`;
    ``dataset`` names its entry in ``cfg`` for its own sections, None: the global sections).

    Returns the metric table (as ``results/{dataset}_loso_metrics.csv``) and whether it was
    computed now (False: a run with the same settings was cached in
    ``workdir/runs/<digest>/``, which also holds the folds' predictions and checkpoints)."""
    from mexp_lib.plan import dataset_plan
    from mexp_lib.recognition.evaluate import evaluate_recognition
    from mexp_lib.recognition.inputs import build_inputs
    from mexp_lib.recognition.train import train_fold

    workdir = Path(workdir)
    plan = dataset_plan(cfg, dataset, samples)
    sections = {k: cfg[k] for k in SECTIONS}
    if dataset is not None:  # the dataset's own sections (a run on the global ones keeps its digest)
        sections |= {"recognition": plan.recognition, "training": plan.training}
    rdir = workdir / "runs" / config_hash(sections)
    metrics = rdir / "metrics.csv"
    if metrics.exists():
        return pd.read_csv(metrics), False
    kept, tr = plan.kept, plan.training
    folds = plan.require_folds()
    faces = faces_of(workdir, kept, cfg["face"])
    flows, clips = motion_of(workdir, kept, faces, cfg | sections, plan.flow_pairs) if plan.pack_stores - {"faces"} else ({}, {})
    rdir.mkdir(parents=True, exist_ok=True)
    (rdir / "config.json").write_text(json.dumps(sections, indent=1, sort_keys=True))
    pack = rdir / "inputs.h5"
    build_inputs(kept, flows, size=int(tr["input_size"]), out=pack, kinds=list(plan.pack_kinds), clips=clips,
                 faces={str(r.sample): str(faces[r.video]) for r in kept.itertuples()}, field=tr.get("flow_svm"))
    classes = plan.class_set.classes
    preds = []
    for fold in folds:
        fdir = rdir / "train" / fold
        train_fold(kept, pack, test_subject=fold, classes=classes, cfg=dict(tr) | {"threads": 1}, out_predictions=fdir / "predictions.csv",
                   out_checkpoint=fdir / "model.pt", out_selection=fdir / "selection.json", fold_by=plan.fold_column)
        preds.append(str(fdir / "predictions.csv"))
    table = evaluate_recognition(preds, classes=classes, cfg=sections, out_csv=rdir / "table.csv", out_predictions=rdir / "predictions.csv",
                                 out_png=rdir / "confusion.png", out_provenance=rdir / "provenance.json", expected=len(kept))
    table.to_csv(metrics, index=False)
    return table, True


def pooled(table: pd.DataFrame) -> dict[str, float]:
    """The pooled row of a metric table (fold all, dataset all): n, UF1 / UAR (mean and std
    over seeds) and the seed ensemble's (NaN without one)."""
    t = table.astype({"fold": str, "dataset": str})
    row = t[(t.fold == "all") & (t.dataset == "all")].iloc[0]
    ens = t[(t.fold == "ensemble") & (t.dataset == "all")]
    nan = float("nan")
    return {"n": int(row.n), "uf1": float(row.uf1), "uf1_std": float(row.get("uf1_std", nan)), "uar": float(row.uar),
            "uar_std": float(row.get("uar_std", nan)),
            "ensemble_uf1": float(ens.uf1.iloc[0]) if len(ens) else nan, "ensemble_uar": float(ens.uar.iloc[0]) if len(ens) else nan}
