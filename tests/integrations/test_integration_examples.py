"""Each example under examples/integrations/ runs, as a user would run it, on a small budget."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "integrations"


def _run(name: str, *args: str) -> str:
    done = subprocess.run([sys.executable, str(EXAMPLES / name), *args], capture_output=True,
                          text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_sklearn_search_example() -> None:
    pytest.importorskip("sklearn")
    out = _run("sklearn_search.py", "--trials", "6")
    assert "best cross-validated roc_auc" in out and "held-out roc_auc" in out


def test_lightgbm_pruning_example() -> None:
    pytest.importorskip("lightgbm")
    out = _run("lightgbm_pruning.py", "--trials", "8", "--rounds", "20", "--stage-trials", "2")
    assert "trials pruned" in out and "each family's gain" in out


def test_xgboost_pruning_example() -> None:
    pytest.importorskip("xgboost")
    out = _run("xgboost_pruning.py", "--trials", "8", "--rounds", "20")
    assert "trials pruned" in out
