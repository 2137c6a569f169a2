"""Loaders on the real annotation sheets in ../shared, the generic format, and the demo."""

from pathlib import Path

import pandas as pd
import pytest

from mexp_lib.datasets import load_dataset, planned_samples
from mexp_lib.datasets.casme2 import load_casme2
from mexp_lib.datasets.casme3 import load_casme3
from mexp_lib.datasets.casme_sq import load_casme_sq
from mexp_lib.datasets.classes import CLASS_SETS, apply_class_set
from mexp_lib.datasets.composite import load_composite
from mexp_lib.datasets.generic import load_generic
from mexp_lib.datasets.mmew import load_mmew
from mexp_lib.datasets.samm import load_samm, load_samm_lv
from mexp_lib.datasets.smic import load_smic
from mexp_lib.datasets.table import LoadReport
from mexp_lib.errors import DataError

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("on_bad_row", ["error", "skip"])
def test_casme2_2014_sheet_and_its_slash_apex(real, on_bad_row):
    sheet = real / "davidnvq__me_recognition/datasets/CASME2-coding-20140508.xlsx"
    rep = LoadReport()
    df = load_casme2(sheet, on_bad_row=on_bad_row, report=rep)
    # the '/' apex is a known quirk, handled with the default settings: the sample is kept
    # (onset/offset define it) with apex unknown, recorded as a fix and not as a skipped row
    assert len(df) == 255 and df.subject.nunique() == 26
    assert rep.skipped == []
    assert rep.fixed == [{"source": str(sheet), "row": 31, "problem": "ApexFrame='/' is not a frame number", "fix": "kept, apex unknown (-1)"}]
    assert rep.summary() == "0 rows skipped; 1 rows kept with a fix (kept, apex unknown (-1): 1)"
    assert df.set_index("video").loc["sub04_EP12_01f", "apex"] == -1
    assert df.emotion.value_counts().to_dict() == {"others": 99, "disgust": 63, "happiness": 32, "repression": 27, "surprise": 25, "sadness": 7, "fear": 2}
    kept, excluded = apply_class_set(df, CLASS_SETS["composite3"])
    assert len(kept) + excluded.excluded.sum() == len(df)
    assert excluded.set_index("emotion").excluded.to_dict() == {"others": 99}
    kept5, excluded5 = apply_class_set(df, CLASS_SETS["casme2_5"])
    assert len(kept5) == 246 and excluded5.set_index("emotion").excluded.to_dict() == {"sadness": 7, "fear": 2}


def test_casme2_2019_sheet_objective_classes_and_relabelled_rows(real):
    df = load_casme2(real / "MouathAb__AnalyseMiE-CNN_LSTM_SE/CASME2-coding-20190701.xlsx", on_bad_row="skip")
    assert len(df) == 255
    # 2019 relabelled three sub24 clips sadness -> surprise
    assert df.emotion.value_counts()[["surprise", "sadness"]].tolist() == [28, 4]
    assert set(df.set_index("video").loc[["sub24_EP07_01", "sub24_EP07_04f", "sub24_EP10_03"], "emotion"]) == {"surprise"}
    kept, _ = apply_class_set(df, CLASS_SETS["objective"])
    assert kept.label.value_counts().to_dict() == {"III": 93, "VII": 79, "I": 30, "II": 18, "V": 18, "IV": 15, "VI": 2}


def test_casme2_other_copies(real):
    ini = real / "ini17__MER-fusing-AU-detection-and-spatio-temporal-features"
    five = load_casme2(ini / "CASME2-coding-20140508.xlsx")  # 5-class subset, extra unnamed column
    assert len(five) == 246 and set(five.emotion) == {"others", "disgust", "happiness", "repression", "surprise"}
    mod = load_casme2(ini / "modified_CASME2-coding-20190701.xlsx")  # '/' row removed, frames as floats
    assert len(mod) == 254 and mod.onset.dtype == "int64" and (mod.apex >= mod.onset).all()
    with pytest.raises(DataError, match=r"label_mouath.xlsx: missing column\(s\) \['Subject'"):
        load_casme2(real / "MouathAb__AnalyseMiE-CNN_LSTM_SE/label_mouath.xlsx")  # headerless working copy


