"""One Optuna object as its dialed counterpart and back: distributions, metrics, trials.

Optuna's words and dialed's: a study's ``directions`` (with ``study:metric_names``) are
dialed's objective metrics; a trial's constraint values (``constraints`` system attribute, or
``constraints:<key>``; feasible when <= 0) are constraint metrics ``constraint_<key>: <= 0``;
``fail_reason`` is a failed trial's error. A study exported by dialed carries its metrics
(``dialed:metrics``) so that a round trip gives the same names, bounds and tracked values.
"""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Mapping, Sequence
from typing import Any

from dialed.errors import ConfigError
from dialed.metrics import Metric, MetricSet
from dialed.trial import TrialRecord, TrialState

__all__ = [
    "CARRIED_SYSTEM_ATTRS",
    "DIALED_METRICS",
    "constraint_values",
    "from_timestamp",
    "merge_distribution",
    "metric_set",
    "optuna_constraints",
    "optuna_distribution",
    "to_dialed_distribution",
    "to_timestamp",
    "trial_record",
]

#: The Optuna system attributes that become part of a dialed trial (the rest are listed).
CARRIED_SYSTEM_ATTRS = ("constraints", "fail_reason", "dialed:metrics", "dialed:seed")
#: Where an exported study and its trials keep dialed's metric specs and values.
DIALED_METRICS = "dialed:metrics"
_CONSTRAINT = "constraint_"


# -- distributions ----------------------------------------------------------------------------
def to_dialed_distribution(name: str, dist: Any) -> dict[str, Any]:
    """An Optuna distribution as ``Distribution.to_dict()``; ConfigError when dialed has none."""
    from optuna import distributions as od

    if isinstance(dist, od.FloatDistribution):
        out: dict[str, Any] = {"type": "float", "low": float(dist.low), "high": float(dist.high)}
        if dist.log:
            out["log"] = True
        if dist.step is not None:
            out["step"] = float(dist.step)
        return out
    if isinstance(dist, od.IntDistribution):
        out = {"type": "int", "low": int(dist.low), "high": int(dist.high)}
        if dist.log:
            out["log"] = True
        if dist.step != 1:
            out["step"] = int(dist.step)
        return out
    if isinstance(dist, od.CategoricalDistribution):
        return {"type": "categorical", "choices": list(dist.choices)}
    raise ConfigError(
        f"parameter {name!r}: Optuna's {type(dist).__name__} has no dialed equivalent "
        "(dialed takes FloatDistribution, IntDistribution and CategoricalDistribution)"
    )


