"""DialedStorage beyond Optuna's suite: an Optuna study in it is a dialed study, workers in
several processes share it, a worker's buffered writes reach the database, bad URLs are one
line."""

from __future__ import annotations

import multiprocessing
import os
import signal
from pathlib import Path

import pytest

optuna = pytest.importorskip("optuna")

import dialed  # noqa: E402
from dialed.errors import StorageError  # noqa: E402
from dialed.integrations.optuna import DialedStorage  # noqa: E402


@pytest.fixture(autouse=True)
def _quiet() -> None:
    optuna.logging.set_verbosity(optuna.logging.WARNING)


def _objective(trial: optuna.Trial) -> float:
    x = trial.suggest_float("x", -3.0, 3.0)
    n = trial.suggest_int("n", 1, 8, log=True)
    kind = trial.suggest_categorical("kind", ["a", "b"])
    for step in range(3):
        trial.report(x * x + step, step)
    trial.set_user_attr("kind_upper", kind.upper())
    if n == 8:
        raise optuna.TrialPruned()
    return (x - 1.0) ** 2 + n + (0.0 if kind == "a" else 0.5)


def test_an_optuna_study_in_it_is_a_dialed_study(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'optuna.db'}"
    study = optuna.create_study(study_name="ported", storage=DialedStorage(url),
                                sampler=optuna.samplers.TPESampler(seed=0))
    study.optimize(_objective, n_trials=30)
    study.optimize(lambda t: 1 / 0, n_trials=1, catch=(ZeroDivisionError,))

    mine = dialed.load_study("ported", storage=url)
    assert mine.best_value == study.best_value
    assert mine.best_params == study.best_params
    records = {t.number: t for t in mine.trials}
    assert len(records) == 31
    for t in study.trials:
        r = records[t.number]
        assert r.state.value == {"COMPLETE": "complete", "PRUNED": "pruned",
                                 "FAIL": "failed"}[t.state.name]
        assert dict(r.params) == t.params
        assert dict(r.intermediate) == t.intermediate_values
        assert dict(r.user_attrs) == t.user_attrs
        assert r.started_at == pytest.approx(t.datetime_start.timestamp(), abs=1e-6)
    space = mine.space
    assert set(space) == {"x", "n", "kind"} and space["n"].log


def test_a_second_process_sees_the_study_and_shares_its_trials(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'optuna.db'}"
    optuna.create_study(study_name="shared", storage=DialedStorage(url))
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(2) as pool:
        counts = pool.starmap(_work, [(url, 10, 1), (url, 10, 2)])
    assert counts == [10, 10]
    study = optuna.load_study(study_name="shared", storage=DialedStorage(url))
    trials = study.trials
    assert sorted(t.number for t in trials) == list(range(20))
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in trials)
    assert len({t._trial_id for t in trials}) == 20


def _work(url: str, n: int, seed: int) -> int:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.load_study(study_name="shared", storage=DialedStorage(url),
                              sampler=optuna.samplers.TPESampler(seed=seed))

    def objective(trial: optuna.Trial) -> float:
        trial.set_user_attr("worker", seed)
        return trial.suggest_float("x", 0, 1)

    study.optimize(objective, n_trials=n)
    return sum(t.user_attrs.get("worker") == seed for t in study.trials)


def test_a_running_trial_reaches_the_database_with_its_report_and_its_end(tmp_path: Path
                                                                          ) -> None:
    url = f"sqlite:///{tmp_path / 'optuna.db'}"
    worker, reader = DialedStorage(url), DialedStorage(url)
    study = optuna.create_study(study_name="s", storage=worker)
    trial = study.ask()
    trial.suggest_float("x", 0, 1)  # the first suggestion of "x" registers it: written now
    seen = reader.get_trial(trial._trial_id)
    assert "x" in seen.params
    trial2 = study.ask()
    x = trial2.suggest_float("x", 0, 1)  # known: held by the worker until its next write
    trial2.set_user_attr("note", "hello")
    assert worker.get_trial(trial2._trial_id).params == {"x": x}
    trial2.report(0.5, step=0)
    after = reader.get_trial(trial2._trial_id)
    assert after.params == {"x": x} and after.user_attrs == {"note": "hello"}
    study.tell(trial2, 0.25)
    done = reader.get_trial(trial2._trial_id)
    assert done.value == 0.25 and done.intermediate_values == {0: 0.5}


def test_a_dead_workers_trial_is_failed_by_dialed(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'optuna.db'}"
    optuna.create_study(study_name="crash", storage=DialedStorage(url))
    ctx = multiprocessing.get_context("spawn")
    started, proceed = ctx.Event(), ctx.Event()
    proc = ctx.Process(target=_hang, args=(url, started, proceed))
    proc.start()
    assert started.wait(60), "the worker did not start its trial"
    os.kill(proc.pid, signal.SIGKILL)
    proc.join(30)
    study = dialed.load_study("crash", storage=url)  # sweeps for the trials of dead workers
    (trial,) = study.trials
    assert trial.state == dialed.TrialState.FAILED
    assert "died" in (trial.error or "")
    again = optuna.load_study(study_name="crash", storage=DialedStorage(url))
    assert again.trials[0].state == optuna.trial.TrialState.FAIL


def _hang(url: str, started: object, proceed: object) -> None:
    study = optuna.load_study(study_name="crash", storage=DialedStorage(url))
    trial = study.ask()
    trial.suggest_float("x", 0, 1)
    started.set()  # type: ignore[attr-defined]
    proceed.wait(120)  # type: ignore[attr-defined]


def test_a_bad_url_is_one_line() -> None:
    with pytest.raises(StorageError, match="dialed stores studies in SQLite or PostgreSQL"):
        DialedStorage("mysql://u:p@localhost/db")
    with pytest.raises(StorageError, match="needs a file path"):
        DialedStorage("sqlite://")
