"""``export_optuna``: a dialed study as an Optuna study, written through Optuna's storage API.

The Optuna study gets the objectives as its directions (and metric names), each trial its
state, parameters with distributions, objective values, intermediate values, attributes, times
and constraint values (Optuna's ``constraints``: each bound as a value feasible when <= 0).
Every metric value, tracked ones too, and the study's metric specs ride along in
``dialed:metrics`` so that importing the export gives back the same study.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dialed.errors import ConfigError
from dialed.interop._convert import (
    DIALED_METRICS,
    from_timestamp,
    optuna_constraints,
    optuna_distribution,
)
from dialed.interop._source import import_optuna_module, open_optuna_storage, parse_location
from dialed.metrics import MetricSet
from dialed.storage import Storage, open_storage
from dialed.trial import TrialRecord, TrialState

__all__ = ["ExportResult", "export_optuna"]

_STATES = {TrialState.COMPLETE: "COMPLETE", TrialState.PRUNED: "PRUNED",
           TrialState.FAILED: "FAIL", TrialState.WAITING: "WAITING"}


@dataclass
class ExportResult:
    study: str
    optuna_study: str
    location: str
    exported: int
    skipped_running: int

    def line(self) -> str:
        running = (f"; {self.skipped_running} running trials left out"
                   if self.skipped_running else "")
        return (f"exported {self.exported} trials of dialed study {self.study!r} to Optuna "
                f"study {self.optuna_study!r} in {self.location}{running}")


def export_optuna(study: str, *, storage: str | Storage | None, to: str,
                  name: str | None = None) -> ExportResult:
    """Write the dialed study ``study`` into the Optuna storage ``to`` as a new Optuna study
    (named ``name``, else the same). An Optuna study of that name is refused; a failure
    half-way deletes what was written of it."""
    optuna = import_optuna_module()
    store = open_storage(storage)
    record = store.get_study(study)
    metrics = MetricSet(record.metrics)
    space = store.get_space(record.study_id)
    records = store.get_trials(record.study_id)
    frozen = [_frozen(t, metrics, space) for t in records if t.state != TrialState.RUNNING]
    target = name or study
    location = parse_location(to, for_writing=True)
    ostorage = open_optuna_storage(location, for_writing=True)
    if any(s.study_name == target for s in ostorage.get_all_studies()):
        raise ConfigError(f"an Optuna study named {target!r} already exists in "
                          f"{location.shown}: give another name")
    ostudy = optuna.create_study(storage=ostorage, study_name=target,
                                 directions=[str(m.direction) for m in metrics.objectives])
    try:
        with warnings.catch_warnings():  # set_metric_names is "experimental" in Optuna
            warnings.simplefilter("ignore")
            ostudy.set_metric_names([m.name for m in metrics.objectives])
        ostorage.set_study_system_attr(ostudy._study_id, DIALED_METRICS, metrics.to_dict())
        for key, value in record.attrs.items():
            if key.startswith("user:"):
                ostudy.set_user_attr(key[len("user:"):], value)
        ostudy.add_trials(frozen)
    except BaseException:
        optuna.delete_study(study_name=target, storage=ostorage)
        raise
    return ExportResult(study, target, location.shown, len(frozen),
                        len(records) - len(frozen))


def _frozen(t: TrialRecord, metrics: MetricSet, space: Mapping[str, Mapping[str, Any]]) -> Any:
    from optuna.trial import FrozenTrial
    from optuna.trial import TrialState as OptunaState

    state = OptunaState[_STATES[t.state]]
    system: dict[str, Any] = {DIALED_METRICS: dict(t.metrics), "dialed:seed": t.seed}
    values = None
    if t.state in (TrialState.COMPLETE, TrialState.PRUNED):
        objs = [t.metrics.get(m.name) for m in metrics.objectives]
        if all(v is not None for v in objs):
            values = [float(v) for v in objs if v is not None]
    constraints = optuna_constraints(metrics, t.metrics)
    if constraints is not None:
        system["constraints"] = constraints
    if t.error is not None and t.state == TrialState.FAILED:
        system["fail_reason"] = t.error
    params, dists = dict(t.params), {}
    if t.state == TrialState.WAITING:
        system["fixed_params"], params = params, {}
    for pname in params:
        if pname not in space:
            raise ConfigError(f"trial {t.number}: parameter {pname!r} is not in the study's space")
        dists[pname] = optuna_distribution(pname, space[pname])
    waiting = t.state == TrialState.WAITING
    start = None if waiting else from_timestamp(t.started_at or t.created_at)
    end = from_timestamp(t.finished_at or t.started_at or t.created_at) if t.state.finished \
        else None
    return FrozenTrial(
        number=t.number, state=state, value=None, values=values, datetime_start=start,
        datetime_complete=end, params=params, distributions=dists,
        user_attrs=dict(t.user_attrs), system_attrs=system,
        intermediate_values={int(k): float(v) for k, v in t.intermediate.items()},
        trial_id=0,
    )
