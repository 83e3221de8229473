"""The rows of :class:`~dialed.storage._sql.SQLStorage`: values, queries and statements.

Each function takes an open connection inside the caller's transaction and reads or writes the
tables of :mod:`dialed.storage._schema`; none opens a transaction of its own. The statements
used on every trial are built once at import (see the note above them).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import sqlalchemy as sa

from dialed._util import now
from dialed.errors import DuplicateStudyError, StorageError, StudyNotFoundError, TrialStateError
from dialed.storage._common import json_copy as _json_copy
from dialed.storage._schema import (
    studies,
    study_attrs,
    study_space,
    trial_intermediate,
    trial_metrics,
    trials,
)
from dialed.trial import TrialRecord, TrialState

__all__ = [
    "FIRST_IN_STATE",
    "FIRST_WAITING",
    "INSERT_METRICS",
    "INSERT_TRIAL",
    "LAST_TRIAL_ID",
    "LOCK_STUDY",
    "MAX_NUMBER",
    "METRIC_TRIAL",
    "STEP_TRIAL",
    "STUDY_EXISTS",
    "TOUCH_RUNNING",
    "TRIAL_ROW_LOCKED",
    "UPDATE_TRIAL",
    "WHERE",
    "attrs_of",
    "best_value",
    "count_rows",
    "dump_json",
    "duplicate_error",
    "intermediate_of",
    "json_merges",
    "load_json",
    "load_trials",
    "lock_study",
    "merged_columns",
    "metrics_of",
    "new_id",
    "next_number",
    "no_study_named",
    "record",
    "require_study",
    "running_row",
    "space_of",
    "state_values",
    "touch_running",
    "trial_queries",
    "unfinished_frontier",
    "update_trial",
    "where_params",
]

RUNNING = TrialState.RUNNING.value
WAITING = TrialState.WAITING.value
COMPLETE = TrialState.COMPLETE.value


# -- values --------------------------------------------------------------------------------
def dump_json(value: Any) -> str:
    """JSON text of ``value``, refused exactly as the memory storage refuses it."""
    return json.dumps(_json_copy(value))


def load_json(text: str) -> Any:
    return {} if text == "{}" else json.loads(text)  # most attribute columns are empty


def new_id(result: sa.CursorResult[Any]) -> int:
    key = result.inserted_primary_key
    if key is None or key[0] is None:
        raise StorageError("the database returned no id for the new row")
    return int(key[0])


def duplicate_error(name: str) -> DuplicateStudyError:
    return DuplicateStudyError(
        f"a study named {name!r} already exists (load it, or pass load_if_exists=True)"
    )


def state_values(states: Iterable[TrialState]) -> list[str]:
    return [s.value if isinstance(s, TrialState) else str(s) for s in states]


def json_merges(**parts: Mapping[str, Any] | None) -> dict[str, dict[str, Any]]:
    """The JSON dicts to merge into a trial's stored columns (checked before any transaction)."""
    return {column: _json_copy(dict(part)) for column, part in parts.items() if part}


def merged_columns(row: Any, merges: Mapping[str, dict[str, Any]]) -> dict[str, str]:
    return {
        column: json.dumps({**json.loads(getattr(row, column)), **part})
        for column, part in merges.items()
    }


def record(row: Mapping[Any, Any], metrics: Mapping[str, float],
            intermediate: Mapping[int, float]) -> TrialRecord:
    return TrialRecord(
        trial_id=row["trial_id"],
        study_id=row["study_id"],
        number=row["number"],
        state=TrialState(row["state"]),
        seed=row["seed"],
        params=load_json(row["params"]),
        metrics=dict(metrics),
        intermediate=dict(intermediate),
        created_at=row["created_at"],
        started_at=row["started_at"],
        finished_at=row.get("finished_at"),
        heartbeat_at=row["heartbeat_at"],
        wall_seconds=row.get("wall_seconds"),
        cpu_seconds=row.get("cpu_seconds"),
        peak_memory_mb=row.get("peak_memory_mb"),
        worker=row["worker"],
        error=row.get("error"),
        environment=load_json(row["environment"]),
        user_attrs=load_json(row["user_attrs"]),
        system_attrs=load_json(row["system_attrs"]),
    )


# -- queries -------------------------------------------------------------------------------
METRIC_TRIAL = trial_metrics.join(trials, trial_metrics.c.trial_id == trials.c.trial_id)
STEP_TRIAL = trial_intermediate.join(trials, trial_intermediate.c.trial_id == trials.c.trial_id)


def require_study(conn: sa.Connection, study_id: int) -> None:
    if conn.execute(STUDY_EXISTS, {"sid": study_id}).first():
        return
    raise StudyNotFoundError(f"no study with id {study_id} in this storage")


