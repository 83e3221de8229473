"""MLflow tracking for a dialed study: a run per trial, nested under the study's run.

The objective trains a logistic regression by gradient descent on generated data (NumPy only),
reporting the validation loss every 10 steps (the curve MLflow shows as steps); the median rule
stops poor trials early. The study's run carries the best value after each trial.

Run:  python examples/integrations/mlflow_tracking.py [--trials N] [--tracking-uri URI]
      mlflow ui --backend-store-uri sqlite:///mlflow.db
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

import numpy as np

import dialed
from dialed.integrations.mlflow import MLflowCallback


def make_objective(steps: int) -> Callable[[dialed.Trial], dict[str, float]]:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 10))
    y = (X @ rng.normal(size=10) + 0.5 * rng.normal(size=600) > 0).astype(float)
    X_train, y_train, X_valid, y_valid = X[:400], y[:400], X[400:], y[400:]

    def loss(w: np.ndarray, X: np.ndarray, y: np.ndarray) -> float:
        p = np.clip(1 / (1 + np.exp(-X @ w)), 1e-9, 1 - 1e-9)
        return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))

    def objective(trial: dialed.Trial) -> dict[str, float]:
        lr = trial.suggest_float("lr", 1e-3, 3.0, log=True, family="optimizer")
        l2 = trial.suggest_float("l2", 1e-5, 1.0, log=True, family="regularization")
        w = np.zeros(X.shape[1])
        for step in range(1, steps + 1):
            p = 1 / (1 + np.exp(-X_train @ w))
            w -= lr * (X_train.T @ (p - y_train) / len(y_train) + l2 * w)
            if step % 10 == 0:
                trial.report(loss(w, X_valid, y_valid), step)
                if trial.should_prune():
                    raise dialed.Pruned()
        accuracy = float(np.mean(((X_valid @ w) > 0) == y_valid))
        return {"val_loss": loss(w, X_valid, y_valid), "val_acc": accuracy}

    return objective


def main(argv: list[str] | None = None) -> dialed.Study:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--tracking-uri", default="sqlite:///mlflow.db")
    args = parser.parse_args(argv)
    study = dialed.create_study("logreg", metrics={"val_loss": "minimize", "val_acc": "track"},
                                seed=0, pruner={"name": "median", "n_startup_trials": 5})
    tracking = MLflowCallback(args.tracking_uri, experiment="dialed-logreg")
    study.optimize(make_objective(args.steps), n_trials=args.trials, callbacks=[tracking])
    print(f"{len(study.trials)} trial runs under the study's run {tracking.study_run_id(study)} "
          f"in experiment dialed-logreg at {args.tracking_uri} (best val_loss "
          f"{study.best_value:.4f})")
    return study


if __name__ == "__main__":
    main()
