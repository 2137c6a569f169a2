"""No user input ends in a traceback: each bad command line gives one ``mexp: error: ...`` line
naming the file, row, key or flag at fault, and a non-zero exit status. Long commands show
their progress: a bar on a terminal, log lines otherwise."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest


def _mexp(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "mexp_lib.cli", *map(str, args)], capture_output=True, text=True, cwd=cwd)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory, real) -> dict[str, Path]:
    """Small bad inputs: frames of two sizes (a real face, so detection succeeds), ten textured
    frames, spotting CSVs with a non-numeric frame, a generic sheet."""
    from mexp_lib.datasets.demo_render import base_face

    d = tmp_path_factory.mktemp("cli")
    face = np.clip(base_face(192)[0], 0, 255).astype(np.uint8)
    (d / "sizes").mkdir()
    for i in range(24):
        cv2.imwrite(str(d / "sizes" / f"img{i + 1:03d}.png"), face if i < 12 else cv2.resize(face, (160, 160)))
    (d / "ten").mkdir()
    rng = np.random.default_rng(0)
    for i in range(10):
        cv2.imwrite(str(d / "ten" / f"img{i + 1}.png"), rng.integers(0, 255, (32, 32), dtype=np.uint8))
    (d / "gt.csv").write_text("video,onset,offset,type\nv,1,10,micro\n")
    (d / "pred.csv").write_text("video,onset,offset,type\nv,5,12,micro\nv,abc,10,micro\n")
    (d / "generic.csv").write_text("subject,video,onset,apex,offset,type,emotion\ns1,ten,1,5,10,micro,happiness\n")
    return {"dir": d, "smic": real / "davidnvq__me_recognition/datasets/SMIC-HS-E_annotation.xlsx"}


# (command, what the one error line must name)
CASES = {
    "smic camera unknown": (["dataset", "info", "s", "--format", "smic", "--annotations", "{smic}", "--camera", "ir"], ["camera 'IR'", "HS, VIS, NIR"]),
    "recognition missing file": (["eval", "recognition", "{dir}/missing.csv"], ["missing.csv", "file not found"]),
    "recognition a folder": (["eval", "recognition", "{dir}/ten"], ["ten", "file not found"]),
    "spotting non-numeric frame": (["eval", "spotting", "--gt", "{dir}/gt.csv", "--pred", "{dir}/pred.csv"], ["--pred", "pred.csv", "line 3", "onset='abc'"]),
    "strs missing file": (["eval", "strs", "--gt", "{dir}/none.csv", "--pred", "{dir}/pred.csv"], ["--gt", "none.csv"]),
    "landmarks frames of two sizes": (["landmarks", "{dir}/sizes", "-o", "{dir}/l.json"], ["img013.png", "(160, 160)", "one size"]),
    "spot frames of two sizes": (["spot", "{dir}/sizes", "-o", "{dir}/s.csv", "--fps", "30"], ["img013.png", "(160, 160)", "one size"]),
    "demo format without root": (["dataset", "info", "d", "--format", "demo"], ["--format demo", "--root"]),
    "generic format without fps": (["dataset", "info", "g", "--format", "generic", "--annotations", "{dir}/generic.csv", "--root", "{dir}"], ["--fps"]),
    "generic config without fps": (["dataset", "info", "g", "--config", "{dir}/cfg.yaml"], ["datasets.g", "'fps'"]),
    "flow skip beyond the clip": (["flow", "{dir}/ten", "-o", "{dir}/f.h5", "--reference", "skip:100"], ["ten", "10 frames", "skip:100"]),
    "flow skip not a number": (["flow", "{dir}/ten", "-o", "{dir}/f.h5", "--reference", "skip:x"], ["skip:x", "integer"]),
    "frames folder missing": (["flow", "{dir}/nowhere", "-o", "{dir}/f.h5"], ["nowhere", "no such frames folder"]),
    "preprocess frames folder missing": (["preprocess", "{dir}/nowhere", "-o", "{dir}/p.h5"], ["nowhere", "no such frames folder"]),
    "preprocess key of another section": (["preprocess", "{dir}/sizes", "-o", "{dir}/p.h5", "--set", "training.epochs=3"], ["--set training", "face.KEY=VALUE"]),
    "preprocess typo in a nested key": (["preprocess", "{dir}/sizes", "-o", "{dir}/p.h5", "--set", "flow.tvl1.warsp=3"], ["tvl1.warsp", "did you mean 'warps'"]),
    "config not YAML": (["dataset", "info", "g", "--config", "{dir}/gt.csv"], ["--config", "gt.csv", "datasets"]),
    "config missing": (["dataset", "info", "g", "--config", "{dir}/none.yaml"], ["none.yaml", "No such file"]),
    "dataset not in config": (["dataset", "info", "zz", "--config", "{dir}/cfg.yaml"], ["cfg.yaml", "no dataset 'zz'", "'g'"]),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_is_one_error_line(inputs, case):
    args, named = CASES[case]
    (inputs["dir"] / "cfg.yaml").write_text(f"datasets:\n  g:\n    format: generic\n    root: {inputs['dir']}\n    annotations: {inputs['dir']}/generic.csv\n")
    r = _mexp(*(a.format(**inputs) for a in args))
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert "Traceback" not in r.stderr, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mexp: error: "), r.stderr
    for word in named:
        assert word in lines[0], (word, lines[0])


def test_flow_skip_writes_nothing(inputs):
    """The store of a flow with no frame pair is not written (it used to be an empty store, exit 0)."""
    out = inputs["dir"] / "empty.h5"
    assert _mexp("flow", inputs["dir"] / "ten", "-o", out, "--reference", "skip:100").returncode == 2
    assert not out.exists()
    r = _mexp("flow", inputs["dir"] / "ten", "-o", out, "--method", "dis", "--reference", "skip:3")
    assert r.returncode == 0 and "7 flow pairs" in r.stdout, r.stderr


def test_smic_camera_in_lower_case(inputs):
    r = _mexp("dataset", "info", "s", "--format", "smic", "--annotations", inputs["smic"], "--camera", "hs")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("s: 171 samples, 157 videos, 16 subjects; 0 rows skipped; 1 rows kept with a fix (duplicate, kept once: 1)"), r.stdout


def test_closed_pipe_ends_quietly(real, tmp_path):
    """``mexp eval ... | head -1``: the reader goes away; no BrokenPipeError traceback."""
    err = tmp_path / "stderr"
    with open(err, "w") as e:
        p = subprocess.Popen([sys.executable, "-m", "mexp_lib.cli", "eval", "recognition", str(real / "davidnvq__me_recognition/result_log.csv")],
                             stdout=subprocess.PIPE, stderr=e)
        assert p.stdout is not None
        p.stdout.close()  # closed before the command (still importing) writes a byte
        rc = p.wait(timeout=120)
    assert rc == 141, err.read_text()
    assert err.read_text() == ""


def _run_on_terminal(args):
    """Run mexp with stderr on a pseudo-terminal; returns (exit status, what the terminal got)."""
    import os
    import pty

    main_fd, term = pty.openpty()
    p = subprocess.Popen([sys.executable, "-m", "mexp_lib.cli", *map(str, args)], stdout=subprocess.PIPE, stderr=term)
    os.close(term)
    got = b""
    while True:
        try:
            chunk = os.read(main_fd, 4096)
        except OSError:  # the terminal closed: the command ended
            break
        if not chunk:
            break
        got += chunk
    rc = p.wait(timeout=120)
    os.close(main_fd)
    return rc, got.decode(errors="replace")


def test_progress_is_a_bar_on_a_terminal_and_log_lines_otherwise(inputs):
    args = ["flow", inputs["dir"] / "ten", "-o", inputs["dir"] / "p.h5", "--method", "dis", "--reference", "previous"]
    rc, term = _run_on_terminal(args)
    assert rc == 0, term
    assert "\r" in term and "flow (dis): [" in term and "] 10/10 (" in term, term
    assert "INFO" not in term, "no log lines on a terminal"
    out = _mexp(*args)  # stderr to a pipe: log lines
    assert out.returncode == 0
    assert "\r" not in out.stderr and "INFO mexp_lib: " in out.stderr and "flow (dis): 10/10 (" in out.stderr, out.stderr


@pytest.mark.parametrize("args, line", [
    (["spot", "{dir}/ten", "-o", "{dir}/s.csv", "--fps", "0"], "mexp spot: error: argument --fps: 0 must be > 0"),
    (["interpolate", "{dir}/ten", "-o", "{dir}/x.h5", "--n-frames", "0"], "mexp interpolate: error: argument --n-frames: 0 must be >= 2"),
    (["magnify", "{dir}/ten", "-o", "{dir}/m.h5", "--fps", "30", "--alpha", "-1"], "mexp magnify: error: argument --alpha: -1 must be > 0"),
    (["eval", "spotting", "--gt", "{dir}/gt.csv", "--pred", "{dir}/gt.csv", "--iou", "2"], "mexp eval spotting: error: argument --iou: 2 must be > 0 and <= 1"),
    (["landmarks", "{dir}/ten", "-o", "{dir}/l.json", "--detect-every", "x"], "mexp landmarks: error: argument --detect-every: 'x' is not an integer"),
])
def test_out_of_range_numbers_are_usage_errors(inputs, args, line):
    """A number out of its range stops at the command line (it used to spot at fps 0, or end in
    a TypeError / ZeroDivisionError): argparse's usage and one error line naming the flag."""
    r = _mexp(*(a.format(**inputs) for a in args))
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.strip().splitlines()[-1] == line, r.stderr


