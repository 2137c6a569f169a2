"""Careless and unlucky inputs (issue 27), one parametrised table: each case runs a command or a
library entry point on tiny data and ends in a result or in exactly one ``mexp: error:`` line
naming the file, row, key or flag -- and nothing is written into the dataset folder.

Each row names the check that covers its class of input:

=======================  =====================================================================
ids                      ``mexp_lib.datasets.table.id_problem`` (in ``finish_table``): subject,
                         video and sample ids a path and a wildcard can carry
frames                   ``finish_table(root=...)``: an interval past the last frame; duplicate
                         frame stems (``open_frames``); a root that is a file; an id with ``.mp4``
subject                  ``finish_table``: a video listed under two subjects
config                   ``resolve_config`` (schema + finite numbers + dataset-name pattern),
                         run by ``dataset info --config`` as by the workflow
set                      ``parse_assignments``: malformed YAML, a key set twice
eval                     ``check_predictions`` / ``check_intervals``
output                   ``atomic_path``: a target of the other kind, no temporary left
=======================  =====================================================================

The workflow-side cases (an unconfigured dataset's target, malformed YAML, dataset names,
one class left) and the face stage's skip are tests of their own below the table.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest
from workflow_runner import REPO, SNAKEMAKE

from mexp_lib.cli import main

GENERIC = "subject,video,onset,apex,offset,type,emotion\n"


def _snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """Every path under ``root`` with its size and mtime: what a case must leave unchanged."""
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns) for p in root.rglob("*")}


@pytest.fixture(scope="module")
def ws(tmp_path_factory) -> dict[str, Path]:
    """A dataset folder (``data``: videos of 25 tiny frames, one with two images of one stem,
    folders whose names are careless ids) and a folder for outputs and sheets (``out``)."""
    base = tmp_path_factory.mktemp("careless")
    data, out = base / "data", base / "out"
    out.mkdir()
    img = np.random.default_rng(0).integers(0, 255, (16, 16), dtype=np.uint8)
    for video in ("clip", "clip é 1", "{y}", "twin"):
        (data / video).mkdir(parents=True)
        for i in range(25):
            cv2.imwrite(str(data / video / f"img{i + 1:03d}.png"), img)
    cv2.imwrite(str(data / "twin" / "img001.jpg"), img)
    (data / "film.mp4").write_bytes(b"")
    (out / "existing_dir").mkdir()
    (out / "afile").write_text("x")
    sheets = {
        "ok": "s1,clip,1,5,10,micro,happiness\n",
        "non_ascii": "s1,clip é 1,1,5,10,micro,happiness\n",
        "braces": "s1,{y},1,5,10,micro,happiness\n",
        "subject_dots": "..,clip,1,5,10,micro,happiness\n",
        "subject_slash": "sub/01,clip,1,5,10,micro,happiness\n",
        "two_subjects": "s1,clip,1,5,10,micro,happiness\ns2,clip,12,15,20,micro,disgust\n",
        "offset_past": "s1,clip,1,5,500,micro,happiness\n",
        "onset_past": "s1,clip,300,305,310,micro,happiness\n",
        "twin_stems": "s1,twin,1,5,10,micro,happiness\n",
        "with_extension": "s1,film.mp4,1,5,10,micro,happiness\n",
    }
    for name, rows in sheets.items():
        (out / f"{name}.csv").write_text(GENERIC + rows)
    configs = {
        "null_entry": "datasets:\n  g: null\n",
        "string_entry": "datasets:\n  g: clips\n",
        "fps_text": f"datasets:\n  g: {{format: generic, root: {data}, annotations: {out}/ok.csv, fps: abc}}\n",
        "fps_negative": f"datasets:\n  g: {{format: generic, root: {data}, annotations: {out}/ok.csv, fps: -30}}\n",
        "fps_nan": f"datasets:\n  g: {{format: generic, root: {data}, annotations: {out}/ok.csv, fps: .nan}}\n",
        "typo": f"datasets:\n  g: {{format: generic, root: {data}, annotations: {out}/ok.csv, fps: 30, tsak: spotting}}\n",
        "name_slash": f"datasets:\n  a/b: {{format: generic, root: {data}, annotations: {out}/ok.csv, fps: 30}}\n",
        "malformed": "datasets:\n  g:\n    format: generic\n   fps: [30\n",
        "root_file": f"datasets:\n  g: {{format: generic, root: {out}/afile, annotations: {out}/ok.csv, fps: 30}}\n",
    }
    for name, text in configs.items():
        (out / f"{name}.yaml").write_text(text)
    evals = {
        "header_only": "dataset,subject,sample,label,pred\n",
        "unknown_label": "dataset,subject,sample,label,pred\nd,s1,a,anger,positive\n",
        "empty_pred": "dataset,subject,sample,label,pred\nd,s1,a,positive,\nd,s2,b,negative,negative\n",
        "duplicate": "dataset,subject,sample,label,pred\n" + "d,s1,a,positive,negative\n" * 3,
        "gt": "video,onset,offset,type\nv,1,10,micro\nv,30,60,macro\n",
        "gt_header_only": "video,onset,offset,type\n",
        "onset_after_offset": "video,onset,offset,type\nv,10,5,micro\n",
        "negative": "video,onset,offset,type\nv,-4,5,micro\n",
        "upper_type": "video,onset,offset,type\nv,1,10,MICRO\nv,30,60,Macro\n",
        "other_type": "video,onset,offset,type\nv,1,10,blink\n",
        "twice": "video,onset,offset,type\nv,1,10,micro\nv,1,10,micro\n",
    }
    for name, text in evals.items():
        (out / f"{name}.csv").write_text(text)
    return {"data": data, "out": out}


def _fill(text: str, ws: dict[str, Path]) -> str:
    return text.replace("{out}", str(ws["out"])).replace("{data}", str(ws["data"]))


def _info(sheet: str) -> list[str]:
    return ["dataset", "info", "g", "--format", "generic", "--annotations", "{out}/" + sheet + ".csv", "--root", "{data}", "--fps", "30"]


def _cfg(name: str) -> list[str]:
    return ["dataset", "info", "g", "--config", "{out}/" + name + ".yaml"]


_FLOW = ["flow", "{data}/clip", "-o", "{out}/f.h5"]

# case: (check, command, words the one error line names; None: the command succeeds)
CASES: dict[str, tuple[str, list[str], list[str] | None]] = {
    "id non-ASCII": ("ids", _info("non_ascii"), ["non_ascii.csv", "row 2", "video id 'clip é 1'", "'é'"]),
    "id with braces": ("ids", _info("braces"), ["braces.csv", "row 2", "video id '{y}'", "'{'"]),
    "subject ..": ("ids", _info("subject_dots"), ["subject_dots.csv", "row 2", "subject id '..'"]),
    "subject with /": ("ids", _info("subject_slash"), ["subject_slash.csv", "row 2", "subject id 'sub/01'", "'/'"]),
    "video under two subjects": ("subject", _info("two_subjects"), ["two_subjects.csv", "row 3", "video clip", "'s1'", "row 2"]),
    "offset past the last frame": ("frames", _info("offset_past"), ["offset_past.csv", "row 2", "frames 1-500", "last frame (25)"]),
    "onset past the last frame": ("frames", _info("onset_past"), ["onset_past.csv", "row 2", "frames 300-310", "last frame (25)"]),
    "two images of one stem": ("frames", _info("twin_stems"), ["twin_stems.csv", "row 2", "img001.jpg and img001.png"]),
    "id with its extension": ("frames", _info("with_extension"), ["with_extension.csv", "row 2", "without its extension", "'film'"]),
    "root is a file": ("frames", _cfg("root_file"), ["datasets.g.root", "afile is a file", "folder that holds the videos"]),
    "config null entry": ("config", _cfg("null_entry"), ["null_entry.yaml", "datasets.g", "None is not of type 'object'"]),
    "config string entry": ("config", _cfg("string_entry"), ["string_entry.yaml", "datasets.g", "'clips' is not of type 'object'"]),
    "config fps text": ("config", _cfg("fps_text"), ["fps_text.yaml", "datasets.g.fps", "'abc'"]),
    "config fps negative": ("config", _cfg("fps_negative"), ["fps_negative.yaml", "datasets.g.fps", "-30"]),
    "config fps NaN": ("config", _cfg("fps_nan"), ["fps_nan.yaml", "datasets.g.fps", "not a finite number"]),
    "config typo": ("config", _cfg("typo"), ["typo.yaml", "datasets.g.tsak", "did you mean 'task'"]),
    "config dataset name a/b": ("config", _cfg("name_slash"), ["name_slash.yaml", "'a/b'", "not allowed"]),
    "config malformed YAML": ("config", _cfg("malformed"), ["--config", "malformed.yaml", "line 4", "not valid YAML"]),
    "set malformed YAML": ("set", [*_FLOW, "--set", "tvl1.warps=[1"], ["--set 'tvl1.warps=[1'", "not valid YAML"]),
    "set key twice": ("set", [*_FLOW, "--set", "tvl1=5", "--set", "tvl1.warps=3"], ["--set 'tvl1.warps=3'", "--set 'tvl1=5'", "tvl1 is set twice"]),
    "set tab in a value": ("set", [*_FLOW, "--set", "tvl1.warps=\t{3", "--method", "dis"], ["tvl1.warps="]),
    "eval header only": ("eval", ["eval", "recognition", "{out}/header_only.csv"], ["header_only.csv", "no predictions"]),
    "eval label outside --labels": ("eval", ["eval", "recognition", "{out}/unknown_label.csv", "--labels", "negative,positive"],
                                    ["unknown_label.csv", "line 2", "label 'anger'", "--labels"]),
    "eval empty prediction": ("eval", ["eval", "recognition", "{out}/empty_pred.csv"], ["empty_pred.csv", "line 2", "empty pred"]),
    "eval sample three times": ("eval", ["eval", "recognition", "{out}/duplicate.csv"], ["duplicate.csv", "lines 2, 3, 4", "more than once"]),
    "eval onset > offset": ("eval", ["eval", "spotting", "--gt", "{out}/onset_after_offset.csv", "--pred", "{out}/gt.csv"],
                            ["--gt", "onset_after_offset.csv", "line 2", "onset 10 > offset 5"]),
    "eval negative frame": ("eval", ["eval", "spotting", "--gt", "{out}/gt.csv", "--pred", "{out}/negative.csv"], ["--pred", "negative.csv", "line 2", "negative frame"]),
    "eval other type": ("eval", ["eval", "spotting", "--gt", "{out}/other_type.csv", "--pred", "{out}/gt.csv"], ["other_type.csv", "type 'blink'"]),
    "eval interval twice": ("eval", ["eval", "spotting", "--gt", "{out}/twice.csv", "--pred", "{out}/gt.csv"], ["twice.csv", "lines 2, 3", "more than once"]),
    "eval ground truth header only": ("eval", ["eval", "spotting", "--gt", "{out}/gt_header_only.csv", "--pred", "{out}/gt.csv"], ["gt_header_only.csv", "no intervals"]),
    "eval type case (result)": ("eval", ["eval", "spotting", "--gt", "{out}/gt.csv", "--pred", "{out}/upper_type.csv", "--csv"], None),
    "eval no predictions (result)": ("eval", ["eval", "spotting", "--gt", "{out}/gt.csv", "--pred", "{out}/gt_header_only.csv", "--csv"], None),
    "output onto a folder": ("output", ["flow", "{data}/clip", "-o", "{out}/existing_dir", "--method", "dis"], ["-o", "existing_dir", "is a folder"]),
    "demo into a file": ("output", ["demo", "{out}/afile"], ["afile", "is a file"]),
    "frames root is a file": ("frames", ["flow", "{out}/afile", "-o", "{out}/f.h5"], ["afile", "not a video", "frames folder"]),
}


@pytest.mark.parametrize("case", list(CASES))
def test_careless_input(ws, case, capsys):
    check, args, named = CASES[case]
    before = _snapshot(ws["data"])
    out_before = set(os.listdir(ws["out"]))
    rc = main([_fill(a, ws) for a in args])
    err = capsys.readouterr().err
    assert "Traceback" not in err, err
    if named is None:
        assert rc == 0, err
    else:
        lines = [line for line in err.strip().splitlines() if line]
        assert rc == 2 and len(lines) == 1 and lines[0].startswith("mexp: error: "), (check, err)
        for word in named:
            assert _fill(word, ws) in lines[0], (check, word, lines[0])
    assert _snapshot(ws["data"]) == before, "the dataset folder was written to"
    left = set(os.listdir(ws["out"])) - out_before
    assert not [n for n in left if ".tmp" in n], f"temporaries left: {left}"


def test_eval_types_are_case_blind(ws, capsys):
    """``MICRO`` is ``micro``: a prediction typed in capitals matches its ground truth."""
    assert main(["eval", "spotting", "--gt", f"{ws['out']}/gt.csv", "--pred", f"{ws['out']}/upper_type.csv", "--csv"]) == 0
    table = capsys.readouterr().out
    assert "MICRO" not in table and "Macro" not in table
    assert ",2,0,0," in table.replace(".0000", "")  # overall: 2 true positives, no false ones


def test_help_examples_are_accepted(capsys):
    """Each stage command's ``--set`` example in its --help is a setting that command accepts."""
    from mexp_lib.cli import build_parser
    from mexp_lib.config import check_section, parse_assignments, settings

    sub = {"landmarks": "face", "align": "face", "interpolate": "interpolation", "magnify": "magnification", "flow": "flow"}
    for cmd, section in sub.items():
        with pytest.raises(SystemExit):
            build_parser().parse_args([cmd, "--help"])
        text = " ".join(capsys.readouterr().out.split())
        example = text.split("e.g. --set ")[1].split()[0]
        check_section(section, settings(section, parse_assignments([example])))
    with pytest.raises(SystemExit):
        build_parser().parse_args(["eval", "spotting", "--help"])
    text = capsys.readouterr().out
    assert "ground-truth intervals" in text and "predicted intervals" in text
    with pytest.raises(SystemExit):
        build_parser().parse_args(["demo", "--help"])
    text = capsys.readouterr().out
    assert "folder to render into" in text and "random seed" in text and "number of subjects" in text