def no_study_named(conn: sa.Connection, name: str) -> StudyNotFoundError:
    names = conn.execute(sa.select(studies.c.name).order_by(studies.c.name)).scalars()
    known = ", ".join(names) or "none"
    return StudyNotFoundError(f"no study named {name!r} in this storage (studies: {known})")


def lock_study(conn: sa.Connection, study_id: int) -> int:
    """Lock the study row until the transaction ends (PostgreSQL) and return its seed."""
    seed = conn.execute(LOCK_STUDY, {"sid": study_id}).scalar()
    if seed is None:
        raise StudyNotFoundError(f"no study with id {study_id} in this storage")
    return int(seed)


def next_number(conn: sa.Connection, study_id: int) -> int:
    top = conn.execute(MAX_NUMBER, {"sid": study_id}).scalar()
    return 0 if top is None else int(top) + 1


def unfinished_frontier(conn: sa.Connection, study_id: int) -> int | None:
    """The lowest id of a waiting or running trial, else one past the highest id (None: no
    trial). Trial ids rise with numbers within a study, so each state's first is its lowest."""
    first = [conn.execute(FIRST_IN_STATE, {"sid": study_id, "state": s}).scalar()
             for s in (WAITING, RUNNING)]
    unfinished = [int(i) for i in first if i is not None]
    if unfinished:
        return min(unfinished)
    last = conn.execute(LAST_TRIAL_ID, {"sid": study_id}).scalar()
    return None if last is None else int(last) + 1


def count_rows(conn: sa.Connection, study_id: int, states: list[str] | None) -> int:
    query = sa.select(sa.func.count()).select_from(trials).where(trials.c.study_id == study_id)
    if states is not None:
        query = query.where(trials.c.state.in_(states))
    return int(conn.execute(query).scalar_one())


def nth_last_number(conn: sa.Connection, study_id: int, n: int,
                    states: list[str] | None) -> int | None:
    """The number of the ``n``-th last trial (of those states), None when there are fewer: a
    walk down the (study, state, number) index from its end, whatever the study's size."""
    query = (sa.select(trials.c.number).where(trials.c.study_id == study_id)
             .order_by(trials.c.number.desc()).limit(1).offset(n - 1))
    if states is not None:
        query = query.where(trials.c.state.in_(states))
    found = conn.execute(query).scalar()
    return None if found is None else int(found)


def attrs_of(conn: sa.Connection, study_id: int) -> dict[str, Any]:
    rows = conn.execute(
        sa.select(study_attrs.c.key, study_attrs.c.value).where(study_attrs.c.study_id == study_id)
    )
    return {key: json.loads(value) for key, value in rows}


def space_of(conn: sa.Connection, study_id: int) -> dict[str, dict[str, Any]]:
    rows = conn.execute(
        sa.select(study_space.c.name, study_space.c.distribution)
        .where(study_space.c.study_id == study_id)
        .order_by(study_space.c.position)
    )
    return {name: json.loads(spec) for name, spec in rows}


def running_row(conn: sa.Connection, trial_id: int) -> Any:
    """The trial's row, locked until the transaction ends; TrialStateError unless running."""
    row = conn.execute(TRIAL_ROW_LOCKED, {"tid": trial_id}).first()
    if row is None:
        raise StorageError(f"no trial with id {trial_id} in this storage")
    if row.state != RUNNING:
        raise TrialStateError(
            f"trial {row.number} is {row.state}; only a running trial can change"
        )
    return row


def touch_running(conn: sa.Connection, trial_id: int) -> None:
    """Refresh a running trial's heartbeat; the same errors as :func:`running_row`."""
    result = conn.execute(TOUCH_RUNNING, {"tid": trial_id, "t": now()})
    if result.rowcount == 0:
        running_row(conn, trial_id)  # raises: no such trial, or not running


def update_trial(conn: sa.Connection, trial_id: int, changes: Mapping[str, Any]) -> None:
    conn.execute(UPDATE_TRIAL, {"where_trial_id": trial_id, **changes})


def metrics_of(conn: sa.Connection, where: Mapping[str, Any]) -> dict[int, dict[str, float]]:
    out: dict[int, dict[str, float]] = {}
    query = trial_queries(tuple(where))[1]
    for trial_id, name, value in conn.execute(query, where_params(where)):
        out.setdefault(trial_id, {})[name] = value
    return out


def intermediate_of(conn: sa.Connection, where: Mapping[str, Any]) -> dict[int, dict[int, float]]:
    out: dict[int, dict[int, float]] = {}
    query = trial_queries(tuple(where))[2]
    for trial_id, step, value in conn.execute(query, where_params(where)):
        out.setdefault(trial_id, {})[step] = float("nan") if value is None else value
    return {trial_id: dict(sorted(steps.items())) for trial_id, steps in out.items()}


