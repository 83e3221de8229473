"""The bayesmark problems (NeurIPS 2020 black-box optimisation challenge) on current scikit-learn.

A problem is one model x dataset x metric. Its loss is minus the mean 5-fold cross-validated
score on an 80% split of the dataset (the other 20% is held out and unused), as in bayesmark's
``SklearnModel.evaluate``. The search spaces, ranges and scales are bayesmark's
(``bayesmark/sklearn_funcs.py``, Turner et al., "Bayesian Optimization is Superior to Random
Search for Machine Learning Hyperparameter Tuning", PMLR 133, 2021).

What differs from bayesmark, and why:

* **logit scale.** bayesmark warps these reals with ``logit`` before its optimisers see them.
  Here every method searches them as a plain float, linear on the logit of the value
  (``[logit(low), logit(high)]``), and :meth:`Problem.model_params` maps back with the
  logistic function: the optimisers see exactly bayesmark's warped coordinate.
* **Seeds.** bayesmark fixed only the data split. Here the split, the CV folds (shuffled,
  stratified for classification) and every model's ``random_state`` come from the run's seed,
  so all methods see the same deterministic objective for a seed.
* **scikit-learn 1.9.** ``LogisticRegression(multi_class="ovr", solver="liblinear")`` is gone
  for three or more classes: the lasso/linear classifiers are liblinear logistic regressions in
  a ``OneVsRestClassifier`` (the same one-vs-rest fit; binary data gives one model as before).
  ``penalty`` is spelled ``l1_ratio``. ``Lasso``/``Ridge`` lost ``normalize``: it stays a search
  parameter, applied as before (centre each column and divide it by its L2 norm, fitted on the
  training folds, only when ``fit_intercept``). ``AdaBoostClassifier`` has only SAMME now
  (bayesmark's default was SAMME.R).
* **Failures.** A fit that raises or a non-finite score makes the loss ``inf`` (the trial is
  told failed); bayesmark aborted the run instead.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
from sklearn import (
    datasets,
    ensemble,
    linear_model,
    multiclass,
    neighbors,
    neural_network,
    svm,
    tree,
)
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import get_scorer
from sklearn.model_selection import KFold, StratifiedKFold, cross_val_score, train_test_split
from sklearn.pipeline import make_pipeline

__all__ = [
    "DATASETS",
    "METRICS",
    "MODELS",
    "Param",
    "Problem",
    "all_problems",
    "parse_problem",
]

#: Datasets: name -> (sklearn loader, is classification).
DATASETS: dict[str, tuple[str, bool]] = {
    "breast": ("load_breast_cancer", True),
    "digits": ("load_digits", True),
    "iris": ("load_iris", True),
    "wine": ("load_wine", True),
    "diabetes": ("load_diabetes", False),
}

#: Metrics per problem type, and the sklearn scorer each names.
METRICS: dict[bool, tuple[str, ...]] = {True: ("nll", "acc"), False: ("mae", "mse")}
_SCORERS = {
    "nll": "neg_log_loss",
    "acc": "accuracy",
    "mae": "neg_mean_absolute_error",
    "mse": "neg_mean_squared_error",
}

CV_SPLITS = 5
TEST_SIZE = 0.2


@dataclass(frozen=True)
class Param:
    """One search parameter as bayesmark states it: ``kind`` real/int/bool, ``scale`` of reals
    and ints linear/log/logit, ``low``/``high`` in the model's own units."""

    name: str
    kind: str
    scale: str = "linear"
    low: float = 0.0
    high: float = 1.0

    @property
    def search_low(self) -> float:
        """Lower bound in the coordinate the optimisers search (the logit for logit scale)."""
        return _logit(self.low) if self.scale == "logit" else self.low

    @property
    def search_high(self) -> float:
        return _logit(self.high) if self.scale == "logit" else self.high

    @property
    def log(self) -> bool:
        """Whether the optimisers search this parameter on a log scale."""
        return self.scale == "log"


def _real(name: str, scale: str, low: float, high: float) -> Param:
    return Param(name, "real", scale, low, high)


def _int(name: str, scale: str, low: int, high: int) -> Param:
    return Param(name, "int", scale, low, high)


def _bool(name: str) -> Param:
    return Param(name, "bool")


