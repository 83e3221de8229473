"""``Study.stop()``: from the objective or a callback, the running ``optimize`` takes no new
trial, in this process, its threads, or its worker processes (and Optuna's spelling through
the compat layer); outside ``optimize`` it is one clear error."""

from __future__ import annotations

from pathlib import Path

import pytest

import dialed
import dialed.compat.optuna as optuna
from dialed.trial import TrialRecord, TrialState


def _x(trial: dialed.Trial) -> float:
    return trial.suggest_float("x", 0.0, 1.0)


def test_stop_from_the_objective_ends_after_that_trial() -> None:
    study = dialed.create_study("s", sampler="random", seed=0)

    def objective(trial: dialed.Trial) -> float:
        if trial.number == 4:
            study.stop()
        return _x(trial)

    study.optimize(objective, n_trials=50)
    assert [t.number for t in study.trials] == [0, 1, 2, 3, 4]
    assert all(t.state is TrialState.COMPLETE for t in study.trials)
    study.optimize(_x, n_trials=3)  # the next optimize runs in full
    assert len(study.trials) == 8


def _stop_after(number: int) -> object:
    def callback(study: dialed.Study, record: TrialRecord) -> None:
        if record.number >= number:
            study.stop()

    return callback


@pytest.mark.filterwarnings("ignore:an in-memory study runs n_jobs > 1 as threads")
def test_stop_from_a_callback_ends_every_thread() -> None:
    study = dialed.create_study("t", sampler="random", seed=0)
    study.optimize(_x, n_trials=500, n_jobs=2, callbacks=[_stop_after(5)])
    # trial 5 finished and stopped the budget; each thread ends its running trial at most
    assert 6 <= len(study.trials) <= 8
    assert all(t.state.finished for t in study.trials)


def test_stop_from_a_worker_process_ends_every_worker(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'stop.db'}"
    study = dialed.create_study("p", storage=url, sampler="random", seed=0)
    study.optimize(_x, n_trials=500, n_jobs=2, callbacks=[_stop_after(6)])
    trials = dialed.load_study("p", storage=url).trials
    # the worker that ran trial 6 stops at once; the other may have claimed one more
    assert 7 <= len(trials) <= 10
    assert all(t.state is TrialState.COMPLETE for t in trials)


def test_stop_outside_optimize_is_one_clear_error() -> None:
    study = dialed.create_study("idle")
    with pytest.raises(RuntimeError, match=r"study 'idle': stop\(\) ends a running optimize"):
        study.stop()


def test_optuna_spelling_stops_the_same_way() -> None:
    study = optuna.create_study()
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=30,
                   callbacks=[lambda s, ft: s.stop() if ft.number == 2 else None])
    assert len(study.trials) == 3
