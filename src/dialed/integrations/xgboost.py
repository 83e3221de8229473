"""XGBoost: a pruning callback reporting one evaluation metric after every boosting round.

:class:`PruningCallback` is an ``xgboost.callback.TrainingCallback``: it reads the metric named
``observation_key`` (``"<dataset>-<metric>"``: ``"valid-logloss"`` for
``xgb.train(evals=[(dvalid, "valid")])``, ``"validation_0-logloss"`` for the scikit-learn API,
``"test-logloss"`` for ``xgb.cv``, where the folds' mean is reported), reports it with the
number of rounds done as the step (a study's resource can be ``boosting_rounds``), and ends the
trial as pruned when the study's pruner says so. Needs the ``xgboost`` extra.
"""

from __future__ import annotations

import copy
from typing import Any

import xgboost as xgb

from dialed.errors import ConfigError
from dialed.integrations._protocol import (
    check_produced,
    report_and_check,
    require_trial,
    stop_trial,
)
from dialed.trial import Trial

__all__ = ["PruningCallback"]

_OWNER = "xgboost.PruningCallback"


class PruningCallback(xgb.callback.TrainingCallback):  # type: ignore[misc,unused-ignore]
    """Report ``observation_key`` after each boosting round; prune when the pruner says so.

    The metric's direction must be the study's (``logloss`` for a minimising study, ``auc``
    for a maximising one). ``report_interval`` reports every n-th round only.
    """

    def __init__(self, trial: Trial, observation_key: str, report_interval: int = 1) -> None:
        self._trial = require_trial(trial, _OWNER)
        if not isinstance(observation_key, str) or "-" not in observation_key:
            raise ConfigError(
                f"{_OWNER}: observation_key must be '<dataset>-<metric>' such as "
                f"'valid-logloss' or 'validation_0-auc', got {observation_key!r}"
            )
        if isinstance(report_interval, bool) or not isinstance(report_interval, int) or (
                report_interval < 1):
            raise ConfigError(f"{_OWNER}: report_interval must be a whole number >= 1, got "
                              f"{report_interval!r}")
        super().__init__()
        self.observation_key = observation_key
        self.report_interval = report_interval
        self._start = 0

    def __deepcopy__(self, memo: dict[int, Any]) -> PruningCallback:
        """A copy reporting to the same trial (scikit-learn's clone deep-copies parameters)."""
        return copy.copy(self)

    def before_training(self, model: Any) -> Any:
        # a training continued from a model counts its rounds from where this one started
        booster = model if isinstance(model, xgb.Booster) else None
        self._start = booster.num_boosted_rounds() if booster is not None else 0
        return model

    def after_iteration(self, model: Any, epoch: int, evals_log: dict[str, Any]) -> bool:
        rounds = epoch + 1 - self._start
        if rounds % self.report_interval:
            return False
        latest: dict[str, float] = {}
        for dataset, metrics in evals_log.items():
            for metric, history in metrics.items():
                last = history[-1]
                # xgb.cv logs (mean, std) over the folds
                latest[f"{dataset}-{metric}"] = float(last[0] if isinstance(last, tuple) else last)
        check_produced(_OWNER, self.observation_key, latest)
        if report_and_check(self._trial, latest[self.observation_key], rounds):
            raise stop_trial(self._trial, rounds, _OWNER)
        return False