@pytest.mark.parametrize("path", [
    "genbing99__MTSN-Spot-ME-MaE/megc2021-ground-truth/CASME_sq_gt.xlsx",   # official, headerless
    "xly135846__MEGC2021/input/CAS.xlsx",                                  # '###' header + summary rows
    "Vligh__LGNMNet/input/CAS.xlsx",                                       # 'Macro'/'Micro' types
])
def test_casme_sq_layouts(real, path):
    rep = LoadReport()
    df = load_casme_sq(real / path, report=rep)  # default settings: the 4 apexes outside their interval are a known quirk
    assert df.type.value_counts().to_dict() == {"macro": 300, "micro": 57}
    assert not rep.skipped and len(rep.fixed) == 4 and (df.apex == -1).sum() == 4, "bad apexes are recorded, the intervals kept"
    assert "apex 1230 outside [onset 1221, offset 1224]" in {r["problem"] for r in rep.fixed}
    assert df.subject.nunique() == 22 and df.video.nunique() == 95
    assert (df.offset >= df.onset).all()
    # offset 0 means "use the apex": 44 rows end at their apex
    assert int((df.offset == df.apex).sum()) >= 40
    assert df.video.iloc[0] == "s15_0401"
    assert df.objective_class.value_counts().to_dict() == {"negative": 126, "positive": 124, "others": 82, "surprise": 25}
    # the self-report typo 'happyiness' is excluded by the class set and counted, not lost
    _, excluded = apply_class_set(df, CLASS_SETS["composite3"])
    assert excluded.set_index("emotion").excluded.get("happyiness") == 1
    if "MEGC2021" in path:  # the two trailing summary rows (11350, 31.79) are not samples
        assert len(df) == 357


def test_samm_micro_sheet_with_preamble_and_its_csv_copy(real):
    xlsx = load_samm(real / "davidnvq__me_recognition/datasets/SAMM_Micro_FACS_Codes_v2.xlsx")
    assert len(xlsx) == 159 and xlsx.subject.nunique() == 29 and xlsx.subject.iloc[0] == "006"
    assert xlsx.emotion.value_counts().to_dict() == {"anger": 57, "other": 26, "happiness": 26, "surprise": 15, "contempt": 12, "disgust": 9, "fear": 8, "sadness": 6}
    assert xlsx.objective_class.value_counts().to_dict() == {"7": 84, "1": 24, "3": 20, "2": 13, "4": 8, "6": 7, "5": 3}
    csv = real / "ShreyanshJoshi__Facial-Microexpression-Recognition/samm_data.csv"
    # the CSV copy (no preamble) has two apex typos: 1143 for 1113 and 1930 for 4930 -> apex unknown
    rep = LoadReport()
    df = load_samm(csv, report=rep)
    assert [r["row"] for r in rep.fixed] == [127, 134] and not rep.skipped and len(df) == 159
    assert rep.fixed[0]["problem"] == "apex 1143 outside [onset 1071, offset 1134]"
    same = ["video", "onset", "offset", "emotion"]
    pd.testing.assert_frame_equal(df[same], xlsx[same])


@pytest.mark.parametrize("path", [
    "xly135846__MEGC2021/input/SAMM.xlsx",                                  # cleaned, header on row 1
    "genbing99__MTSN-Spot-ME-MaE/megc2021-ground-truth/SAMMLV_gt.xlsx",     # official 9-line preamble
])
def test_samm_long_videos(real, path):
    df = load_samm_lv(real / path)
    assert df.type.value_counts().to_dict() == {"macro": 343, "micro": 159}
    assert df.video.nunique() == 147 and df.subject.nunique() == 30
    assert df[df.type == "micro"].video.nunique() == 79 and df[df.type == "macro"].video.nunique() == 130
    first = df.set_index("sample").loc["006_1_1"]
    assert (first.onset, first.apex, first.offset) == (566, 647, 743), "566.4/647.6/743.2 truncate as in TSMSNet's log"
    assert tuple(load_samm_lv(real / path, fractional="round").set_index("sample").loc["006_1_1", ["onset", "offset"]]) == (566, 743)
    assert int((df.onset == 0).sum()) == 10
    rep = LoadReport()
    dropped = load_samm_lv(real / path, zero_onset="drop", report=rep)
    assert len(dropped) == 492 and len(rep.skipped) == 10 and "Onset = 0" in rep.skipped[0]["problem"]
    # 037_4_1 is coded twice (Micro and Macro): the sample ids stay unique
    assert {"037_4_1_micro", "037_4_1_macro"} <= set(df["sample"])


