"""Optuna's own ``TrialPruned``, raised in a native dialed objective (code written for Optuna,
or an Optuna integration's callback), prunes the trial as ``dialed.Pruned`` does."""

from __future__ import annotations

import optuna

import dialed
from dialed.trial import TrialState


def test_optunas_trial_pruned_prunes_a_dialed_trial() -> None:
    study = dialed.create_study("p", sampler="random", seed=0)

    def objective(trial: dialed.Trial) -> float:
        x = trial.suggest_float("x", 0.0, 1.0)
        trial.report(x, 0)
        if trial.number % 2:
            raise optuna.TrialPruned("stopped by an Optuna callback")
        return x

    study.optimize(objective, n_trials=6)  # no catch=: a prune is not an error
    states = [t.state for t in study.trials]
    assert states == [TrialState.COMPLETE, TrialState.PRUNED] * 3
    pruned = study.trials[1]
    assert pruned.intermediate == {0: pruned.params["x"]}
    assert pruned.system_attrs.get("prune_reason") == "stopped by an Optuna callback"


def test_another_libraries_exception_named_trial_pruned_still_fails() -> None:
    class TrialPruned(Exception):  # a look-alike from elsewhere is no prune
        pass

    study = dialed.create_study("f")

    def objective(trial: dialed.Trial) -> float:
        raise TrialPruned("not Optuna's")

    study.optimize(objective, n_trials=1, catch=(TrialPruned,))
    assert study.trials[0].state is TrialState.FAILED
