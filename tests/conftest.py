"""Shared fixtures: paths to the real files in ../shared, small synthetic inputs, and one run of
the whole workflow on the tiny config."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import settings

# Property tests draw the same examples on every run of `make test` (derandomize: a CI run
# cannot fail on a case the previous one never drew); `make fuzz` (MEXP_HYPOTHESIS=fuzz)
# explores with new random examples, many more of them. An input fuzzing finds is kept as an
# explicit @example of its test, so the fixed suite runs it ever after.
settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
settings.register_profile("fuzz", max_examples=2000, derandomize=False, print_blob=True)
settings.load_profile(os.environ.get("MEXP_HYPOTHESIS", "ci"))
FUZZ = os.environ.get("MEXP_HYPOTHESIS") == "fuzz"


def examples(n: int) -> int:
    """A property test's number of examples: ``n`` in the fixed suite, 20 times more under fuzz."""
    return n * 20 if FUZZ else n

REPO = Path(__file__).resolve().parents[1]
REAL = REPO.parent / "shared" / "data" / "real"


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory) -> tuple[Path, str]:
    """The whole workflow run once on the tiny config (default target): its work folder and the
    dry run's output before it. Tests read it; the ones that rerun something keep its outputs."""
    from workflow_runner import snakemake, tiny_workdir

    wd = tiny_workdir(tmp_path_factory.mktemp("tiny"))
    dry = snakemake(wd, "-n")
    snakemake(wd)
    return wd, dry.stdout + dry.stderr


@pytest.fixture(scope="session")
def real() -> Path:
    """The real annotation sheets and logs (CI has ../shared beside the clone)."""
    if not REAL.is_dir():
        pytest.fail(f"{REAL} is missing: the tests read the real annotation files from ../shared")
    return REAL


def textured_image(size: int = 128, seed: int = 0) -> np.ndarray:
    """A smooth random texture (uint8), good for optical-flow tests."""
    rng = np.random.default_rng(seed)
    img = cv2.GaussianBlur(rng.uniform(0, 255, (size, size)).astype(np.float32), (0, 0), 2.0)
    img = (img - img.min()) / (img.max() - img.min()) * 200 + 28
    return img.astype(np.uint8)


def shift_image(img: np.ndarray, dx: float, dy: float) -> np.ndarray:
    """img translated by (dx, dy) px (content moves by +dx, +dy), bilinear."""
    from mexp_lib.motion.synthetic import translate

    return translate(img, dx, dy)


@pytest.fixture(scope="session")
def demo_face():
    """The demo's base face (BGR float32) and its 68 landmarks."""
    from mexp_lib.datasets.demo_render import base_face

    return base_face(192)


# The slowest test files first (their share of the suite, measured with --durations): under
# `make test`'s workers (pytest-xdist, a file per worker) the long files then start at once and
# the short ones fill the gaps, instead of one worker finishing the last long file alone. The
# Makefile passes --no-loadscope-reorder: xdist would otherwise reorder files by their number of
# tests, which sent the one-test SLURM file last.
# Within a file the order is kept; a file not listed keeps its place after these.
SLOWEST_FIRST = ("test_workflow.py", "test_spotting_realism.py", "test_slurm.py", "test_stage_settings.py", "test_faults.py",
                 "test_models_elrcn_aufusion.py", "test_docs.py", "test_samples.py", "test_config.py", "test_recognition_realism.py")


def pytest_collection_modifyitems(config, items) -> None:
    rank = {name: i for i, name in enumerate(SLOWEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))