def test_smic_e_hs_vis_nir(real):
    wb = real / "davidnvq__me_recognition/datasets/SMIC-HS-E_annotation.xlsx"
    # s09_sur_01 lists the same expression twice (Onset2F/Offset2F and Onset3F/Offset3F): kept once
    rep = LoadReport()
    hs = load_smic(wb, report=rep)
    assert not rep.skipped and rep.fixed == [{"source": str(wb), "row": 157, "problem": "video s09_sur_01 frames 61250-61291 listed twice", "fix": "duplicate, kept once"}]
    assert hs.video.nunique() == 157 and hs.subject.nunique() == 16 and len(hs) == 171
    assert hs[hs.video == "s09_sur_01"]["sample"].tolist() == ["s09_sur_01_1", "s09_sur_01_2"]
    assert hs.drop_duplicates("video").emotion.value_counts().to_dict() == {"negative": 66, "positive": 51, "surprise": 40}
    s20 = hs.set_index("sample").loc["s20_ne_01_1"]
    assert (s20.onset, s20.offset, s20.apex, s20.fps) == (17581039, 17581055, -1, 100.0), "absolute camera frame numbers"
    assert hs.groupby("video").size().max() == 3, "up to three expressions per SMIC-E clip"
    vis, nir = load_smic(wb, camera="VIS"), load_smic(wb, camera="NIR")
    assert vis.video.nunique() == 71 and vis.subject.nunique() == 8 and vis.fps.iloc[0] == 25.0
    pd.testing.assert_frame_equal(vis, nir)
    orig = load_smic(real / "davidnvq__me_recognition/datasets/SMIC-HS-E_annotation_orig.xlsx")
    assert orig.video.nunique() == 162


def test_smic_hs_cropped_list(real):
    df = load_smic(real / "ini17__MER-fusing-AU-detection-and-spatio-temporal-features/HS_cropped.csv")
    assert len(df) == 164 and df.subject.nunique() == 16 and set(df.task) == {"recognition"}
    assert df.emotion.value_counts().to_dict() == {"negative": 70, "positive": 51, "surprise": 43}
    assert df.video.iloc[0] == "s01_ne_01" and df.frames.iloc[0] == "s01/s1_ne_01"


def test_mmew(real):
    df = load_mmew(real / "ini17__MER-fusing-AU-detection-and-spatio-temporal-features/MMEW_Micro_Exp.csv")
    assert len(df) == 300 and df.subject.nunique() == 30 and df.subject.iloc[0] == "S01"
    assert df.emotion.value_counts().to_dict() == {"surprise": 89, "disgust": 72, "others": 66, "happiness": 36, "fear": 16, "sadness": 13, "anger": 8}


def test_casme3_part_a_sheets(real):
    xls = load_casme3(real / "genbing99__SFAMNet/annotation/CASME3_part_A_v2.xls")
    assert xls.type.value_counts().to_dict() == {"macro": 3346, "micro": 860} and xls.subject.nunique() == 98
    assert set(xls.task) == {"spotting"}
    lab = load_casme3(real / "genbing99__SFAMNet/annotation/casme3_part_A_ME_label_JpgIndex_v2.xlsx")
    assert len(lab) == 860 and lab.subject.nunique() == 94
    assert lab.emotion.value_counts()["others"] == 161, "'Others' and 'others' are one emotion"
    kept, excluded = apply_class_set(lab, CLASS_SETS["casme3_4"])
    assert kept.label.value_counts().to_dict() == {"negative": 457, "surprise": 187, "others": 161, "positive": 55} and excluded.empty
    rep = LoadReport()
    ed = load_casme3(real / "wangzhifengharrison__HTNet/casme3_part_A_edited.csv", report=rep)
    assert len(ed) == 687 and ed.subject.nunique() == 87
    assert [r["row"] for r in rep.fixed] == [102] and not rep.skipped


