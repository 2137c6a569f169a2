"""Metrics against hand-computed values and the real published results in ../shared."""

import json
import subprocess
import sys

import pandas as pd
import pytest

from mexp_lib.datasets.casme_sq import load_casme_sq
from mexp_lib.datasets.samm import load_samm_lv
from mexp_lib.metrics import iou, match_intervals, recognition_scores, spotting_scores, strs_scores
from mexp_lib.recognition.evaluate import read_megc2019_log, recognition_table

COMPOSITE = ["negative", "positive", "surprise"]


def test_recognition_scores_by_hand():
    labels = ["a", "a", "a", "b", "b", "c"]
    preds = ["a", "a", "b", "b", "c", "c"]
    s = recognition_scores(labels, preds, ["a", "b", "c"])
    # F1: a 2*2/(4+0+1)=0.8, b 2/(2+1+1)=0.5, c 2/(2+1+0)=0.6667; recalls 2/3, 1/2, 1
    assert s["uf1"] == pytest.approx((0.8 + 0.5 + 2 / 3) / 3)
    assert s["uar"] == pytest.approx((2 / 3 + 0.5 + 1) / 3)
    assert s["accuracy"] == pytest.approx(4 / 6)
    # precisions 1, 1/2, 1/2 -> macro P 2/3; macro-F1 = 2PR/(P+R)
    p, r = 2 / 3, (2 / 3 + 0.5 + 1) / 3
    assert s["macro_f1"] == pytest.approx(2 * p * r / (p + r))


def test_pooled_and_fold_mean_conventions_differ():
    preds = pd.DataFrame({
        "dataset": "d", "subject": ["1", "1", "2", "2"],
        "label": ["a", "b", "a", "a"], "pred": ["a", "a", "a", "a"],
    })
    t = recognition_table(preds, ["a", "b"]).set_index("fold")
    # pooled: a F1 = 2*3/(6+1+0) = 6/7, b F1 = 0 -> UF1 3/7; per fold: fold1 (2/3+0)/2, fold2 1 -> mean 2/3
    assert t.loc["all", "uf1"] == pytest.approx(3 / 7)
    assert t.loc["mean", "uf1"] == pytest.approx((1 / 3 + 1) / 2)
    assert list(t.index) == ["1", "2", "mean", "all"]


def test_capsulenet_megc2019_log_gives_its_published_scores(real):
    preds = read_megc2019_log(real / "davidnvq__me_recognition/result_log.csv", COMPOSITE)
    assert len(preds) == 435 and preds.subject.nunique() == 68
    t = recognition_table(preds, COMPOSITE).set_index(["fold", "dataset"])
    published = {"all": (0.6520, 0.6506), "casme2": (0.7068, 0.7018), "samm": (0.6209, 0.5990), "smic": (0.5820, 0.5877)}
    for ds, (uf1, uar) in published.items():
        row = t.loc[("all", ds)]
        assert (round(row.uf1, 4), round(row.uar, 4)) == (uf1, uar), ds
    # the log with its header line repeated before every sample gives the same predictions
    again = read_megc2019_log(real / "davidnvq__me_recognition/result_log_reproduced.csv", COMPOSITE)
    key = ["dataset", "subject", "sample"]
    pd.testing.assert_frame_equal(preds.sort_values(key).reset_index(drop=True), again.sort_values(key).reset_index(drop=True))


def test_iou_is_on_inclusive_frames():
    assert iou((1, 10), (1, 10)) == 1.0
    assert iou((1, 10), (6, 15)) == pytest.approx(5 / 15)
    assert iou((1, 1), (2, 2)) == 0.0


def test_counting_conventions():
    assert match_intervals([(1, 10)], [(1, 10), (2, 10)]) == (1, 1, 0)
    assert match_intervals([(1, 10), (20, 30)], [(50, 60)]) == (0, 1, 2)
    # one long prediction over two adjacent ground truths that it covers with IoU >= 0.5 each
    gt, pred = [(1, 10), (11, 12)], [(1, 12)]
    assert match_intervals(gt, pred, matching="one_to_one") == (1, 0, 1)
    assert match_intervals([(1, 10), (2, 11)], pred, matching="pairs") == (2, 0, 0)
    assert match_intervals([(1, 10), (2, 11)], pred, matching="one_to_one") == (1, 0, 1)


def _strs_files(real):
    d = real / "genbing99__STRS-Metric/data"
    gt, pred = pd.read_csv(d / "gt.csv"), pd.read_csv(d / "pred.csv")
    for df in (gt, pred):
        df["video"] = df["subject"].astype(str) + "/" + df["video"].astype(str)
    return gt, pred


