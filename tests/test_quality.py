"""The project's own rules, checked with the tests: ruff, mypy --strict, the layer contract."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run(*cmd: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)


@pytest.mark.skipif(shutil.which("ruff") is None, reason="ruff is installed by the dev extra")
def test_ruff_clean() -> None:
    out = _run("ruff", "check", "src", "tests")
    assert out.returncode == 0, out.stdout + out.stderr


def test_mypy_strict_clean() -> None:
    out = _run(sys.executable, "-m", "mypy", "--strict", "src/dialed")
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]


def test_imports_go_downward_only() -> None:
    assert importlib.util.find_spec("importlinter") is not None, (
        "import-linter is part of the dev extra")
    # run by this interpreter (the one that imports dialed), not whichever `lint-imports` comes
    # first on PATH: in a virtual environment over a system site that can be another Python's
    out = _run(sys.executable, "-c", "import sys; from importlinter.cli import "
               "lint_imports_command; sys.exit(lint_imports_command())")
    assert out.returncode == 0 and "BROKEN" not in out.stdout, out.stdout[-4000:]
