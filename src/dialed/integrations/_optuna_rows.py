"""How DialedStorage reads and writes rows: its SQL statements, what it knows of a study, and
the conversions between dialed's trial records and Optuna's frozen trials (see
:mod:`dialed.integrations._optuna_storage` for how Optuna's data sits in dialed's schema)."""

from __future__ import annotations

import datetime
import functools
import json
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import optuna
import sqlalchemy as sa
from optuna.distributions import (
    BaseDistribution,
    json_to_distribution,
)
from optuna.study import StudyDirection
from optuna.trial import FrozenTrial
from optuna.trial import TrialState as OptunaState

from dialed.integrations._optuna_convert import (
    STATE_TO_OPTUNA,
    metric_names,
)
from dialed.storage.sql import (
    INSERT_METRICS,
    intermediate_of,
    metrics_of,
    record,
    studies,
    study_attrs,
    study_space,
    trial_queries,
    trials,
    where_params,
)
from dialed.trial import TrialRecord, TrialState

__all__ = [
    "DISTRIBUTIONS",
    "SYSTEM",
    "TRIAL_SYSTEM",
    "USER",
    "_END_UNFINISHED",
    "_FINISHED",
    "_IN_STATES",
    "_SPACE_ENTRY",
    "_SPACE_SIZE",
    "_STATES",
    "_STUDY_ROW",
    "_T",
    "_TRIAL_ID",
    "_TRIAL_ROW",
    "_UNFINISHED",
    "_UPDATE",
    "_Study",
    "_attrs",
    "_changed",
    "_datetime",
    "_dumps",
    "_from_dialed",
    "_frozen",
    "_insert_values",
    "_keep",
    "_load",
    "_number",
    "_objectives",
    "_same",
    "_stored",
    "_take",
]

_T = TypeVar("_T")

#: Prefixes of the study attributes that hold Optuna's user and system attributes.
USER, SYSTEM = "optuna.user:", "optuna.system:"
#: Keys of dialed's trial system attributes that hold Optuna's.
TRIAL_SYSTEM, DISTRIBUTIONS = "optuna", "optuna_distributions"

_FINISHED = {TrialState.COMPLETE.value, TrialState.PRUNED.value, TrialState.FAILED.value}
_TRIAL_ROW = (sa.select(trials.c.study_id, trials.c.number, trials.c.state, trials.c.params,
                        trials.c.user_attrs, trials.c.system_attrs)
              .where(trials.c.trial_id == sa.bindparam("tid"))
              .with_for_update(key_share=True))
_UPDATE = sa.update(trials).where(trials.c.trial_id == sa.bindparam("where_trial_id"))
_END_UNFINISHED = _UPDATE.where(trials.c.state.in_([TrialState.RUNNING.value,
                                                    TrialState.WAITING.value]))
_SPACE_ENTRY = sa.select(study_space.c.distribution).where(
    study_space.c.study_id == sa.bindparam("sid"), study_space.c.name == sa.bindparam("name"))
_SPACE_SIZE = sa.select(sa.func.count()).select_from(study_space).where(
    study_space.c.study_id == sa.bindparam("sid"))
_STUDY_ROW = sa.select(studies.c.name, studies.c.metrics).where(
    studies.c.study_id == sa.bindparam("sid"))
#: The study (no row: there is none) and its trials in some states (NULL: none), in one query.
_IN_STATES = (sa.select(studies.c.study_id, trials.c.trial_id)
              .select_from(studies.outerjoin(trials, sa.and_(
                  trials.c.study_id == studies.c.study_id,
                  trials.c.state.in_(sa.bindparam("states", expanding=True)))))
              .where(studies.c.study_id == sa.bindparam("sid"))
              .order_by(trials.c.number))
_STATES = tuple(OptunaState)
_UNFINISHED = (OptunaState.RUNNING, OptunaState.WAITING)
_TRIAL_ID = sa.select(trials.c.trial_id).where(
    trials.c.study_id == sa.bindparam("sid"), trials.c.number == sa.bindparam("number"))


@dataclass
class _Study:
    """What this process knows of one study: its objectives, and its finished trials."""

    name: str
    objectives: list[str]
    directions: list[StudyDirection]
    finished: dict[int, FrozenTrial] = field(default_factory=dict)  # by trial id
    ordered: list[FrozenTrial] = field(default_factory=list)  # the same, by number
    frontier: int | None = None  # read trials with ids from here on
    space: dict[str, str] = field(default_factory=dict)  # registered name -> its kind



def _dumps(value: Any) -> str:
    """JSON text; NaN and infinities as JSON's extensions (``NaN``, ``Infinity``), which
    :func:`json.loads` reads back, as Optuna's attributes may hold them."""
    try:
        return json.dumps(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"value is not JSON-serialisable: {exc}") from None


def _stored(value: float) -> float | None:
    """An intermediate value as stored: NaN as NULL (SQLite cannot hold NaN)."""
    v = float(value)
    return None if math.isnan(v) else v


def _objectives(metrics_text: str) -> tuple[list[str], list[StudyDirection]]:
    metrics = json.loads(metrics_text)
    names = [n for n, spec in metrics.items() if spec in ("minimize", "maximize")]
    return names, [StudyDirection.MAXIMIZE if metrics[n] == "maximize"
                   else StudyDirection.MINIMIZE for n in names]


def _insert_values(conn: sa.Connection, known: _Study, study_id: int, trial_id: int,
                   values: Sequence[float]) -> None:
    names = known.objectives if len(known.objectives) == len(values) \
        else metric_names(len(values))
    conn.execute(INSERT_METRICS, [
        {"trial_id": trial_id, "study_id": study_id, "name": n, "value": float(v)}
        for n, v in zip(names, values, strict=True)])


