"""``import dialed.compat.optuna as optuna``: Optuna's API on dialed's engine, checked the way
an Optuna user would write it; and the Optuna spellings the native API accepts."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

import dialed
import dialed.compat.optuna as optuna
from dialed.errors import ConfigError


def _quadratic(trial: optuna.Trial) -> float:
    x = trial.suggest_float("x", -10, 10)
    y = trial.suggest_int("y", 0, 10, step=2)
    z = trial.suggest_float("z", 1e-3, 1.0, log=True)
    c = trial.suggest_categorical("c", ["a", "b"])
    trial.set_user_attr("twice_x", 2 * x)
    return (x - 2) ** 2 + y + z + (0 if c == "a" else 1)


def test_a_typical_script_runs(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'example.db'}"
    seen: list[tuple[str, int]] = []
    study = optuna.create_study(study_name="quad", storage=url, direction="minimize",
                                sampler=optuna.samplers.TPESampler(seed=0))
    study.optimize(_quadratic, n_trials=15, timeout=600, n_jobs=1, catch=(ValueError,),
                   callbacks=[lambda s, t: seen.append((s.study_name, t.number))],
                   show_progress_bar=False)
    assert seen == [("quad", i) for i in range(15)]
    best = study.best_trial
    assert best.value == study.best_value == min(t.value for t in study.trials)
    assert best.values == [best.value] and best.params == study.best_params
    assert best.user_attrs == {"twice_x": 2 * best.params["x"]}
    assert best.state == optuna.TrialState.COMPLETE and best.duration is not None
    assert study.direction == optuna.StudyDirection.MINIMIZE
    frame = study.trials_dataframe()
    assert list(frame["number"]) == list(range(15))
    assert {"value", "datetime_start", "datetime_complete", "duration", "params_x", "params_c",
            "user_attrs_twice_x", "state"} <= set(frame.columns)
    assert set(frame["state"]) == {"COMPLETE"}
    # run the script again: load_if_exists continues the same study
    again = optuna.create_study(study_name="quad", storage=url, load_if_exists=True)
    again.optimize(_quadratic, n_trials=2)
    assert len(optuna.load_study(study_name="quad", storage=url).trials) == 17


def test_pruning_with_report_should_prune_and_trial_pruned() -> None:
    def objective(trial: optuna.Trial) -> float:
        x = trial.suggest_float("x", 0, 1)
        value = 0.0
        for step in range(10):
            value = x + 1.0 / (step + 1)
            trial.report(value, step)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return value

    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=3),
                                pruner=optuna.pruners.MedianPruner(n_startup_trials=3))
    study.optimize(objective, n_trials=25)
    pruned = study.get_trials(deepcopy=False, states=[optuna.TrialState.PRUNED])
    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    assert pruned and complete and len(pruned) + len(complete) == 25
    assert all(t.value is None or t.last_step is not None for t in pruned)
    assert optuna.exceptions.TrialPruned is optuna.TrialPruned is dialed.Pruned


def test_several_objectives_ask_tell_and_enqueue() -> None:
    study = optuna.create_study(directions=["minimize", "maximize"],
                                sampler=optuna.samplers.NSGAIISampler(seed=1, population_size=8))
    study.enqueue_trial({"x": 0.5})
    first = study.ask()
    x = first.suggest_float("x", 0, 1)
    assert x == 0.5
    study.tell(first, [x, x * x])
    for _ in range(9):
        trial = study.ask()
        x = trial.suggest_float("x", 0, 1)
        study.tell(trial, (x, x * x))
    failed = study.ask()
    failed.suggest_float("x", 0, 1)
    study.tell(failed, state=optuna.TrialState.FAIL)
    front = study.best_trials
    assert front and all(len(t.values) == 2 for t in front)
    assert study.trials[-1].state == optuna.TrialState.FAIL and study.trials[-1].values is None
    assert [d.name for d in study.directions] == ["MINIMIZE", "MAXIMIZE"]
    frame = study.trials_dataframe()
    assert {"values_0", "values_1"} <= set(frame.columns)
    with pytest.raises(AttributeError, match="2 objectives"):
        _ = front[0].value


def test_the_old_suggest_names_and_positional_int_step() -> None:
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))

    def objective(trial: optuna.Trial) -> float:
        a = trial.suggest_uniform("a", 0, 1)
        b = trial.suggest_loguniform("b", 1e-3, 1)
        c = trial.suggest_discrete_uniform("c", 0, 1, 0.25)
        d = trial.suggest_int("d", 0, 10, 5)
        return a + b + c + d

    study.optimize(objective, n_trials=8)
    space = study.native.space
    assert space["b"].log and space["c"].step == 0.25 and space["d"].step == 5
    assert all(t.params["d"] in (0, 5, 10) for t in study.trials)


@pytest.mark.parametrize("make, name", [
    (lambda: optuna.samplers.TPESampler(seed=1, n_startup_trials=5, multivariate=True), "tpe"),
    (lambda: optuna.samplers.RandomSampler(seed=1), "random"),
    (lambda: optuna.samplers.CmaEsSampler(seed=1, n_startup_trials=2), "cmaes"),
    (lambda: optuna.samplers.GPSampler(seed=1), "gp"),
    (lambda: optuna.samplers.NSGAIISampler(seed=1, population_size=10), "nsga2"),
    (lambda: optuna.samplers.QMCSampler(seed=1), "sobol"),
    (lambda: optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=1), "median"),
    (lambda: optuna.pruners.PercentilePruner(25.0), "percentile"),
    (lambda: optuna.pruners.SuccessiveHalvingPruner(), "asha"),
    (lambda: optuna.pruners.HyperbandPruner(min_resource=1, max_resource=27), "hyperband"),
    (lambda: optuna.pruners.NopPruner(), "none"),
])
def test_optuna_names_build_dialed_algorithms(make: Any, name: str) -> None:
    built = make()
    assert built.describe()["name"] == name


def test_an_option_without_a_counterpart_is_refused_in_one_line() -> None:
    with pytest.raises(ConfigError, match=r"TPESampler\(constraints_func=...\) has no dialed"):
        optuna.samplers.TPESampler(constraints_func=lambda t: [0.0])
    with pytest.raises(ConfigError, match="storage must be a URL"):
        optuna.create_study(storage=object())  # type: ignore[arg-type]


def test_the_native_api_takes_optuna_spellings() -> None:
    study = dialed.create_study(study_name="spell", directions=["minimize", "maximize"], seed=0)
    study.optimize(lambda t: (t.suggest_float("x", 0, 1), t.suggest_float("y", 0, 1)),
                   n_trials=6, show_progress_bar=False)
    assert study.study_name == "spell"
    assert study.metrics.to_dict() == {"value_0": "minimize", "value_1": "maximize"}
    assert all(len(t.values or []) == 2 for t in study.best_trials)

    single = dialed.create_study(metrics={"loss": "minimize", "acc": "track"}, seed=0)
    single.optimize(lambda t: {"loss": t.suggest_float("x", 0, 1), "acc": 0.5}, n_trials=4)
    assert single.best_trial.value == single.best_value == single.best_trial.metrics["loss"]

    plain = dialed.create_study(seed=0)  # an objective may return a plain float
    plain.enqueue_trial({"x": 0.25})
    plain.optimize(lambda t: t.suggest_float("x", 0, 1) ** 2, n_trials=3)
    assert plain.trials[0].value == 0.0625
    assert dialed.TrialState.FAIL is dialed.TrialState.FAILED
    with pytest.raises(ConfigError, match="name once"):
        dialed.create_study("a", study_name="b")
    with pytest.raises(ConfigError, match="one of metrics=, direction= or directions="):
        dialed.create_study(direction="minimize", directions=["minimize"])
    with pytest.raises(ConfigError, match="non-empty list"):
        dialed.create_study(directions="minimize")  # type: ignore[arg-type]
    assert math.isfinite(plain.best_value)
