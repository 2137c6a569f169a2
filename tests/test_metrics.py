"""Metrics against hand-computed values and the real published results in ../shared."""

import pandas as pd
import pytest

from mexp_lib.metrics import iou, match_intervals, recognition_scores, spotting_scores


def test_recognition_scores_by_hand():
    labels = ["a", "a", "a", "b", "b", "c"]
    preds = ["a", "a", "b", "b", "c", "c"]
    s = recognition_scores(labels, preds, ["a", "b", "c"])
    # F1: a 2*2/(4+0+1)=0.8, b 2/(2+1+1)=0.5, c 2/(2+1+0)=0.6667; recalls 2/3, 1/2, 1
    assert s["uf1"] == pytest.approx((0.8 + 0.5 + 2 / 3) / 3)
    assert s["uar"] == pytest.approx((2 / 3 + 0.5 + 1) / 3)
    assert s["accuracy"] == pytest.approx(4 / 6)


def test_iou_is_on_inclusive_frames():
    assert iou((1, 10), (1, 10)) == 1.0
    assert iou((1, 10), (6, 15)) == pytest.approx(5 / 15)
    assert iou((1, 1), (2, 2)) == 0.0


def test_one_to_one_matching():
    assert match_intervals([(1, 10)], [(1, 10), (2, 10)]) == (1, 1, 0)
    assert match_intervals([(1, 10), (20, 30)], [(50, 60)]) == (0, 1, 2)


def test_strs_data_reproduces_mean_spotting_counts(real):
    gt = pd.read_csv(real / "genbing99__STRS-Metric/data/gt.csv").assign(type="micro")
    pred = pd.read_csv(real / "genbing99__STRS-Metric/data/pred.csv").assign(type="micro")
    for df in (gt, pred):
        df["video"] = df["subject"].astype(str) + "/" + df["video"].astype(str)
    row = spotting_scores(gt, pred).set_index("type").loc["micro"]
    assert (row.tp, row.fp, row.fn) == (159, 85, 85)
    assert row.f1 == pytest.approx(0.6516, abs=5e-5)
