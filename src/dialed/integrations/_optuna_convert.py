"""Optuna's words in dialed's: distributions, directions, constraints and frozen trials.

Shared by the sampler and the storage adapters of :mod:`dialed.integrations.optuna`. Optuna
names one objective ``value`` and several ``value_0``, ``value_1``, ... (as
:class:`~dialed.metrics.MetricSet` does for a list of directions); the constraint values an
Optuna sampler's ``constraints_func`` stores (system attribute ``constraints``, feasible when
each is ``<= 0``) become the bound metrics ``constraint_0``, ``constraint_1``, ...
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, cast

import optuna
from optuna.distributions import BaseDistribution
from optuna.study import StudyDirection
from optuna.trial import FrozenTrial

from dialed.metrics import MetricSet
from dialed.space import (
    CategoricalDistribution,
    Distribution,
    FloatDistribution,
    IntDistribution,
)
from dialed.trial import TrialRecord, TrialState

__all__ = [
    "CONSTRAINTS_ATTR",
    "STATE_FROM_OPTUNA",
    "STATE_TO_OPTUNA",
    "count_constraints",
    "metric_names",
    "metric_set",
    "native_value",
    "space_of",
    "to_dialed",
    "to_record",
]

#: The system attribute in which Optuna's samplers keep a trial's constraint values.
CONSTRAINTS_ATTR = "constraints"

STATE_FROM_OPTUNA = {
    optuna.trial.TrialState.RUNNING: TrialState.RUNNING,
    optuna.trial.TrialState.WAITING: TrialState.WAITING,
    optuna.trial.TrialState.COMPLETE: TrialState.COMPLETE,
    optuna.trial.TrialState.PRUNED: TrialState.PRUNED,
    optuna.trial.TrialState.FAIL: TrialState.FAILED,
}
STATE_TO_OPTUNA = {v: k for k, v in STATE_FROM_OPTUNA.items()}


def metric_names(n_objectives: int) -> list[str]:
    """The metric names of ``n_objectives`` objectives, as :class:`MetricSet` names a list."""
    return ["value"] if n_objectives == 1 else [f"value_{i}" for i in range(n_objectives)]


def metric_set(directions: Sequence[StudyDirection], n_constraints: int = 0) -> MetricSet:
    """The metrics of an Optuna study with these directions and constraint values."""
    spec: dict[str, str] = {
        name: "maximize" if d == StudyDirection.MAXIMIZE else "minimize"
        for name, d in zip(metric_names(len(directions)), directions, strict=True)
    }
    spec.update({f"constraint_{i}": "<= 0" for i in range(n_constraints)})
    return MetricSet(spec)


def to_dialed(name: str, distribution: BaseDistribution) -> Distribution:
    """An Optuna distribution as dialed's (SpaceError, naming the parameter, when it cannot
    be one: a choice that is not a finite number, say)."""
    if isinstance(distribution, optuna.distributions.FloatDistribution):
        return FloatDistribution(distribution.low, distribution.high, log=distribution.log,
                                 step=distribution.step, name=name)
    if isinstance(distribution, optuna.distributions.IntDistribution):
        return IntDistribution(distribution.low, distribution.high, log=distribution.log,
                               step=distribution.step, name=name)
    if isinstance(distribution, optuna.distributions.CategoricalDistribution):
        return CategoricalDistribution(tuple(distribution.choices), name=name)
    raise TypeError(
        f"parameter {name!r}: dialed reads Optuna's FloatDistribution, IntDistribution and "
        f"CategoricalDistribution, not {type(distribution).__name__}"
    )


def native_value(distribution: BaseDistribution, dialed: Distribution, value: Any) -> Any:
    """A value dialed proposed, as the plain Python object Optuna expects for
    ``distribution`` (a choice is returned as the very object of Optuna's choices)."""
    if isinstance(distribution, optuna.distributions.CategoricalDistribution):
        return distribution.choices[cast(CategoricalDistribution, dialed).index(value)]
    if isinstance(distribution, optuna.distributions.IntDistribution):
        return int(value)
    return float(value)


def to_record(trial: FrozenTrial, study_id: int, metrics: MetricSet) -> TrialRecord:
    """A frozen Optuna trial as the record dialed's history reads."""
    values: dict[str, float] = {}
    if trial.values is not None:
        values.update(zip(metric_names(len(trial.values)), trial.values, strict=True))
    constraints = trial.system_attrs.get(CONSTRAINTS_ATTR)
    if isinstance(constraints, (list, tuple)):
        values.update({f"constraint_{i}": float(c) for i, c in enumerate(constraints)
                       if f"constraint_{i}" in metrics})
    start, end = trial.datetime_start, trial.datetime_complete
    return TrialRecord(
        trial_id=trial._trial_id,
        study_id=study_id,
        number=trial.number,
        state=STATE_FROM_OPTUNA[trial.state],
        seed=0,
        params=dict(trial.params),
        metrics=values,
        intermediate=dict(trial.intermediate_values),
        started_at=None if start is None else start.timestamp(),
        finished_at=None if end is None else end.timestamp(),
        user_attrs=trial.user_attrs,
        system_attrs=trial.system_attrs,
    )


def count_constraints(trials: Sequence[FrozenTrial]) -> int:
    """How many constraint values the study's trials carry (0 when none does)."""
    for t in trials:
        constraints = t.system_attrs.get(CONSTRAINTS_ATTR)
        if isinstance(constraints, (list, tuple)):
            return len(constraints)
    return 0


def space_of(search_space: Mapping[str, BaseDistribution]) -> dict[str, Distribution]:
    """Dialed's distributions of an Optuna search space, by name."""
    return {name: to_dialed(name, d) for name, d in search_space.items()}
