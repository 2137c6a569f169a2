"""Per-job cost: what a per-clip stage imports, and flow pairs spread over threads."""

from __future__ import annotations

import re
import subprocess
import sys

import numpy as np
import pytest
from conftest import REPO, shift_image, textured_image


@pytest.mark.parametrize("module,heavy", [
    ("mexp_lib.face.stage", ("pandas", "torch", "scipy.signal", "matplotlib", "jsonschema")),
    ("mexp_lib.motion.stage", ("pandas", "torch", "scipy.signal", "matplotlib", "jsonschema")),
    ("mexp_lib.spotting.stage", ("torch", "scipy.signal", "jsonschema")),
])
def test_a_stage_imports_only_what_it_needs(module, heavy):
    """The per-video and per-clip stages' modules leave out what they do not use (pandas alone
    costs ~0.5 s of every job's start-up, scipy.signal ~1 s, torch ~2 s)."""
    code = f"import sys, {module}; print(','.join(m for m in {heavy!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    assert out.stdout.strip() == ""
    # the paired case: the check sees a heavy import when there is one
    code = f"import sys, {module}, pandas, scipy.signal; print(','.join(m for m in {heavy!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    assert "scipy.signal" in out.stdout


@pytest.mark.parametrize("method", ["tvl1", "dis"])
def test_flow_pairs_over_threads_give_the_same_flow(method):
    from mexp_lib.config import settings
    from mexp_lib.motion.flow import FlowParams, optical_flow

    a = textured_image(64, seed=3).astype(np.float32)
    clip = np.stack([shift_image(a, 0.4 * i, 0.2 * i) for i in range(7)])
    params = FlowParams(method, settings("flow")[method])
    one, pairs1 = optical_flow(clip, params=params, reference="onset")
    three, pairs3 = optical_flow(clip, params=params, reference="onset", threads=3)
    assert pairs1 == pairs3
    np.testing.assert_array_equal(one, three)
    assert np.abs(one[-1, 16:-16, 16:-16, 0].mean() - 2.4) < 0.3, "the flow measures the known shift"


def test_the_command_line_starts_without_the_stages():
    """`mexp` builds its parser (every stage command, with the schema's defaults) without
    importing a stage: each command imports only its own."""
    code = "import sys; from mexp_lib.cli import build_parser; build_parser(); print(','.join(m for m in sys.modules if m.startswith(('mexp_lib.spotting', 'mexp_lib.face', 'mexp_lib.motion', 'pandas', 'torch'))))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    assert out.stdout.strip() == ""


@pytest.mark.parametrize("apex", [4, -1])
def test_an_apex_model_gets_only_the_apex_pair_and_the_same_input(tmp_path, apex):
    from mexp_lib.io.h5store import read_arrays, write_store
    from mexp_lib.motion.stage import compute_flow
    from mexp_lib.recognition.inputs import apex_flow_input

    a = textured_image(64, seed=4).astype(np.float32)
    clip = np.stack([shift_image(a, 0.3 * min(i, 4), 0.1 * i) for i in range(7)])
    write_store(tmp_path / "clip.h5", {"frames": clip}, {"apex_index": apex, "fps": 30.0})
    compute_flow(str(tmp_path / "clip.h5"), cfg={}, out=tmp_path / "all.h5")
    compute_flow(str(tmp_path / "clip.h5"), cfg={}, out=tmp_path / "apex.h5", pairs="apex")
    full, only = read_arrays(tmp_path / "all.h5", "flow", "pairs"), read_arrays(tmp_path / "apex.h5", "flow", "pairs")
    if apex >= 0:
        assert only["pairs"].tolist() == [[0, apex]] and len(full["pairs"]) == 7
        np.testing.assert_array_equal(only["flow"][0], full["flow"][apex])
    else:  # an unknown apex is found from the motion of every frame: every pair is needed
        assert len(only["pairs"]) == 7
    np.testing.assert_array_equal(apex_flow_input(tmp_path / "apex.h5", 28), apex_flow_input(tmp_path / "all.h5", 28))


