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