@pytest.mark.parametrize("path", [
    "davidnvq__me_recognition/datasets/combined_3class_gt.csv",            # no header
    "davidnvq__me_recognition/datasets/combined_3_class_gt.csv",           # header data,subject,clip,label
    "wangzhifengharrison__HTNet/combined_3_class2_for_optical_flow.csv",   # HTNet's layout, SMIC 's01'
])
def test_megc2019_composite_list(real, path):
    df = load_composite(real / path)
    assert len(df) == 442 and df.subject.nunique() == 68
    assert df.source.value_counts().to_dict() == {"smic": 164, "casme2": 145, "samm": 133}
    counts = df.groupby("source").emotion.value_counts().unstack()[["negative", "positive", "surprise"]]
    assert counts.loc["casme2"].tolist() == [88, 32, 25]
    assert counts.loc["samm"].tolist() == [92, 26, 15]
    assert counts.loc["smic"].tolist() == [70, 51, 43]
    assert df.groupby("source").subject.nunique().to_dict() == {"casme2": 24, "samm": 28, "smic": 16}


def test_megc2019_composite_joined_to_the_databases_sheets(real, tmp_path):
    sources = {
        "casme2": {"format": "casme2", "annotations": str(real / "MouathAb__AnalyseMiE-CNN_LSTM_SE/CASME2-coding-20190701.xlsx")},
        "samm": {"format": "samm", "annotations": str(real / "davidnvq__me_recognition/datasets/SAMM_Micro_FACS_Codes_v2.xlsx")},
        "smic": {"format": "smic", "annotations": str(real / "ini17__MER-fusing-AU-detection-and-spatio-temporal-features/HS_cropped.csv")},
    }
    lst = real / "davidnvq__me_recognition/datasets/combined_3class_gt.csv"
    df, rep = load_dataset("megc2019", {"format": "megc2019", "annotations": str(lst), "sources": sources})
    assert len(df) == 442 and (df.onset > 0).all() and (df.offset >= df.onset).all()
    assert [r["problem"] for r in rep.fixed] == ["ApexFrame='/' is not a frame number"] and not rep.skipped
    # a listed label that disagrees with the database's own sheet is a bad row
    bad = tmp_path / "list.csv"
    bad.write_text(lst.read_text().replace("casme2,sub01,EP02_01f,1", "casme2,sub01,EP02_01f,2"))
    with pytest.raises(DataError, match=r"list.csv: row 1: casme2 clip sub01/EP02_01f: listed as surprise but its sheet says 'happiness'"):
        load_dataset("m", {"format": "megc2019", "annotations": str(bad), "sources": {"casme2": sources["casme2"] | {"on_bad_row": "skip"}}})


def test_missing_frame_folders_are_bad_rows(tmp_path, real):
    sheet = real / "davidnvq__me_recognition/datasets/SAMM_Micro_FACS_Codes_v2.xlsx"
    (tmp_path / "006" / "006_1_2").mkdir(parents=True)
    with pytest.raises(DataError, match=r"row 16: no frames folder for 006_1_3 under"):
        load_samm(sheet, root=tmp_path)
    rep = LoadReport()
    df = load_samm(sheet, root=tmp_path, on_bad_row="skip", report=rep)
    assert df.video.tolist() == ["006_1_2"] and len(rep.skipped) == 158
    assert df.frames.iloc[0] == str(tmp_path / "006" / "006_1_2")
    # SMIC clips are found wherever they are nested (HS/s1/micro/negative/s1_ne_01)
    (tmp_path / "HS" / "s1" / "micro" / "negative" / "s1_ne_01").mkdir(parents=True)
    smic = load_smic(real / "ini17__MER-fusing-AU-detection-and-spatio-temporal-features/HS_cropped.csv", root=tmp_path / "HS", on_bad_row="skip")
    assert smic.frames.tolist() == [str(tmp_path / "HS" / "s1" / "micro" / "negative" / "s1_ne_01")]


