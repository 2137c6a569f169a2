"""The whole workflow on the tiny config, end to end; partial reruns; config validation."""

import base64
import html
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
import yaml
from workflow_runner import REPO, planned_jobs, snakemake


@pytest.mark.slow
def test_dry_run_lists_every_stage(tiny_run):
    _, dry = tiny_run
    jobs = planned_jobs(dry)
    for rule in ("generate_demo", "build_sample_table", "detect_landmarks", "align_faces", "normalise_clip", "magnify_motion",
                 "compute_flow", "build_inputs", "train_fold", "evaluate_recognition", "compute_spotting_features", "spot_intervals",
                 "evaluate_spotting", "qc_faces"):
        assert jobs.get(rule, 0) >= 1, rule
    assert jobs["train_fold"] == 3  # one job per LOSO fold


@pytest.mark.slow
def test_end_to_end_tables(tiny_run):
    wd, _ = tiny_run
    rec = pd.read_csv(wd / "results/demo_loso_metrics.csv", dtype={"fold": str})
    assert list(rec.columns[:7]) == ["fold", "dataset", "n", "accuracy", "uar", "uf1", "macro_f1"]
    assert rec.fold.tolist() == ["sub01", "sub02", "sub03", "mean", "ensemble", "all"]
    assert rec.set_index("fold").loc["all", "n"] == 9
    assert rec.uf1.between(0, 1).all()
    spot = pd.read_csv(wd / "results/demo_spotting_metrics.csv")
    assert spot.type.tolist() == ["micro", "macro", "all"]
    assert {"tp", "fp", "fn", "precision", "recall", "f1"} <= set(spot.columns)
    allrow = spot.set_index("type").loc["all"]
    assert allrow.tp + allrow.fn == 9  # every ground-truth interval of the 3 long videos is counted
    prov = json.loads((wd / "results/demo_loso_metrics.provenance.json").read_text())
    assert len(prov["config_hash"]) == 16 and prov["seeds"] == [0] and prov["samples_predicted"] == prov["samples_expected"]
    assert prov["excluded_by_class_set"] == {}
    assert (wd / "results/recognition/demo/confusion.png").stat().st_size > 1000
    assert len(list((wd / "results/spotting/demo/timelines").glob("*.png"))) == 3
    qc = pd.read_csv(wd / "results/qc/demo_faces.csv")
    assert (qc.detection_rate > 0.9).all()
    assert (wd / "logs/train_fold/demo/sub01.log").read_text().count("fold sub01") >= 1
    # the tiny config leaves training.model at its default, auto: each fold chose its model on
    # its two training subjects, recorded in selection.json, the checkpoint and the provenance
    for fold in ("sub01", "sub02", "sub03"):
        sel = json.loads((wd / f"results/train/demo/{fold}/selection.json").read_text())
        assert sel["method"] == "inner" and sel["models"] == ["flow_svm", "ststnet"] and sel["model"] in sel["models"]
        assert [s["model"] for s in sel["scores"]] == ["flow_svm", "ststnet"] and sel["chosen"] == {"model": sel["model"]}
        ck = __import__("torch").load(wd / f"results/train/demo/{fold}/model.pt", weights_only=False)
        assert ck["requested_model"] == "auto" and ck["model"] == sel["model"]
        assert prov["selection"][fold] == {"model": sel["model"]}
    assert sum(prov["models_chosen"].values()) == 3
    assert "model chosen per fold on its training subjects" in (wd / "results/recognition/demo/metrics.html").read_text()
    with h5py.File(wd / "results/inputs/demo.h5") as h:  # the inputs of both candidates
        assert h["x_apex"].shape == (9, 3, 28, 28) and h["x_flow_field"].shape == (9, 2, 128, 128)


