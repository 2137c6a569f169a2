"""The checkers configured in pyproject.toml run in CI (`make test`), so a configured tool is
never decoration: ruff (its [tool.ruff] rule set), mypy ([tool.mypy]: mexp_lib, typed defs)
and snakefmt --check on the rule files. `snakemake --lint` is tested in test_config_errors.py.
`make check` runs the same tools by hand."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _tool(name: str) -> str:
    """The tool next to this interpreter (the venv's bin), else on PATH; skip if not installed."""
    here = Path(sys.executable).parent / name
    found = str(here) if here.exists() else shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed (it is in pyproject's test extra: pip install -e '.[test]')")
    return found


def _passes(*cmd: str, timeout: float = 900) -> None:
    out = subprocess.run(list(cmd), capture_output=True, text=True, cwd=REPO, timeout=timeout)
    assert out.returncode == 0, f"{' '.join(cmd)} exited {out.returncode}:\n{out.stdout}\n{out.stderr}"


def test_ruff_check_passes():
    _passes(_tool("ruff"), "check", "--no-cache", ".")


def test_mypy_passes():
    _passes(_tool("mypy"))  # files and options from [tool.mypy]


def test_snakefmt_check_passes():
    _passes(_tool("snakefmt"), "--check", "workflow", "Snakefile")