def test_video_named_from_the_resolved_folder(tmp_path, monkeypatch):
    """``mexp landmarks .`` names the video after the folder; ``s15.take2`` keeps its dot."""
    from mexp_lib.io.frames import video_name

    d = tmp_path / "s15.take2"
    d.mkdir()
    monkeypatch.chdir(d)
    assert video_name(".") == "s15.take2" and video_name(d) == "s15.take2"
    assert video_name(tmp_path / "clip.mp4") == "clip" and video_name("s15.take2/") == "s15.take2"


def test_unreadable_frame_in_a_short_clip_is_skipped(tmp_path, caplog):
    """``face.on_missing_face: skip`` covers a frame that cannot be read (a 0-byte image, a
    text file named .png) in a short clip: the video is skipped with a warning, not failed."""
    from mexp_lib.datasets.demo_render import base_face
    from mexp_lib.face.stage import align_faces, detect_landmarks
    from mexp_lib.io.skip import skip_reason

    clip = tmp_path / "clip"
    clip.mkdir()
    face = np.clip(base_face(192)[0], 0, 255).astype(np.uint8)
    for i in range(6):
        cv2.imwrite(str(clip / f"img{i + 1:03d}.png"), face)
    (clip / "img004.png").write_bytes(b"")
    cfg = {"on_missing_face": "skip"}
    detect_landmarks(str(clip), video="clip", numbering="position", strategy="clip", face_cfg=cfg, out=tmp_path / "lm.json")
    align_faces(str(clip), str(tmp_path / "lm.json"), numbering="position", face_cfg=cfg, out=tmp_path / "faces.h5")
    reasons = [skip_reason(tmp_path / "lm.json"), skip_reason(tmp_path / "faces.h5")]
    assert any(r and "img004.png" in r for r in reasons), reasons
    assert "skipping video clip" in caplog.text
    from mexp_lib.errors import DataError

    with pytest.raises(DataError, match="img004.png"):  # the default policy still stops, naming the frame
        detect_landmarks(str(clip), video="clip", numbering="position", strategy="long", face_cfg={}, out=tmp_path / "lm2.json")
        align_faces(str(clip), str(tmp_path / "lm2.json"), numbering="position", face_cfg={}, out=tmp_path / "faces2.h5")


