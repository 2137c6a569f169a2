"""LBP-TOP + linear SVM on real published LBP-TOP features of CASME II, LOSO, printed.

The features are IcedDoggie's ``LBP_Magnified`` (one 177-value LBP-TOP histogram per clip, from
Eulerian-magnified frames) in ../shared; labels come from the CASME II 2014 coding sheet read by
mexp's loader, 5 classes (casme2_5); the SVM is mexp's fold trainer with ``training.svm_c`` at
its default, fixed in advance.

Run: .venv/bin/python benchmarks/bench_lbptop.py
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from mexp_lib.datasets.casme2 import load_casme2
from mexp_lib.datasets.classes import CLASS_SETS, apply_class_set
from mexp_lib.recognition.descriptor_svm import svm_loso
from mexp_lib.recognition.evaluate import recognition_table

REAL = Path(__file__).resolve().parents[2] / "shared/data/real"


def main() -> None:
    feats = {p.stem: np.loadtxt(p) for p in (REAL / "IcedDoggie__Micro-Expression-with-Deep-Learning/LBP_Magnified").glob("*.txt")}
    sheet = load_casme2(REAL / "davidnvq__me_recognition/datasets/CASME2-coding-20140508.xlsx", on_bad_row="skip")
    class_set = CLASS_SETS["casme2_5"]
    samples, _ = apply_class_set(sheet, class_set)
    samples = samples[samples.video.isin(feats)]
    with tempfile.TemporaryDirectory() as tmp:
        preds = svm_loso(samples, feats, classes=class_set.classes, cfg={"seeds": [0], "svm_c": 0.01}, workdir=tmp)
    row = recognition_table(preds, class_set.classes).iloc[-1]
    print(f"CASME II, {int(row.n)} clips, {samples.subject.nunique()} LOSO folds, 5 classes, LBP-TOP (published features) + linear SVM (C=0.01):")
    print(f"  accuracy {row.accuracy:.4f}  UAR {row.uar:.4f}  UF1 {row.uf1:.4f}  (chance UAR {1 / len(class_set.classes):.2f})")


if __name__ == "__main__":
    from mexp_lib.errors import script_exit

    raise SystemExit(script_exit(main, Path(__file__).name))