def test_spot_validates_the_config_files_face_section(inputs, tmp_path):
    """`mexp spot --config` checks the face section's values before reading any frame (it used
    to run with face.margin 5 until the frames were read)."""
    cfg = tmp_path / "c.yaml"
    cfg.write_text("face:\n  margin: 5\n")
    r = _mexp("spot", str(inputs["dir"] / "ten"), "-o", str(tmp_path / "s.csv"), "--fps", "30", "--config", str(cfg))
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "face.margin: 5 is greater than the maximum of 0.4" in r.stderr, r.stderr
    assert not (tmp_path / "s.csv").exists()


BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def test_a_benchmark_s_bad_flag_is_one_line_not_a_traceback(tmp_path):
    """The benchmark scripts are command lines too: a ``--set`` key given twice ends in one
    ``<script>: error: ...`` line naming the key, exit status 2."""
    r = subprocess.run([sys.executable, str(BENCHMARKS / "bench_recognition_stress.py"), "--set", "flow.method=dis", "flow.method=tvl1"],
                       capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr and r.stderr.strip().count("\n") == 0, r.stderr
    assert r.stderr.startswith("bench_recognition_stress.py: error: ") and "flow.method is set twice" in r.stderr, r.stderr


def test_every_benchmark_script_reports_bad_input_in_one_line():
    """Every script under benchmarks/ that runs as a program ends through
    :func:`mexp_lib.errors.script_exit` (or catches :class:`MexpError` itself)."""
    loose = [f.name for f in sorted(BENCHMARKS.glob("*.py"))
             if '__name__ == "__main__"' in f.read_text() and "script_exit(main" not in f.read_text() and "except MexpError" not in f.read_text()]
    assert not loose, f"these scripts would end bad input in a traceback: {loose}"
