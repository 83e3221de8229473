"""Worker processes on one SQLite file: a shared budget, every grid cell once, no lock errors."""

from __future__ import annotations

from pathlib import Path

import pytest

import dialed
from dialed import TrialState
from dialed.samplers import GridSampler


def sphere(trial: dialed.Trial) -> float:
    x = trial.suggest_float("x", -2.0, 2.0)
    y = trial.suggest_float("y", -2.0, 2.0)
    return x * x + y * y


def test_n_jobs_processes_share_the_budget(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'p.db'}"
    study = dialed.create_study("par", storage=url, seed=0)
    study.optimize(sphere, n_trials=24, n_jobs=2)
    trials = study.trials
    assert [t.number for t in trials] == list(range(24))
    assert all(t.state == TrialState.COMPLETE for t in trials)
    workers = {t.worker for t in trials}
    assert len(workers) == 2, workers  # two processes, neither the parent
    assert all(w and not w.endswith(f":{__import__('os').getpid()}") for w in workers)


def test_grid_cells_run_exactly_once_across_processes(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'g.db'}"
    space = {
        "a": {"type": "categorical", "choices": ["x", "y", "z"]},
        "b": {"type": "int", "low": 1, "high": 4},
        "c": {"type": "float", "low": 0.0, "high": 0.5, "step": 0.25},
    }
    study = dialed.create_study("grid", storage=url, sampler=GridSampler(seed=1),
                                space=space, seed=1)

    def obj(trial: dialed.Trial) -> float:
        p = trial.suggest_space(dialed.Space(space))
        return float(p["b"]) + p["c"]

    study.optimize(obj, n_trials=100, n_jobs=2)  # more budget than cells: stops when done
    cells = [tuple(sorted(t.params.items())) for t in study.trials]
    assert len(cells) == 3 * 4 * 3
    assert len(set(cells)) == len(cells)
    assert all(t.state == TrialState.COMPLETE for t in study.trials)
    assert len({t.worker for t in study.trials}) == 2
    # a second optimize on the finished grid runs nothing and enqueues nothing again
    again = dialed.load_study("grid", storage=url)
    again.optimize(obj, n_trials=5)
    assert len(again.trials) == len(cells)


def test_four_processes_hammering_sqlite_never_surface_a_lock(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'h.db'}"
    study = dialed.create_study("hammer", storage=url, seed=0)

    def fast(trial: dialed.Trial) -> float:
        v = trial.suggest_float("x", 0, 1)
        for step in range(3):
            trial.report(v * step, step)
        return v

    study.optimize(fast, n_trials=80, n_jobs=4)
    trials = study.trials
    assert len(trials) == 80
    assert all(t.state == TrialState.COMPLETE for t in trials), [t.error for t in trials]
    assert all(len(t.intermediate) == 3 for t in trials)


def test_a_raising_objective_in_a_process_propagates(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'r.db'}"
    study = dialed.create_study("raise", storage=url)

    def bad(trial: dialed.Trial) -> float:
        trial.suggest_float("x", 0, 1)
        raise ValueError("bad batch size")

    with pytest.raises(ValueError, match="bad batch size"):
        study.optimize(bad, n_trials=10, n_jobs=2)
    trials = study.trials
    assert trials and all(t.state == TrialState.FAILED for t in trials)
    assert all("bad batch size" in (t.error or "") for t in trials)
    assert len(trials) <= 4  # both workers stop after their first failure