def test_strs_data_reproduces_mean(real):
    gt, pred = _strs_files(real)
    row = spotting_scores(gt.assign(type="micro"), pred.assign(type="micro")).set_index("type").loc["micro"]
    assert (row.tp, row.fp, row.fn) == (159, 85, 85)
    assert row.f1 == pytest.approx(0.6516, abs=5e-5)
    s = strs_scores(gt, pred)
    assert (s["spot_tp"], s["spot_fp"], s["spot_fn"]) == (159, 85, 85)
    assert round(s["analysis_macro_f1"], 4) == 0.5927 and round(s["analysis_uar"], 4) == 0.5872
    assert round(s["strs"], 4) == 0.3862


def _tsmsnet_log(path, db):
    """Predicted and ground-truth intervals of a TSMSNet step-3 LOG (``video gt_on gt_off pred_on pred_off TP|FN|FP``)."""
    preds, gts = set(), set()
    for line in path.read_text().split("\n"):
        f = line.split()
        if not f:
            continue
        video = f[0] if db == "SAMM" else f"{f[0].split('/')[0]}_{f[0].split('/')[1][3:7]}"  # s15/15_0401* -> s15_0401
        if f[3] != "__":
            preds.add((video, int(f[3]), int(f[4])))
        if f[1] != "__":
            gts.add((video, int(f[1]), int(f[2])))
    cols = ["video", "onset", "offset"]
    return pd.DataFrame(sorted(preds), columns=cols), pd.DataFrame(sorted(gts), columns=cols)


@pytest.mark.parametrize("db,etype,counts", [
    ("CAS", "macro", (81, 267, 219)), ("CAS", "micro", (17, 92, 40)),
    ("SAMM", "macro", (89, 311, 254)), ("SAMM", "micro", (58, 368, 101)),
])
def test_tsmsnet_logs_under_the_pairs_convention(real, db, etype, counts):
    root = real / "xly135846__MEGC2021"
    sheet = load_casme_sq(root / "input/CAS.xlsx", on_bad_row="skip") if db == "CAS" else load_samm_lv(root / "input/SAMM.xlsx", zero_onset="apex")
    gt = sheet[sheet.type == etype]
    pred, log_gt = _tsmsnet_log(root / f"output/step3/LOG_{db}_{etype.title()}.txt", db)
    # our loaders give exactly the ground truth the log was scored against
    pd.testing.assert_frame_equal(gt[["video", "onset", "offset"]].sort_values(["video", "onset", "offset"]).reset_index(drop=True), log_gt)
    row = spotting_scores(gt, pred.assign(type=etype), types=(etype,), matching="pairs").iloc[0]
    assert (row.tp, row.fp, row.fn) == counts


def _mexp(*args):
    return subprocess.run([sys.executable, "-m", "mexp_lib.cli", *map(str, args)], capture_output=True, text=True)


def test_cli_eval_commands(real, tmp_path):
    r = _mexp("eval", "recognition", real / "davidnvq__me_recognition/result_log.csv", "--csv")
    assert r.returncode == 0, r.stderr
    last = r.stdout.strip().splitlines()[-1].split(",")
    assert last[:3] == ["all", "all", "435"] and last[5] == "0.6520" and last[4] == "0.6506"
    d = real / "genbing99__STRS-Metric/data"
    r = _mexp("eval", "strs", "--gt", d / "gt.csv", "--pred", d / "pred.csv", "--json")
    assert r.returncode == 0, r.stderr
    assert round(json.loads(r.stdout)[0]["strs"], 4) == 0.3862
    bad = tmp_path / "p.csv"
    bad.write_text("video,onset\nv,1\n")
    r = _mexp("eval", "spotting", "--gt", bad, "--pred", bad)
    assert r.returncode == 2 and "--gt" in r.stderr and "missing column(s) ['offset', 'type']" in r.stderr


def test_cli_dataset_info(real):
    r = _mexp("dataset", "info", "sammlv", "--format", "samm_lv", "--annotations", real / "xly135846__MEGC2021/input/SAMM.xlsx")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("sammlv: 502 samples, 147 videos, 30 subjects; 0 rows skipped; 0 rows kept with a fix")
    assert "macro      343" in r.stdout and "micro      159" in r.stdout
    r = _mexp("dataset", "info", "c", "--format", "casme2", "--annotations", real / "davidnvq__me_recognition/datasets/CASME2-coding-20140508.xlsx")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("c: 255 samples, 255 videos, 26 subjects; 0 rows skipped; 1 rows kept with a fix (kept, apex unknown (-1): 1)")
    assert "ApexFrame='/' is not a frame number kept, apex unknown (-1)" in " ".join(r.stdout.split())
