"""LightGBM's pruning callback and the stepwise tuner, training real boosters on small data."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

pytest.importorskip("lightgbm")

import lightgbm as lgb
from sklearn.datasets import make_classification

import dialed
from dialed.errors import ConfigError
from dialed.integrations.lightgbm import PruningCallback, stepwise_space, tune_stepwise

PARAMS = {"objective": "binary", "verbosity": -1, "num_leaves": 7, "min_data_in_leaf": 5,
          "num_threads": 1}


@pytest.fixture(scope="module")
def data() -> tuple[Any, Any]:
    X, y = make_classification(n_samples=400, n_features=8, random_state=0)
    train = lgb.Dataset(X[:300], y[:300], free_raw_data=False)
    valid = lgb.Dataset(X[300:], y[300:], reference=train, free_raw_data=False)
    return train, valid


def _study(**kw: Any) -> dialed.Study:
    return dialed.create_study(direction="minimize", seed=0, sampler="random",
                               pruner={"name": "median", "n_startup_trials": 1}, **kw)


def test_every_round_is_reported_and_a_poor_trial_is_pruned(data: tuple) -> None:
    train, valid = data
    study = _study(resource={"name": "boosting_rounds", "max": 30})
    study.enqueue({"lr": 0.3})
    study.enqueue({"lr": 0.0001})
    curves: dict[int, list[float]] = {}

    def objective(trial: dialed.Trial) -> float:
        lr = trial.suggest_float("lr", 1e-4, 0.5, log=True)
        log: dict[str, Any] = {}
        booster = lgb.train({**PARAMS, "learning_rate": lr}, train, num_boost_round=30,
                            valid_sets=[valid],
                            callbacks=[lgb.record_evaluation(log),
                                       PruningCallback(trial, "binary_logloss")])
        curves[trial.number] = log["valid_0"]["binary_logloss"]
        return float(booster.best_score["valid_0"]["binary_logloss"]) if booster.best_score \
            else float(log["valid_0"]["binary_logloss"][-1])

    study.optimize(objective, n_trials=2)
    first, second = study.trials
    assert first.state.value == "complete"
    assert sorted(first.intermediate) == list(range(1, 31))  # steps: rounds done
    np.testing.assert_allclose([first.intermediate[s] for s in range(1, 31)], curves[0])
    assert second.state.value == "pruned"
    assert second.last_step == 1  # stopped after its first round
    assert second.user_attrs["pruned_at"] == 1
    assert first.user_attrs["pruning_metric"] == "valid_0 binary_logloss (lower is better)"


def test_the_default_validation_set_is_not_the_training_set(data: tuple) -> None:
    train, valid = data
    study = _study()
    trial = study.ask()
    lgb.train(PARAMS, train, num_boost_round=3, valid_sets=[train, valid],
              callbacks=[PruningCallback(trial, "binary_logloss")])
    study.tell(trial, 0.5)
    rec = study.trials[0]
    assert rec.user_attrs["pruning_metric"].startswith("valid_1 binary_logloss")
    trial = study.ask()
    lgb.train(PARAMS, train, num_boost_round=3, valid_sets=[train, valid],
              valid_names=["fit", "holdout"],
              callbacks=[PruningCallback(trial, "binary_logloss", valid_name="fit")])
    assert trial.user_attrs["pruning_metric"].startswith("fit binary_logloss")


def test_under_cv_the_folds_mean_is_reported(data: tuple) -> None:
    train, _ = data
    study = _study()
    trial = study.ask()
    result = lgb.cv(PARAMS, train, num_boost_round=5, nfold=3, stratified=True, seed=0,
                    callbacks=[PruningCallback(trial, "binary_logloss")])
    study.tell(trial, float(result["valid binary_logloss-mean"][-1]))
    rec = study.trials[0]
    np.testing.assert_allclose([rec.intermediate[s] for s in range(1, 6)],
                               result["valid binary_logloss-mean"])


@pytest.mark.filterwarnings("ignore:The argument 'eval_set' is deprecated")
def test_the_scikit_learn_api_and_early_stopping(data: tuple) -> None:
    X, y = make_classification(n_samples=400, n_features=8, random_state=1)
    study = _study()
    trial = study.ask()
    model = lgb.LGBMClassifier(n_estimators=300, learning_rate=0.3, verbose=-1, num_leaves=7,
                               n_jobs=1)
    model.fit(X[:300], y[:300], eval_set=[(X[300:], y[300:])],
              callbacks=[lgb.early_stopping(5, verbose=False),
                         PruningCallback(trial, "binary_logloss")])
    study.tell(trial, float(model.best_score_["valid_0"]["binary_logloss"]))
    rec = study.trials[0]
    assert rec.state.value == "complete"
    assert model.best_iteration_ < 300 - 5  # early stopping ended the training
    # the round on which early stopping raised is not reported (it runs first)
    assert rec.last_step == model.best_iteration_ + 4


def test_a_metric_never_produced_fails_the_trial_with_the_names_produced(data: tuple) -> None:
    train, valid = data
    study = _study()

    def objective(trial: dialed.Trial) -> float:
        lgb.train(PARAMS, train, num_boost_round=3, valid_sets=[valid],
                  callbacks=[PruningCallback(trial, "auc")])
        return 0.0

    study.optimize(objective, n_trials=1, catch=(Exception,))
    [rec] = study.trials
    assert rec.state.value == "failed"
    assert "the training never produced 'valid_0 auc'; it produced: 'valid_0 binary_logloss'" \
        in str(rec.error)


def test_a_callback_without_a_trial_is_one_line_before_training() -> None:
    with pytest.raises(ConfigError, match=r"lightgbm.PruningCallback needs the trial"):
        PruningCallback(None, "binary_logloss")  # type: ignore[arg-type]


def test_stepwise_tuning_attributes_each_family(data: tuple) -> None:
    train, valid = data
    result = tune_stepwise({"objective": "binary", "num_threads": 1}, train, valid,
                           metric="binary_logloss", num_boost_round=15,
                           trials_per_stage=2, families=["tree_shape", "learning_rate"],
                           repeats=2, seed=0)
    assert [s.name for s in result.stages] == ["tree_shape", "learning_rate"]
    assert set(result.gains()) == {"tree_shape", "learning_rate"}
    assert [s.tuned for s in result.stages] == [("num_leaves", "min_child_samples"),
                                                ("learning_rate",)]
    assert result.best_params["objective"] == "binary"
    baseline = result.workflow.baseline()
    assert baseline is not None
    # the result is the incumbent: never worse than LightGBM's defaults on the mean
    assert result.best_value <= baseline.mean("binary_logloss") + 1e-12
    roles = [t.system_attrs.get("role") for t in result.study.trials]
    assert roles.count("baseline") == 2
    summary = str(result.workflow.summary())
    assert "tree_shape" in summary


def test_the_stepwise_space_is_tagged_by_family() -> None:
    space = dialed.Space(stepwise_space())
    assert set(space.families()) == {"tree_shape", "sampling", "regularization",
                                     "learning_rate"}
    with pytest.raises(ConfigError, match="unknown LightGBM family"):
        stepwise_space(["depth"])
