"""LightGBM: a pruning callback, and a stepwise tuner over LightGBM's families of settings.

:class:`PruningCallback` reports one validation metric after every boosting round (the step is
the number of rounds done, so a study's resource can be ``boosting_rounds``) and ends the trial
as pruned when the study's pruner says so. It works with ``lightgbm.train``, ``lightgbm.cv``
(the mean over folds, dataset ``valid``) and the scikit-learn API (``callbacks=[...]``), beside
``lightgbm.early_stopping`` (an early-stopped training simply completes).

:func:`tune_stepwise` replaces Optuna's ``LightGBMTuner`` with a dialed workflow: a baseline
(LightGBM's defaults), then one stage per family (tree shape, sampling, regularization,
learning rate), each stage's gain over the incumbent measured with repeated seeds and
attributed to its family. Needs the ``lightgbm`` extra.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import lightgbm as lgb

from dialed.errors import ConfigError
from dialed.integrations._protocol import (
    check_produced,
    report_and_check,
    require_trial,
    stop_trial,
)
from dialed.study import Study, create_study
from dialed.trial import Trial
from dialed.workflow import StageResult, Workflow

__all__ = [
    "FAMILIES",
    "PruningCallback",
    "StepwiseResult",
    "stepwise_space",
    "tune_stepwise",
]

_OWNER = "lightgbm.PruningCallback"
#: LightGBM's own name for the training set when it is among ``valid_sets``.
_TRAINING = ("training", "train")
#: Metrics LightGBM maximises (every other one is minimised).
_HIGHER_IS_BETTER = ("auc", "auc_mu", "ndcg", "map", "average_precision")


class PruningCallback:
    """Report ``metric`` on the validation set ``valid_name`` each round; prune when told.

    ``valid_name`` defaults to the first validation set that is not the training set
    (``valid_0`` for ``lightgbm.train(valid_sets=[valid])``); under ``lightgbm.cv`` the folds'
    mean (``valid``) is reported. ``report_interval`` reports every n-th round only. The
    metric's direction must be the study's (``binary_logloss`` for a minimising study,
    ``auc`` for a maximising one); it is recorded as the trial attribute ``pruning_metric``.
    """

    def __init__(self, trial: Trial, metric: str, valid_name: str | None = None,
                 report_interval: int = 1) -> None:
        self._trial = require_trial(trial, _OWNER)
        if not isinstance(metric, str) or not metric:
            raise ConfigError(f"{_OWNER}: metric must be a LightGBM metric name such as "
                              f"'binary_logloss' or 'auc', got {metric!r}")
        if isinstance(report_interval, bool) or not isinstance(report_interval, int) or (
                report_interval < 1):
            raise ConfigError(f"{_OWNER}: report_interval must be a whole number >= 1, got "
                              f"{report_interval!r}")
        self.metric = metric
        self.valid_name = valid_name
        self.report_interval = report_interval
        self._recorded = False
        # instance attributes: lightgbm.train sets an order on callbacks whose __dict__ lacks
        # one; 35 runs after its early stopping (30), so the round it stops on is not reported
        self.order = 35
        self.before_iteration = False

    def __deepcopy__(self, memo: dict[int, Any]) -> PruningCallback:
        """A copy reporting to the same trial (scikit-learn's clone deep-copies parameters)."""
        return copy.copy(self)

    def __call__(self, env: Any) -> None:
        rounds = env.iteration + 1 - env.begin_iteration
        if rounds % self.report_interval:
            return
        results = list(env.evaluation_result_list or [])
        name, value, higher = self._find(results)
        if not self._recorded:
            direction = "higher" if higher else "lower"
            self._trial.set_user_attr("pruning_metric", f"{name} ({direction} is better)")
            self._recorded = True
        if report_and_check(self._trial, value, rounds):
            raise stop_trial(self._trial, rounds, _OWNER)

    def _find(self, results: Sequence[Any]) -> tuple[str, float, bool]:
        is_cv = bool(results) and len(results[0]) == 5 and results[0][0] in ("valid", "train")
        produced = [f"{r[0]} {r[1]}" for r in results]
        if is_cv:
            dataset = "valid"
        elif self.valid_name is not None:
            dataset = self.valid_name
        else:
            dataset = next((r[0] for r in results if r[0] not in _TRAINING), "valid_0")
        wanted = f"{dataset} {self.metric}"
        for r in results:
            if r[0] == dataset and r[1] in (self.metric, f"valid {self.metric}"):
                return wanted, float(r[2]), bool(r[3])
        check_produced(_OWNER, wanted, produced)  # raises: the name is not among them
        raise AssertionError("unreachable")  # pragma: no cover


# -- the stepwise tuner -----------------------------------------------------------------------
#: LightGBM's families of settings, in the order :func:`tune_stepwise` tunes them, each with
#: its parameters' ranges (LightGBM's defaults are the baseline).
FAMILIES: dict[str, dict[str, dict[str, Any]]] = {
    "tree_shape": {
        "num_leaves": {"type": "int", "low": 4, "high": 256, "log": True},
        "min_child_samples": {"type": "int", "low": 5, "high": 100, "log": True},
    },
    "sampling": {
        "feature_fraction": {"type": "float", "low": 0.4, "high": 1.0},
        "bagging_fraction": {"type": "float", "low": 0.4, "high": 1.0},
        "bagging_freq": {"type": "int", "low": 0, "high": 7},
    },
    "regularization": {
        "lambda_l1": {"type": "float", "low": 1e-8, "high": 10.0, "log": True},
        "lambda_l2": {"type": "float", "low": 1e-8, "high": 10.0, "log": True},
    },
    "learning_rate": {
        "learning_rate": {"type": "float", "low": 0.01, "high": 0.3, "log": True},
    },
}
#: LightGBM's defaults, the workflow's baseline (1e-8 stands for 0 on the log scales).
BASELINE: dict[str, Any] = {
    "num_leaves": 31, "min_child_samples": 20, "feature_fraction": 1.0,
    "bagging_fraction": 1.0, "bagging_freq": 0, "lambda_l1": 1e-8, "lambda_l2": 1e-8,
    "learning_rate": 0.1,
}


def stepwise_space(families: Sequence[str] = tuple(FAMILIES)) -> dict[str, dict[str, Any]]:
    """The space of ``families``, each parameter tagged with its family (a study file's form)."""
    unknown = [f for f in families if f not in FAMILIES]
    if unknown:
        raise ConfigError(f"unknown LightGBM famil{'ies' if len(unknown) > 1 else 'y'} "
                          f"{unknown}; valid: {', '.join(FAMILIES)}")
    return {name: {**spec, "family": fam}
            for fam in families for name, spec in FAMILIES[fam].items()}


@dataclass(frozen=True)
class StepwiseResult:
    """What :func:`tune_stepwise` found: the best parameters (with the fixed ones), the best
    mean validation value, each stage's measured gain, and the workflow and study behind it."""

    best_params: dict[str, Any]
    best_value: float
    stages: list[StageResult]  # one per family, in order
    workflow: Workflow
    study: Study

    def gains(self) -> dict[str, float | None]:
        """Each family's measured gain over the incumbent it started from (positive: better in
        the metric's direction; None where the stage's best was the incumbent itself)."""
        return {s.name: None if s.gain is None else float(s.gain.value) for s in self.stages}


def tune_stepwise(
    params: Mapping[str, Any],
    train_set: lgb.Dataset,
    valid_set: lgb.Dataset,
    *,
    metric: str,
    num_boost_round: int = 100,
    trials_per_stage: int | Mapping[str, int] = 10,
    families: Sequence[str] = tuple(FAMILIES),
    repeats: int = 2,
    early_stopping_rounds: int | None = None,
    direction: str | None = None,
    storage: Any = None,
    study_name: str | None = None,
    seed: int | None = 0,
    sampler: Any = None,
) -> StepwiseResult:
    """Tune LightGBM one family at a time from its defaults, each stage's gain attributed.

    ``params`` are fixed LightGBM parameters (the objective, say); ``metric`` is the validation
    metric tuned (``binary_logloss``, ``l2``, ``auc``...; maximised for auc, ndcg, map and
    average_precision unless ``direction`` says otherwise). Every trial trains with its own
    recorded seed; each stage's best configuration is re-run ``repeats`` times and adopted only
    when its mean beats the incumbent's.
    """
    if not isinstance(metric, str) or not metric:
        raise ConfigError(f"tune_stepwise: metric must be a LightGBM metric name such as "
                          f"'binary_logloss', got {metric!r}")
    space = stepwise_space(families)
    budgets = _budgets(trials_per_stage, families)
    fixed = {k: v for k, v in params.items() if k not in space}
    fixed.update({"metric": metric, "verbosity": fixed.get("verbosity", -1)})
    goal = direction or ("maximize" if metric in _HIGHER_IS_BETTER else "minimize")
    study = create_study(study_name, storage=storage, metrics={metric: goal}, seed=seed,
                         sampler=sampler, load_if_exists=study_name is not None)

    def objective(trial: Trial) -> float:
        run = {**fixed, **trial.params, "seed": trial.seed}
        callbacks: list[Callable[..., Any]] = []
        if early_stopping_rounds is not None:
            callbacks.append(lgb.early_stopping(early_stopping_rounds, verbose=False))
        booster = lgb.train(run, train_set, num_boost_round=num_boost_round,
                            valid_sets=[valid_set], valid_names=["valid"], callbacks=callbacks)
        scores = booster.best_score.get("valid", {})
        check_produced("tune_stepwise", metric, scores)
        trial.set_user_attr("best_iteration", int(booster.best_iteration or num_boost_round))
        return float(scores[metric])

    # min_child_samples changes between trials: LightGBM must not pre-filter features by it
    # when it first builds the Dataset (its Fatal error otherwise); Optuna's tuner does the same
    for data in (train_set, valid_set):
        data.params = {"feature_pre_filter": False, **(data.params or {})}
    baseline = {k: v for k, v in BASELINE.items() if k in space}
    stages = [{"families": [f], "trials": budgets[f], "name": f} for f in families]
    workflow = Workflow(study, objective, baseline=baseline, repeats=repeats, stages=stages,
                        space=space)
    results = workflow.run()
    incumbent = workflow.incumbent()
    if incumbent is None:  # run() evaluated the baseline at least
        raise ConfigError("tune_stepwise: the workflow stored no incumbent")
    return StepwiseResult(
        best_params={**fixed, **incumbent.params}, best_value=incumbent.mean(metric),
        stages=results, workflow=workflow, study=study,
    )


def _budgets(trials: int | Mapping[str, int], families: Sequence[str]) -> dict[str, int]:
    if isinstance(trials, Mapping):
        missing = [f for f in families if f not in trials]
        if missing:
            raise ConfigError(f"tune_stepwise: trials_per_stage names no budget for {missing}")
        return {f: int(trials[f]) for f in families}
    return {f: int(trials) for f in families}