def load_trials(conn: sa.Connection, where: Mapping[str, Any]) -> list[TrialRecord]:
    """The trials matching ``where`` by number, in three queries however many there are."""
    rows = conn.execute(trial_queries(tuple(where))[0], where_params(where)).all()
    if not rows:
        return []
    metrics, steps = metrics_of(conn, where), intermediate_of(conn, where)
    return [
        record(row._mapping, metrics.get(row.trial_id, {}), steps.get(row.trial_id, {}))
        for row in rows
    ]


# -- statements built once ------------------------------------------------------------------
# SQLAlchemy caches the SQL it compiles, but a statement built afresh on every call must first be
# walked to find its cache key (~0.15 ms, a dozen times per trial). These are built once.
STUDY_EXISTS = sa.select(studies.c.study_id).where(studies.c.study_id == sa.bindparam("sid"))
#: Lock the study row until the transaction ends (PostgreSQL) and read its seed. NO KEY UPDATE:
#: inserting the study's trials still works meanwhile.
LOCK_STUDY = (sa.select(studies.c.seed).where(studies.c.study_id == sa.bindparam("sid"))
               .with_for_update(key_share=True))
MAX_NUMBER = (sa.select(sa.func.max(trials.c.number))
               .where(trials.c.study_id == sa.bindparam("sid")))
#: SQLite: BEGIN IMMEDIATE already excludes other writers (FOR UPDATE renders as nothing).
#: PostgreSQL: skip trials another worker is claiming right now.
FIRST_WAITING = (sa.select(trials)
                  .where(trials.c.study_id == sa.bindparam("sid"), trials.c.state == WAITING)
                  .order_by(trials.c.number)
                  .limit(1)
                  .with_for_update(skip_locked=True, key_share=True))
#: The lowest-numbered trial of a study in one state (a walk down the (study, state, number) index).
FIRST_IN_STATE = (sa.select(trials.c.trial_id)
                  .where(trials.c.study_id == sa.bindparam("sid"),
                         trials.c.state == sa.bindparam("state"))
                  .order_by(trials.c.number)
                  .limit(1))
LAST_TRIAL_ID = (sa.select(sa.func.max(trials.c.trial_id))
                 .where(trials.c.study_id == sa.bindparam("sid")))
TRIAL_ROW_LOCKED = (sa.select(trials).where(trials.c.trial_id == sa.bindparam("tid"))
                     .with_for_update(key_share=True))
#: SET whichever columns the parameters name.
UPDATE_TRIAL = sa.update(trials).where(trials.c.trial_id == sa.bindparam("where_trial_id"))
TOUCH_RUNNING = (sa.update(trials)
                  .where(trials.c.trial_id == sa.bindparam("tid"), trials.c.state == RUNNING)
                  .values(heartbeat_at=sa.bindparam("t")))
INSERT_TRIAL = sa.insert(trials)
INSERT_METRICS = sa.insert(trial_metrics)

#: The conditions a read of trials can combine, by name (each a bound parameter ``w_<name>``).
WHERE: dict[str, Callable[[], Any]] = {
    "study": lambda: trials.c.study_id == sa.bindparam("w_study"),
    "states": lambda: trials.c.state.in_(sa.bindparam("w_states", expanding=True)),
    "min_trial_id": lambda: trials.c.trial_id >= sa.bindparam("w_min_trial_id"),
    "min_number": lambda: trials.c.number >= sa.bindparam("w_min_number"),
    "trial": lambda: trials.c.trial_id == sa.bindparam("w_trial"),
    "number": lambda: trials.c.number == sa.bindparam("w_number"),
}


@functools.cache
def trial_queries(shape: tuple[str, ...]) -> tuple[Any, Any, Any]:
    """The trials, their metrics and their intermediate values matching the named conditions."""
    where = [WHERE[name]() for name in shape]
    return (
        sa.select(trials).where(*where).order_by(trials.c.number),
        sa.select(trial_metrics.c.trial_id, trial_metrics.c.name, trial_metrics.c.value)
        .select_from(METRIC_TRIAL).where(*where),
        sa.select(trial_intermediate.c.trial_id, trial_intermediate.c.step,
                  trial_intermediate.c.value)
        .select_from(STEP_TRIAL).where(*where),
    )


def where_params(where: Mapping[str, Any]) -> dict[str, Any]:
    return {f"w_{name}": value for name, value in where.items()}


def best_value(study_id: int, metric: str, direction: str) -> sa.Select[float]:
    """The best value of ``metric`` among complete trials: a walk down one index."""
    value = trial_metrics.c.value
    return (
        sa.select(value)
        .select_from(METRIC_TRIAL)
        .where(trial_metrics.c.study_id == study_id, trial_metrics.c.name == metric,
               trials.c.state == COMPLETE)
        .order_by(value.desc() if direction == "maximize" else value.asc())
        .limit(1)
    )