# What `snakemake --report` must hold for the tiny run: category -> subcategory -> {label: file}.
REPORT = {
    "Recognition": {"demo": {"metric table": "results/recognition/demo/metrics.html", "metric table (CSV)": "results/demo_loso_metrics.csv",
                             "confusion matrix": "results/recognition/demo/confusion.png"}},
    "Spotting": {"demo: metrics": {"metric table": "results/spotting/demo/metrics.html", "metric table (CSV)": "results/demo_spotting_metrics.csv"},
                 "demo: score timelines": {v: f"results/spotting/demo/timelines/{v}.png" for v in ("s15_0101", "s16_0101", "s17_0101")}},
    "Face QC": {"demo": {"QC table": "results/qc/demo_faces.html", "aligned crops 001": "results/qc/demo_faces/crops_001.png"}},
}
# JavaScript helpers for the report's own menus: click a link by its text, find a result row by its label.
CLICK = "(t => { const a = [...document.querySelectorAll('a')].find(a => a.textContent.trim() === t); if (a) a.click(); return !!a; })"
ROW_BUTTON = "((t, i) => { const r = [...document.querySelectorAll('tr')].find(r => r.cells.length && r.cells[0].textContent.trim() === t); " \
             "if (!r) return false; r.cells[r.cells.length - 1].querySelectorAll('a')[i].click(); return true; })"


def _show(browser, report: Path, category: str, subcategory: str, label: str, button: int) -> None:
    """Open the report afresh and click through its menu: category, subcategory, then the
    result's view (button 0) or information (button 1) button."""
    browser.open(report)
    browser.wait_for("document.querySelector('#app') && document.querySelector('#app').children.length")
    assert browser.eval(f"{CLICK}({json.dumps(category)})"), f"no menu entry {category!r}"
    if len(REPORT[category]) > 1:
        assert browser.wait_for(f"{CLICK}({json.dumps(subcategory)})"), f"no menu entry {subcategory!r}"
    assert browser.wait_for(f"{ROW_BUTTON}({json.dumps(label)}, {button})"), f"no result row {label!r} in {category}/{subcategory}"


def _displayed_image_match(browser, uri: str, on_disk: Path, keep: Path, tries: int = 20) -> tuple[float, float]:
    """How closely the image the report displays from ``uri`` matches the file ``on_disk``:
    (correlation, mean absolute grey-level difference) of a screenshot clipped to the image, the
    file resized to the displayed size. The image must have loaded and been painted: the
    screenshot is retaken (after two animation frames) until it matches or ``tries`` run out, and
    the last one is kept in ``keep``."""
    import cv2

    want = cv2.imread(str(on_disk), cv2.IMREAD_GRAYSCALE)
    for _ in range(tries):
        rect = browser.wait_for(f"(() => {{ const i = [...document.images].find(i => i.src === {json.dumps(uri)}); "
                                "if (!i || !i.complete || !i.naturalWidth) return null; const r = i.getBoundingClientRect(); "
                                "return {x: r.x, y: r.y, width: r.width, height: r.height}; })()")
        browser.eval("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(true))))")
        shot = cv2.cvtColor(browser.screenshot(rect), cv2.COLOR_BGR2GRAY)
        ref = cv2.resize(want, (shot.shape[1], shot.shape[0]), interpolation=cv2.INTER_AREA).astype(np.float64)
        corr = float(np.corrcoef(shot.astype(np.float64).ravel(), ref.ravel())[0, 1])
        diff = float(np.abs(shot - ref).mean())
        if corr > 0.95 and diff < 8:
            break
        browser.pump(0.2)
    cv2.imwrite(str(keep), shot)
    return corr, diff


