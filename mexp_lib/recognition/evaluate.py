"""Recognition metric tables (pooled leave-one-subject-out predictions), their confusion matrix
and the ``evaluate_recognition`` stage."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mexp_lib.errors import DataError
from mexp_lib.io.atomic import atomic_path, write_csv
from mexp_lib.metrics import confusion, recognition_scores
from mexp_lib.provenance import write_provenance
from mexp_lib.report import provenance_notes, write_table_html

METRICS = ("accuracy", "uar", "uf1", "macro_f1")


def _over_seeds(per_seed: pd.DataFrame, n: int, **keys: Any) -> dict[str, Any]:
    """A table row: each metric's mean and std (ddof 0) over the seeds' rows of ``per_seed``."""
    row: dict[str, Any] = {**keys, "n": n}
    row.update({m: per_seed[m].mean() for m in METRICS})
    row.update({f"{m}_std": per_seed[m].std(ddof=0) for m in METRICS})
    row["seeds"] = len(per_seed)
    return row


def _scores_row(g: pd.DataFrame, classes: list[str], **keys: Any) -> dict[str, Any]:
    """Metrics of one group of predictions, per seed, then mean and std over seeds."""
    per_seed = pd.DataFrame([recognition_scores(s.label, s.pred, classes) for _, s in g.groupby("seed")])
    return _over_seeds(per_seed, int(per_seed["n"].iloc[0]), **keys)


def seed_ensemble(preds: pd.DataFrame, classes: list[str]) -> pd.DataFrame | None:
    """The seed ensemble: each sample's ``prob_<class>`` columns averaged over its seeds, the
    label their argmax (ties: the first class). One row per sample, ``seed`` = the number of
    seeds averaged. None when the predictions carry no probabilities (e.g. the SVM, or a
    MEGC log); an error when some rows do and others do not."""
    cols = [f"prob_{c}" for c in classes]
    if not any(c in preds.columns for c in cols):
        return None
    missing = [c for c in cols if c not in preds.columns]
    if missing or preds[cols].isna().any().any():
        raise DataError(f"predictions: class probabilities incomplete (missing columns {missing} or empty cells); rerun the folds that lack them")
    key = ["dataset", "subject", "sample"]
    g = preds.groupby(key, sort=True)
    mean = g[cols].mean()
    out = g[["label"]].first().join(mean).reset_index()
    out["pred"] = [classes[i] for i in mean.to_numpy().argmax(1)]
    out["seed"] = g.size().to_numpy()
    return out


def recognition_table(preds: pd.DataFrame, classes: list[str]) -> pd.DataFrame:
    """The recognition metric table of pooled LOSO predictions.

    ``preds``: columns ``dataset, subject, label, pred`` and optionally ``seed``. Rows:

    * one per fold (test subject), ``dataset`` = its dataset;
    * with several datasets (the composite), one per dataset pooled over its folds (``fold=all``);
    * ``fold=mean``: the mean over folds of the per-fold metrics -- the per-fold averaging
      convention some papers use; it is *not* the MEGC number;
    * last, ``fold=all, dataset=all``: everything pooled -- the MEGC 2019 number.

    With several seeds each metric is computed per seed and averaged; ``*_std`` columns give the
    standard deviation over seeds (0 with one seed). When the predictions carry class
    probabilities (``prob_<class>``), rows ``fold=ensemble`` (per dataset of a composite, then
    ``dataset=all``) come just before the last row: the seed ensemble (:func:`seed_ensemble`),
    pooled, one number (``*_std`` empty), ``seeds`` = how many seeds it averages.
    """
    preds = preds.assign(seed=preds["seed"] if "seed" in preds.columns else 0)
    if "dataset" not in preds.columns:
        preds = preds.assign(dataset="all")
    preds = preds.assign(dataset=preds["dataset"].astype(str), subject=preds["subject"].astype(str))
    rows = [_scores_row(g, classes, fold=s, dataset=d) for (d, s), g in preds.groupby(["dataset", "subject"], sort=True)]
    datasets = sorted(preds["dataset"].unique())
    if len(datasets) > 1:
        rows += [_scores_row(preds[preds["dataset"] == d], classes, fold="all", dataset=d) for d in datasets]
    fold_means = pd.DataFrame([
        pd.DataFrame([recognition_scores(f.label, f.pred, classes) for _, f in s.groupby(["dataset", "subject"])])[list(METRICS)].mean()
        for _, s in preds.groupby("seed")
    ])
    rows.append(_over_seeds(fold_means, len(preds[preds.seed == preds.seed.iloc[0]]), fold="mean", dataset="all"))
    ens = seed_ensemble(preds, classes)
    if ens is not None:
        n_seeds = int(preds.seed.nunique())
        groups = [(d, ens[ens["dataset"] == d]) for d in datasets] if len(datasets) > 1 else []
        for d, g in [*groups, ("all", ens)]:
            r = recognition_scores(g.label, g.pred, classes)
            rows.append({"fold": "ensemble", "dataset": d, "n": int(r["n"]), **{m: r[m] for m in METRICS},
                         **{f"{m}_std": float("nan") for m in METRICS}, "seeds": n_seeds})
    rows.append(_scores_row(preds, classes, fold="all", dataset="all"))
    return pd.DataFrame(rows)


def check_predictions(preds: pd.DataFrame, source: str, labels: Sequence[str] | None = None) -> list[str]:
    """Validate a predictions table (``subject, label, pred[, dataset, sample, seed]``, as
    :func:`recognition_table` reads it) and return its classes: a :class:`DataError` naming
    ``source`` and the CSV line when it has no rows, an empty label or prediction, a class
    outside ``labels`` (when given), or one sample (dataset, subject, sample, seed) twice.
    Classes: ``labels`` in their order, else the ones present, sorted."""
    if preds.empty:
        raise DataError(f"{source}: no predictions (a header and no rows)")
    for col in ("label", "pred"):
        values = preds[col].astype(str).str.strip()
        empty = preds.index[preds[col].isna() | values.isin(["", "nan", "None"])]
        if len(empty):
            raise DataError(f"{source}: line {int(empty[0]) + 2}: empty {col}")
        preds[col] = values
        if labels is not None:
            unknown = preds.index[~values.isin(list(labels))]
            if len(unknown):
                i = int(unknown[0])
                raise DataError(f"{source}: line {i + 2}: {col} {values[i]!r} is not one of --labels ({', '.join(labels)})")
    keys = [c for c in ("dataset", "subject", "sample", "seed") if c in preds.columns]
    if "sample" in keys:
        dup = preds.index[preds.duplicated(keys, keep=False)]
        if len(dup):
            lines = ", ".join(str(int(i) + 2) for i in dup[:3])
            raise DataError(f"{source}: lines {lines}: one sample ({', '.join(keys)}) listed more than once")
    return list(labels) if labels is not None else sorted(set(preds.label) | set(preds.pred))


def read_megc2019_log(path: str | Path, labels: Sequence[str] = ("negative", "positive", "surprise")) -> pd.DataFrame:
    """A MEGC 2019-style per-sample log as predictions (``dataset, subject, sample, label, pred``).

    The log (CapsuleNet's ``result_log.csv``) has a line ``<db> <subject>`` opening each fold
    and then ``<clip> <gt> <pred>`` lines with integer labels (``labels[i]`` names label ``i``).
    Subjects get mexp's canonical ids (SAMM ``6`` -> ``006``, SMIC ``6`` -> ``s06``), so folds of
    different databases never merge.
    """
    from mexp_lib.datasets.ids import subject_id
    from mexp_lib.errors import DataError

    rows, fold = [], None
    for n, line in enumerate(Path(path).read_text().splitlines(), start=1):
        f = line.replace(",", " ").split()
        if not f:
            continue
        if len(f) == 2:
            fold = (f[0].lower(), subject_id(f[0].lower(), f[1]))
            continue
        if len(f) != 3 or fold is None:
            raise DataError(f"{path}: line {n}: expected '<db> <subject>' or '<clip> <gt> <pred>', got {line!r}")
        try:
            y, p = labels[int(f[1])], labels[int(f[2])]
        except (ValueError, IndexError):
            raise DataError(f"{path}: line {n}: labels {f[1]!r}/{f[2]!r} are not integers below {len(labels)}") from None
        rows.append({"dataset": fold[0], "subject": fold[1], "sample": f[0], "label": y, "pred": p})
    if not rows:
        raise DataError(f"{path}: no predictions")
    return pd.DataFrame(rows).drop_duplicates(["dataset", "subject", "sample"]).reset_index(drop=True)


def plot_confusion(m: np.ndarray, classes: list[str], out_png: str | Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(1.2 * len(classes) + 2, 1.2 * len(classes) + 1.5))
    norm = m / np.maximum(m.sum(1, keepdims=True), 1)
    ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    for i in range(len(classes)):
        for j in range(len(classes)):
            ax.text(j, i, str(m[i, j]), ha="center", va="center", color="white" if norm[i, j] > 0.5 else "black")
    ax.set_xticks(range(len(classes)), classes, rotation=30)
    ax.set_yticks(range(len(classes)), classes)
    ax.set_xlabel("predicted")
    ax.set_ylabel("ground truth")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    with atomic_path(out_png) as tmp:
        fig.savefig(tmp, dpi=100)
    plt.close(fig)


def fold_selections(pred_files: Sequence[str]) -> dict[str, Any]:
    """Each fold's hyper-parameters chosen by nested selection (``selection.json`` beside its
    predictions, :func:`mexp_lib.recognition.train.train_fold`), by test fold; empty for a fixed schedule."""
    chosen: dict[str, Any] = {}
    for f in pred_files:
        p = Path(f).with_name("selection.json")
        if p.exists():
            rec = json.loads(p.read_text())
            if rec.get("method") == "inner":
                chosen[str(rec.get("test_fold", Path(f).parent.name))] = rec.get("chosen", {})
    return chosen


# The settings the stage reads (mexp_lib.stages): the sections its provenance record holds (so
# the record changes, and the stage reruns, with any of them), the class set among them.
EVALUATE_RECOGNITION_READS = ("face", "flow", "interpolation", "magnification", "recognition", "training")


def models_chosen(selections: dict[str, Any]) -> dict[str, int]:
    """How many folds chose each model (``training.model: auto``), from :func:`fold_selections`;
    empty when no fold chose a model."""
    counts: dict[str, int] = {}
    for chosen in selections.values():
        if "model" in chosen:
            counts[str(chosen["model"])] = counts.get(str(chosen["model"]), 0) + 1
    return dict(sorted(counts.items()))


def evaluate_recognition(pred_files: Sequence[str], *, classes: list[str], cfg: Any, out_csv: str | Path, out_predictions: str | Path, out_png: str | Path, out_provenance: str | Path, expected: int | None = None, excluded: dict[str, int] | None = None, out_html: str | Path | None = None) -> pd.DataFrame:
    """Pool the folds' predictions into the metric table, the prediction file and the plot.

    ``expected``: how many samples the class set keeps; ``excluded``: ``{emotion: count}`` of
    those it leaves out -- both go to the provenance file, so no sample is lost silently.
    ``out_html``: the table as a page for the Snakemake report (:mod:`mexp_lib.report`).
    """
    preds = pd.concat([pd.read_csv(f, dtype={"subject": str}) for f in pred_files], ignore_index=True) if pred_files else pd.DataFrame()
    if preds.empty:  # every fold's test samples were skipped by the face stage (or there is no fold)
        raise DataError(f"{out_csv}: no fold predicted any sample ({len(pred_files)} prediction files, all empty; "
                        "the face stage's skips are listed in results/qc/<dataset>_faces.csv)")
    table = recognition_table(preds, classes)
    write_csv(table, out_csv)
    write_csv(preds, out_predictions)
    m = confusion(preds.label, preds.pred, classes)
    allrow = table.iloc[-1]
    plot_confusion(m, classes, out_png, f"LOSO, {allrow.seeds} seed(s) pooled: UF1 {allrow.uf1:.3f}, UAR {allrow.uar:.3f}")
    seeds = sorted(int(s) for s in preds.seed.unique())
    n_pred = int(preds[preds.seed == seeds[0]].shape[0])
    selections = fold_selections(pred_files)
    models = models_chosen(selections)
    prov = write_provenance(out_provenance, cfg=cfg, seeds=seeds, extra={"samples_predicted": n_pred, "samples_expected": expected, "excluded_by_class_set": excluded or {}, "classes": classes,
                                                                         "selection": selections, **({"models_chosen": models} if models else {})})
    if out_html is not None:
        left_out = ", ".join(f"{k} {v}" for k, v in (excluded or {}).items()) or "none"
        notes = [f"leave-one-subject-out, classes {', '.join(classes)}; {n_pred} samples predicted of {expected if expected is not None else n_pred} kept by the class set (left out: {left_out})",
                 "accuracy, UAR (unweighted average recall) and UF1 (unweighted F1) as MEGC 2019; fold 'all' pools every fold's predictions (the MEGC number), 'mean' averages the per-fold metrics"
                 + ("; 'ensemble' pools the seed ensemble (each sample's class probabilities averaged over the seeds)" if (table.fold == "ensemble").any() else ""),
                 *([f"model chosen per fold on its training subjects (training.model auto): {', '.join(f'{m} in {n}' for m, n in models.items())} of {len(selections)} folds"] if models else []),
                 *provenance_notes(prov)]
        write_table_html(table, out_html, title="Recognition: leave-one-subject-out metrics", notes=notes, pooled=("all", "mean", "ensemble"))
    return table