def test_chunks_are_deterministic_and_keep_long_videos_apart():
    from mexp_lib.chunks import chunk_of, plan_chunks

    videos = [f"v{i:02d}" for i in range(7)] + ["long_b", "long_a"]
    plan = plan_chunks(videos, long={"long_a", "long_b"}, clips_per_job=3)
    # each long video apart, first; 7 short clips at most 3 to a job: 3 chunks of sizes 2-3 (not 3, 3, 1)
    assert plan == {"000": ["long_a"], "001": ["long_b"], "002": ["v00", "v01"], "003": ["v02", "v03"], "004": ["v04", "v05", "v06"]}
    assert plan_chunks(reversed(videos), long={"long_b", "long_a"}, clips_per_job=3) == plan, "the listing order does not matter"
    assert chunk_of(plan)["v03"] == "003" and chunk_of(plan)["long_b"] == "001"
    # a new chunk size moves the short clips' chunks, never a long video's
    assert {c: v for c, v in plan_chunks(videos, long={"long_a", "long_b"}, clips_per_job=10).items() if len(v) == 1} == {"000": ["long_a"], "001": ["long_b"]}
    assert list(plan_chunks(videos, clips_per_job=1)) == [f"{i:03d}" for i in range(9)]
    # the paired failing case: a chunk size that is not a positive integer names the key
    for bad in (0, 2.5, True):
        with pytest.raises(Exception, match="batching.clips_per_job"):
            plan_chunks(videos, clips_per_job=bad)


def test_the_saved_face_detector_finds_what_dlibs_own_finds(tmp_path, monkeypatch):
    """The HOG detector read from its saved copy (milliseconds) is dlib's own (rebuilt at every
    get_frontal_face_detector call, ~1 s): same boxes and scores on a face and on a crop."""
    import dlib

    from mexp_lib.datasets.demo_render import base_face
    from mexp_lib.face.landmarks import frontal_face_detector

    monkeypatch.setenv("MEXP_CACHE", str(tmp_path / "cache"))
    first = frontal_face_detector()  # writes the copy
    saved = list((tmp_path / "cache").glob("dlib-*-frontal_face_detector.svm"))
    assert len(saved) == 1
    second = frontal_face_detector()  # reads it
    own = dlib.get_frontal_face_detector()
    img, _ = base_face(192)
    grey = np.ascontiguousarray(np.clip(img, 0, 255).astype(np.uint8)[..., 1])  # dlib reads contiguous images only
    for probe in (grey, np.ascontiguousarray(grey[20:150, 30:170])):
        ref = own.run(probe, 1, -0.5)
        assert len(ref[0]) >= 1
        for det in (first, second):
            got = det.run(probe, 1, -0.5)
            assert [(r.left(), r.top(), r.right(), r.bottom()) for r in got[0]] == [(r.left(), r.top(), r.right(), r.bottom()) for r in ref[0]]
            assert got[1] == ref[1]
    # the paired failing case: a damaged copy is not used (rebuilt, with the same detections)
    saved[0].write_bytes(b"not a detector")
    third = frontal_face_detector()
    assert [r.left() for r in third.run(grey, 1, -0.5)[0]] == [r.left() for r in own.run(grey, 1, -0.5)[0]]


def test_the_landmark_models_load_once_per_process_and_setting():
    from mexp_lib.face.landmarks import make_landmarker

    a, b = make_landmarker({}), make_landmarker({"backend": "dlib"})
    assert a is b, "a chunk's videos share the models"
    assert make_landmarker({"upsample": 2}) is not a, "another setting gets its own"


def test_mexp_preprocess_gives_what_the_three_commands_give(tmp_path):
    """`mexp preprocess` (one process) writes the flow store that `mexp landmarks` -> `mexp align`
    -> `mexp flow` write, for the same settings; another flow setting gives another flow."""
    import cv2

    from mexp_lib.cli import main
    from mexp_lib.datasets.demo_render import base_face
    from mexp_lib.io.h5store import read_arrays
    from mexp_lib.motion.synthetic import move_by_field, smooth_field

    img, _ = base_face(160)
    grey = cv2.cvtColor(np.clip(img, 0, 255).astype(np.uint8), cv2.COLOR_BGR2GRAY)
    field = smooth_field(grey.shape, low=0.2, high=2.0)
    (tmp_path / "clip").mkdir()
    for i, s in enumerate(np.sin(np.pi * np.arange(6) / 5)):
        cv2.imwrite(str(tmp_path / f"clip/img{i + 1}.png"), np.clip(np.rint(move_by_field(grey, (field * s).astype(np.float32))), 0, 255).astype(np.uint8))
    clip, w = str(tmp_path / "clip"), tmp_path
    dis = ["--method", "dis", "--set", "dis.variational_refinement_iterations=3"]
    assert main(["landmarks", clip, "-o", str(w / "lm.json"), "--strategy", "clip"]) == 0
    assert main(["align", clip, "--landmarks", str(w / "lm.json"), "-o", str(w / "faces.h5")]) == 0
    assert main(["flow", str(w / "faces.h5"), "-o", str(w / "flow.h5")] + dis) == 0
    assert main(["preprocess", clip, "-o", str(w / "pp.h5"), "--method", "dis", "--set", "flow.dis.variational_refinement_iterations=3"]) == 0
    three, one = read_arrays(w / "flow.h5", "flow", "strain", "pairs"), read_arrays(w / "pp.h5", "flow", "strain", "pairs")
    for k in ("flow", "strain", "pairs"):
        np.testing.assert_array_equal(one[k], three[k])
    assert np.abs(one["flow"].astype(np.float32)).max() > 0.5, "the clip moves"
    assert main(["preprocess", clip, "-o", str(w / "tv.h5")]) == 0  # the schema's TV-L1: another flow
    assert np.abs(read_arrays(w / "tv.h5", "flow")["flow"].astype(np.float32) - one["flow"].astype(np.float32)).max() > 1e-2
    # a key outside the face and flow sections fails naming it
    assert main(["preprocess", clip, "-o", str(w / "x.h5"), "--set", "training.epochs=3"]) == 2