# -- the workflow: a dry run each ---------------------------------------------------------------

def _dry(wd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([SNAKEMAKE, "-s", str(REPO / "Snakefile"), "-d", str(wd), "--cores", "1", "-n", *args],
                          capture_output=True, text=True, cwd=REPO)


def _error_line(r: subprocess.CompletedProcess) -> str:
    assert r.returncode != 0 and "Traceback" not in r.stderr, r.stderr[-2000:]
    lines = [line for line in r.stderr.splitlines() if line.startswith("mexp: error:")]
    assert len(lines) == 1, r.stderr[-2000:]
    return lines[0]


@pytest.fixture
def workdir(tmp_path) -> Path:
    (tmp_path / "config").mkdir()
    (tmp_path / "config/config.yaml").write_text((REPO / "config/config.yaml").read_text())
    return tmp_path


def test_headline_target_of_an_unconfigured_dataset(workdir):
    """The README's command on a fresh checkout: one line naming samm, the configured datasets
    and the entry to uncomment -- for every results/<name>_... of an unknown name."""
    line = _error_line(_dry(workdir, "results/samm_loso_metrics.csv"))
    assert "'samm' is not configured" in line and "configured: demo" in line and "uncomment" in line and "config/config.yaml (line " in line
    line = _error_line(_dry(workdir, "results/mine_spotting_metrics.csv"))
    assert "'mine' is not configured" in line and "add an entry `mine:`" in line
    line = _error_line(_dry(workdir, "results/flow/other/0/x.h5"))
    assert "'other' is not configured" in line


def test_workflow_config_errors_are_one_line(workdir):
    """Malformed YAML names the file and line; a dataset name that cannot be a path is refused;
    a nested --config value is read as the number it is."""
    cfg = workdir / "config/config.yaml"
    text = cfg.read_text()
    cfg.write_text("datasets:\n  demo:\n    format: demo\n   bad: [1\n")
    line = _error_line(_dry(workdir))
    assert "config/config.yaml: line 4" in line and "not valid YAML" in line
    cfg.write_text(text.replace("\n  demo:", "\n  a/b:", 1))
    line = _error_line(_dry(workdir))
    assert "datasets: 'a/b': not allowed" in line
    cfg.write_text(text)
    line = _error_line(_dry(workdir, "--config", "datasets={base: {fps: 30}}"))
    assert "datasets.base" in line and "'format' is a required property" in line and "is not of type" not in line


def test_dataset_names_with_regex_characters_plan(tmp_path):
    """``c++`` and ``data(1)`` are names a path and a wildcard carry: the workflow plans them."""
    from workflow_runner import tiny_workdir

    wd = tiny_workdir(tmp_path)
    cfg = wd / "config/config.yaml"
    cfg.write_text(cfg.read_text().replace("\n  demo:", "\n  c++:", 1))
    r = _dry(wd, "results/c++_loso_metrics.csv")
    assert r.returncode == 0 and "train_fold" in r.stdout, r.stderr[-2000:]


def test_one_class_left_stops_before_training(tmp_path):
    """A class set that keeps one class: the plan stops naming the dataset and the counts
    (a dry run of the tiny config), and check_classes passes two classes."""
    import pandas as pd
    from workflow_runner import tiny_workdir

    from mexp_lib.recognition.samples import check_classes

    wd = tiny_workdir(tmp_path)
    line = _error_line(_dry(wd, "results/demo_loso_metrics.csv", "--config", "recognition={class_set: {happiness: positive}}"))
    assert "datasets.demo: recognition needs two classes or more" in line and "positive: 3" in line
    check_classes(pd.DataFrame({"sample": ["a", "b"], "label": ["positive", "negative"]}), "d", {"class_set": "x"})


def test_landmarks_of_dot_name_the_folder(tmp_path, monkeypatch, capsys):
    """``mexp landmarks .`` in ``s15.take2`` writes the video name ``s15.take2``."""
    from mexp_lib.datasets.demo_render import base_face

    d = tmp_path / "s15.take2"
    d.mkdir()
    face = np.clip(base_face(192)[0], 0, 255).astype(np.uint8)
    for i in range(3):
        cv2.imwrite(str(d / f"img{i + 1:03d}.png"), face)
    monkeypatch.chdir(d)
    assert main(["landmarks", ".", "-o", str(tmp_path / "lm.json"), "--strategy", "clip"]) == 0, capsys.readouterr().err
    assert json.loads((tmp_path / "lm.json").read_text())["video"] == "s15.take2"


def test_atomic_path_cleans_up_on_every_failure(tmp_path, monkeypatch):
    """A target of the other kind is refused before any work; a rename that fails after the
    body (another writer made a folder there, a full disk) removes the temporary too."""
    from mexp_lib.io.atomic import atomic_path

    (tmp_path / "dir.csv").mkdir()
    (tmp_path / "file").write_text("x")
    with pytest.raises(IsADirectoryError, match="dir.csv"), atomic_path(tmp_path / "dir.csv") as tmp:
        tmp.write_text("never")
    with pytest.raises(NotADirectoryError, match="file"), atomic_path(tmp_path / "file", directory=True) as tmp:
        (tmp / "a").write_text("never")
    with pytest.raises(IsADirectoryError, match="late.csv"), atomic_path(tmp_path / "late.csv") as tmp:
        tmp.write_text("y")
        (tmp_path / "late.csv").mkdir()  # appears while the body runs
    monkeypatch.setattr(os, "replace", lambda *a: (_ for _ in ()).throw(OSError(28, "No space left on device")))
    with pytest.raises(OSError, match="No space"), atomic_path(tmp_path / "full.csv") as tmp:
        tmp.write_text("y")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dir.csv", "file", "late.csv"]
