"""Per-job cost: what a per-clip stage imports, and flow pairs spread over threads."""

from __future__ import annotations

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
    from mexp_lib.recognition.train import apex_flow_input

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