def test_generic_loader_good_and_bad_rows(tmp_path):
    for v in ("a", "b"):
        (tmp_path / v).mkdir()
    csv = tmp_path / "ann.csv"
    csv.write_text("subject,video,onset,apex,offset,type,emotion\n1,a,3,5,9,micro,happiness\n2,b,9,,4,micro,disgust\n")
    with pytest.raises(DataError, match=r"ann.csv: row 3: onset 9 > offset 4 \(on_bad_row: skip records such rows and goes on\)$"):
        load_generic(csv, dataset="g", root=tmp_path, fps=30)
    rep = LoadReport()
    df = load_generic(csv, dataset="g", root=tmp_path, fps=30, on_bad_row="skip", report=rep)
    assert df.video.tolist() == ["a"] and rep.skipped[0]["row"] == 3
    csv.write_text("subject,video,onset,apex,offset,type,emotion\n1,a,3,5,9,micro,happiness\n1,a,20,22,25,micro,disgust\n2,b,4,6,8,micro,surprise\n")
    several = load_generic(csv, dataset="g", root=tmp_path, fps=30)  # several expressions of one video, each its own sample
    assert several["sample"].tolist() == ["a_1", "a_2", "b"] and several.video.tolist() == ["a", "a", "b"]
    assert several[["onset", "offset"]].values.tolist() == [[3, 9], [20, 25], [4, 8]] and (several.task == "recognition").all()
    csv.write_text("subject,video,onset,apex,offset,type,emotion\n1,zz,3,5,9,micro,happiness\n")
    with pytest.raises(DataError, match="no frames folder or video file for 'zz'"):
        load_generic(csv, dataset="g", root=tmp_path, fps=30)


def test_sample_ids_are_unique_per_dataset_the_error_names_both_rows(tmp_path):
    """Every per-sample file is named by its sample id: two rows with one id would share a clip.
    Video a's two expressions are samples a_1 and a_2; a video named a_1 with one expression is
    sample a_1 too -- the table is refused, naming both sheet rows."""
    from mexp_lib.datasets.table import check_unique_samples

    for v in ("a", "a_1"):
        (tmp_path / v).mkdir()
    csv = tmp_path / "ann.csv"
    csv.write_text("subject,video,onset,apex,offset,type,emotion\n1,a,3,5,9,micro,happiness\n1,a,20,22,25,micro,disgust\n2,a_1,4,6,8,micro,surprise\n")
    with pytest.raises(DataError, match=r"ann.csv: sample id 'a_1' is not unique: row 2 \(video a, frames 3-9\) and row 4 \(video a_1, frames 4-8\)"):
        load_generic(csv, dataset="g", root=tmp_path, fps=30)
    csv.write_text("subject,video,onset,apex,offset,type,emotion\n1,a,3,5,9,micro,happiness\n2,a_1,4,6,8,micro,surprise\n")
    table = load_generic(csv, dataset="g", root=tmp_path, fps=30)  # unique: accepted
    check_unique_samples(table, "t")
    with pytest.raises(DataError, match=r"t: sample id 'a' is not unique: sample-table row 0 .* and sample-table row 2"):
        check_unique_samples(pd.concat([table, table.iloc[:1]], ignore_index=True), "t")


