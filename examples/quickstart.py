"""The objective of quickstart.yaml: gradient-boosted trees on scikit-learn's digits.

``dialed run examples/quickstart.yaml`` suggests the space declared in the YAML file before
it calls :func:`objective`, so ``trial.params`` already holds the whole configuration.

Every trial is scored on the same three folds, so trials differ only in their settings; the
model's own randomness (the features each split may use) is seeded with ``trial.seed``, so a
trial can be repeated exactly.
"""

from __future__ import annotations

from sklearn.datasets import load_digits
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import StratifiedKFold, cross_validate
from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

import dialed

X, y = load_digits(return_X_y=True)
FOLDS = StratifiedKFold(n_splits=3)  # no shuffling: the same folds for every trial
ROUNDS = 50  # boosting rounds, fixed: the learning rate is tuned against it


def objective(trial: dialed.Trial) -> dict[str, float]:
    p = trial.params  # learning_rate, max_leaf_nodes, l2_regularization, max_features
    model = HistGradientBoostingClassifier(
        learning_rate=p["learning_rate"],
        max_leaf_nodes=p["max_leaf_nodes"],
        l2_regularization=p["l2_regularization"],
        max_features=p["max_features"],
        max_iter=ROUNDS,
        early_stopping=False,
        random_state=trial.seed,
    )
    # one thread per trial: the study already runs n_jobs trials side by side
    with threadpool_limits(limits=1):
        scores = cross_validate(model, X, y, cv=FOLDS, scoring=("neg_log_loss", "accuracy"))
    return {
        "val_loss": float(-scores["test_neg_log_loss"].mean()),
        "val_acc": float(scores["test_accuracy"].mean()),
    }