# -- bayesmark's search spaces (sklearn_funcs.py), one tuple per model -----------------------
_KNN = (_int("n_neighbors", "linear", 1, 25), _int("p", "linear", 1, 4))
_SVM = (
    _real("C", "log", 1.0, 1e3),
    _real("gamma", "log", 1e-4, 1e-3),
    _real("tol", "log", 1e-5, 1e-1),
)
_TREE = (
    _int("max_depth", "linear", 1, 15),
    _real("min_samples_split", "logit", 0.01, 0.99),
    _real("min_samples_leaf", "logit", 0.01, 0.49),
    _real("min_weight_fraction_leaf", "logit", 0.01, 0.49),
    _real("max_features", "logit", 0.01, 0.99),
    _real("min_impurity_decrease", "linear", 0.0, 0.5),
)
_MLP_ADAM = (
    _int("hidden_layer_sizes", "linear", 50, 200),
    _real("alpha", "log", 1e-5, 1e1),
    _int("batch_size", "linear", 10, 250),
    _real("learning_rate_init", "log", 1e-5, 1e-1),
    _real("tol", "log", 1e-5, 1e-1),
    _real("validation_fraction", "logit", 0.1, 0.9),
    _real("beta_1", "logit", 0.5, 0.99),
    _real("beta_2", "logit", 0.9, 1.0 - 1e-6),
    _real("epsilon", "log", 1e-9, 1e-6),
)
_MLP_SGD = (
    _int("hidden_layer_sizes", "linear", 50, 200),
    _real("alpha", "log", 1e-5, 1e1),
    _int("batch_size", "linear", 10, 250),
    _real("learning_rate_init", "log", 1e-5, 1e-1),
    _real("power_t", "logit", 0.1, 0.9),
    _real("tol", "log", 1e-5, 1e-1),
    _real("momentum", "logit", 0.001, 0.999),
    _real("validation_fraction", "logit", 0.1, 0.9),
)
_ADA = (_int("n_estimators", "linear", 10, 100), _real("learning_rate", "log", 1e-4, 1e1))
_LOGREG = (_real("C", "log", 1e-2, 1e2), _real("intercept_scaling", "log", 1e-2, 1e2))
_LASSO_REG = (
    _real("alpha", "log", 1e-2, 1e2),
    _bool("fit_intercept"),
    _bool("normalize"),
    _int("max_iter", "log", 10, 5000),
    _real("tol", "log", 1e-5, 1e-1),
    _bool("positive"),
)
_RIDGE_REG = (
    _real("alpha", "log", 1e-2, 1e2),
    _bool("fit_intercept"),
    _bool("normalize"),
    _int("max_iter", "log", 10, 5000),
    _real("tol", "log", 1e-4, 1e-1),
)

#: Model name -> (classification space, regression space).
MODELS: dict[str, tuple[tuple[Param, ...], tuple[Param, ...]]] = {
    "kNN": (_KNN, _KNN),
    "SVM": (_SVM, _SVM),
    "DT": (_TREE, _TREE),
    "RF": (_TREE, _TREE),
    "MLP-adam": (_MLP_ADAM, _MLP_ADAM),
    "MLP-sgd": (_MLP_SGD, _MLP_SGD),
    "ada": (_ADA, _ADA),
    "lasso": (_LOGREG, _LASSO_REG),
    "linear": (_LOGREG, _RIDGE_REG),
}


@dataclass(frozen=True)
class Problem:
    """One bayesmark test case: ``model`` on ``dataset`` scored by ``metric``."""

    model: str
    dataset: str
    metric: str

    def __post_init__(self) -> None:
        if self.model not in MODELS:
            raise ValueError(f"unknown model {self.model!r}; models are {sorted(MODELS)}")
        if self.dataset not in DATASETS:
            raise ValueError(f"unknown dataset {self.dataset!r}; datasets are {sorted(DATASETS)}")
        if self.metric not in METRICS[self.classification]:
            raise ValueError(
                f"metric {self.metric!r} does not fit dataset {self.dataset!r}; "
                f"use one of {METRICS[self.classification]}"
            )

    @property
    def name(self) -> str:
        return f"{self.model}-{self.dataset}-{self.metric}"

    @property
    def classification(self) -> bool:
        return DATASETS[self.dataset][1]

    @property
    def space(self) -> tuple[Param, ...]:
        clf, reg = MODELS[self.model]
        return clf if self.classification else reg

    def model_params(self, search_params: Mapping[str, Any]) -> dict[str, Any]:
        """The model's keyword arguments from a point in the search coordinates."""
        out: dict[str, Any] = {}
        for p in self.space:
            v = search_params[p.name]
            if p.kind == "bool":
                out[p.name] = bool(v)
            elif p.kind == "int":
                out[p.name] = int(min(max(round(float(v)), p.low), p.high))
            elif p.scale == "logit":
                out[p.name] = float(min(max(_expit(float(v)), p.low), p.high))
            else:
                out[p.name] = float(min(max(float(v), p.low), p.high))
        return out

    def evaluate(self, search_params: Mapping[str, Any], seed: int) -> float:
        """The loss (minus the mean CV score) at ``search_params``; ``inf`` when the fit fails."""
        X, y = _split(self.dataset, seed)
        estimator = _build(self.model, self.classification, self.model_params(search_params),
                           seed)
        folds = (StratifiedKFold if self.classification else KFold)(
            n_splits=CV_SPLITS, shuffle=True, random_state=seed
        )
        with warnings.catch_warnings():
            # bayesmark ignores the warnings that odd settings give; so do we.
            warnings.simplefilter("ignore", ConvergenceWarning)
            warnings.simplefilter("ignore", UserWarning)
            warnings.simplefilter("ignore", RuntimeWarning)
            warnings.simplefilter("ignore", FutureWarning)
            try:
                scores = cross_val_score(
                    estimator, X, y, scoring=get_scorer(_SCORERS[self.metric]), cv=folds,
                    error_score="raise",
                )
            except (ValueError, ArithmeticError, np.linalg.LinAlgError):
                return math.inf
        loss = -float(np.mean(scores))
        return loss if math.isfinite(loss) else math.inf


