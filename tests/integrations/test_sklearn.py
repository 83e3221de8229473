"""DialedSearchCV on real scikit-learn estimators and small generated data."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("sklearn")

from sklearn.datasets import make_classification, make_regression
from sklearn.linear_model import LogisticRegression, Ridge, SGDClassifier
from sklearn.model_selection import RandomizedSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import dialed
from dialed import FloatDistribution
from dialed.errors import ConfigError
from dialed.integrations.sklearn import DialedSearchCV

C = {"type": "float", "low": 1e-3, "high": 10.0, "log": True}


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    X, y = make_classification(n_samples=200, n_features=8, random_state=0)
    return X, y


def test_results_have_scikit_learns_keys_and_the_best_is_the_studys(data: tuple) -> None:
    X, y = data
    search = DialedSearchCV(LogisticRegression(), {"C": C}, n_trials=6, cv=3, seed=0,
                            return_train_score=True).fit(X, y)
    peer = RandomizedSearchCV(LogisticRegression(), {"C": [0.1, 1.0]}, n_iter=2, cv=3,
                              random_state=0, return_train_score=True).fit(X, y)
    assert set(search.cv_results_) == set(peer.cv_results_)
    assert len(search.cv_results_["params"]) == 6 == len(search.study_.trials)
    scores = search.cv_results_["mean_test_score"]
    assert search.best_index_ == int(np.argmax(scores))
    assert search.best_score_ == pytest.approx(scores.max())
    assert search.best_score_ == pytest.approx(search.study_.best_value)
    assert search.best_params_ == search.study_.best_params
    assert search.n_splits_ == 3 and search.refit_time_ > 0
    assert search.multimetric_ is False
    # delegated to the refitted best estimator
    np.testing.assert_array_equal(search.predict(X), search.best_estimator_.predict(X))
    np.testing.assert_allclose(search.predict_proba(X), search.best_estimator_.predict_proba(X))
    np.testing.assert_allclose(search.decision_function(X),
                               search.best_estimator_.decision_function(X))
    assert list(search.classes_) == [0, 1]
    assert search.score(X, y) == pytest.approx(search.best_estimator_.score(X, y))
    pd = pytest.importorskip("pandas")
    assert len(pd.DataFrame(search.cv_results_)) == 6


def test_the_same_seed_gives_the_same_search(data: tuple) -> None:
    X, y = data
    a = DialedSearchCV(LogisticRegression(), {"C": C}, n_trials=4, cv=2, seed=3).fit(X, y)
    b = DialedSearchCV(LogisticRegression(), {"C": C}, n_trials=4, cv=2, seed=3).fit(X, y)
    assert [p["C"] for p in a.cv_results_["params"]] == [p["C"] for p in b.cv_results_["params"]]


def test_multi_metric_refits_on_the_named_metric(data: tuple) -> None:
    X, y = data
    search = DialedSearchCV(LogisticRegression(), {"C": C}, n_trials=4, cv=3, seed=0,
                            scoring=["accuracy", "roc_auc"], refit="roc_auc").fit(X, y)
    assert search.multimetric_ is True
    assert {"mean_test_accuracy", "rank_test_roc_auc"} <= set(search.cv_results_)
    auc = search.cv_results_["mean_test_roc_auc"]
    assert search.best_score_ == pytest.approx(auc.max())
    assert set(search.scorer_) == {"accuracy", "roc_auc"}
    best = search.study_.best_trial
    assert best.metrics["roc_auc"] == pytest.approx(auc.max())  # the study's objective
    assert "accuracy" in best.metrics  # tracked beside it


def test_multi_metric_without_refit_has_no_best_estimator(data: tuple) -> None:
    X, y = data
    search = DialedSearchCV(LogisticRegression(), {"C": C}, n_trials=2, cv=2, seed=0,
                            scoring={"acc": "accuracy", "f1": "f1"}, refit=False).fit(X, y)
    assert not hasattr(search, "best_estimator_")
    assert "mean_test_f1" in search.cv_results_


def test_a_regressor_in_a_pipeline_with_a_dialed_distribution() -> None:
    X, y = make_regression(n_samples=120, n_features=5, noise=5.0, random_state=0)
    pipe = make_pipeline(StandardScaler(), Ridge())
    space = {"ridge__alpha": FloatDistribution(1e-3, 100.0, log=True)}
    search = DialedSearchCV(pipe, space, n_trials=5, cv=3, seed=0,
                            scoring="neg_mean_squared_error").fit(X, y)
    assert search.best_score_ <= 0
    assert search.study_.metrics.primary.name == "neg_mean_squared_error"
    assert 1e-3 <= search.best_params_["ridge__alpha"] <= 100.0
    assert search.predict(X).shape == (120,)


@pytest.mark.parametrize("scoring, near", [("acuracy", "'accuracy'"),
                                           (["accuracy", "rocauc"], "'roc_auc'")])
def test_a_scoring_scikit_learn_does_not_know_is_one_line_before_training(
    data: tuple, scoring: object, near: str
) -> None:
    X, y = data
    search = DialedSearchCV(LogisticRegression(), {"C": C}, scoring=scoring)
    with pytest.raises(ConfigError, match="is not a scikit-learn scorer; did you mean") as info:
        search.fit(X, y)
    assert near in str(info.value) and "\n" not in str(info.value)
    assert not hasattr(search, "study_")  # nothing was trained or stored


def test_a_bad_space_and_n_trials_are_one_line(data: tuple) -> None:
    X, y = data
    with pytest.raises(ConfigError, match="n_trials must be a whole number >= 1"):
        DialedSearchCV(LogisticRegression(), {"C": C}, n_trials=0).fit(X, y)
    with pytest.raises(ConfigError, match="space must be a non-empty mapping"):
        DialedSearchCV(LogisticRegression(), {}).fit(X, y)
    with pytest.raises(ValueError, match="parameter 'C'"):
        DialedSearchCV(LogisticRegression(), {"C": {"type": "float", "low": 1}}).fit(X, y)


def test_pruning_fold_by_fold_stops_poor_trials_early(data: tuple) -> None:
    X, y = data
    search = DialedSearchCV(
        LogisticRegression(), {"C": {"type": "float", "low": 1e-5, "high": 10, "log": True}},
        n_trials=14, cv=5, seed=0, pruning=True, sampler="random",
        pruner={"name": "median", "n_startup_trials": 2},
    ).fit(X, y)
    trials = search.study_.trials
    pruned = [t for t in trials if t.state.value == "pruned"]
    complete = [t for t in trials if t.state.value == "complete"]
    assert search.n_pruned_ == len(pruned) >= 1
    assert all(t.last_step is not None and t.last_step < 4 for t in pruned)  # fewer folds
    assert len(search.cv_results_["params"]) == len(complete)
    assert "split4_test_score" in search.cv_results_
    assert search.best_score_ == pytest.approx(max(t.metrics["score"] for t in complete))
    assert search.best_estimator_.predict(X).shape == (200,)


def test_pruning_with_partial_fit_goes_epoch_by_epoch(data: tuple) -> None:
    X, y = data
    search = DialedSearchCV(
        SGDClassifier(random_state=0),
        {"alpha": {"type": "float", "low": 1e-5, "high": 10.0, "log": True}},
        n_trials=10, cv=3, seed=0, pruning=True, max_epochs=8, sampler="random",
    ).fit(X, y)
    trials = search.study_.trials
    assert search.study_.resource is not None and search.study_.resource.name == "epochs"
    complete = [t for t in trials if t.state.value == "complete"]
    assert all(t.last_step == 7 for t in complete)  # every epoch reported
    assert search.n_pruned_ >= 1
    assert all(t.last_step < 7 for t in trials if t.state.value == "pruned")


def test_a_stored_study_resumes_and_a_fitted_search_pickles(data: tuple, tmp_path: Path) -> None:
    X, y = data
    url = f"sqlite:///{tmp_path / 'search.db'}"
    kwargs = {"n_trials": 3, "cv": 2, "seed": 0, "storage": url, "study_name": "lr"}
    DialedSearchCV(LogisticRegression(), {"C": C}, **kwargs).fit(X, y)
    again = DialedSearchCV(LogisticRegression(), {"C": C}, **kwargs).fit(X, y)
    assert len(again.cv_results_["params"]) == 3
    assert len(dialed.load_study("lr", storage=url).trials) == 6
    restored = pickle.loads(pickle.dumps(again))
    np.testing.assert_array_equal(restored.predict(X), again.predict(X))


def test_failed_fits_fail_their_trials_and_the_search_goes_on(data: tuple) -> None:
    X, y = data
    search = DialedSearchCV(Ridge(), {"alpha": [1.0, -1.0]}, n_trials=6, cv=2, seed=0,
                            sampler="random").fit(X, y)
    states = {t.state.value for t in search.study_.trials if t.params["alpha"] == -1.0}
    assert states == {"failed"}
    errors = [t.error for t in search.study_.trials if t.state.value == "failed"]
    assert errors and all("fits failed" in str(e) for e in errors)
    assert search.best_params_ == {"alpha": 1.0}


def test_error_score_raise_raises_the_fits_error(data: tuple) -> None:
    X, y = data
    search = DialedSearchCV(Ridge(), {"alpha": [-1.0]}, n_trials=2, cv=2, seed=0,
                            error_score="raise")
    with pytest.raises(ValueError, match="alpha"):
        search.fit(X, y)
    assert [t.state.value for t in search.study_.trials] == ["failed"]


@pytest.mark.parametrize("pruning", [False, True])
def test_a_callable_scoring_returning_several_metrics(data: tuple, pruning: bool) -> None:
    X, y = data

    def scores(estimator: object, X_: np.ndarray, y_: np.ndarray) -> dict[str, float]:
        pred = estimator.predict(X_)  # type: ignore[attr-defined]
        return {"acc": float(np.mean(pred == y_)), "err": float(np.mean(pred != y_))}

    search = DialedSearchCV(LogisticRegression(), {"C": C}, n_trials=3, cv=2, seed=0,
                            scoring=scores, refit="acc", pruning=pruning).fit(X, y)
    assert search.multimetric_ is True
    assert search.best_score_ == pytest.approx(search.cv_results_["mean_test_acc"].max())
    assert all(t.state.value in ("complete", "pruned") for t in search.study_.trials)
