"""Optuna studies to import: built once in Optuna's memory, then written into each kind of
Optuna storage through Optuna's own API (``add_trials``)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

optuna = pytest.importorskip("optuna")
optuna.logging.set_verbosity(optuna.logging.ERROR)

#: A PostgreSQL database these tests may fill and empty (CI sets it).
POSTGRES_URL = os.environ.get("DIALED_TEST_POSTGRES_URL")


def _multi_objective(trial: Any) -> tuple[float, float]:
    x = trial.suggest_float("x", 0, 1)
    y = trial.suggest_int("y", 1, 64, log=True)
    z = trial.suggest_float("z", 0, 2, step=0.25)
    c = trial.suggest_categorical("c", ["a", "b", None])
    trial.set_user_attr("tag", [c, y])
    trial.set_constraint("0", x + z - 1.5)  # feasible when <= 0
    trial.set_constraint("mem", y - 48.0)
    if x < 0.05:
        raise optuna.TrialPruned()
    if x > 0.97:
        raise ValueError("boom")
    return x + z, y * (1 if c else 2) - x


def _single_objective(trial: Any) -> float:
    lr = trial.suggest_float("lr", 1e-4, 1e-1, log=True)
    layers = trial.suggest_int("layers", 1, 8, step=1)
    opt = trial.suggest_categorical("opt", ["sgd", "adam"])
    loss = 1.0
    for step in range(6):
        loss = abs(lr - 0.01) * 10 + 0.05 * layers + (0.1 if opt == "sgd" else 0) + 1 / (step + 1)
        trial.report(loss, step)
        if trial.should_prune():
            raise optuna.TrialPruned()
    if layers == 7:
        raise ValueError("seven layers fail")
    return loss


@pytest.fixture(scope="session")
def mo_trials() -> list[Any]:
    """1,000 trials of a two-objective study with two constraints (NSGA-II, seeded): complete,
    pruned and failed ones, then one enqueued (waiting) trial."""
    study = optuna.create_study(directions=["minimize", "maximize"],
                                sampler=optuna.samplers.NSGAIISampler(seed=0))
    study.optimize(_multi_objective, n_trials=1000, catch=(ValueError,))
    study.enqueue_trial({"x": 0.5, "y": 2, "z": 0.5, "c": "a"})
    return list(study.get_trials(deepcopy=False))


@pytest.fixture(scope="session")
def so_trials() -> list[Any]:
    """60 trials of one objective with intermediate values, median pruning and failures."""
    study = optuna.create_study(direction="minimize", sampler=optuna.samplers.TPESampler(seed=1),
                                pruner=optuna.pruners.MedianPruner(n_startup_trials=5))
    study.optimize(_single_objective, n_trials=60, catch=(ValueError,))
    study.set_user_attr("owner", "team-a")
    return list(study.get_trials(deepcopy=False))


def write_study(storage: Any, name: str, trials: list[Any], directions: list[str],
                user_attrs: dict[str, Any] | None = None) -> Any:
    """An Optuna study in ``storage`` holding ``trials``, written by Optuna's API."""
    study = optuna.create_study(storage=storage, study_name=name, directions=directions)
    study.add_trials(trials)
    for k, v in (user_attrs or {}).items():
        study.set_user_attr(k, v)
    return study


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """The CI PostgreSQL database, emptied of dialed's and Optuna's tables before and after."""
    if POSTGRES_URL is None:
        pytest.skip("DIALED_TEST_POSTGRES_URL is not set")
    _empty(POSTGRES_URL)
    yield POSTGRES_URL
    _empty(POSTGRES_URL)


def _empty(url: str) -> None:
    import sqlalchemy as sa
    from optuna.storages._rdb import models

    from dialed.storage._schema import metadata

    engine = sa.create_engine(url)
    try:
        metadata.drop_all(engine)
        models.BaseModel.metadata.drop_all(engine)
        with engine.begin() as conn:
            conn.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))
    finally:
        engine.dispose()


_STATES = {"COMPLETE": "complete", "PRUNED": "pruned", "FAIL": "failed", "WAITING": "waiting"}