def _plain(caption_html: str) -> str:
    """A caption's text, as the browser shows it (tags dropped, entities decoded, spaces collapsed)."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", caption_html)).split())


@pytest.mark.slow
@pytest.mark.report
def test_report_renders_its_figures_in_headless_chromium(tiny_run, tmp_path):
    """`snakemake --report` on the tiny run, opened in headless Chromium and clicked through as a
    reader would: every figure is displayed as the image on disk (compared pixel by pixel), every
    metric table renders with the numbers of its CSV, every result shows its caption, the page
    loads nothing from outside the file and throws no script error."""
    import cv2
    from headless_chromium import Chromium, chromium_binary

    if chromium_binary() is None:  # never skipped silently: `make test` installs it
        pytest.fail("chromium is not installed: run `make install-system` (Debian package chromium)")
    wd, _ = tiny_run
    report = tmp_path / "report.html"
    snakemake(wd, "--report", str(report))
    with Chromium() as browser:
        browser.open(report)
        browser.wait_for("document.querySelector('#app') && document.querySelector('#app').children.length")
        categories = browser.eval("categories")
        assert {c: {s: sorted(f) for s, f in subs.items()} for c, subs in categories.items()} == \
            {c: {s: sorted(f.values()) for s, f in subs.items()} for c, subs in REPORT.items()}
        text = browser.eval("document.body.innerText")
        from mexp_lib.config import resolve_config

        model = resolve_config(yaml.safe_load((wd / "config/config.yaml").read_text()))["training"]["model"]
        assert "facial micro-expression spotting and recognition" in text and f"Recognition trains {model} leave one subject out" in " ".join(text.split())  # the workflow description, with the config
        assert browser.wait_for("document.querySelectorAll('svg, canvas').length > 2")  # the rule graph (vega)
        home = browser.screenshot()
        cv2.imwrite(str(tmp_path / "home.png"), home)
        assert home.std() > 20, "the start page is blank"
        results = browser.eval("results")
        for category, subs in REPORT.items():
            for subcategory, files in subs.items():
                for label, path in files.items():
                    entry = results[path]
                    caption = _plain(entry["caption"])
                    assert len(caption) > 100 and "{{" not in caption and ("demo" in caption or "CSV" in caption), (path, caption)
                    _show(browser, report, category, subcategory, label, 1)  # the information view shows the caption
                    assert browser.wait_for(f"document.body.innerText.replace(/\\s+/g, ' ').includes({json.dumps(caption[:60])})"), path
                    _show(browser, report, category, subcategory, label, 0)
                    on_disk = wd / path
                    if path.endswith(".png"):  # displayed, and the very image on disk
                        corr, diff = _displayed_image_match(browser, entry["data_uri"], on_disk, tmp_path / f"{on_disk.stem}.png")
                        assert corr > 0.95, (path, corr)
                        assert diff < 8, (path, diff)
                    elif path.endswith(".html"):  # the table renders inside the report with its CSV's values
                        browser.wait_for(f"[...document.querySelectorAll('iframe')].some(f => f.src === {json.dumps(entry['data_uri'])})")
                        frame = browser.frame_context("data:text/html")
                        rows = browser.wait_for("[...document.querySelectorAll('tbody tr')].map(r => [...r.cells].map(c => c.textContent))", context=frame)
                        csv = {"results/recognition/demo/metrics.html": "results/demo_loso_metrics.csv",
                               "results/spotting/demo/metrics.html": "results/demo_spotting_metrics.csv",
                               "results/qc/demo_faces.html": "results/qc/demo_faces.csv"}[path]
                        table = pd.read_csv(wd / csv, dtype=str, keep_default_na=False)
                        assert [r[0] for r in rows] == table.iloc[:, 0].tolist(), path
                        numeric = [c for c in table.columns if c in ("uf1", "f1", "detection_rate")][0]
                        col = browser.eval(f"[...document.querySelectorAll('thead th')].map(h => h.textContent).indexOf({json.dumps(numeric)})", frame)
                        assert col >= 0, (path, numeric)
                        assert [r[col] for r in rows] == [f"{float(v):.3f}" for v in table[numeric]], (path, numeric)
                        box = browser.eval("(() => { const r = document.querySelector('iframe').getBoundingClientRect(); return {x: r.x, y: r.y, width: r.width, height: r.height}; })()")
                        shot = browser.screenshot(box)
                        cv2.imwrite(str(tmp_path / f"{on_disk.stem}_{category}.png".replace(" ", "_")), shot)
                        assert (cv2.cvtColor(shot, cv2.COLOR_BGR2GRAY) < 128).mean() > 0.005, f"{path}: no text drawn"
                    else:  # a CSV is offered for download, byte for byte
                        href = browser.eval(f"[...document.querySelectorAll('a[download]')].map(a => a.href).find(h => h === {json.dumps(entry['data_uri'])}) || null")
                        assert href is not None, path
                        assert base64.b64decode(href.split("base64,", 1)[1]) == on_disk.read_bytes(), path
        assert not [u for u in browser.requests if not u.startswith(("data:", "file:", "about:"))], browser.requests
        assert browser.errors == [], browser.errors


@pytest.mark.slow
def test_retraining_reproduces_the_metrics(tiny_run):
    wd, _ = tiny_run
    before = (wd / "results/demo_loso_metrics.csv").read_text()
    snakemake(wd, "-R", "train_fold", "--", "results/demo_loso_metrics.csv")
    assert (wd / "results/demo_loso_metrics.csv").read_text() == before


@pytest.mark.slow
def test_config_edit_reruns_only_downstream(tiny_run):
    wd, _ = tiny_run
    assert "Nothing to be done" in (lambda o: o.stdout + o.stderr)(snakemake(wd, "-n"))
    cfg = yaml.safe_load((wd / "config/config.yaml").read_text())
    edited = wd / "edited.yaml"
    cfg["flow"] = {"method": "dis"}
    edited.write_text(yaml.safe_dump(cfg))
    out = snakemake(wd, "-n", "--configfile", str(edited))
    jobs = planned_jobs(out.stdout + out.stderr)
    assert jobs["compute_flow"] == 3 and jobs["train_fold"] == 3 and jobs["evaluate_recognition"] == 1  # 9 clips, at most 4 to a job
    for upstream in ("generate_demo", "detect_landmarks", "align_faces", "normalise_clip", "magnify_motion", "compute_spotting_features"):
        assert upstream not in jobs, upstream


@pytest.mark.slow
@pytest.mark.parametrize("edit,key", [({"face": {"size": "big"}}, "size"), ({"flow": {"methd": "dis"}}, "methd"),
                                      ({"flow": {"tvl1": {"warsp": 3}}}, "flow.tvl1.warsp: unknown key (did you mean 'warps'?)")])
def test_bad_config_value_stops_at_validation(tmp_path, edit, key):
    cfg = yaml.safe_load((REPO / "tests/configs/tiny.yaml").read_text()) | edit
    (tmp_path / "config").mkdir()
    (tmp_path / "config/config.yaml").write_text(yaml.safe_dump(cfg))
    out = snakemake(tmp_path, "-n", check=False)
    assert out.returncode != 0
    assert key in out.stdout + out.stderr
    assert not (tmp_path / "results").exists()


@pytest.mark.slow
def test_generic_format_runs_through_both_targets(tiny_run, tmp_path):
    """The tiny demo re-written in the generic format (frame folders, 1-based positions, CSV)
    goes through both metric targets with no code change."""
    wd, _ = tiny_run
    samples = pd.read_csv(wd / "results/samples/demo.csv", dtype={"subject": str}, keep_default_na=False)
    cfg = yaml.safe_load((REPO / "tests/configs/tiny.yaml").read_text())
    cfg["datasets"] = {}
    # the format is what is tested, not the model: the linear SVM, without the default's nested
    # selection (every model trains in tests/test_training.py, auto in the tiny run)
    cfg["training"]["model"] = "flow_svm"
    for task, name in (("recognition", "gclips"), ("spotting", "glong")):
        root = tmp_path / name
        rows = []
        for video, g in samples[samples.task == task].groupby("video"):
            (root / video).mkdir(parents=True)
            frames = sorted((wd / g.frames.iloc[0]).resolve().glob("*.png"), key=lambda p: int(p.stem[3:]))
            first = int(frames[0].stem[3:])
            for i, f in enumerate(frames):
                (root / video / f"frame_{i:05d}.png").symlink_to(f)
            for _, r in g.iterrows():
                rows.append({"subject": r.subject, "video": video, "onset": r.onset - first + 1, "apex": r.apex - first + 1,
                             "offset": r.offset - first + 1, "type": r.type, "emotion": r.emotion})
        pd.DataFrame(rows).to_csv(tmp_path / f"{name}.csv", index=False)
        cfg["datasets"][name] = {"format": "generic", "root": str(root), "annotations": str(tmp_path / f"{name}.csv"),
                                 "fps": float(samples[samples.task == task].fps.iloc[0]), "task": task}
    work = tmp_path / "work"
    (work / "config").mkdir(parents=True)
    (work / "config/config.yaml").write_text(yaml.safe_dump(cfg))
    snakemake(work, "results/gclips_loso_metrics.csv", "results/glong_spotting_metrics.csv")
    rec = pd.read_csv(work / "results/gclips_loso_metrics.csv", dtype={"fold": str}).set_index("fold")
    assert rec.loc["all", "n"] == 9
    spot = pd.read_csv(work / "results/glong_spotting_metrics.csv").set_index("type")
    assert spot.loc["all", "tp"] + spot.loc["all", "fn"] == 9
    # the same frames and expressions give the same spotting counts as in the demo layout
    demo = pd.read_csv(wd / "results/demo_spotting_metrics.csv").set_index("type")
    assert spot.loc["all", ["tp", "fp", "fn"]].tolist() == demo.loc["all", ["tp", "fp", "fn"]].tolist()
    assert not any(p.suffix != ".png" for p in (tmp_path / "glong").rglob("*") if p.is_file()), "nothing written into the dataset"


@pytest.mark.slow
def test_precomputed_inputs_run_without_face_or_motion_stages(real, tmp_path):
    """Real published flow images of three composite subjects, one seed, through the workflow."""
    d = real / "wangzhifengharrison__HTNet"
    labels = pd.read_csv(d / "combined_3_class2_for_optical_flow.csv")
    rows = labels[labels["sub"].isin(["sub01", "sub02", "sub05"])]
    rows.to_csv(tmp_path / "labels.csv", index=False)
    # joined to the official CASME II sheet, as it ships: its '/' apex (sub04) is a recorded quirk
    casme2 = {"format": "casme2", "annotations": str(real / "AloveDL__Hubing-EMs/CASME2-coding-20140508.xlsx")}
    cfg = {"datasets": {"flow3": {"format": "precomputed", "root": str(d / "STSNet_whole_norm_u_v_os"), "annotations": str(tmp_path / "labels.csv"),
                                  "sources": {"casme2": casme2}}},
           "training": {"model": "offapexnet", "epochs": 2, "batch_size": 16, "seeds": [0]}}
    work = tmp_path / "work"
    (work / "config").mkdir(parents=True)
    (work / "config/config.yaml").write_text(yaml.safe_dump(cfg))
    dry = snakemake(work, "-n", "results/flow3_loso_metrics.csv")
    assert planned_jobs(dry.stdout + dry.stderr) == {"build_sample_table": 1, "build_inputs": 1, "train_fold": 3, "evaluate_recognition": 1}
    snakemake(work, "results/flow3_loso_metrics.csv")
    rec = pd.read_csv(work / "results/flow3_loso_metrics.csv", dtype={"fold": str}).set_index("fold")
    assert rec.loc["all", "n"] == len(rows) and rec.loc["all", "dataset"] == "all"
    preds = pd.read_csv(work / "results/recognition/flow3/predictions.csv", dtype={"subject": str})
    assert sorted(preds.subject.unique()) == ["sub01", "sub02", "sub05"] and set(preds.dataset) == {"casme2"}
    sheet = json.loads((work / "results/flow3_loso_metrics.provenance.json").read_text())["config"]["sheet_report"]
    assert sheet["rows_skipped"] == 0 and sheet["fixes"] == {"kept, apex unknown (-1)": 1}
    assert sheet["rows"][0]["problem"] == "ApexFrame='/' is not a frame number" and sheet["rows"][0]["row"] == 31
    assert "annotation sheet: 0 rows skipped, 1 kept with a fix" in (work / "results/recognition/flow3/metrics.html").read_text()
    skipped = pd.read_csv(work / "results/samples/flow3.skipped.csv")
    assert skipped.action.tolist() == ["kept, apex unknown (-1)"]


@pytest.mark.slow
def test_a_sequence_model_by_one_config_switch_reruns_from_the_flow(tiny_run, tmp_path):
    """training.model switches the model in the workflow (every model trains in process:
    tests/test_training.py). The tiny run's candidates read the onset -> apex pair only; ELRCN
    reads the flow of every frame and the grey clip, so the flow reruns and nothing upstream of it."""
    wd, _ = tiny_run
    work = tmp_path / "work"
    shutil.copytree(wd, work, symlinks=True)
    cfg = yaml.safe_load((work / "config/config.yaml").read_text())
    cfg["training"] = {**cfg.get("training", {}), "model": "elrcn_se", "epochs": 2}
    (work / "config/config.yaml").write_text(yaml.safe_dump(cfg))
    dry = snakemake(work, "-n", "results/demo_loso_metrics.csv")
    jobs = planned_jobs(dry.stdout + dry.stderr)
    assert jobs["train_fold"] == 3 and jobs["compute_flow"] == 3 and jobs["build_inputs"] == 1, jobs
    assert not {"detect_landmarks", "align_faces", "normalise_clip", "magnify_motion"} & set(jobs), "only flow, packing, training and evaluation rerun"
    snakemake(work, "results/demo_loso_metrics.csv")
    rec = pd.read_csv(work / "results/demo_loso_metrics.csv", dtype={"fold": str}).set_index("fold")
    assert rec.loc["all", "n"] == 9 and 0 <= rec.loc["all", "uf1"] <= 1
    ck = __import__("torch").load(work / "results/train/demo/sub01/model.pt", weights_only=False)
    assert ck["config"]["model"] == ck["model"] == "elrcn_se"
    with h5py.File(work / "results/inputs/demo.h5") as h:  # flow u, v, strain + the grey frame, every frame of the clip
        assert list(h) == ["sample", "x_sequence_grey"] and h["x_sequence_grey"].shape == (9, 6, 4, 28, 28)


@pytest.mark.slow
def test_learned_spotter_by_one_switch_and_its_model_in_mexp_spot(tiny_run, tmp_path):
    """spotting.spotter: learned (with spot-then-recognise) reruns only the spotting, not the
    features; the model it saves drives `mexp spot` on a long video of the demo."""
    import torch

    wd, _ = tiny_run
    work = tmp_path / "work"
    shutil.copytree(wd, work, symlinks=True)
    cfg = yaml.safe_load((work / "config/config.yaml").read_text())
    cfg["spotting"] = {**cfg.get("spotting", {}), "spotter": "learned", "recognise": True}
    (work / "config/config.yaml").write_text(yaml.safe_dump(cfg))
    dry = snakemake(work, "-n", "results/demo_spotting_metrics.csv")
    assert planned_jobs(dry.stdout + dry.stderr) == {"spot_intervals": 1, "evaluate_spotting": 1}
    snakemake(work, "results/demo_spotting_metrics.csv")
    spot = pd.read_csv(work / "results/demo_spotting_metrics.csv").set_index("type")
    assert spot.loc["all", "tp"] + spot.loc["all", "fn"] == 9
    strs = pd.read_csv(work / "results/spotting/demo/strs.csv").iloc[0]
    assert strs.recognised and 0 <= strs.strs <= 1 and strs.strs == pytest.approx(strs.spot_f1 * strs.analysis_macro_f1, abs=2e-6)  # the CSV holds 6 decimals
    assert set(pd.read_csv(work / "results/spotting/demo/intervals.csv").emotion) <= {"negative", "positive", "surprise"}
    model = work / "results/spotting/demo/model.pt"
    assert torch.load(model, weights_only=True)["net"] is not None
    video = sorted((work / "results/datasets/demo/rawpic").glob("*/*"))[0]
    out = subprocess.run([str(Path(sys.executable).parent / "mexp"), "spot", str(video), "--fps", "30", "--model", str(model), "-o", str(tmp_path / "iv.csv")],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    assert list(pd.read_csv(tmp_path / "iv.csv").columns) == ["video", "onset", "offset", "type", "emotion"], "the model recognises too"


@pytest.mark.slow
def test_holdout_database_protocol(real, tmp_path):
    """Train on CASME II, test on SAMM and the reverse: one fold per source database."""
    d = real / "wangzhifengharrison__HTNet"
    lst = pd.read_csv(d / "combined_3_class2_for_optical_flow.csv", dtype=str)
    keep = lst[lst["sub"].isin(["sub01", "sub02", "sub05", "006", "007", "011"])]
    keep.to_csv(tmp_path / "list.csv", index=False)
    cfg = {"datasets": {"two": {"format": "precomputed", "root": str(d / "STSNet_whole_norm_u_v_os"), "annotations": str(tmp_path / "list.csv")}},
           "recognition": {"protocol": "holdout_db"}, "training": {"epochs": 2, "seeds": [0]}}
    work = tmp_path / "work"
    (work / "config").mkdir(parents=True)
    (work / "config/config.yaml").write_text(yaml.safe_dump(cfg))
    snakemake(work, "results/two_loso_metrics.csv")
    assert sorted(p.name for p in (work / "results/train/two").iterdir()) == ["casme2", "samm"]
    preds = pd.read_csv(work / "results/recognition/two/predictions.csv", dtype={"subject": str})
    assert len(preds) == len(keep) and set(preds.dataset) == {"casme2", "samm"}
    table = pd.read_csv(work / "results/two_loso_metrics.csv", dtype={"fold": str})
    assert set(table[table.fold == "all"].dataset) == {"casme2", "samm", "all"}


@pytest.mark.slow
def test_results_do_not_depend_on_the_chunk_size(tiny_run, tmp_path):
    """batching.clips_per_job is execution only: the 9 short clips in one job give the flow
    stores that the tiny run's three jobs (at most 4 clips to a job: 3, 3, 3) gave. The new size
    re-plans the short clips' chunks, so their stages rerun and what follows them; the long
    videos' chunks (000-002, first) stay, so their landmarks, faces and spotting features do not."""
    from mexp_lib.io.h5store import read_arrays

    wd, _ = tiny_run
    short = ("003", "004", "005")
    assert [len(list((wd / f"results/flow/demo/{c}").glob("*.h5"))) for c in short] == [3, 3, 3]
    assert not list((wd / "results/flow/demo").glob("00[0-2]/*.h5")), "the long videos' chunks hold no recognition clip"
    work = tmp_path / "work"
    shutil.copytree(wd, work, symlinks=True)
    cfg = yaml.safe_load((work / "config/config.yaml").read_text())
    cfg["batching"] = {"clips_per_job": 9}
    (work / "config/config.yaml").write_text(yaml.safe_dump(cfg))
    out = snakemake(work, "-n")
    jobs = planned_jobs(out.stdout + out.stderr)
    stages = ("detect_landmarks", "align_faces", "normalise_clip", "magnify_motion", "compute_flow")
    assert {r: jobs.get(r) for r in stages} == dict.fromkeys(stages, 1)
    assert not {"generate_demo", "build_sample_table", "compute_spotting_features", "spot_intervals"} & set(jobs), jobs
    snakemake(work, "results/flow/demo/003")
    new = sorted((work / "results/flow/demo/003").glob("*.h5"))
    assert len(new) == 9
    for f in new:
        (old,) = wd.glob(f"results/flow/demo/*/{f.name}")
        a, b = read_arrays(f, "flow", "strain", "pairs"), read_arrays(old, "flow", "strain", "pairs")
        for k in a:
            np.testing.assert_array_equal(a[k], b[k])
