"""Spotting logic on score curves with known events, and its edge cases."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

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
    cfg = {"spotter": "classical", "p_grid": [0.1, 0.5, 0.9], "floor_grid": [0, 4], "default_p": 0.5}
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


def _local_motion_clip(n=100, apex=50, half=8, amp=2.0, seed=0):
    """Aligned 96 px grey frames of a textured face-sized image with one local expression-like
    motion (a Gaussian displacement near the mouth rising to ``amp`` px at ``apex`` and gone
    ``half`` frames either side), plus sensor noise."""
    import cv2

    rng = np.random.default_rng(seed)
    base = cv2.GaussianBlur(rng.uniform(0, 255, (96, 96)).astype(np.float32), (0, 0), 2)
    yy, xx = np.mgrid[0:96, 0:96].astype(np.float32)
    g = np.exp(-((xx - 48) ** 2 + (yy - 70) ** 2) / (2 * 8.0 ** 2))
    frames = []
    for i in range(n):
        a = amp * max(0.0, 1 - abs(i - apex) / half)
        warped = cv2.remap(base, xx, yy - a * g, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        frames.append(np.clip(warped + rng.normal(0, 1.0, warped.shape), 0, 255).astype(np.uint8))
    return np.stack(frames)


def test_mdmd_peaks_at_the_apex_and_stays_low_elsewhere():
    from mexp_lib.motion.flow import FlowParams, make_flow
    from mexp_lib.motion.regions import HeadMotion
    from mexp_lib.spotting.mdmd import mdmd_scores

    frames = _local_motion_clip()
    mask = np.zeros((96, 96), bool)
    calc = make_flow(FlowParams("dis", {}))
    s, cells = mdmd_scores(frames, 8, calc=calc, remove=HeadMotion("none", mask, (40, 40, 56, 56)), mask=mask, grid=6)
    assert abs(int(np.argmax(s)) - 50) <= 2
    quiet = np.r_[s[8:30], s[72:92]]
    assert s.max() > 4 * quiet.max(), (s.max(), quiet.max())  # measured: 0.26 vs 0.04
    assert (s[:8] == 0).all() and (s[-8:] == 0).all()
    assert cells.shape == (100, 36) and int(np.argmax(cells[50])) // 6 == 70 // 16, "the moving block (mouth row) differs most"


def _write_face_video(folder, n, *, expression_at=None, blank=(), seed=0, amp=2.5, half=5):
    """A still real face (the demo photograph) with sensor noise written as PNG frames; a
    happiness-like motion (the demo's AU6+12 field) peaking at ``amp`` px at ``expression_at``,
    and blank frames (no face) at ``blank``."""
    import cv2

    from mexp_lib.datasets.demo_render import base_face, expression_field, warp_by_field

    img, lm = base_face(192)
    face = cv2.cvtColor(img.astype(np.uint8), cv2.COLOR_BGR2GRAY).astype(np.float32)
    field = expression_field(face.shape, lm, "happiness")
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True)
    for i in range(n):
        a = 0.0 if expression_at is None else amp * max(0.0, 1 - abs(i - expression_at) / half)
        f = np.full_like(face, 90) if i in blank else warp_by_field(face, field, a)
        cv2.imwrite(str(folder / f"img{i + 1:04d}.png"), np.clip(f + rng.normal(0, 1.5, f.shape), 0, 255).astype(np.uint8))
    return folder


def test_spot_cli_finds_an_expression_and_nothing_in_a_still_video(tmp_path):
    from mexp_lib.spotting.stage import spot_one_video

    still = _write_face_video(tmp_path / "still", 150)
    assert spot_one_video(still, fps=30, out_csv=tmp_path / "still.csv").empty, "nothing happens, nothing is spotted"
    expr = _write_face_video(tmp_path / "expr", 150, expression_at=80)
    pred = spot_one_video(expr, fps=30, out_csv=tmp_path / "expr.csv", timeline_png=tmp_path / "t.png")
    assert len(pred) == 1 and pred.onset.iloc[0] <= 81 <= pred.offset.iloc[0], pred
    assert pd.read_csv(tmp_path / "expr.csv").columns.tolist() == ["video", "onset", "offset", "type"]
    assert (tmp_path / "t.png").stat().st_size > 10_000


def test_spot_cli_edge_cases(tmp_path):
    """A video shorter than the window and a video with a faceless stretch: no crash."""
    from mexp_lib.spotting.stage import spot_one_video

    short = _write_face_video(tmp_path / "short", 12)  # k_macro = 18 frames at 30 fps
    assert spot_one_video(short, fps=30, out_csv=tmp_path / "short.csv").empty
    gap = _write_face_video(tmp_path / "gap", 120, expression_at=85, blank=range(20, 45))
    pred = spot_one_video(gap, fps=30, out_csv=tmp_path / "gap.csv")
    assert ((pred.onset <= 86) & (pred.offset >= 86)).any(), pred
    assert not ((pred.offset >= 21) & (pred.onset <= 45)).any(), "nothing is spotted where there is no face"


def _cell_features(events, n=400, cells=36, seed=0):
    """Per-cell motions of both scales for a video: noise everywhere, an expression moves a few
    cells (micro: short, both scales; macro: long, mostly the macro scale); plus the scores."""
    rng = np.random.default_rng(seed)
    c = {t: np.abs(rng.normal(0.1, 0.03, (n, cells))).astype(np.float32) for t in ("micro", "macro")}
    for kind, centre, where in events:
        half = 5 if kind == "micro" else 20
        b = bump(n, centre, half, 1.0)[:, None]
        c["micro"][:, where] += (1.0 if kind == "micro" else 0.2) * b
        c["macro"][:, where] += b
    sc = {t: np.sort(c[t], 1)[:, -3:].mean(1) for t in c}
    return {**sc, "cells_micro": c["micro"], "cells_macro": c["macro"], "numbers": np.arange(1, n + 1), "k_micro": np.array(5), "k_macro": np.array(18)}


def test_learned_spotter_loso_spots_both_types():
    rng = np.random.default_rng(1)
    sc, subjects, rows = {}, {}, []
    for i in range(5):
        ev = [("micro", 60, [3, 4]), ("macro", 180, [20, 21, 26]), ("micro", 300, [9, 10])]
        ev = [(k, c + int(rng.integers(-10, 10)), w) for k, c, w in ev]
        sc[f"v{i}"], subjects[f"v{i}"] = _cell_features(ev, seed=i), f"s{i}"
        rows += [(f"v{i}", c - (5 if k == "micro" else 20) + 1, c + (5 if k == "micro" else 20) + 1, k, c + 1, emo)
                 for (k, c, _), emo in zip(ev, ["happiness", "surprise", "disgust"], strict=True)]  # the emotion is told by where the face moves
    gt = pd.DataFrame(rows, columns=["video", "onset", "offset", "type", "apex", "emotion"])
    cfg = {"spotter": "learned", "learned": {"epochs": 30, "seed": 0, "lr": 0.003}, "p_grid": [0.2, 0.4, 0.6], "floor_grid": [0, 2], "default_p": 0.5,
           "classes": ["negative", "positive", "surprise"], "class_mapping": {"happiness": "positive", "surprise": "surprise", "disgust": "negative"}}
    pred, sel = spot_loso(sc, subjects, gt, cfg)
    from mexp_lib.metrics import spotting_scores
    from mexp_lib.spotting.stage import strs_table

    table = spotting_scores(gt, pred).set_index("type")
    assert table.loc["all", "f1"] >= 0.9, table
    assert table.loc["micro", "tp"] >= 9 and table.loc["macro", "tp"] >= 4
    # spot-then-recognise: the recognition head on the same trunk labels the spotted intervals
    assert set(pred.emotion) <= {"negative", "positive", "surprise"}
    strs = strs_table(gt, pred, cfg).iloc[0]
    assert strs.recognised and strs.analysis_macro_f1 >= 0.9 and strs.strs >= 0.8, strs


def _durations_dataset(n_videos=6, n=500):
    """Synthetic per-cell features whose macro-expressions last 17 or 81 frames (k_macro = 18
    makes a fixed peak +/- k interval of 37 frames: IoU < 0.5 with both)."""
    rng = np.random.default_rng(3)
    sc, subjects, rows = {}, {}, []
    for i in range(n_videos):
        ev = [("micro", 60, 4, [3, 4]), ("macro", 170, 8, [20, 21, 26]), ("macro", 330, 40, [8, 14, 15]), ("micro", 440, 6, [9, 10])]
        ev = [(k, c + int(rng.integers(-8, 8)), h, w) for k, c, h, w in ev]
        noise = np.random.default_rng(i)
        c = {t: np.abs(noise.normal(0.1, 0.03, (n, 36))).astype(np.float32) for t in ("micro", "macro")}
        for kind, centre, half, where in ev:
            b = bump(n, centre, half, 1.0)[:, None]
            c["micro"][:, where] += (1.0 if kind == "micro" else 0.2) * b
            c["macro"][:, where] += b
        sc[f"v{i}"] = {**{t: np.sort(c[t], 1)[:, -3:].mean(1) for t in c}, "cells_micro": c["micro"], "cells_macro": c["macro"],
                       "numbers": np.arange(1, n + 1), "k_micro": np.array(5), "k_macro": np.array(18)}
        subjects[f"v{i}"] = f"s{i}"
        rows += [(f"v{i}", ce - h + 1, ce + h + 1, k, ce + 1) for k, ce, h, _ in ev]
    return sc, subjects, pd.DataFrame(rows, columns=["video", "onset", "offset", "type", "apex"])


def test_two_stage_spotter_proposes_intervals_of_the_right_length():
    """Apex spotting + boundary proposals (TSMSNet-style) finds expressions whose length differs
    from 2k + 1, which peak +/- k cannot match at IoU 0.5."""
    from mexp_lib.metrics import spotting_scores

    sc, subjects, gt = _durations_dataset()
    f1 = {}
    for spotter in ("learned", "two_stage"):
        cfg = {"spotter": spotter, "learned": {"epochs": 30, "seed": 0, "lr": 0.003}, "p_grid": [0.2, 0.4, 0.6], "floor_grid": [0, 2], "default_p": 0.5}
        pred, _ = spot_loso(sc, subjects, gt, cfg)
        f1[spotter] = spotting_scores(gt, pred).set_index("type").f1
    assert f1["two_stage"]["all"] >= 0.9 and f1["two_stage"]["macro"] >= 0.9, f1
    assert f1["two_stage"]["macro"] >= f1["learned"]["macro"] + 0.3, f1


def test_proposals_are_merged_when_they_overlap():
    from mexp_lib.spotting import propose_intervals

    score = np.zeros(100)
    score[[20, 24, 70]] = [1.0, 0.5, 0.8]
    on, off = np.full(100, 5.0), np.full(100, 6.0)
    # 20 -> [15, 26] and 24 -> [19, 30] overlap (IoU 8/16): merged, boundaries weighted 2:1
    assert propose_intervals([20, 24, 70], score, on, off, 100, merge_iou=0.3, reach=0) == [(16, 27), (65, 76)]
    # not merged at 0.9, but the weaker apex 24 lies inside the kept [15, 26]: suppressed (one expression)
    assert propose_intervals([20, 24, 70], score, on, off, 100, merge_iou=0.9, reach=0) == [(15, 26), (65, 76)]
    assert propose_intervals([20, 34, 70], score, on, off, 100, merge_iou=0.9, reach=0) == [(15, 26), (29, 40), (65, 76)]
    assert propose_intervals([2], score, on, off, 100, reach=0) == [(0, 8)], "clipped to the video"


def test_two_stage_model_round_trip(tmp_path):
    from mexp_lib.spotting.stage import read_spotting_model, write_spotting_model

    sc, _, gt = _durations_dataset(n_videos=2)
    cfg = {"spotter": "two_stage", "learned": {"epochs": 2, "seed": 0, "dilations": [1, 2, 4]}, "p_grid": [0.4], "floor_grid": [0]}
    write_spotting_model(sc, gt, cfg, tmp_path / "model.pt")
    got_cfg, th, net = read_spotting_model(tmp_path / "model.pt")
    assert got_cfg["spotter"] == "two_stage" and net.bounds is not None and net.dilations == (1, 2, 4)
    from mexp_lib.spotting.learned import predict_scores

    assert predict_scores(net, sc["v0"])["bounds"].shape == (4, 500)


# --- robustness pieces of the default spotter (issue: realistic video) -------------------------

def test_blink_leakage_is_regressed_out_of_the_cells():
    from mexp_lib.spotting.features import remove_blinks

    rng = np.random.default_rng(0)
    n = 400
    eyes = np.zeros(n)
    for b in (50, 150, 250, 350):  # four blinks
        eyes += bump(n, b, 4, 3.0)
    expression = bump(n, 200, 5, 0.4)
    near_eye = 0.3 * eyes + 0.01 * rng.random(n)  # a cell that only follows the blinks
    mouth = expression + 0.01 * rng.random(n)  # a cell that only moves with the expression
    out = remove_blinks(np.stack([near_eye, mouth], 1), eyes)
    assert out[:, 0].max() < 0.05, "the blink leakage is gone"
    assert abs(out[200, 1] - mouth[200]) < 0.02 and out[:, 1].argmax() == 200, "the expression is untouched"
    # without the regression the blinks are the largest motion of the video
    assert np.stack([near_eye, mouth], 1).max(1).argmax() in (50, 150, 250, 350)


def test_non_maximum_suppression_keeps_one_proposal_per_expression():
    from mexp_lib.spotting import propose_intervals

    n = 100
    score = np.zeros(n)
    score[[40, 45, 50]] = [0.4, 1.0, 0.4]  # an apex and its side lobes
    on, off = np.full(n, 6.0), np.full(n, 6.0)
    assert propose_intervals([40, 45, 50], score, on, off, n, merge_iou=0.9) == [(39, 51)]
    # apexes outside each other's proposals stay apart
    score[70] = 0.8
    assert propose_intervals([45, 70], score, on, off, n) == [(39, 51), (64, 76)]


def test_mad_floor_spots_nothing_in_noise_alone():
    from mexp_lib.spotting.intervals import find_candidates

    rng = np.random.default_rng(1)
    noise = np.abs(rng.normal(0, 0.05, 600)) + 0.1
    th = Thresholds(0.05, 6.0)
    assert len(find_candidates(noise, 5, th, "mad")) == 0, "noise stays under median + 6 MAD"
    assert len(find_candidates(noise, 5, Thresholds(0.05, 0.0), "median")) > 0, "a threshold relative to the video's range picks noise peaks"
    with_event = noise + bump(600, 300, 5, 1.0)
    assert list(find_candidates(with_event, 5, th, "mad")) == [300]


def test_type_by_duration_follows_the_measured_length():
    from mexp_lib.spotting import spot_video

    n = 300
    sc = scores(n, events=(("micro", 80, 1.0), ("macro", 200, 1.0)))
    sc["fps"] = np.array(30.0)
    bounds = np.full((4, n), 5.0, np.float32)
    bounds[:2, 185:216] = 30.0  # macro rows (TYPES order: macro, micro): a 2 s expression at 200
    bounds[2:, 185:216] = 30.0
    sc["bounds"] = bounds
    th = {"micro": Thresholds(0.3, 0), "macro": Thresholds(0.3, 0)}
    out = spot_video(sc, th, type_ratio=None, type_by="duration")
    assert out["micro"] == [(75, 85)], "0.37 s: micro"
    assert out["macro"] == [(170, 230)], "2 s: macro"


def test_apex_boundaries_measure_onset_and_offset(demo_face):
    import cv2

    from mexp_lib.datasets.demo_render import expression_field, warp_by_field
    from mexp_lib.motion.flow import FlowParams, make_flow
    from mexp_lib.motion.regions import HeadMotion, face_masks
    from mexp_lib.spotting.features import apex_boundaries, boundary_scales
    from mexp_lib.spotting.settings import grid_edges

    img, lm = demo_face
    face = cv2.cvtColor(img.astype(np.uint8), cv2.COLOR_BGR2GRAY).astype(np.float32)
    field = expression_field(face.shape, lm, "surprise")
    onset, apex, offset = 20, 32, 60  # a 1.3 s macro-expression at 30 fps: rise 12 frames, fall 28
    t = np.arange(90)
    prof = np.where(t <= apex, 0.5 - 0.5 * np.cos(np.pi * np.clip((t - onset) / (apex - onset), 0, 1)),
                    0.5 + 0.5 * np.cos(np.pi * np.clip((t - apex) / (offset - apex), 0, 1)))
    frames = np.stack([np.clip(warp_by_field(face, field, float(5.0 * p)), 0, 255).astype(np.uint8) for p in prof])
    mask, nose = face_masks(lm, face.shape[0])
    edges = grid_edges(face.shape[0], 6)
    calc = make_flow(FlowParams("farneback", {}))
    keep = (~mask).astype(np.float32)
    f = calc(frames[0], frames[apex]) * keep[..., None]
    cellmag = np.linalg.norm(np.add.reduceat(np.add.reduceat(f, edges[:-1], axis=0), edges[:-1], axis=1).reshape(-1, 2), axis=1)
    on, off = apex_boundaries(frames, apex, boundary_scales(18, 30.0, (0.15, 2.5)), calc=calc, remove=HeadMotion("none", mask, nose), keep=keep,
                              edges=edges, cells=np.argsort(-cellmag)[:3], rise=0.8)
    assert 0.6 * (apex - onset) <= on <= 1.2 * (apex - onset), on
    assert 0.6 * (offset - apex) <= off <= 1.2 * (offset - apex), off


def test_learned_types_are_checked():
    from mexp_lib.errors import ConfigError
    from mexp_lib.spotting.learned import learned_types

    assert learned_types({"learned": {"types": ["micro"]}}) == ("micro",)
    assert learned_types({}) == ("macro", "micro")
    with pytest.raises(ConfigError, match="learned.types"):
        learned_types({"learned": {"types": ["mikro"]}})


def test_readme_spotting_realism_table_is_the_runs_table():
    """The README's realistic-spotting table is what bench_spotting_realism.py writes from the
    runs' CSV kept in benchmarks/ (no typed figure: a hand edit of either, or a change of the
    renderer without a rerun, fails). What the runs found is not asserted on the committed CSV."""
    import importlib.util

    repo = Path(__file__).resolve().parents[1]
    spec = importlib.util.spec_from_file_location("bench_spotting_realism", repo / "benchmarks/bench_spotting_realism.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    table = pd.read_csv(repo / "benchmarks/spotting_realism_test.csv")
    readme = (repo / "README.md").read_text()
    block = readme.split(bench.BEGIN, 1)[1].split(bench.END, 1)[0]
    assert bench.markdown(table) in block
    assert set(table.part) == {"test"}, "only the held-out part is published"


# --- spotter: select (the spotter chosen per fold on its training subjects) -----------------------

def _select_dataset(floor_clean: bool = True, changed: str | None = None, n_subjects: int = 4):
    """One video per subject with two micro-expressions; ``floor_*`` scores are clean bumps and
    the classical ones noise (or the other way round); ``changed``: that subject's video and
    ground truth replaced by other ones."""
    sc, rows, subjects = {}, [], {}
    for i in range(n_subjects):
        s = chr(ord("a") + i)
        centres = (60 + 7 * i, 200 - 5 * i) if s != changed else (30, 250)
        clean = scores(events=[("micro", c, 1.0) for c in centres], seed=i)
        noise = scores(events=[("micro", c, 1.0) for c in (120 + 3 * i,)], seed=100 + i, noise=0.3 if s != changed else 0.6)
        good, bad = (clean, noise) if floor_clean else (noise, clean)
        sc[f"v{s}"] = {**bad, "floor_micro": good["micro"], "floor_macro": good["macro"]}
        subjects[f"v{s}"] = s
        rows += [(f"v{s}", c - 4, c + 6, "micro") for c in centres]
    return sc, subjects, pd.DataFrame(rows, columns=["video", "onset", "offset", "type"])


SELECT = {"spotter": "select", "select_from": ["classical", "floor"], "p_grid": [0.2, 0.6], "floor_grid": [0], "type_ratio": None,
          "boundaries": "fixed", "type_by": "ratio"}


@pytest.mark.parametrize(("floor_clean", "chosen"), [(True, "floor"), (False, "classical")])
def test_select_chooses_the_spotter_that_works_on_the_training_subjects(floor_clean, chosen):
    from mexp_lib.metrics import spotting_scores
    from mexp_lib.spotting.select import spot_folds

    sc, subjects, gt = _select_dataset(floor_clean)
    pred, sel = spot_folds(sc, subjects, gt, SELECT)
    assert set(sel.spotter) == {chosen}, sel
    assert (sel[f"inner_f1_{chosen}"] > sel[f"inner_f1_{({'floor', 'classical'} - {chosen}).pop()}"]).all()
    assert spotting_scores(gt, pred).set_index("type").loc["all", "f1"] >= 0.6


def test_select_choice_for_a_fold_never_sees_its_test_subject():
    """Fold a's choice (and every inner F1 and threshold behind it) is the same whatever subject
    a's video and ground truth are; the pairing case: changing subject b's changes it."""
    from mexp_lib.spotting.select import spot_folds

    def fold_a(changed):
        sc, subjects, gt = _select_dataset(True, changed)
        return spot_folds(sc, subjects, gt, SELECT)[1].query("fold == 'a'").reset_index(drop=True)

    base = fold_a(None)
    pd.testing.assert_frame_equal(base, fold_a("a"))
    assert not base.equals(fold_a("b")), "fold a's training subjects do change its selection"


def test_select_falls_back_without_floor_scores_and_stores_its_choice(tmp_path):
    from mexp_lib.spotting.select import available
    from mexp_lib.spotting.stage import read_spotting_model, write_spotting_model

    sc, subjects, gt = _select_dataset(True)
    cfg = {**SELECT, "select_from": ["floor", "classical"]}
    old = {v: {k: a for k, a in x.items() if not k.startswith("floor_")} for v, x in sc.items()}
    assert available(old, cfg) == ["classical"], "feature files written before the floor existed: the floor is left out"
    write_spotting_model(sc, gt, cfg, tmp_path / "m.pt", subjects=subjects)
    stored, _, net = read_spotting_model(tmp_path / "m.pt")
    assert stored["spotter"] == "select" and stored["select_from"] == ["floor"] and net is None
