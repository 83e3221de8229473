"""The objective, test function and data loader of study.yaml: gradient-boosted trees on
scikit-learn's digits.

A quarter of the digits is held out once (``random_state=0``) as the **test data**: only
:func:`test` reads it, and only ``dialed verify`` calls :func:`test`. The search, the stages and
confirm see the other three quarters, through :func:`objective`: 3-fold cross-validation whose
folds are shuffled with ``trial.seed``, so the repeated evaluations of one configuration (each
with a fresh seed) measure how much its score moves with the split and the model's randomness.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.datasets import load_digits
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import accuracy_score, log_loss
from sklearn.model_selection import StratifiedKFold, cross_validate, train_test_split
from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

import dialed

_X, _Y = load_digits(return_X_y=True)
X_TRAIN, X_TEST, Y_TRAIN, Y_TEST = train_test_split(
    _X, _Y, test_size=0.25, stratify=_Y, random_state=0
)
ROUNDS = 30  # boosting rounds, fixed: the learning rate is tuned against it


def _model(params: dict[str, Any], seed: int) -> HistGradientBoostingClassifier:
    return HistGradientBoostingClassifier(
        learning_rate=params["learning_rate"],
        max_leaf_nodes=params["max_leaf_nodes"],
        min_samples_leaf=params["min_samples_leaf"],
        l2_regularization=params["l2_regularization"],
        max_features=params["max_features"],
        max_iter=ROUNDS,
        early_stopping=False,
        random_state=seed,
    )


def objective(trial: dialed.Trial) -> dict[str, float]:
    """Validation: 3-fold cross-validation on the training quarters, folds shuffled by seed."""
    folds = StratifiedKFold(n_splits=3, shuffle=True, random_state=trial.seed % (2**31))
    with threadpool_limits(limits=1):  # n_jobs trials already run side by side
        scores = cross_validate(_model(trial.params, trial.seed), X_TRAIN, Y_TRAIN, cv=folds,
                                scoring=("neg_log_loss", "accuracy"))
    return {
        "val_loss": float(-scores["test_neg_log_loss"].mean()),
        "val_acc": float(scores["test_accuracy"].mean()),
    }


def test(params: dict[str, Any], seed: int) -> dict[str, float]:
    """The locked test: fit on all training data, score once on the held-out quarter.

    It returns the study's metrics (``val_loss``, ``val_acc``) measured on the test data, so
    ``dialed verify`` can put validation and test side by side.
    """
    with threadpool_limits(limits=1):
        model = _model(params, seed).fit(X_TRAIN, Y_TRAIN)
        proba = model.predict_proba(X_TEST)
    return {
        "val_loss": float(log_loss(Y_TEST, proba, labels=model.classes_)),
        "val_acc": float(accuracy_score(Y_TEST, model.classes_[np.argmax(proba, axis=1)])),
    }


def data() -> tuple[np.ndarray, np.ndarray]:
    """What the study is tuned on (fingerprinted into the study and every promotion)."""
    return X_TRAIN, Y_TRAIN
