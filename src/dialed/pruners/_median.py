"""The median stopping rule, and its percentile generalisation.

Golovin, Solnik, Moitra, Kochanski, Karro and Sculley, "Google Vizier: A Service for Black-Box
Optimization", KDD 2017, section 3.2.2 (Automated Early Stopping, *median stopping rule*):
stop a pending trial ``x_t`` at step ``s`` if its best objective value by step ``s`` is strictly
worse than the median of the running averages ``o_bar^tau_{1:s}`` of all completed trials'
objectives ``tau`` reported up to step ``s``.

:class:`PercentilePruner` replaces the median by the ``percentile``-th percentile of the
completed trials' statistics taken as losses: ``percentile=25`` keeps a trial only if it is at
least as good as the best quarter of them. ``statistic="value"`` compares with each completed
trial's value at step ``s`` (its latest report at or before ``s``) instead of its running
average, the stricter variant Optuna's MedianPruner implements.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dialed.errors import ConfigError
from dialed.history import History
from dialed.pruners._base import Pruner
from dialed.pruners._curve import check_int, check_number
from dialed.trial import TrialRecord

__all__ = ["MedianPruner", "PercentilePruner"]

_STATISTICS = ("running_mean", "value")


class PercentilePruner(Pruner):
    """Stops a trial whose best value so far is worse than the percentile of completed peers.

    Nothing is stopped before ``n_startup_trials`` trials are complete, before step
    ``n_warmup_steps``, between checks (every ``interval_steps`` steps after the warm-up), or
    while fewer than ``n_min_trials`` completed trials reported by the step.
    """

    name = "percentile"

    def __init__(
        self,
        percentile: float,
        n_startup_trials: int = 5,
        n_warmup_steps: int = 0,
        interval_steps: int = 1,
        n_min_trials: int = 1,
        statistic: str = "running_mean",
    ) -> None:
        self._percentile = check_number(self.name, "percentile", percentile,
                                        at_least=0, at_most=100)
        self._n_startup_trials = check_int(self.name, "n_startup_trials", n_startup_trials, 0)
        self._n_warmup_steps = check_int(self.name, "n_warmup_steps", n_warmup_steps, 0)
        self._interval_steps = check_int(self.name, "interval_steps", interval_steps, 1)
        self._n_min_trials = check_int(self.name, "n_min_trials", n_min_trials, 1)
        if statistic not in _STATISTICS:
            raise ConfigError(f"{self.name} pruner: statistic must be one of "
                              f"{', '.join(_STATISTICS)}, got {statistic!r}")
        self._statistic = statistic

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "percentile": self._percentile, **self._common()}

    def _common(self) -> dict[str, Any]:
        return {
            "n_startup_trials": self._n_startup_trials,
            "n_warmup_steps": self._n_warmup_steps,
            "interval_steps": self._interval_steps,
            "n_min_trials": self._n_min_trials,
            "statistic": self._statistic,
        }

    def should_prune(self, history: History, trial: TrialRecord) -> str | None:
        step = trial.last_step
        if step is None or step < self._n_warmup_steps:
            return None
        if (step - self._n_warmup_steps) % self._interval_steps:
            return None
        completed = history.complete
        if len(completed) < self._n_startup_trials:
            return None
        loss = history.metrics.primary.loss
        stats: list[float] = []
        for t in completed:
            before = sorted(s for s in t.intermediate if s <= step)
            if not before:
                continue
            if self._statistic == "running_mean":
                stats.append(float(np.mean([loss(t.intermediate[s]) for s in before])))
            else:
                stats.append(loss(t.intermediate[before[-1]]))
        if len(stats) < max(self._n_min_trials, 1):
            return None
        best = min(loss(v) for s, v in trial.intermediate.items() if s <= step)
        threshold = float(np.percentile(stats, self._percentile))
        if best <= threshold:
            return None
        sign = history.metrics.primary.loss(1.0)  # -1 when maximizing: show raw values
        what = "median" if self._percentile == 50 else f"{self._percentile:g}th percentile"
        stat = "running averages" if self._statistic == "running_mean" else "values"
        return (f"best value {sign * best:.6g} by step {step} is worse than the {what} "
                f"({sign * threshold:.6g}) of the {stat} of {len(stats)} completed trials")


class MedianPruner(PercentilePruner):
    """The median stopping rule (Vizier): :class:`PercentilePruner` at the 50th percentile."""

    name = "median"

    def __init__(
        self,
        n_startup_trials: int = 5,
        n_warmup_steps: int = 0,
        interval_steps: int = 1,
        n_min_trials: int = 1,
        statistic: str = "running_mean",
    ) -> None:
        super().__init__(50.0, n_startup_trials, n_warmup_steps, interval_steps, n_min_trials,
                         statistic)

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, **self._common()}
