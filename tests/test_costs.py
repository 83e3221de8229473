"""Costs measured for every trial, usable as objectives and constraints; several objectives
and constraints end to end (Python, the study file, ``dialed best``)."""

from __future__ import annotations

import textwrap
import time
import uuid
from pathlib import Path

import pytest
from typer.testing import CliRunner

import dialed
from dialed.analysis.tradeoff import TRADEOFF_ATTR
from dialed.cli import app
from dialed.config import load_study_file, run_study_file
from dialed.errors import ConfigError, NoTrialsError
from dialed.metrics import COST_METRICS, MetricSet
from dialed.trial import TrialState


def _sleepy(trial: dialed.Trial) -> dict[str, float]:
    x = trial.suggest_float("x", 0.0, 1.0)
    time.sleep(0.02 * x)
    return {"loss": 1.0 - x}


def test_a_cost_the_study_names_is_filled_from_the_measurement() -> None:
    study = dialed.create_study(
        metrics={"loss": "minimize", "wall_seconds": "minimize", "cpu_seconds": "track",
                 "peak_memory_mb": "track"},
        seed=0,
    )
    study.optimize(_sleepy, n_trials=6)
    for t in study.trials:
        assert t.state == TrialState.COMPLETE, t.error
        assert t.metrics["wall_seconds"] == t.wall_seconds
        assert t.metrics["cpu_seconds"] == t.cpu_seconds
        assert t.metrics["peak_memory_mb"] == t.peak_memory_mb > 1.0
    # the front of loss and measured wall time holds the lowest loss and the fastest trial
    numbers = {t.number for t in study.best_trials}
    assert min(study.trials, key=lambda t: t.metrics["loss"]).number in numbers
    assert min(study.trials, key=lambda t: t.metrics["wall_seconds"]).number in numbers


def test_a_cost_the_objective_returns_is_its_own() -> None:
    study = dialed.create_study(metrics={"loss": "minimize", "wall_seconds": "minimize"},
                                seed=0)
    study.optimize(lambda t: {"loss": t.suggest_float("x", 0, 1), "wall_seconds": 123.0},
                   n_trials=2)
    assert [t.metrics["wall_seconds"] for t in study.trials] == [123.0, 123.0]
    assert all(t.wall_seconds != 123.0 for t in study.trials)


def test_a_constraint_on_peak_memory() -> None:
    never = dialed.create_study(metrics={"loss": "minimize", "peak_memory_mb": "<= 1"}, seed=0)
    never.optimize(_sleepy, n_trials=3)
    assert all(t.state == TrialState.COMPLETE for t in never.trials)
    with pytest.raises(NoTrialsError):
        never.best_trial  # noqa: B018 - every trial breaks the bound

    roomy = dialed.create_study(metrics={"loss": "minimize", "peak_memory_mb": "<= 1e9"},
                                seed=0)
    roomy.optimize(_sleepy, n_trials=3)
    assert roomy.best_trial.metrics["peak_memory_mb"] > 0


def test_several_objectives_with_a_cost_constraint() -> None:
    study = dialed.create_study(
        metrics={"val_acc": "maximize", "latency_ms": "minimize", "wall_seconds": "<= 0.2"},
        seed=0,
    )

    def objective(trial: dialed.Trial) -> dict[str, float]:
        x = trial.suggest_float("x", 0.0, 1.0)
        if x > 0.5:
            time.sleep(0.3)  # breaks the wall-time bound (a quick trial keeps it on a busy machine)
        return {"val_acc": x, "latency_ms": 10 * x}

    study.optimize(objective, n_trials=12)
    front = study.best_trials
    assert front and all(t.metrics["wall_seconds"] <= 0.2 for t in front)
    assert all(t.params["x"] <= 0.5 for t in front)


def test_ask_and_tell_cannot_measure_a_cost() -> None:
    study = dialed.create_study(metrics={"loss": "minimize", "wall_seconds": "minimize"},
                                seed=0)
    trial = study.ask()
    record = study.tell(trial, {"loss": 1.0})
    assert record.state == TrialState.FAILED
    assert "wall_seconds" in str(record.error) and "measured" in str(record.error)


