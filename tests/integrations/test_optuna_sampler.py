"""DialedSampler inside Optuna beyond Optuna's suite: repeatable, constrained, and honest about
what it cannot read."""

from __future__ import annotations

import pytest

optuna = pytest.importorskip("optuna")

from dialed.errors import ConfigError  # noqa: E402
from dialed.integrations.optuna import DialedSampler  # noqa: E402


@pytest.fixture(autouse=True)
def _quiet() -> None:
    optuna.logging.set_verbosity(optuna.logging.WARNING)


def _objective(trial: optuna.Trial) -> float:
    x = trial.suggest_float("x", -5.0, 5.0)
    y = trial.suggest_int("y", 0, 10)
    c = trial.suggest_categorical("c", ["a", "b"])
    return (x - 1.0) ** 2 + y + (0.0 if c == "a" else 1.0)


@pytest.mark.parametrize("name", ["auto", "tpe", "cmaes"])
def test_the_same_seed_gives_the_same_trials(name: str) -> None:
    runs = []
    for _ in range(2):
        study = optuna.create_study(sampler=DialedSampler(name, seed=3))
        study.optimize(_objective, n_trials=25)
        runs.append([t.params for t in study.trials])
    assert runs[0] == runs[1]
    other = optuna.create_study(sampler=DialedSampler(name, seed=4))
    other.optimize(_objective, n_trials=25)
    assert [t.params for t in other.trials] != runs[0]


def test_the_model_beats_random_search_on_a_smooth_objective() -> None:
    best = {}
    for name in ("auto", "random"):
        study = optuna.create_study(sampler=DialedSampler(name, seed=0))
        study.optimize(_objective, n_trials=40)
        best[name] = study.best_value
    assert best["auto"] < 0.05 < best["random"]


def test_constraints_are_stored_and_steer_the_search() -> None:
    def constraints(trial: optuna.trial.FrozenTrial) -> list[float]:
        return [trial.params["x"] - 0.0]  # feasible: x <= 0, away from the optimum x = 1

    feasible_late = {}
    for constrained in (False, True):
        sampler = DialedSampler("tpe", seed=1,
                                constraints_func=constraints if constrained else None)
        study = optuna.create_study(sampler=sampler)
        study.optimize(lambda t: (t.suggest_float("x", -5.0, 5.0) - 1.0) ** 2, n_trials=40)
        if constrained:
            assert all(len(t.system_attrs["constraints"]) == 1 for t in study.trials)
        feasible_late[constrained] = sum(t.params["x"] <= 0.0 for t in study.trials[20:])
    assert feasible_late[True] >= feasible_late[False] + 8  # 11 against 1 when written


def test_several_objectives_run_with_a_dialed_sampler() -> None:
    study = optuna.create_study(directions=["minimize", "maximize"],
                                sampler=DialedSampler("nsga2", seed=2, population_size=8))
    study.optimize(lambda t: (t.suggest_float("x", 0, 1), t.suggest_float("y", 0, 1)),
                   n_trials=30)
    assert len(study.best_trials) >= 1


def test_an_unknown_sampler_is_one_clear_error() -> None:
    with pytest.raises(ConfigError, match="unknown sampler 'bogus'; valid samplers are"):
        DialedSampler("bogus")
