"""A study database with everything the dashboard shows, built once per test session.

``demo``: four parameters in two families (a log float, a float, an int, and a categorical
whose third choice is hostile HTML), intermediate values with median pruning, failures whose
error text is hostile HTML, two workers, and a hostile note. ``pareto``: two objectives.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import pytest

import dialed
from dialed.storage import open_storage

HOSTILE = "<img src=x onerror=alert(1)>"
SCRIPTY = "<script>alert(2)</script>"


def demo_objective(trial: dialed.Trial) -> dict[str, float]:
    lr = trial.suggest_float("lr", 1e-4, 1.0, log=True, family="optimizer")
    momentum = trial.suggest_float("momentum", 0.0, 0.99, family="optimizer")
    layers = trial.suggest_int("layers", 1, 6, family="architecture")
    act = trial.suggest_categorical("act", ["relu", "tanh", HOSTILE], family="architecture")
    if trial.number % 11 == 7:
        raise RuntimeError(f"diverged {SCRIPTY} at {HOSTILE}")
    base = 0.4 * (math.log10(lr) + 2) ** 2 + 0.2 * momentum + 0.05 * layers
    base += 0.3 if act == "tanh" else 0.0
    loss = base
    for step in range(8):
        loss = base + 1.0 / (step + 1)
        trial.report(loss, step)
        if trial.should_prune():
            raise dialed.Pruned()
    return {"loss": loss, "acc": 1.0 / (1.0 + loss)}


def build_demo(url: str, n_trials: int = 36) -> None:
    study = dialed.create_study("demo", storage=url, metrics={"loss": "minimize", "acc": "track"},
                                seed=7, pruner={"name": "median", "n_startup_trials": 8})
    study.set_user_attr("note", HOSTILE)
    study.optimize(demo_objective, n_trials=n_trials, catch=(RuntimeError,))
    pareto = dialed.create_study("pareto", storage=url,
                                 metrics={"err": "minimize", "latency": "minimize"}, seed=3)

    def two(trial: dialed.Trial) -> dict[str, float]:
        x = trial.suggest_float("x", 0.0, 1.0)
        y = trial.suggest_float("y", 0.0, 1.0)
        return {"err": x**2 + 0.1 * y, "latency": (1 - x) ** 2 + 0.1 * y}

    pareto.optimize(two, n_trials=30)


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("dashboard") / "demo.db"
    build_demo(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def demo_url(demo_db: Path) -> str:
    return f"sqlite:///{demo_db}"


@pytest.fixture
def fresh_url(tmp_path: Path) -> Iterator[str]:
    """An empty study database of this test's own (for tests that write while reading)."""
    url = f"sqlite:///{tmp_path / 'live.db'}"
    open_storage(url).close()
    yield url