def test_duplicates_kept_once_only_when_coded_alike(tmp_path):
    """An expression listed twice with the same coding is a quirk (kept once, recorded); listed
    twice with different emotions it is a malformed row (on_bad_row)."""
    from mexp_lib.datasets.smic import load_smic

    head = "Subject,Filename,OnsetFrame,OffsetFrame,Estimated Emotion\n"
    csv = tmp_path / "hs.csv"
    csv.write_text(head + "1,s1_ne_01,10,20,negative\n1,s1_ne_01,10,20,negative\n1,s1_po_01,5,9,positive\n")
    rep = LoadReport()
    assert load_smic(csv, report=rep)["sample"].tolist() == ["s01_ne_01", "s01_po_01"] and [r["row"] for r in rep.fixed] == [3]
    wb = tmp_path / "e.xlsx"
    rows = [["Subject", "Filename", "OnsetF", "OffsetF", "Onset2F", "Offset2F", "FirstF", "Emotion"],
            [1, "s1_ne_01", 10, 20, 10, 20, 1, "negative"], [1, "s1_po_01", 5, 9, None, None, 1, "positive"]]
    pd.DataFrame(rows[1:], columns=rows[0]).to_excel(wb, sheet_name="HS", index=False)
    rep = LoadReport()
    df = load_smic(wb, report=rep)
    assert len(df) == 2 and [r["fix"] for r in rep.fixed] == ["duplicate, kept once"] and not rep.skipped
    # the same frames coded as two different expressions: not a quirk but a malformed row
    from mexp_lib.datasets.table import finish_table

    base = {"_row": 2, "dataset": "d", "subject": "1", "video": "v", "sample": "v_1", "frames": "v", "numbering": "position", "fps": 30.0,
            "onset": 1, "apex": -1, "offset": 9, "type": "micro", "emotion": "happiness", "objective_class": "", "aus": "", "task": "spotting"}
    other = base | {"_row": 3, "sample": "v_2", "emotion": "disgust"}
    with pytest.raises(DataError, match=r"row 3: duplicate sample: video v frames 1-9 appear twice, coded differently \(on_bad_row: skip"):
        finish_table([dict(base), dict(other)], "sheet", "error", LoadReport())
    rep = LoadReport()
    assert len(finish_table([dict(base), dict(other)], "sheet", "skip", rep)) == 1 and [r["row"] for r in rep.skipped] == [3]


@pytest.mark.parametrize("fmt, path, extra, n, fixes", [
    ("casme2", "davidnvq__me_recognition/datasets/CASME2-coding-20140508.xlsx", {}, 255, {"kept, apex unknown (-1)": 1}),
    ("casme2", "MouathAb__AnalyseMiE-CNN_LSTM_SE/CASME2-coding-20190701.xlsx", {}, 255, {"kept, apex unknown (-1)": 1}),
    ("casme_sq", "genbing99__MTSN-Spot-ME-MaE/megc2021-ground-truth/CASME_sq_gt.xlsx", {}, 357, {"kept, apex unknown (-1)": 4}),
    ("smic", "davidnvq__me_recognition/datasets/SMIC-HS-E_annotation.xlsx", {"camera": "HS"}, 171, {"duplicate, kept once": 1}),
])
def test_official_sheets_load_with_default_settings(real, fmt, path, extra, n, fixes):
    """The configured dataset (no on_bad_row given) loads; its quirks are counted apart from skips."""
    df, rep = load_dataset("d", {"format": fmt, "annotations": str(real / path), **extra})
    assert len(df) == n
    assert rep.counts() == {"rows_skipped": 0, "rows_fixed": sum(fixes.values()), "fixes": fixes}
    assert set(rep.to_frame().action) == set(fixes)


def test_demo_plan_equals_what_the_loaders_read_back(tmp_path):
    from mexp_lib.datasets.demo import generate_demo

    gen = {"subjects": 2, "clips_per_class": 1, "long_seconds": 8, "micro_per_long": 1, "macro_per_long": 1, "frame_size": 128,
           "micro_amplitude": [0.8, 3.0], "macro_seconds": [0.8, 1.8], "noise_sigma": 1.5, "jpeg_quality": None}  # PNG, light noise
    cfg = {"format": "demo", "root": str(tmp_path / "demo"), "generator": gen}
    generate_demo(cfg["root"], gen)
    planned = planned_samples("demo", cfg)
    loaded, report = load_dataset("demo", cfg)
    assert not report.skipped
    pd.testing.assert_frame_equal(planned, loaded, check_dtype=False)
    assert set(loaded.task) == {"recognition", "spotting"}
    assert (loaded[loaded.type == "micro"].eval("(offset - onset + 1) / fps") <= 0.5 + 1e-9).all()



