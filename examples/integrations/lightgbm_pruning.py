"""LightGBM with dialed's pruning callback: poor configurations stop after a few rounds.

The study declares its resource as ``boosting_rounds``, so its default pruner stops trials by
successive halving over rounds; every round's validation loss is stored as the trial's curve.
Then the stepwise tuner takes LightGBM's families one at a time from its defaults.

Run:  python examples/integrations/lightgbm_pruning.py [--trials N] [--rounds R]
"""

from __future__ import annotations

import argparse

import lightgbm as lgb
from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split

import dialed
from dialed.integrations.lightgbm import PruningCallback, tune_stepwise


def main(argv: list[str] | None = None) -> dialed.Study:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--stage-trials", type=int, default=5)
    args = parser.parse_args(argv)

    X, y = make_classification(n_samples=2000, n_features=20, n_informative=8, random_state=0)
    X_train, X_valid, y_train, y_valid = train_test_split(X, y, random_state=0)
    train = lgb.Dataset(X_train, y_train, free_raw_data=False)
    valid = lgb.Dataset(X_valid, y_valid, reference=train, free_raw_data=False)

    def objective(trial: dialed.Trial) -> float:
        params = {
            "objective": "binary", "verbosity": -1, "seed": trial.seed, "num_threads": 1,
            "learning_rate": trial.suggest_float("learning_rate", 1e-3, 0.3, log=True),
            "num_leaves": trial.suggest_int("num_leaves", 4, 128, log=True),
            "lambda_l2": trial.suggest_float("lambda_l2", 1e-8, 10.0, log=True),
        }
        booster = lgb.train(params, train, num_boost_round=int(trial.resource or args.rounds),
                            valid_sets=[valid],
                            callbacks=[PruningCallback(trial, "binary_logloss")])
        return float(booster.best_score["valid_0"]["binary_logloss"])

    study = dialed.create_study(direction="minimize", seed=0,
                                resource={"name": "boosting_rounds", "max": args.rounds})
    study.optimize(objective, n_trials=args.trials)
    states = [t.state.value for t in study.trials]
    rounds = sum(t.last_step or 0 for t in study.trials)
    print(f"best validation logloss {study.best_value:.4f} with {study.best_params}")
    print(f"{states.count('pruned')} of {len(states)} trials pruned; {rounds} boosting rounds "
          f"spent of {len(states) * args.rounds} without pruning")

    result = tune_stepwise({"objective": "binary", "num_threads": 1}, train, valid,
                           metric="binary_logloss", num_boost_round=args.rounds,
                           trials_per_stage=args.stage_trials, seed=0)
    print(f"stepwise: {result.best_value:.4f}; each family's gain: {result.gains()}")
    return study


if __name__ == "__main__":
    main()
