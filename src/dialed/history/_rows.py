"""What the history derives from each trial, once: arrays with one row per trial.

Samplers and pruners read these instead of walking the trial records: the objectives as losses,
the constraint violation, the model coordinates of the parameters (:meth:`Space.coordinates`),
the last reported step and value, and each configuration's key. The engine's log
(:mod:`._log`) computes a trial's row when the trial finishes and never again.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from dialed.metrics import MetricSet
from dialed.space import Space
from dialed.trial import TrialRecord, TrialState

__all__ = [
    "COMPLETE",
    "FAILED",
    "PRUNED",
    "RUNNING",
    "WAITING",
    "ConfigKey",
    "Rows",
    "config_key",
    "derive",
    "is_complete",
]

#: What two trials with the same configuration share, and no two others.
ConfigKey = str

# State codes of Rows.state.
COMPLETE, PRUNED, FAILED, RUNNING, WAITING = 0, 1, 2, 3, 4
_CODE = {TrialState.COMPLETE: COMPLETE, TrialState.PRUNED: PRUNED, TrialState.FAILED: FAILED,
         TrialState.RUNNING: RUNNING, TrialState.WAITING: WAITING}


def config_key(params: Mapping[str, Any]) -> ConfigKey:
    """The key of a configuration: a canonical text, equal for equal configurations (an int
    and the float of the same value are equal, as a distribution reads them) and different
    otherwise. Stored in workflow records, so its form does not change."""
    return json.dumps({k: _number(v) for k, v in params.items()}, sort_keys=True,
                      separators=(",", ":"), default=str)


def _number(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return value
    return float(value)


def is_complete(trial: TrialRecord, objectives: Sequence[str]) -> bool:
    """Whether ``trial`` is complete with a value for each of ``objectives``."""
    return trial.state == TrialState.COMPLETE and all(n in trial.metrics for n in objectives)


@dataclass(frozen=True)
class Rows:
    """Per-trial arrays in the order of a history's trials (``n`` rows, read-only)."""

    number: np.ndarray  # (n,) int64
    state: np.ndarray  # (n,) int8: COMPLETE, PRUNED, FAILED, RUNNING, WAITING
    scored: np.ndarray  # (n,) bool: a value for every objective
    losses: np.ndarray  # (n, n_objectives): the objectives as losses, NaN where absent
    violation: np.ndarray  # (n,): total constraint violation, 0 = feasible (inf: unmeasured)
    last_step: np.ndarray  # (n,): the last step reported, NaN when none
    last_loss: np.ndarray  # (n,): the primary objective's loss at that step, NaN when none
    points: np.ndarray  # (n, d): Space.coordinates of the parameters over the history's space

    def __len__(self) -> int:
        return len(self.number)

    @property
    def complete(self) -> np.ndarray:
        """Mask of the complete trials with a value for every objective, shape ``(n,)``."""
        out: np.ndarray = (self.state == COMPLETE) & self.scored
        return out

    @staticmethod
    def of(arrays: Sequence[np.ndarray]) -> Rows:
        """Rows from their arrays, in the order of the fields."""
        (number, state, scored, losses, violation, last_step, last_loss, points) = arrays
        return Rows(number, state, scored, losses, violation, last_step, last_loss, points)

    def take(self, index: np.ndarray | slice) -> Rows:
        return Rows.of([_frozen(a[index]) for a in self._arrays()])

    def with_points(self, points: np.ndarray) -> Rows:
        return Rows.of([*self._arrays()[:-1], _frozen(points)])

    def _arrays(self) -> tuple[np.ndarray, ...]:
        return (self.number, self.state, self.scored, self.losses, self.violation,
                self.last_step, self.last_loss, self.points)

    @staticmethod
    def join(parts: Sequence[Rows]) -> Rows:
        """The rows of ``parts`` one after the other."""
        if len(parts) == 1:
            return parts[0]
        columns = zip(*(p._arrays() for p in parts), strict=True)
        return Rows.of([_frozen(np.concatenate(c)) for c in columns])

    @staticmethod
    def merge(base: Rows, positions: np.ndarray, extra: Rows) -> Rows:
        """``extra``'s rows inserted into ``base`` before the rows at ``positions``."""
        columns = zip(base._arrays(), extra._arrays(), strict=True)
        return Rows.of([_frozen(np.insert(a, positions, b, axis=0)) for a, b in columns])


def derive(records: Sequence[TrialRecord], space: Space, metrics: MetricSet) -> Rows:
    """The rows of ``records`` over ``space`` (a Python pass over each record, once)."""
    n = len(records)
    objectives = metrics.objectives
    primary = metrics.primary
    losses = np.full((n, len(objectives)), np.nan)
    scored = np.zeros(n, dtype=bool)
    violation = np.zeros(n)
    last_step = np.full(n, np.nan)
    last_loss = np.full(n, np.nan)
    constrained = bool(metrics.constraints)
    for i, t in enumerate(records):
        values = t.metrics
        if values:
            ok = True
            for j, m in enumerate(objectives):
                v = values.get(m.name)
                if v is None:
                    ok = False
                else:
                    losses[i, j] = m.loss(v)
            scored[i] = ok
        if constrained:
            violation[i] = metrics.violation(values)
        if t.intermediate:
            step = t.last_step
            last_step[i] = step
            last_loss[i] = primary.loss(t.intermediate[step])  # type: ignore[index]
    return Rows(
        number=_frozen(np.fromiter((t.number for t in records), dtype=np.int64, count=n)),
        state=_frozen(np.fromiter((_CODE[t.state] for t in records), dtype=np.int8, count=n)),
        scored=_frozen(scored),
        losses=_frozen(losses),
        violation=_frozen(violation),
        last_step=_frozen(last_step),
        last_loss=_frozen(last_loss),
        points=_frozen(space.coordinates([t.params for t in records])),
    )


def _frozen(a: np.ndarray) -> np.ndarray:
    a.flags.writeable = False
    return a