def readme_pipeline_block(text: str) -> str:
    from bench_pipeline import BEGIN, END

    return text.split(BEGIN, 1)[1].split(END, 1)[0]


def pipeline_block_problems(block: str) -> list[str]:
    """What does not add up in bench_pipeline's README block: each chain's ratio must be the seed
    chain's median over its own, and its error verdict must follow the two errors printed."""
    rows = dict(re.findall(r"^   (seed-style chain|mexp[\w ,]*?|preprocess[\w ,]*?|workflow[\w ,]*?)\s{2,}(\d+\.\d\d)\s", block, re.M))
    problems = []
    seed = float(rows.pop("seed-style chain"))
    for chain, median in rows.items():
        m = re.search(rf"^   {re.escape(chain)}: (\d+\.\d\d)x the seed-style chain .*; end-point error (lower or equal|HIGHER) than the seed's "
                      rf"relative to the motion \((\d+\.\d\d)% vs (\d+\.\d\d)%; \d\.\d+ vs \d\.\d+ px\)$", block, re.M)
        if m is None:
            problems.append(f"{chain}: no ratio line")
            continue
        # the printed medians are rounded to 0.01 s: the ratio they give may differ by that much
        slack = seed / float(median) * (0.005 / float(median) + 0.005 / seed) + 0.005
        if abs(float(m.group(1)) - seed / float(median)) > slack:
            problems.append(f"{chain}: {m.group(1)}x is not {seed} / {median}")
        if (m.group(2) == "lower or equal") != (float(m.group(3)) <= float(m.group(4))):
            problems.append(f"{chain}: verdict {m.group(2)!r} for {m.group(3)} vs {m.group(4)}")
    return problems


def test_the_readme_throughput_figures_are_bench_pipelines_and_add_up():
    sys.path.insert(0, str(REPO / "benchmarks"))
    block = readme_pipeline_block((REPO / "README.md").read_text())
    assert "preprocess, DIS refined" in block and "workflow, tight crop, DIS" in block and "per clip" in block
    assert pipeline_block_problems(block) == []
    # the paired failing case: a figure edited by hand no longer adds up
    edited = re.sub(r"(preprocess, DIS refined: )\d+\.\d\d", r"\g<1>9.99", block)
    problems = pipeline_block_problems(edited)
    assert len(problems) == 1 and problems[0].startswith("preprocess, DIS refined: 9.99x is not "), problems


def test_the_five_x_budget_line_adds_up():
    """bench_pipeline's budget line: 5x the seed's 10 s leaves 2 s; a DIS chain of 1.6 s whose 42
    pairs take 42 / 150 = 0.28 s spends 1.32 s outside the flow, so the flow may take 0.68 s
    (62 pairs/s, 2.8x a TV-L1 at 22 pairs/s); a chain already slower outside the flow gets no
    budget."""
    sys.path.insert(0, str(REPO / "benchmarks"))
    from bench_pipeline import five_x_budget

    line = five_x_budget(10.0, 1.6, 150.0, 22.0, 42)
    assert "at most 2.00 s per clip" in line and "about 1.32 s outside" in line and "may take 0.68 s: 62 pairs/s, 2.8x" in line, line
    assert five_x_budget(10.0, 2.5, 150.0, 22.0, 42).endswith("more than that already")
