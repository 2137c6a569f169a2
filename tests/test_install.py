"""The install leaves the right packages in place."""

import importlib.metadata as md
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_cv2_is_the_contrib_build():
    import cv2

    assert hasattr(cv2, "optflow"), "cv2 was displaced by a non-contrib OpenCV wheel"
    tv = cv2.optflow.DualTVL1OpticalFlow_create()
    assert tv is not None
    # no other OpenCV wheel shares the cv2/ folder
    others = [d for d in ("opencv-python", "opencv-python-headless", "opencv-contrib-python") if _installed(d)]
    assert not others, f"other OpenCV wheels installed beside contrib: {others}"
    # ... although face-alignment, which requires opencv-python, is installed (make test installs it)
    assert _installed("face-alignment"), "make test installs the optional FAN backend, to prove contrib survives it"


def _installed(dist: str) -> bool:
    try:
        md.distribution(dist)
        return True
    except md.PackageNotFoundError:
        return False


def test_torch_is_the_pinned_cpu_build():
    import torch

    pin = next(line.split("==")[1].strip() for line in (REPO / "constraints.txt").read_text().splitlines() if line.startswith("torch=="))
    assert torch.__version__.split("+")[0] == pin
    assert not _installed("torchvision")


def test_dlib_models_are_found_without_importing_their_package():
    from mexp_lib.face.landmarks import CNN_MODEL, SHAPE_MODEL, model_file

    sys.modules.pop("face_recognition_models", None)
    for name in (SHAPE_MODEL, CNN_MODEL):
        p = model_file(name)
        assert p.is_file() and p.stat().st_size > 100_000
    assert "face_recognition_models" not in sys.modules


def test_mexp_console_command():
    import subprocess

    exe = Path(sys.executable).parent / "mexp"
    out = subprocess.run([str(exe), "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.startswith("mexp ")


def test_non_editable_install_resolves_and_runs_a_config(tmp_path):
    """`pip install .` (not editable) ships the schema: the installed package resolves a config,
    `mexp --help` and `mexp flow` run from outside the checkout, and the workflow plans with it."""
    import shutil
    import subprocess
    import sysconfig

    import cv2
    import numpy as np

    src = tmp_path / "src"  # a copy: building writes build/ and *.egg-info next to the sources
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, src / name)
    shutil.copytree(REPO / "mexp_lib", src / "mexp_lib", ignore=shutil.ignore_patterns("__pycache__"))
    wheels = tmp_path / "wheels"
    pip = [sys.executable, "-m", "pip"]
    subprocess.run([*pip, "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(wheels), str(src)], check=True, capture_output=True)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    py = venv / "bin" / "python"
    site = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], check=True, capture_output=True, text=True).stdout.strip()
    # the dependencies come from this venv's site-packages (a path entry: its editable-install hook is not loaded)
    Path(site, "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    wheel = next(wheels.glob("mexp-*.whl"))
    subprocess.run([*pip, "--python", str(py), "install", "-q", "--no-deps", "--no-index", str(wheel)], check=True, capture_output=True)
    work = tmp_path / "elsewhere"
    work.mkdir()

    def run(*cmd: str) -> subprocess.CompletedProcess:
        return subprocess.run(list(cmd), cwd=work, capture_output=True, text=True, env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})

    probe = run(str(py), "-c", "import mexp_lib, mexp_lib.config as c; print(mexp_lib.__file__); print(c.resolve_config({'datasets': {'demo': {'format': 'demo'}}})['flow']['method'])")
    assert probe.returncode == 0, probe.stderr
    where, method = probe.stdout.split()
    assert where.startswith(site) and method
    assert run(str(venv / "bin" / "mexp"), "--help").returncode == 0
    shipped = run(str(py), "-c", "from mexp_lib.spotting.stage import DEFAULT_MODEL, read_spotting_model; read_spotting_model(DEFAULT_MODEL); print(DEFAULT_MODEL)")
    assert shipped.returncode == 0 and shipped.stdout.strip().startswith(site), shipped.stderr  # mexp spot's default spotter is package data
    frames = work / "frames"
    frames.mkdir()
    rng = np.random.default_rng(0)
    base = (rng.random((48, 48)) * 255).astype(np.uint8)
    for i in range(3):
        cv2.imwrite(str(frames / f"img{i + 1}.png"), np.roll(base, i, axis=1))
    flow = run(str(venv / "bin" / "mexp"), "flow", "frames", "-o", "clip.h5", "--method", "dis")
    assert flow.returncode == 0, flow.stderr
    assert (work / "clip.h5").is_file()
    # the workflow from the checkout plans with the installed package
    shutil.copytree(REPO / "tests/configs", work / "config", dirs_exist_ok=True)
    (work / "config/tiny.yaml").rename(work / "config/config.yaml")
    dry = run(str(py), "-m", "snakemake", "-s", str(REPO / "Snakefile"), "-d", str(work), "--cores", "1", "-n", "--quiet")
    assert dry.returncode == 0, dry.stdout[-2000:] + dry.stderr[-2000:]
