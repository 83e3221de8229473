"""A storage in an SQL database on SQLAlchemy Core: SQLite (one machine) or PostgreSQL (many).

Every call is one transaction. Two things make concurrent workers safe:

- **SQLite**: the file is in WAL mode (readers never block the writer), a connection waits up
  to a busy timeout for the write lock, and every write transaction starts with
  ``BEGIN IMMEDIATE`` so it holds that lock from its first read: a trial number or a claim is
  decided by one writer at a time, and a transaction never fails half-way on "database is
  locked". Reads start a plain ``BEGIN``: a consistent snapshot that takes no write lock.
- **PostgreSQL**: the study row is locked (``FOR NO KEY UPDATE``) while a trial number is
  chosen or the space grows, and a claim takes the lowest waiting trial with
  ``FOR NO KEY UPDATE SKIP LOCKED``, so two workers never wait on or take the same trial.
  Reads run as ``REPEATABLE READ, READ ONLY`` so that a trial and its metrics agree.

Either way a transaction that still meets a busy database is retried a few times with backoff
before a :class:`~dialed.errors.StorageError` says so in one line.

**Durability.** What a study learned (a finished trial, a failed-and-requeued one, the study, its
space, its queue) is on disk when the call returns: SQLite syncs the WAL at that commit
(``synchronous=FULL``), PostgreSQL flushes its WAL (``synchronous_commit`` on). The bookkeeping
of a *running* trial (its creation or claim, heartbeats, buffered parameters, intermediate
values) survives any crash of the process but is not waited onto the disk (SQLite
``synchronous=NORMAL``, PostgreSQL ``synchronous_commit=off``): only a power loss or an OS crash
can take back the last of these, and then the worker that ran the trial is gone as well. The
next durable commit carries every earlier one to disk. This keeps a short trial at one disk sync
instead of three.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from dialed._util import derive_seed, now
from dialed.errors import StorageError, TrialStateError
from dialed.storage._base import Storage, StudyRecord, StudySummary, TrialsSince, check_last
from dialed.storage._common import check_direction, check_imported, check_name, clean_text
from dialed.storage._common import check_metrics as _check_metrics
from dialed.storage._common import json_copy as _json_copy
from dialed.storage._common import merge_space as _merge_space
from dialed.storage._schema import (
    studies,
    study_attrs,
    study_space,
    trial_intermediate,
    trial_metrics,
    trials,
)
from dialed.storage._sql_engine import Database
from dialed.storage._sql_import import (
    insert_study,
    insert_trials,
    trial_texts,
    write_attrs,
    write_space,
)
from dialed.storage._sql_rows import (
    COMPLETE,
    FIRST_WAITING,
    INSERT_METRICS,
    INSERT_TRIAL,
    METRIC_TRIAL,
    RUNNING,
    WAITING,
    attrs_of,
    best_value,
    count_rows,
    dump_json,
    duplicate_error,
    intermediate_of,
    json_merges,
    load_trials,
    lock_study,
    merged_columns,
    metrics_of,
    new_id,
    next_number,
    no_study_named,
    nth_last_number,
    record,
    require_study,
    running_row,
    space_of,
    state_values,
    touch_running,
    unfinished_frontier,
    update_trial,
)
from dialed.trial import TrialRecord, TrialState

__all__ = ["SQLStorage"]


class SQLStorage(Storage):
    """Studies in an SQLite file or a PostgreSQL database, shared by processes and machines."""

    def __init__(self, url: str, read_only: bool = False) -> None:
        self._db = Database(url, read_only=read_only)
        self.url = self._db.url  # an SQLite path made absolute: other processes reach the file
        self.read_only = self._db.read_only is not None
        self._engine = self._db.engine  # the SQLAlchemy engine, for tests that watch statements

    def __repr__(self) -> str:
        return f"SQLStorage({self._db.shown!r})"

    def __reduce__(self) -> tuple[type[SQLStorage], tuple[str]]:
        # sent to another process as its URL: the other side opens its own connections
        return (SQLStorage, (self._db.url,))

    def close(self) -> None:
        self._db.dispose()

    # -- studies ---------------------------------------------------------------------------
    def create_study(
        self,
        name: str,
        *,
        metrics: Mapping[str, str],
        seed: int,
        attrs: Mapping[str, Any] | None = None,
    ) -> StudyRecord:
        check_name("study name", name)
        for metric in metrics:
            check_name("metric name", metric)
        attrs_json = {k: dump_json(v) for k, v in _json_copy(dict(attrs or {})).items()}
        metrics_json = json.dumps(dict(metrics))

        def txn(conn: sa.Connection) -> StudyRecord:
            if conn.execute(sa.select(studies.c.study_id).where(studies.c.name == name)).first():
                raise duplicate_error(name)
            t = now()
            sid = new_id(conn.execute(sa.insert(studies).values(
                name=name, metrics=metrics_json, seed=int(seed), created_at=t
            )))
            if attrs_json:
                conn.execute(
                    sa.insert(study_attrs),
                    [{"study_id": sid, "key": k, "value": v} for k, v in attrs_json.items()],
                )
            return StudyRecord(sid, name, json.loads(metrics_json), int(seed), t,
                               {k: json.loads(v) for k, v in attrs_json.items()})

        try:
            return self._db.run(txn)
        except StorageError as exc:
            # two processes creating one name at once: the unique index refuses the second
            if isinstance(exc.__cause__, sa.exc.IntegrityError):
                raise duplicate_error(name) from None
            raise

    def get_study(self, name: str) -> StudyRecord:
        def txn(conn: sa.Connection) -> StudyRecord:
            row = conn.execute(sa.select(studies).where(studies.c.name == name)).first()
            if row is None:
                raise no_study_named(conn, name)
            return StudyRecord(row.study_id, row.name, json.loads(row.metrics), row.seed,
                               row.created_at, attrs_of(conn, row.study_id))

        return self._db.run(txn, write=False)

    def list_studies(self) -> list[StudySummary]:
        def txn(conn: sa.Connection) -> list[StudySummary]:
            rows = conn.execute(sa.select(studies).order_by(studies.c.study_id)).all()
            by_state = conn.execute(
                sa.select(
                    trials.c.study_id, trials.c.state, sa.func.count(),
                    sa.func.max(trials.c.started_at), sa.func.max(trials.c.finished_at),
                ).group_by(trials.c.study_id, trials.c.state)
            ).all()
            counts: dict[int, dict[str, int]] = {}
            last: dict[int, float] = {}
            for sid, state, n, started, finished in by_state:
                counts.setdefault(sid, {})[state] = n
                for x in (started, finished):
                    if x is not None and (sid not in last or x > last[sid]):
                        last[sid] = x
            out = []
            for row in rows:
                metrics = json.loads(row.metrics)
                primary = next(
                    (n for n, s in metrics.items() if s in ("minimize", "maximize")), None
                )
                best = None
                if primary is not None:
                    best = conn.execute(
                        best_value(row.study_id, primary, metrics[primary])
                    ).scalar()
                out.append(
                    StudySummary(row.study_id, row.name, metrics, row.created_at,
                                 counts.get(row.study_id, {}), last.get(row.study_id), best)
                )
            return out

        return self._db.run(txn, write=False)

    def delete_study(self, name: str) -> None:
        def txn(conn: sa.Connection) -> None:
            sid = conn.execute(
                sa.select(studies.c.study_id).where(studies.c.name == name)
            ).scalar()
            if sid is None:
                raise no_study_named(conn, name)
            ids = sa.select(trials.c.trial_id).where(trials.c.study_id == sid)
            conn.execute(sa.delete(trial_intermediate).where(trial_intermediate.c.trial_id.in_(ids)))
            for table in (trial_metrics, trials, study_space, study_attrs, studies):
                conn.execute(sa.delete(table).where(table.c.study_id == sid))

        self._db.run(txn)

    def set_study_attr(self, study_id: int, key: str, value: Any) -> None:
        check_name("attribute name", key)
        text = dump_json(value)

        def txn(conn: sa.Connection) -> None:
            require_study(conn, study_id)
            stmt = self._db.insert(study_attrs).values(study_id=study_id, key=key, value=text)
            conn.execute(stmt.on_conflict_do_update(
                index_elements=[study_attrs.c.study_id, study_attrs.c.key],
                set_={"value": stmt.excluded.value},
            ))

        self._db.run(txn)

    def set_study_attr_if_absent(self, study_id: int, key: str, value: Any) -> bool:
        check_name("attribute name", key)
        text = dump_json(value)

        def txn(conn: sa.Connection) -> bool:
            require_study(conn, study_id)
            return self._insert_attr_if_absent(conn, study_id, key, text)

        return self._db.run(txn)

    def _insert_attr_if_absent(self, conn: sa.Connection, study_id: int, key: str,
                               text: str) -> bool:
        stmt = self._db.insert(study_attrs).values(study_id=study_id, key=key, value=text)
        stmt = stmt.on_conflict_do_nothing(
            index_elements=[study_attrs.c.study_id, study_attrs.c.key]
        ).execution_options(preserve_rowcount=True)  # SQLAlchemy keeps it for UPDATE only
        return bool(conn.execute(stmt).rowcount == 1)

    def get_study_attrs(self, study_id: int) -> dict[str, Any]:
        def txn(conn: sa.Connection) -> dict[str, Any]:
            require_study(conn, study_id)
            return attrs_of(conn, study_id)

        return self._db.run(txn, write=False)

    # -- the space -------------------------------------------------------------------------
    def register_params(
        self, study_id: int, distributions: Mapping[str, Mapping[str, Any]]
    ) -> dict[str, dict[str, Any]]:
        def txn(conn: sa.Connection) -> dict[str, dict[str, Any]]:
            lock_study(conn, study_id)
            space = space_of(conn, study_id)
            updates = _merge_space(space, distributions)  # SpaceError here changes nothing
            for name, spec in updates.items():
                if name in space:
                    conn.execute(
                        sa.update(study_space)
                        .where(study_space.c.study_id == study_id, study_space.c.name == name)
                        .values(distribution=json.dumps(spec))
                    )
                else:
                    conn.execute(sa.insert(study_space).values(
                        study_id=study_id, name=name, position=len(space),
                        distribution=json.dumps(spec),
                    ))
                space[name] = spec
            return space

        return self._db.run(txn)

    def get_space(self, study_id: int) -> dict[str, dict[str, Any]]:
        def txn(conn: sa.Connection) -> dict[str, dict[str, Any]]:
            require_study(conn, study_id)
            return space_of(conn, study_id)

        return self._db.run(txn, write=False)

    # -- trials ----------------------------------------------------------------------------
    def create_trial(
        self,
        study_id: int,
        *,
        state: TrialState = TrialState.RUNNING,
        params: Mapping[str, Any] | None = None,
        worker: str | None = None,
        environment: Mapping[str, Any] | None = None,
        system_attrs: Mapping[str, Any] | None = None,
    ) -> TrialRecord:
        if state not in (TrialState.RUNNING, TrialState.WAITING):
            raise TrialStateError(f"a new trial is running or waiting, not {state.value}")
        running = state == TrialState.RUNNING
        texts = {
            "params": dump_json(dict(params or {})),
            "environment": dump_json(dict(environment or {})),
            "user_attrs": "{}",
            "system_attrs": dump_json(dict(system_attrs or {})),
        }

        def txn(conn: sa.Connection) -> TrialRecord:
            seed = lock_study(conn, study_id)
            number = next_number(conn, study_id)
            t = now()
            row = {
                "study_id": study_id, "number": number, "state": state.value,
                "seed": derive_seed(seed, number), "created_at": t,
                "started_at": t if running else None, "heartbeat_at": t if running else None,
                "worker": worker if running else None, **texts,
            }
            trial_id = new_id(conn.execute(INSERT_TRIAL, row))
            return record({**row, "trial_id": trial_id}, {}, {})

        return self._db.run(txn, durable=not running)

    def import_trials(
        self,
        name: str,
        trials: Sequence[TrialRecord],
        *,
        space: Mapping[str, Mapping[str, Any]],
        attrs: Mapping[str, Any] | None = None,
        create: Mapping[str, Any] | None = None,
    ) -> StudyRecord:
        check_imported(trials)  # every value is checked before the transaction
        texts = trial_texts(trials)
        attrs_json = {k: dump_json(v) for k, v in _json_copy(dict(attrs or {})).items()}
        if create is not None:
            check_name("study name", name)
            for metric in create["metrics"]:
                check_name("metric name", metric)
            _merge_space({}, space)

        def txn(conn: sa.Connection) -> StudyRecord:
            if create is None:
                row = conn.execute(sa.select(studies).where(studies.c.name == name)).first()
                if row is None:
                    raise no_study_named(conn, name)
                sid = int(row.study_id)
                lock_study(conn, sid)
            else:
                sid = insert_study(conn, name, create["metrics"], int(create["seed"]))
            write_space(conn, sid, _merge_space(space_of(conn, sid), space))
            write_attrs(conn, sid, attrs_json)
            insert_trials(conn, sid, trials, texts)
            got = conn.execute(sa.select(studies).where(studies.c.study_id == sid)).one()
            return StudyRecord(sid, got.name, json.loads(got.metrics), got.seed, got.created_at,
                               attrs_of(conn, sid))

        try:
            return self._db.run(txn)
        except StorageError as exc:
            if create is not None and isinstance(exc.__cause__, sa.exc.IntegrityError):
                raise duplicate_error(name) from None
            raise

    def enqueue_trials(
        self,
        study_id: int,
        params_list: Sequence[Mapping[str, Any]],
        *,
        once_key: str | None = None,
        system_attrs: Mapping[str, Any] | None = None,
    ) -> int:
        # every value is checked before the transaction: a bad one enqueues nothing
        params_texts = [dump_json(dict(p)) for p in params_list]
        attrs_text = dump_json(dict(system_attrs or {}))
        count_text = json.dumps(len(params_texts))

        def txn(conn: sa.Connection) -> int:
            seed = lock_study(conn, study_id)
            if once_key is not None and not self._insert_attr_if_absent(
                conn, study_id, once_key, count_text
            ):
                return 0
            if not params_texts:
                return 0
            first, t = next_number(conn, study_id), now()
            conn.execute(INSERT_TRIAL, [
                {
                    "study_id": study_id, "number": first + i, "state": WAITING,
                    "seed": derive_seed(seed, first + i), "params": text, "created_at": t,
                    "environment": "{}", "user_attrs": "{}", "system_attrs": attrs_text,
                }
                for i, text in enumerate(params_texts)
            ])
            return len(params_texts)

        return self._db.run(txn)

    def claim_trial(
        self,
        study_id: int,
        *,
        worker: str,
        environment: Mapping[str, Any] | None = None,
        system_attrs: Mapping[str, Any] | None = None,
    ) -> TrialRecord | None:
        env_text = dump_json(dict(environment or {}))
        merges = json_merges(system_attrs=system_attrs)

        def txn(conn: sa.Connection) -> TrialRecord | None:
            # SQLite: BEGIN IMMEDIATE already excludes other writers (FOR UPDATE renders as
            # nothing). PostgreSQL: skip trials another worker is claiming right now.
            row = conn.execute(FIRST_WAITING, {"sid": study_id}).first()
            if row is None:
                require_study(conn, study_id)
                return None
            t = now()
            changes = {"state": RUNNING, "started_at": t, "heartbeat_at": t,
                       "worker": worker, "environment": env_text, **merged_columns(row, merges)}
            update_trial(conn, row.trial_id, changes)
            return record({**row._mapping, **changes}, {}, {})

        return self._db.run(txn, durable=False)

    def update_trial(
        self,
        trial_id: int,
        *,
        params: Mapping[str, Any] | None = None,
        user_attrs: Mapping[str, Any] | None = None,
        system_attrs: Mapping[str, Any] | None = None,
    ) -> None:
        merges = json_merges(params=params, user_attrs=user_attrs, system_attrs=system_attrs)

        def txn(conn: sa.Connection) -> None:
            row = running_row(conn, trial_id)
            changes: dict[str, Any] = {"heartbeat_at": now(), **merged_columns(row, merges)}
            update_trial(conn, trial_id, changes)

        self._db.run(txn, durable=False)

    def report(self, trial_id: int, step: int, value: float) -> None:
        step, value = int(step), float(value)

        def txn(conn: sa.Connection) -> None:
            touch_running(conn, trial_id)
            stmt = self._db.insert(trial_intermediate).values(trial_id=trial_id, step=step,
                                                           value=value)
            conn.execute(stmt.on_conflict_do_update(
                index_elements=[trial_intermediate.c.trial_id, trial_intermediate.c.step],
                set_={"value": stmt.excluded.value},
            ))

        self._db.run(txn, durable=False)

    def heartbeat(self, trial_id: int) -> None:
        def txn(conn: sa.Connection) -> None:
            with contextlib.suppress(TrialStateError):  # a finished trial is left as it is
                touch_running(conn, trial_id)

        self._db.run(txn, durable=False)

    def finish_trial(
        self,
        trial_id: int,
        state: TrialState,
        *,
        metrics: Mapping[str, float] | None = None,
        params: Mapping[str, Any] | None = None,
        error: str | None = None,
        wall_seconds: float | None = None,
        cpu_seconds: float | None = None,
        peak_memory_mb: float | None = None,
        user_attrs: Mapping[str, Any] | None = None,
        system_attrs: Mapping[str, Any] | None = None,
    ) -> TrialRecord:
        if not state.finished:
            raise TrialStateError(f"a trial finishes as complete, pruned or failed, not {state}")
        _check_metrics(metrics)
        error = None if error is None else clean_text(str(error))
        values = {name: float(v) for name, v in (metrics or {}).items()}
        merges = json_merges(params=params, user_attrs=user_attrs, system_attrs=system_attrs)

        def txn(conn: sa.Connection) -> TrialRecord:
            row = running_row(conn, trial_id)
            changes: dict[str, Any] = {
                "state": state.value, "error": error, "finished_at": now(),
                "wall_seconds": wall_seconds, "cpu_seconds": cpu_seconds,
                "peak_memory_mb": peak_memory_mb, **merged_columns(row, merges),
            }
            update_trial(conn, trial_id, changes)
            if values:
                conn.execute(INSERT_METRICS, [
                    {"trial_id": trial_id, "study_id": row.study_id, "name": k, "value": v}
                    for k, v in values.items()
                ])
            return record({**row._mapping, **changes}, values,
                           intermediate_of(conn, {"trial": trial_id}).get(trial_id, {}))

        return self._db.run(txn)

    def fail_stale_trial(
        self, trial_id: int, *, reason: str, retry: bool, max_retries: int
    ) -> TrialRecord | None:
        reason = clean_text(reason)
        def txn(conn: sa.Connection) -> TrialRecord | None:
            try:
                row = running_row(conn, trial_id)
            except TrialStateError:
                return None
            changes = {"state": TrialState.FAILED.value, "error": reason, "finished_at": now()}
            update_trial(conn, trial_id, changes)
            attrs = json.loads(row.system_attrs)
            retries = int(attrs.get("retries", 0))
            if retry and retries < max_retries:
                seed = lock_study(conn, row.study_id)
                number = next_number(conn, row.study_id)
                conn.execute(INSERT_TRIAL, dict(
                    study_id=row.study_id, number=number, state=WAITING,
                    seed=derive_seed(seed, number), params=row.params, created_at=now(),
                    environment="{}", user_attrs="{}",
                    system_attrs=json.dumps({**attrs, "retry_of": row.number,
                                             "retries": retries + 1}),
                ))
            where = {"trial": trial_id}
            return record({**row._mapping, **changes},
                           metrics_of(conn, where).get(trial_id, {}),
                           intermediate_of(conn, where).get(trial_id, {}))

        return self._db.run(txn)

    def get_trial(self, trial_id: int) -> TrialRecord:
        def txn(conn: sa.Connection) -> TrialRecord:
            found = load_trials(conn, {"trial": trial_id})
            if not found:
                raise StorageError(f"no trial with id {trial_id} in this storage")
            return found[0]

        return self._db.run(txn, write=False)

    def get_trial_by_number(self, study_id: int, number: int) -> TrialRecord:
        def txn(conn: sa.Connection) -> TrialRecord:
            found = load_trials(conn, {"study": study_id, "number": number})
            if found:
                return found[0]
            require_study(conn, study_id)
            n = count_rows(conn, study_id, None)
            raise StorageError(f"no trial number {number} in this study (numbers 0..{n - 1})")

        return self._db.run(txn, write=False)

    def get_trials(
        self,
        study_id: int,
        *,
        states: Iterable[TrialState] | None = None,
        min_trial_id: int | None = None,
    ) -> list[TrialRecord]:
        where: dict[str, Any] = {"study": study_id}
        if states is not None:
            where["states"] = state_values(states)
        if min_trial_id is not None:
            where["min_trial_id"] = min_trial_id

        def txn(conn: sa.Connection) -> list[TrialRecord]:
            found = load_trials(conn, where)
            if not found:
                require_study(conn, study_id)
            return found

        return self._db.run(txn, write=False)

    def last_trials(
        self, study_id: int, n: int, *, states: Iterable[TrialState] | None = None
    ) -> list[TrialRecord]:
        check_last(n)
        values = None if states is None else state_values(states)

        def txn(conn: sa.Connection) -> list[TrialRecord]:
            where: dict[str, Any] = {"study": study_id}
            if values is not None:
                where["states"] = values
            cutoff = nth_last_number(conn, study_id, n, values)
            if cutoff is not None:
                where["min_number"] = cutoff
            found = load_trials(conn, where)
            if not found:
                require_study(conn, study_id)
            return found

        return self._db.run(txn, write=False)

    def trials_since(self, study_id: int, trial_id: int | None) -> TrialsSince:
        where: dict[str, Any] = {"study": study_id, "states": _NOT_WAITING}
        if trial_id is not None:
            where["min_trial_id"] = trial_id

        def txn(conn: sa.Connection) -> TrialsSince:
            frontier = unfinished_frontier(conn, study_id)  # the same snapshot as the trials
            if frontier is None:
                require_study(conn, study_id)
            return TrialsSince(load_trials(conn, where), frontier)

        return self._db.run(txn, write=False)

    def count_trials(self, study_id: int, states: Iterable[TrialState] | None = None) -> int:
        values = None if states is None else state_values(states)

        def txn(conn: sa.Connection) -> int:
            n = count_rows(conn, study_id, values)
            if n == 0:
                require_study(conn, study_id)
            return n

        return self._db.run(txn, write=False)

    def best_trial(self, study_id: int, metric: str, direction: str) -> TrialRecord | None:
        check_direction(direction)
        def txn(conn: sa.Connection) -> TrialRecord | None:
            best = conn.execute(best_value(study_id, metric, direction)).scalar()
            if best is None:
                require_study(conn, study_id)
                return None
            # the few trials that share the best value: the lowest number wins
            trial_id = conn.execute(
                sa.select(trials.c.trial_id)
                .select_from(METRIC_TRIAL)
                .where(trial_metrics.c.study_id == study_id, trial_metrics.c.name == metric,
                       trial_metrics.c.value == best, trials.c.state == COMPLETE)
                .order_by(trials.c.number)
                .limit(1)
            ).scalar_one()
            return load_trials(conn, {"trial": trial_id})[0]

        return self._db.run(txn, write=False)


#: What an incremental reader of trials reads: every state but waiting.
_NOT_WAITING = state_values(
    (TrialState.RUNNING, TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAILED)
)