def test_the_generator_defaults_have_one_source_the_schema():
    """Every generator key has its default in the schema and nowhere else: demo_plan.DEFAULTS is
    read from it. The resolved config keeps a demo entry's generator block as written (the
    generate_demo rule's params say what the config says; the renderer fills the defaults)."""
    import yaml

    from mexp_lib.config import resolve_config
    from mexp_lib.datasets.demo_plan import DEFAULTS, generator_schema

    props = generator_schema()["properties"]
    assert all("default" in p for p in props.values()), [k for k, p in props.items() if "default" not in p]
    assert DEFAULTS == {k: p["default"] for k, p in props.items()}
    written = yaml.safe_load((REPO / "config/config.yaml").read_text())
    assert resolve_config(written)["datasets"]["demo"]["generator"] == written["datasets"]["demo"]["generator"]


def test_mexp_demo_renders_the_workflows_demo():
    """`mexp demo` renders with the settings the workflow's generate_demo rule renders
    config/config.yaml's demo with (same resolved settings, same plan); --seed and --subjects
    still override."""
    import yaml

    from mexp_lib.cli import build_parser, demo_generator
    from mexp_lib.config import resolve_config
    from mexp_lib.datasets.demo_plan import plan_demo, settings
    from mexp_lib.stages import stage_settings

    cfg = resolve_config(yaml.safe_load((REPO / "config/config.yaml").read_text()))
    workflow = settings(stage_settings(cfg, "generate_demo", "demo")["datasets"]["demo"].get("generator"))
    cli = settings(demo_generator(build_parser().parse_args(["demo", "out"])))
    assert cli == workflow
    assert plan_demo(cli) == plan_demo(workflow)
    given = settings(demo_generator(build_parser().parse_args(["demo", "out", "--seed", "3", "--subjects", "4"])))
    assert given == {**workflow, "seed": 3, "subjects": 4}


def test_precomputed_flow_images_as_a_dataset(real, tmp_path):
    d = real / "wangzhifengharrison__HTNet"
    df, rep = load_dataset("flow", {"format": "precomputed", "root": str(d / "STSNet_whole_norm_u_v_os"), "annotations": str(d / "combined_3_class2_for_optical_flow.csv")})
    assert len(df) == 442 and not rep.skipped and df.subject.nunique() == 68
    assert df.source.value_counts().to_dict() == {"smic": 164, "casme2": 145, "samm": 133}
    # SMIC's 's1_ne_01' in the list is the image s01_s01_ne_01.png
    assert "s01_s01_ne_01" in set(df.video) and "006_006_1_2" in set(df.video)
    # the subject,image,emotion layout, and a missing image as a bad row
    csv = tmp_path / "labels.csv"
    csv.write_text("subject,image,emotion\nsub01,sub01_EP02_01f.png,positive\nsub02,nope.png,negative\n")
    with pytest.raises(DataError, match=r"labels.csv: row 3: no image nope.png"):
        load_dataset("f", {"format": "precomputed", "root": str(d / "STSNet_whole_norm_u_v_os"), "annotations": str(csv)})


def test_precomputed_composite_joined_to_the_sheets_brings_the_aus(real):
    d = real / "wangzhifengharrison__HTNet"
    # default settings: CASME II's '/' apex keeps its sample (apex unknown)
    sources = {"casme2": {"format": "casme2", "annotations": str(real / "AloveDL__Hubing-EMs/CASME2-coding-20140508.xlsx")},
               "samm": {"format": "samm", "annotations": str(real / "MouathAb__AnalyseMiE-CNN_LSTM_SE/SAMM_Micro_FACS_Codes_v2.xlsx")}}
    df, _ = load_dataset("flow", {"format": "precomputed", "root": str(d / "STSNet_whole_norm_u_v_os"),
                                  "annotations": str(d / "combined_3_class2_for_optical_flow.csv"), "sources": sources})
    assert len(df) == 442
    coded = df[df.aus != ""].source.value_counts().to_dict()
    assert coded == {"casme2": 145, "samm": 133}, "every CASME II and SAMM clip has its AUs, SMIC codes none"
    assert df.set_index("video").loc["sub01_EP02_01f", "aus"] == "12"
    assert df.set_index("video").loc["006_006_1_2", "aus"] == "4+7"
