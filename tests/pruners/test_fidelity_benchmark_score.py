"""The fidelity benchmark's scoring computes its PASS/FAIL lines from the numbers."""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
score = pytest.importorskip("benchmarks.fidelity.score")


def _run(method: str, seed: int, trials: list[tuple[int, float | None]],
         budget: int = 90) -> dict[str, Any]:
    return {"method": method, "problem": "p", "seed": seed, "budget": budget,
            "trials": [{"epochs": e, "final": f} for e, f in trials],
            "wall_seconds": 1.0, "train_seconds": 0.5}


def _runs(asha: list[tuple[int, float | None]], optuna: list[tuple[int, float | None]]) -> list:
    full = [(9, 0.5), (9, 0.4), (9, 0.3)] + [(9, 0.35)] * 7  # ends at 0.3 after 90 epochs
    return [_run("full-budget", 0, full), _run("dialed-asha", 0, asha),
            _run("optuna-hyperband", 0, optuna)]


def test_anytime_and_budgets() -> None:
    run = _run("x", 0, [(1, None), (9, 0.5), (3, None), (9, 0.2)])
    assert score.anytime(run) == [(1, math.inf), (10, 0.5), (13, 0.5), (22, 0.2)]
    assert score.best_at(run, 12) == 0.5
    assert score.epochs_to_reach(run, 0.3) == 22
    assert score.epochs_to_reach(run, 0.1) == math.inf


def test_targets_pass_when_the_numbers_say_so() -> None:
    asha = [(1, None)] * 10 + [(9, 0.25)] + [(1, None)] * 50  # reaches 0.3 at 19 epochs
    optuna = [(9, 0.6)] * 10
    out = score.summarise(_runs(asha, optuna))
    assert out["best"] == "dialed-asha"
    assert out["pooled_ratio"]["dialed-asha"] == pytest.approx(19 / 90)
    assert out["target1"] and out["target2"]


def test_targets_fail_when_the_numbers_say_so() -> None:
    asha = [(1, None)] * 40 + [(9, 0.25)]  # reaches 0.3 only after 49 of 90 epochs
    optuna = [(9, 0.1)] * 10
    out = score.summarise(_runs(asha, optuna))
    assert out["pooled_ratio"]["dialed-asha"] == pytest.approx(49 / 90)
    assert not out["target1"] and not out["target2"]
    assert out["compare"]["E"] == {"wins": 0, "ties": 0, "losses": 1}
