"""LBP-TOP and the linear-SVM baseline: properties on synthetic clips, a LOSO run on real
published LBP-TOP features of CASME II."""

import numpy as np
from conftest import shift_image, textured_image

from mexp_lib.features.lbptop import lbp_top


def test_lbp_top_layout_and_normalisation():
    clip = np.stack([textured_image(48, seed=i) for i in range(6)])
    f = lbp_top(clip, blocks=3)
    assert f.shape == (3 * 3 * 3 * 59,) and f.dtype == np.float32
    np.testing.assert_allclose(f.reshape(-1, 59).sum(1), 1.0, rtol=1e-6)


def test_motion_shows_only_in_the_temporal_planes():
    img = textured_image(64, seed=1)
    still = np.stack([img] * 7)
    moving = np.stack([shift_image(img, 0.8 * t, 0.0) for t in range(7)])
    moving[0] = still[0]
    a, b = lbp_top(still, blocks=1).reshape(3, 59), lbp_top(moving, blocks=1).reshape(3, 59)
    # a still clip: every XT/YT code is the "flat in time" pattern of its row -> few bins used
    assert (a[1] > 0).sum() < (b[1] > 0).sum()
    # the XT plane (horizontal motion) changes much more than the XY plane (same texture)
    assert np.abs(a[1] - b[1]).sum() > 3 * np.abs(a[0] - b[0]).sum()


def test_svm_baseline_on_real_lbp_top_features(real, tmp_path):
    from mexp_lib.datasets.casme2 import load_casme2
    from mexp_lib.datasets.classes import CLASS_SETS, apply_class_set
    from mexp_lib.recognition.descriptor_svm import svm_loso
    from mexp_lib.recognition.evaluate import recognition_table

    folder = real / "IcedDoggie__Micro-Expression-with-Deep-Learning/LBP_Magnified"
    feats = {p.stem: np.loadtxt(p) for p in folder.glob("*.txt")}
    assert len(feats) == 247 and {f.shape for f in feats.values()} == {(177,)}
    sheet = load_casme2(real / "davidnvq__me_recognition/datasets/CASME2-coding-20140508.xlsx", on_bad_row="skip")
    samples, _ = apply_class_set(sheet, CLASS_SETS["casme2_5"])
    samples = samples[samples.video.isin(feats)]
    classes = CLASS_SETS["casme2_5"].classes
    preds = svm_loso(samples, feats, classes=classes, cfg={"seeds": [0], "svm_c": 0.01}, workdir=tmp_path)
    assert len(preds) == len(samples) == 245 and preds.subject.nunique() == 26
    pooled = recognition_table(preds, classes).iloc[-1]
    assert pooled.uar > 1 / len(classes), "above chance on the real descriptors"
