"""DialedSearchCV: tune a scikit-learn pipeline like RandomizedSearchCV, with a dialed study.

Run:  python examples/integrations/sklearn_search.py [--trials N] [--storage sqlite:///s.db]
"""

from __future__ import annotations

import argparse

from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from dialed.integrations.sklearn import DialedSearchCV


def main(argv: list[str] | None = None) -> float:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--storage", default=None, help="a dialed storage URL (default: memory)")
    args = parser.parse_args(argv)

    X, y = load_breast_cancer(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0, stratify=y)
    pipe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500))
    space = {  # the same form as a study file's space:
        "logisticregression__C": {"type": "float", "low": 1e-3, "high": 100, "log": True},
        "logisticregression__class_weight": [None, "balanced"],
    }
    search = DialedSearchCV(pipe, space, n_trials=args.trials, cv=5, seed=0,
                            scoring=["roc_auc", "accuracy"], refit="roc_auc",
                            pruning=True, storage=args.storage, study_name="sklearn-search")
    search.fit(X_train, y_train)

    print(f"best cross-validated roc_auc {search.best_score_:.4f} with {search.best_params_}")
    print(f"trials: {len(search.study_.trials)}, pruned after a few folds: {search.n_pruned_}")
    test = search.score(X_test, y_test)
    print(f"held-out roc_auc of the refitted pipeline: {test:.4f}")
    return float(test)


if __name__ == "__main__":
    main()
