"""Spotting logic on score curves with known events, and its edge cases."""

import numpy as np
import pandas as pd

from mexp_lib.spotting import Thresholds, select_thresholds, spot_all, spot_loso


def bump(n, centre, half, amp):
    t = np.arange(n)
    return amp * np.clip(1 - np.abs(t - centre) / half, 0, None)


def scores(n=300, events=(), noise=0.02, seed=0):
    rng = np.random.default_rng(seed)
    micro = np.abs(rng.normal(0, noise, n))
    macro = np.abs(rng.normal(0, noise, n))
    for kind, c, amp in events:
        if kind == "micro":
            micro += bump(n, c, 5, amp)
            macro += bump(n, c, 5, amp)
        else:
            micro += bump(n, c, 20, 0.2 * amp)
            macro += bump(n, c, 20, amp)
    return {"micro": micro, "macro": macro, "numbers": np.arange(1, n + 1), "k_micro": np.array(5), "k_macro": np.array(18)}


TH = {"micro": Thresholds(0.3, 4), "macro": Thresholds(0.3, 4)}


def test_types_are_told_apart_by_scale():
    sc = {"v": scores(events=[("micro", 60, 1.0), ("macro", 180, 2.0)])}
    pred = spot_all(sc, TH)
    assert sorted(pred.type) == ["macro", "micro"]
    micro = pred[pred.type == "micro"].iloc[0]
    assert micro.onset <= 61 <= micro.offset


def test_nothing_is_spotted_where_nothing_happens():
    assert spot_all({"v": scores(events=[])}, TH).empty


def test_video_shorter_than_the_window():
    sc = {"v": {"micro": np.zeros(8), "macro": np.zeros(8), "numbers": np.arange(1, 9), "k_micro": np.array(5), "k_macro": np.array(18)}}
    assert spot_all(sc, TH).empty


def test_loso_selection_never_sees_the_test_subject():
    sc = {f"v{i}": scores(events=[("micro", 60 + 10 * i, 1.0)], seed=i) for i in range(3)}
    subjects = {"v0": "a", "v1": "b", "v2": "c"}
    gt = pd.DataFrame([(f"v{i}", 56 + 10 * i + 1, 66 + 10 * i + 1, "micro") for i in range(3)], columns=["video", "onset", "offset", "type"])
    cfg = {"p_grid": [0.1, 0.5, 0.9], "floor_grid": [0, 4], "default_p": 0.5}
    gt_leaky = gt.copy()
    gt_leaky.loc[gt_leaky.video == "v0", ["onset", "offset"]] = [250, 260]  # fold a's own GT changes ...
    a1, sel1 = spot_loso(sc, subjects, gt, cfg)
    a2, sel2 = spot_loso(sc, subjects, gt_leaky, cfg)
    # ... which must not change what fold a selects or predicts
    pd.testing.assert_frame_equal(sel1[sel1.fold == "a"].reset_index(drop=True), sel2[sel2.fold == "a"].reset_index(drop=True))
    pd.testing.assert_frame_equal(a1[a1.video == "v0"].reset_index(drop=True), a2[a2.video == "v0"].reset_index(drop=True))


def test_threshold_selection_finds_a_working_threshold():
    sc = {f"v{i}": scores(events=[("micro", 100, 1.0)], seed=i) for i in range(3)}
    gt = pd.DataFrame([(f"v{i}", 96, 106, "micro") for i in range(3)], columns=["video", "onset", "offset", "type"])
    th, f1 = select_thresholds(sc, gt, {"p_grid": [0.1, 0.5], "floor_grid": [0, 4]})
    assert f1["micro"] == 1.0
