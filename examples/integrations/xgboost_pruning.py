"""XGBoost with dialed's pruning callback: poor configurations stop after a few rounds.

Run:  python examples/integrations/xgboost_pruning.py [--trials N] [--rounds R]
"""

from __future__ import annotations

import argparse

import xgboost as xgb
from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split

import dialed
from dialed.integrations.xgboost import PruningCallback


def main(argv: list[str] | None = None) -> dialed.Study:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=100)
    args = parser.parse_args(argv)

    X, y = make_classification(n_samples=2000, n_features=20, n_informative=8, random_state=0)
    X_train, X_valid, y_train, y_valid = train_test_split(X, y, random_state=0)
    dtrain, dvalid = xgb.DMatrix(X_train, y_train), xgb.DMatrix(X_valid, y_valid)

    def objective(trial: dialed.Trial) -> float:
        params = {
            "objective": "binary:logistic", "eval_metric": "logloss", "nthread": 1,
            "seed": trial.seed % 2**31,
            "eta": trial.suggest_float("eta", 1e-3, 0.5, log=True),
            "max_depth": trial.suggest_int("max_depth", 2, 10),
            "lambda": trial.suggest_float("lambda", 1e-8, 10.0, log=True),
        }
        log: dict[str, dict[str, list[float]]] = {}
        xgb.train(params, dtrain, num_boost_round=int(trial.resource or args.rounds),
                  evals=[(dvalid, "valid")], evals_result=log, verbose_eval=False,
                  callbacks=[PruningCallback(trial, "valid-logloss")])
        return min(log["valid"]["logloss"])

    study = dialed.create_study(direction="minimize", seed=0,
                                resource={"name": "boosting_rounds", "max": args.rounds})
    study.optimize(objective, n_trials=args.trials)
    states = [t.state.value for t in study.trials]
    rounds = sum(t.last_step or 0 for t in study.trials)
    print(f"best validation logloss {study.best_value:.4f} with {study.best_params}")
    print(f"{states.count('pruned')} of {len(states)} trials pruned; {rounds} boosting rounds "
          f"spent of {len(states) * args.rounds} without pruning")
    return study


if __name__ == "__main__":
    main()
