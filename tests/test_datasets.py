"""Loaders on the real annotation sheets in ../shared, the generic format, and the demo."""

import pandas as pd
import pytest

from mexp_lib.datasets import load_dataset, planned_samples
from mexp_lib.datasets.casme2 import load_casme2
from mexp_lib.datasets.casme_sq import load_casme_sq
from mexp_lib.datasets.classes import CLASS_SETS, apply_class_set
from mexp_lib.datasets.generic import load_generic
from mexp_lib.datasets.table import LoadReport
from mexp_lib.errors import DataError


def test_casme2_2014_sheet_and_its_slash_apex(real):
    sheet = real / "davidnvq__me_recognition/datasets/CASME2-coding-20140508.xlsx"
    with pytest.raises(DataError, match=r"row \d+: ApexFrame='/' is not a frame number"):
        load_casme2(sheet)
    rep = LoadReport()
    df = load_casme2(sheet, on_bad_row="skip", report=rep)
    assert len(df) == 254 and df.subject.nunique() == 26
    assert rep.skipped[0]["problem"].startswith("ApexFrame='/'")
    assert df.emotion.value_counts().to_dict() == {"others": 99, "disgust": 62, "happiness": 32, "repression": 27, "surprise": 25, "sadness": 7, "fear": 2}
    kept, excluded = apply_class_set(df, CLASS_SETS["composite3"])
    assert len(kept) + excluded.excluded.sum() == len(df)
    assert excluded.set_index("emotion").excluded.to_dict() == {"others": 99}


def test_casme2_2019_sheet_has_objective_classes(real):
    df = load_casme2(real / "MouathAb__AnalyseMiE-CNN_LSTM_SE/CASME2-coding-20190701.xlsx", on_bad_row="skip")
    assert len(df) == 254
    assert set(df.objective_class) <= {"1", "2", "3", "4", "5", "6", "7"}


@pytest.mark.parametrize("path", [
    "genbing99__MTSN-Spot-ME-MaE/megc2021-ground-truth/CASME_sq_gt.xlsx",   # official, headerless
    "xly135846__MEGC2021/input/CAS.xlsx",                                  # '###' header + summary rows
    "Vligh__LGNMNet/input/CAS.xlsx",                                       # 'Macro'/'Micro' types
])
def test_casme_sq_layouts(real, path):
    with pytest.raises(DataError, match=r"row \d+: apex 1230 outside \[onset 1221, offset 1224\]"):
        load_casme_sq(real / path)
    rep = LoadReport()
    df = load_casme_sq(real / path, on_bad_row="skip", report=rep)
    assert df.type.value_counts().to_dict() == {"macro": 300, "micro": 57}
    assert len(rep.skipped) == 4 and (df.apex == -1).sum() == 4, "bad apexes are recorded, the intervals kept"
    assert df.subject.nunique() == 22 and df.video.nunique() == 95
    assert (df.offset >= df.onset).all()
    # offset 0 means "use the apex": 44 rows end at their apex
    assert int((df.offset == df.apex).sum()) >= 40
    assert df.video.iloc[0] == "s15_0401"


def test_generic_loader_good_and_bad_rows(tmp_path):
    for v in ("a", "b"):
        (tmp_path / v).mkdir()
    csv = tmp_path / "ann.csv"
    csv.write_text("subject,video,onset,apex,offset,type,emotion\n1,a,3,5,9,micro,happiness\n2,b,9,,4,micro,disgust\n")
    with pytest.raises(DataError, match=r"ann.csv: row 3: onset 9 > offset 4"):
        load_generic(csv, dataset="g", root=tmp_path, fps=30)
    rep = LoadReport()
    df = load_generic(csv, dataset="g", root=tmp_path, fps=30, on_bad_row="skip", report=rep)
    assert df.video.tolist() == ["a"] and rep.skipped[0]["row"] == 3
    csv.write_text("subject,video,onset,apex,offset,type,emotion\n1,a,3,5,9,micro,happiness\n1,a,20,22,25,micro,disgust\n")
    with pytest.raises(DataError, match="'a' has several expressions"):
        load_generic(csv, dataset="g", root=tmp_path, fps=30)
    csv.write_text("subject,video,onset,apex,offset,type,emotion\n1,zz,3,5,9,micro,happiness\n")
    with pytest.raises(DataError, match="no frames folder or video file for 'zz'"):
        load_generic(csv, dataset="g", root=tmp_path, fps=30)


def test_demo_plan_equals_what_the_loaders_read_back(tmp_path):
    from mexp_lib.datasets.demo import generate_demo

    gen = {"subjects": 2, "clips_per_class": 1, "long_seconds": 8, "micro_per_long": 1, "macro_per_long": 1, "frame_size": 128}
    cfg = {"format": "demo", "root": str(tmp_path / "demo"), "generator": gen}
    generate_demo(cfg["root"], gen)
    planned = planned_samples("demo", cfg)
    loaded, report = load_dataset("demo", cfg, check_frames=True)
    assert not report.skipped
    pd.testing.assert_frame_equal(planned, loaded, check_dtype=False)
    assert set(loaded.task) == {"recognition", "spotting"}
    assert (loaded[loaded.type == "micro"].eval("(offset - onset + 1) / fps") <= 0.5 + 1e-9).all()