def all_problems() -> list[Problem]:
    """Every bayesmark problem: 9 models x (4 classification datasets + diabetes) x 2 metrics."""
    return [
        Problem(model, dataset, metric)
        for model in MODELS
        for dataset, (_, clf) in DATASETS.items()
        for metric in METRICS[clf]
    ]


def parse_problem(name: str) -> Problem:
    """``"kNN-iris-acc"`` -> the problem (model names may hold a dash: ``MLP-adam-...``)."""
    parts = name.split("-")
    if len(parts) < 3:
        raise ValueError(f"problem names look like MODEL-DATASET-METRIC, got {name!r}")
    model, dataset, metric = "-".join(parts[:-2]), parts[-2], parts[-1]
    return Problem(model, dataset, metric)


# -- helpers ---------------------------------------------------------------------------------
def _logit(p: float) -> float:
    return math.log(p) - math.log1p(-p)


def _expit(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))


@cache
def _split(dataset: str, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The 80% part of the dataset that the CV runs on (the 20% held out is never used)."""
    loader, _ = DATASETS[dataset]
    X, y = getattr(datasets, loader)(return_X_y=True)
    X_train, _, y_train, _ = train_test_split(
        np.asarray(X, dtype=float), y, test_size=TEST_SIZE, random_state=seed, shuffle=True
    )
    return X_train, y_train


def _build(model: str, classification: bool, params: dict[str, Any], seed: int) -> Any:
    """The estimator with bayesmark's fixed settings plus ``params``."""
    if model == "kNN":
        cls = neighbors.KNeighborsClassifier if classification else neighbors.KNeighborsRegressor
        return cls(**params)
    if model == "SVM":
        if classification:
            return svm.SVC(kernel="rbf", probability=True, random_state=seed, **params)
        return svm.SVR(kernel="rbf", **params)
    if model == "DT":
        cls = tree.DecisionTreeClassifier if classification else tree.DecisionTreeRegressor
        return cls(max_leaf_nodes=None, random_state=seed, **params)
    if model == "RF":
        cls = (ensemble.RandomForestClassifier if classification
               else ensemble.RandomForestRegressor)
        return cls(n_estimators=10, max_leaf_nodes=None, random_state=seed, n_jobs=1, **params)
    if model in ("MLP-adam", "MLP-sgd"):
        cls = neural_network.MLPClassifier if classification else neural_network.MLPRegressor
        fixed: dict[str, Any] = {"solver": "adam", "early_stopping": True}
        if model == "MLP-sgd":
            fixed = {"solver": "sgd", "early_stopping": True, "learning_rate": "invscaling",
                     "nesterovs_momentum": True}
            if not classification:
                fixed["activation"] = "tanh"  # bayesmark: regression crashes often with relu
        return cls(random_state=seed, **fixed, **params)
    if model == "ada":
        cls = ensemble.AdaBoostClassifier if classification else ensemble.AdaBoostRegressor
        return cls(random_state=seed, **params)
    if classification:  # lasso / linear: liblinear logistic regression, one-vs-rest
        l1_ratio = 1.0 if model == "lasso" else 0.0
        return multiclass.OneVsRestClassifier(linear_model.LogisticRegression(
            l1_ratio=l1_ratio, fit_intercept=True, solver="liblinear", random_state=seed,
            **params,
        ))
    params = dict(params)
    normalize = params.pop("normalize")
    if model == "lasso":
        reg = linear_model.Lasso(random_state=seed, **params)
    else:
        reg = linear_model.Ridge(solver="auto", random_state=seed, **params)
    if normalize and params["fit_intercept"]:
        return make_pipeline(_ColumnL2Normalizer(), reg)
    return reg


class _ColumnL2Normalizer(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """scikit-learn < 1.2's ``normalize=True``: centre each column, divide by its L2 norm."""

    def fit(self, X: np.ndarray, y: Any = None) -> _ColumnL2Normalizer:
        X = np.asarray(X, dtype=float)
        self.mean_ = X.mean(axis=0)
        norm = np.sqrt(((X - self.mean_) ** 2).sum(axis=0))
        self.norm_ = np.where(norm == 0.0, 1.0, norm)
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        return (np.asarray(X, dtype=float) - self.mean_) / self.norm_
