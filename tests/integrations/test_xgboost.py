"""XGBoost's pruning callback, training real boosters on small data."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

pytest.importorskip("xgboost")

import xgboost as xgb
from sklearn.base import clone
from sklearn.datasets import make_classification

import dialed
from dialed.errors import ConfigError
from dialed.integrations.xgboost import PruningCallback

PARAMS = {"objective": "binary:logistic", "eval_metric": "logloss", "max_depth": 3,
          "nthread": 1}


@pytest.fixture(scope="module")
def data() -> tuple[Any, Any, np.ndarray, np.ndarray]:
    X, y = make_classification(n_samples=400, n_features=8, random_state=0)
    return xgb.DMatrix(X[:300], y[:300]), xgb.DMatrix(X[300:], y[300:]), X, y


def _study(**kw: Any) -> dialed.Study:
    return dialed.create_study(direction="minimize", seed=0, sampler="random",
                               pruner={"name": "median", "n_startup_trials": 1}, **kw)


def test_every_round_is_reported_and_a_poor_trial_is_pruned(data: tuple) -> None:
    dtrain, dvalid, _, _ = data
    study = _study(resource={"name": "boosting_rounds", "max": 20})
    study.enqueue({"eta": 0.3})
    study.enqueue({"eta": 0.001})
    curves: dict[int, list[float]] = {}

    def objective(trial: dialed.Trial) -> float:
        eta = trial.suggest_float("eta", 1e-3, 0.5, log=True)
        log: dict[str, Any] = {}
        xgb.train({**PARAMS, "eta": eta, "seed": trial.seed % 2**31}, dtrain,
                  num_boost_round=20, evals=[(dvalid, "valid")], evals_result=log,
                  verbose_eval=False, callbacks=[PruningCallback(trial, "valid-logloss")])
        curves[trial.number] = log["valid"]["logloss"]
        return float(log["valid"]["logloss"][-1])

    study.optimize(objective, n_trials=2)
    first, second = study.trials
    assert first.state.value == "complete"
    assert sorted(first.intermediate) == list(range(1, 21))
    np.testing.assert_allclose([first.intermediate[s] for s in range(1, 21)], curves[0])
    assert second.state.value == "pruned" and second.last_step == 1


def test_under_cv_the_folds_mean_is_reported(data: tuple) -> None:
    dtrain, _, _, _ = data
    study = _study()
    trial = study.ask()
    result = xgb.cv(PARAMS, dtrain, num_boost_round=5, nfold=3, seed=0,
                    callbacks=[PruningCallback(trial, "test-logloss")])
    study.tell(trial, float(result["test-logloss-mean"].iloc[-1]))
    rec = study.trials[0]
    np.testing.assert_allclose([rec.intermediate[s] for s in range(1, 6)],
                               result["test-logloss-mean"].to_numpy())


def test_the_scikit_learn_api_with_early_stopping_and_clone(data: tuple) -> None:
    _, _, X, y = data
    study = _study()
    trial = study.ask()
    model = xgb.XGBClassifier(n_estimators=200, learning_rate=0.5, max_depth=3, n_jobs=1,
                              early_stopping_rounds=5,
                              callbacks=[PruningCallback(trial, "validation_0-logloss")])
    model = clone(model)  # deep-copies the callback; it still reports to the same trial
    model.fit(X[:300], y[:300], eval_set=[(X[300:], y[300:])], verbose=False)
    study.tell(trial, float(model.best_score))
    rec = study.trials[0]
    assert rec.state.value == "complete"
    assert model.best_iteration < 195
    assert rec.last_step == model.best_iteration + 1 + 5  # early stopping ran after it


def test_a_metric_never_produced_fails_the_trial_with_the_names_produced(data: tuple) -> None:
    dtrain, dvalid, _, _ = data
    study = _study()

    def objective(trial: dialed.Trial) -> float:
        xgb.train(PARAMS, dtrain, num_boost_round=3, evals=[(dvalid, "valid")],
                  verbose_eval=False, callbacks=[PruningCallback(trial, "valid-auc")])
        return 0.0

    study.optimize(objective, n_trials=1, catch=(Exception,))
    [rec] = study.trials
    assert rec.state.value == "failed"
    assert "never produced 'valid-auc'; it produced: 'valid-logloss'" in str(rec.error)


def test_bad_arguments_are_one_line_before_training() -> None:
    with pytest.raises(ConfigError, match=r"xgboost.PruningCallback needs the trial"):
        PruningCallback(None, "valid-logloss")  # type: ignore[arg-type]
    study = _study()
    with pytest.raises(ConfigError, match="observation_key must be '<dataset>-<metric>'"):
        PruningCallback(study.ask(), "logloss")