def _attrs(conn: sa.Connection, study_ids: Sequence[int], prefix: str
           ) -> dict[int, dict[str, Any]]:
    rows = conn.execute(
        sa.select(study_attrs.c.study_id, study_attrs.c.key, study_attrs.c.value)
        .where(study_attrs.c.study_id.in_(study_ids), study_attrs.c.key.startswith(prefix,
                                                                                   autoescape=True))
    )
    out: dict[int, dict[str, Any]] = {}
    for sid, key, value in rows:
        out.setdefault(sid, {})[key[len(prefix):]] = json.loads(value)
    return out


@functools.lru_cache(maxsize=4096)
def _distribution(text: str) -> BaseDistribution:
    return json_to_distribution(text)


def _from_dialed(name: str, spec: dict[str, Any]) -> BaseDistribution | None:
    """The Optuna distribution of a dialed space entry (None when it has no Optuna form)."""
    kind = spec.get("type")
    if kind == "float":
        return optuna.distributions.FloatDistribution(
            spec["low"], spec["high"], log=bool(spec.get("log")), step=spec.get("step"))
    if kind == "int":
        return optuna.distributions.IntDistribution(
            spec["low"], spec["high"], log=bool(spec.get("log")), step=spec.get("step", 1))
    if kind == "categorical":
        return optuna.distributions.CategoricalDistribution(spec["choices"])
    return None


def _frozen(record: TrialRecord, known: _Study) -> FrozenTrial:
    system = record.system_attrs
    dists = system.get(DISTRIBUTIONS, {})
    values = None
    if record.metrics and all(n in record.metrics for n in known.objectives):
        values = [record.metrics[n] for n in known.objectives]
    start, end = record.started_at, record.finished_at
    return FrozenTrial(
        number=record.number,
        state=STATE_TO_OPTUNA[record.state],
        value=None,
        values=values,
        datetime_start=_datetime(start),
        datetime_complete=_datetime(end),
        params=dict(record.params),
        distributions={name: _distribution(dists[name]) for name in record.params
                       if name in dists},
        user_attrs=dict(record.user_attrs),
        system_attrs=dict(system.get(TRIAL_SYSTEM, {})),
        intermediate_values=dict(record.intermediate),
        trial_id=record.trial_id,
    )


def _load(conn: sa.Connection, where: dict[str, Any],
          held: Callable[[int, str], bool] | None = None) -> list[TrialRecord]:
    """The trials matching ``where`` (see :func:`dialed.storage._sql_rows.trial_queries`).

    Their metrics are read only when one of them is finished (Optuna gives values to none
    other). When the caller ``held`` every one already, as stored, only their ids, numbers and
    states are returned."""
    rows = conn.execute(trial_queries(tuple(where))[0], where_params(where)).all()
    if not rows:
        return []
    if held is not None and all(held(r.trial_id, r.state) for r in rows):
        return [TrialRecord(r.trial_id, r.study_id, r.number, TrialState(r.state), r.seed)
                for r in rows]
    values = metrics_of(conn, where) if any(r.state in _FINISHED for r in rows) else {}
    steps = intermediate_of(conn, where)
    return [record(r._mapping, values.get(r.trial_id, {}), steps.get(r.trial_id, {}))
            for r in rows]


def _same(trial: FrozenTrial) -> FrozenTrial:
    return trial


def _datetime(stamp: float | None) -> datetime.datetime | None:
    """A stored UNIX time as Optuna's naive local datetime."""
    return None if stamp is None else datetime.datetime.fromtimestamp(stamp)


def _changed(trial: FrozenTrial, **fields: Any) -> FrozenTrial:
    """A new frozen trial: ``trial`` with some fields replaced (never changed in place: a
    caller may hold the old one)."""
    now_fields: dict[str, Any] = {
        "number": trial.number, "state": trial.state, "value": None, "values": trial.values,
        "datetime_start": trial.datetime_start, "datetime_complete": trial.datetime_complete,
        "params": trial.params, "distributions": trial.distributions,
        "user_attrs": trial.user_attrs, "system_attrs": trial.system_attrs,
        "intermediate_values": trial.intermediate_values, "trial_id": trial._trial_id,
    }
    now_fields.update(fields)
    return FrozenTrial(**now_fields)


def _take(known: _Study, records: Iterable[TrialRecord], frontier: int | None
          ) -> list[FrozenTrial]:
    """Keep the finished trials of a read from ``frontier`` on; the unfinished ones, which are
    read again next time (from the lowest of them), are returned."""
    unfinished: list[FrozenTrial] = []
    lowest: int | None = None
    top: int | None = None
    resort = False
    for rec in records:
        top = rec.trial_id if top is None else max(top, rec.trial_id)
        if rec.trial_id in known.finished:
            continue
        trial = _frozen(rec, known)
        if rec.state.finished:
            resort = _keep(known, trial, sort=False) or resort
        else:
            unfinished.append(trial)
            lowest = rec.trial_id if lowest is None else min(lowest, rec.trial_id)
    if resort:
        known.ordered.sort(key=_number)
    if known.frontier == frontier:  # no other thread moved it meanwhile
        known.frontier = lowest if lowest is not None else (
            frontier if top is None else top + 1)
    return unfinished


def _keep(known: _Study, trial: FrozenTrial, sort: bool = True) -> bool:
    """Keep a finished trial; True when it came before one kept earlier (with ``sort``, the
    trials are sorted again then)."""
    if trial._trial_id in known.finished:
        return False
    late = bool(known.ordered) and known.ordered[-1].number > trial.number
    known.finished[trial._trial_id] = trial
    known.ordered.append(trial)
    if late and sort:
        known.ordered.sort(key=_number)
    return late


def _number(trial: FrozenTrial) -> int:
    return trial.number