def merge_distribution(name: str, have: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """One distribution covering two an Optuna study gave a parameter in different trials.

    Ranges of the same kind and scale widen, choices add up; anything else has no single dialed
    distribution and raises ConfigError naming both.
    """
    if have == new:
        return have
    same = {k: v for k, v in have.items() if k not in ("low", "high", "choices")}
    if same == {k: v for k, v in new.items() if k not in ("low", "high", "choices")}:
        if have["type"] == "categorical":
            choices = list(have["choices"])
            choices += [c for c in new["choices"] if not any(_same(c, h) for h in choices)]
            return {**have, "choices": choices}
        step = have.get("step")
        low, high = min(have["low"], new["low"]), max(have["high"], new["high"])
        if step is None or _aligned(have["low"], new["low"], high, step):
            return {**have, "low": low, "high": high}
    raise ConfigError(
        f"parameter {name!r} has different distributions in the Optuna study ({have} and "
        f"{new}): a dialed study gives a parameter one distribution; import the trials of "
        "each range into separate studies"
    )


def _same(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b


def _aligned(low_a: float, low_b: float, high: float, step: float) -> bool:
    for x in (low_b, high):
        k = (x - low_a) / step
        if abs(k - round(k)) > 1e-8 * max(1.0, abs(k)):
            return False
    return True


def optuna_distribution(name: str, spec: Mapping[str, Any]) -> Any:
    """A dialed distribution dict as Optuna's; ConfigError for choices Optuna cannot hold."""
    from optuna import distributions as od

    kind = spec.get("type")
    if kind == "float":
        return od.FloatDistribution(spec["low"], spec["high"], log=bool(spec.get("log", False)),
                                    step=spec.get("step"))
    if kind == "int":
        return od.IntDistribution(spec["low"], spec["high"], log=bool(spec.get("log", False)),
                                  step=int(spec.get("step", 1)))
    choices = list(spec.get("choices", ()))
    bad = [c for c in choices if c is not None and not isinstance(c, (bool, int, float, str))]
    if bad:
        raise ConfigError(
            f"parameter {name!r}: choice {bad[0]!r} cannot be an Optuna categorical choice "
            "(Optuna takes None, bool, int, float and str)"
        )
    return od.CategoricalDistribution(choices)


# -- metrics ----------------------------------------------------------------------------------
def metric_set(directions: Sequence[str], names: Sequence[str] | None,
               constraint_keys: Sequence[str], dialed_spec: Mapping[str, str] | None) -> MetricSet:
    """The dialed metrics of an Optuna study: its objectives, then its constraints (<= 0)."""
    if dialed_spec:
        with_spec = MetricSet(dict(dialed_spec))
        if [str(m.direction) for m in with_spec.objectives] == list(directions):
            return with_spec
    if names is None or len(names) != len(directions) or not _usable(names):
        n = len(directions)
        names = ["value"] if n == 1 else [f"value_{i}" for i in range(n)]
    spec: dict[str, str] = dict(zip(names, directions, strict=True))
    for key in constraint_keys:
        spec[_CONSTRAINT + key] = "<= 0"
    return MetricSet(spec)


def _usable(names: Sequence[str]) -> bool:
    if len(set(names)) != len(names):
        return False
    try:
        MetricSet(dict.fromkeys(names, "minimize"))
    except ConfigError:
        return False
    return not any(n.startswith(_CONSTRAINT) for n in names)


def constraint_values(system_attrs: Mapping[str, Any]) -> dict[str, float]:
    """An Optuna trial's constraint values by key (list entries keyed "0", "1", ...)."""
    out: dict[str, float] = {}
    listed = system_attrs.get("constraints")
    if isinstance(listed, (list, tuple)):
        out.update({str(i): float(v) for i, v in enumerate(listed)})
    for key, value in system_attrs.items():
        if key.startswith("constraints:"):
            out[key[len("constraints:"):]] = float(value)
    return out


def optuna_constraints(metrics: MetricSet, values: Mapping[str, float]) -> list[float] | None:
    """A dialed trial's constraints as Optuna's list (feasible when each is <= 0)."""
    cons = metrics.constraints
    if not cons or any(m.name not in values for m in cons):
        return None
    return [_slack(m, values[m.name]) for m in cons]


def _slack(m: Metric, value: float) -> float:
    bound = float(m.bound or 0.0)
    return value - bound if m.op in ("<=", "<") else bound - value


# -- times ------------------------------------------------------------------------------------
def to_timestamp(when: _dt.datetime | None) -> float | None:
    """UNIX seconds of an Optuna datetime (naive ones are local time, as Optuna records them)."""
    return None if when is None else when.timestamp()


def from_timestamp(ts: float | None) -> _dt.datetime | None:
    return None if ts is None else _dt.datetime.fromtimestamp(ts)


# -- trials -----------------------------------------------------------------------------------
_STATES = {"COMPLETE": TrialState.COMPLETE, "PRUNED": TrialState.PRUNED,
           "FAIL": TrialState.FAILED, "WAITING": TrialState.WAITING,
           "RUNNING": TrialState.FAILED}


def trial_record(trial: Any, metrics: MetricSet, source: Mapping[str, Any],
                 dropped: dict[str, int]) -> TrialRecord:
    """A dialed record of an Optuna FrozenTrial; counts the system attributes not carried."""
    state = _STATES[trial.state.name]
    system = dict(trial.system_attrs)
    carried = (*CARRIED_SYSTEM_ATTRS, "fixed_params") if state == TrialState.WAITING \
        else CARRIED_SYSTEM_ATTRS
    for key in system:
        if key not in carried and not key.startswith("constraints:"):
            dropped[key] = dropped.get(key, 0) + 1
    values: dict[str, float] = {}
    error = system.get("fail_reason")
    recorded = system.get(DIALED_METRICS)
    if isinstance(recorded, Mapping):
        values = {k: float(v) for k, v in recorded.items() if k in metrics}
    else:
        if trial.values is not None:
            values.update({m.name: float(v) for m, v in zip(metrics.objectives, trial.values,
                                                            strict=False)})
        values.update({_CONSTRAINT + k: v for k, v in constraint_values(system).items()
                       if _CONSTRAINT + k in metrics})
    if trial.state.name == "RUNNING":
        error, values = "running in Optuna when it was imported", {}
    params = dict(trial.params)
    if state == TrialState.WAITING:  # an enqueued trial's parameters wait in fixed_params
        params = dict(system.get("fixed_params") or {})
    bad = [k for k, v in values.items() if not math.isfinite(v)]
    if bad:
        if state == TrialState.COMPLETE:
            state = TrialState.FAILED
            error = f"Optuna recorded {bad[0]} = {values[bad[0]]}, which dialed cannot store"
        values = {k: v for k, v in values.items() if k not in bad}
    start, end = to_timestamp(trial.datetime_start), to_timestamp(trial.datetime_complete)
    origin = {**source, "trial_id": int(trial._trial_id), "number": int(trial.number)}
    return TrialRecord(
        trial_id=0, study_id=0, number=trial.number, state=state, seed=0,
        params=params,
        metrics=values,
        intermediate={int(k): float(v) for k, v in trial.intermediate_values.items()},
        created_at=start if start is not None else end,
        started_at=start if state != TrialState.WAITING else None,
        finished_at=(end if end is not None else start) if state.finished else None,
        wall_seconds=None if start is None or end is None else max(end - start, 0.0),
        error=None if error is None else str(error),
        user_attrs=dict(trial.user_attrs),
        system_attrs={"optuna": origin},
    )