def check_roundtrip(source: str, ostorage: Any, dialed_url: str, export_to: str,
                    export_storage: Any, mo_trials: list[Any], so_trials: list[Any]) -> None:
    """Import both studies from ``source``, compare every trial, the best trial and the Pareto
    front with Optuna's, import again (nothing added), export back and compare again."""
    import dialed
    from dialed.interop import export_optuna, import_optuna, not_carried_line

    write_study(ostorage, "mo", mo_trials, ["minimize", "maximize"])
    write_study(ostorage, "so", so_trials, ["minimize"], {"owner": "team-a"})
    results = import_optuna(source, storage=dialed_url, all_studies=True)
    assert [(r.study, r.imported, r.skipped) for r in results] == [("mo", 1001, 0),
                                                                    ("so", 60, 0)]
    line = not_carried_line(results)
    assert "NSGAIISampler:generation (1000 trials)" in line  # listed, not silently dropped

    omo = optuna.load_study(study_name="mo", storage=ostorage)
    dmo = dialed.load_study("mo", storage=dialed_url)
    assert dmo.metrics.to_dict() == {"value_0": "minimize", "value_1": "maximize",
                                     "constraint_0": "<= 0", "constraint_mem": "<= 0"}
    _same_trials(dmo.trials, omo.trials)
    states = {t.state.value for t in dmo.trials}
    assert states == {"complete", "pruned", "failed", "waiting"}
    front = sorted(t.number for t in dmo.best_trials)
    assert front == sorted(t.number for t in omo.best_trials) and len(front) >= 3

    oso = optuna.load_study(study_name="so", storage=ostorage)
    dso = dialed.load_study("so", storage=dialed_url)
    _same_trials(dso.trials, oso.trials)
    assert dso.best_trial.number == oso.best_trial.number
    assert dso.best_value == oso.best_value and dso.best_params == oso.best_params
    assert dso.user_attrs == {"owner": "team-a"}
    assert any(t.state.value == "pruned" and t.intermediate for t in dso.trials)

    again = import_optuna(source, storage=dialed_url, all_studies=True)
    assert [(r.imported, r.skipped) for r in again] == [(0, 1001), (0, 60)]
    assert len(dialed.load_study("mo", storage=dialed_url).trials) == 1001

    result = export_optuna("mo", storage=dialed_url, to=export_to, name="mo-back")
    assert result.exported == 1001
    back = optuna.load_study(study_name="mo-back", storage=export_storage)
    _same_optuna(back.trials, omo.trials)
    assert sorted(t.number for t in back.best_trials) == front
    export_optuna("so", storage=dialed_url, to=export_to, name="so-back")
    sback = optuna.load_study(study_name="so-back", storage=export_storage)
    assert sback.best_trial.number == oso.best_trial.number
    assert sback.best_trial.intermediate_values == oso.best_trial.intermediate_values


def _same_trials(ours: list[Any], theirs: list[Any]) -> None:
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs, strict=True):
        assert a.number == b.number and a.state.value == _STATES[b.state.name]
        if b.state.name == "WAITING":
            assert dict(a.params) == b.system_attrs["fixed_params"]
            continue
        assert dict(a.params) == b.params
        assert a.values == (b.values if b.values is not None else None)
        constraints = {k: a.metrics[f"constraint_{k}"] for k in b.constraints} \
            if a.state.value != "failed" else b.constraints
        assert constraints == b.constraints
        assert dict(a.user_attrs) == b.user_attrs
        assert a.intermediate == b.intermediate_values
        assert abs(a.started_at - b.datetime_start.timestamp()) < 1e-3
        assert abs(a.finished_at - b.datetime_complete.timestamp()) < 1e-3


def _same_optuna(ours: list[Any], theirs: list[Any]) -> None:
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs, strict=True):
        assert (a.number, a.state, a.params, a.values, a.user_attrs) == \
            (b.number, b.state, b.params, b.values, b.user_attrs)
        if b.state.name != "WAITING":
            assert sorted(a.constraints.values()) == sorted(b.constraints.values())
            assert len(b.constraints) == 2
        assert a.datetime_start == b.datetime_start
        assert a.intermediate_values == b.intermediate_values
