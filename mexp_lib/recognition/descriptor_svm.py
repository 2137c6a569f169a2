"""Leave-one-subject-out linear SVM on given descriptors (``video -> vector``, e.g. published
LBP-TOP features), each fold's predictions and checkpoint written as a fold job writes them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mexp_lib.recognition.fit import prediction_rows, write_fold
from mexp_lib.recognition.settings import training_settings
from mexp_lib.recognition.svm import fit_svm


def _svm_fold(train: pd.DataFrame, test: pd.DataFrame, x_tr: np.ndarray, x_te: np.ndarray, *, classes: list[str], cfg: dict[str, Any],
              test_subject: str, out_predictions: str | Path, out_checkpoint: str | Path) -> pd.DataFrame:
    """Linear SVM (:func:`mexp_lib.recognition.svm.fit_svm`) on given descriptors, ``training.svm_c``
    fixed in config; one fit per seed."""
    cidx = {c: i for i, c in enumerate(classes)}
    y_tr = np.array([cidx[c] for c in train.label], np.int64)
    rows, states = [], {}
    for seed in cfg["seeds"]:
        svm = fit_svm(x_tr.reshape(len(x_tr), -1), y_tr, c=float(cfg["svm_c"]), seed=int(seed))
        pred = svm.predict(x_te.reshape(len(x_te), -1)) if len(test) else np.zeros(0, int)
        rows += prediction_rows(test, np.asarray(pred), classes, int(seed), test_subject)
        states[int(seed)] = svm.state()
    return write_fold(rows, {"config": cfg, "classes": classes, "test_subject": test_subject, "states": states}, out_predictions, out_checkpoint)



def svm_loso(samples: pd.DataFrame, features: dict[str, np.ndarray], *, classes: list[str], cfg: dict[str, Any], workdir: str | Path) -> pd.DataFrame:
    """Leave-one-subject-out linear SVM on given descriptors (``video -> vector``), e.g. published
    LBP-TOP features; each fold's outputs go to ``workdir/<subject>/``. Returns all predictions."""
    cfg = training_settings(cfg)
    preds = []
    for subject in sorted(samples.subject.unique()):
        tr, te = samples[samples.subject != subject], samples[samples.subject == subject]
        out = Path(workdir) / str(subject)
        out.mkdir(parents=True, exist_ok=True)
        preds.append(_svm_fold(tr, te, np.stack([features[v] for v in tr.video]), np.stack([features[v] for v in te.video]), classes=classes,
                               cfg=cfg, test_subject=str(subject), out_predictions=out / "predictions.csv", out_checkpoint=out / "model.pt"))
    return pd.concat(preds, ignore_index=True)