def test_values_from_fills_only_named_costs() -> None:
    metrics = MetricSet({"loss": "minimize", "cpu_seconds": "<= 10"})
    costs = {"wall_seconds": 2.0, "cpu_seconds": 1.5, "peak_memory_mb": 300.0}
    assert metrics.values_from(0.5, costs=costs) == {"loss": 0.5, "cpu_seconds": 1.5}
    assert set(COST_METRICS) == set(costs)
    with pytest.raises(ValueError, match="cpu_seconds"):
        metrics.values_from(0.5)


# -- the study file and the command line ---------------------------------------------------------
OBJECTIVE = """
import time

def objective(trial):
    depth = trial.params["depth"]
    time.sleep(0.002 * depth)
    return {"val_acc": 1.0 - 1.0 / (1 + depth), "latency_ms": 2.0 * depth}
"""

STUDY = """
study: tradeoffs
objective: {module}:objective
metrics:
  val_acc: maximize
  latency_ms: minimize
  peak_memory_mb: "<= 100000"
  wall_seconds: track
space:
  depth: {{type: int, low: 1, high: 12}}
budget: {{trials: 14}}
seed: 1
"""


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DIALED_STORAGE", raising=False)
    monkeypatch.setenv("COLUMNS", "200")
    return tmp_path


def _write(folder: Path, extra: str = "") -> Path:
    module = f"tradeoff_objective_{uuid.uuid4().hex[:12]}"
    (folder / f"{module}.py").write_text(OBJECTIVE)
    path = folder / "tradeoffs.yaml"
    path.write_text(STUDY.format(module=module) + textwrap.dedent(extra))
    return path


def test_study_file_with_costs_and_a_tradeoff_rule(workdir: Path) -> None:
    path = _write(workdir, """
        tradeoff: {rule: best, metric: val_acc, bounds: {latency_ms: "<= 12"}}
    """)
    cfg = load_study_file(path)
    study = run_study_file(cfg, f"sqlite:///{workdir / 'dialed.db'}")
    assert study.metrics.multi_objective
    for t in study.get_trials([TrialState.COMPLETE]):
        assert t.metrics["wall_seconds"] == t.wall_seconds
        assert "peak_memory_mb" in t.metrics
    stored = study.attrs[TRADEOFF_ATTR]
    chosen = study.storage.get_trial_by_number(study.study_id, stored["trial"])
    assert chosen.params["depth"] == max(
        t.params["depth"] for t in study.trials if t.metrics.get("latency_ms", 99) <= 12)
    assert stored["rule"]["bounds"] == {"latency_ms": "<= 12"}

    runner = CliRunner()
    shown = runner.invoke(app, ["best", "tradeoffs"], catch_exceptions=False)
    assert shown.exit_code == 0, shown.output
    assert "Pareto front of tradeoffs" in shown.stdout
    assert "recommended trade-off of tradeoffs" in shown.stdout
    assert "best val_acc (maximize) subject to latency_ms <= 12" in shown.stdout
    assert "recorded with the study" in shown.stdout
    assert f"*{stored['trial']}" in shown.stdout

    other = runner.invoke(app, ["best", "tradeoffs", "--rule", "weighted latency_ms=1"],
                          catch_exceptions=False)
    assert other.exit_code == 0, other.output
    assert "(--rule)" in other.stdout and "weights: val_acc 0, latency_ms 1" in other.stdout
    fastest = min(study.best_trials, key=lambda t: t.metrics["latency_ms"])
    assert f"*{fastest.number}" in other.stdout

    none = runner.invoke(app, ["best", "tradeoffs", "--rule", "best val_acc latency_ms<=0"],
                         catch_exceptions=False)
    assert none.exit_code == 0
    assert "no complete, feasible trial meets latency_ms <= 0" in none.stdout

    bad = runner.invoke(app, ["best", "tradeoffs", "--rule", "fastest"],
                        catch_exceptions=False)
    assert bad.exit_code == 2 and "start with 'weighted' or 'best'" in bad.stderr


def test_a_bad_tradeoff_key_names_the_field(workdir: Path) -> None:
    path = _write(workdir, """
        tradeoff: {rule: weighted, weights: {memory: 1}}
    """)
    with pytest.raises(ConfigError, match=r"tradeoff: .*'memory', not an objective"):
        load_study_file(path)
