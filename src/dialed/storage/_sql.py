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
import functools
import json
import os
import random
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as _pg
from sqlalchemy.dialects import sqlite as _sqlite

from dialed._util import derive_seed, now
from dialed.errors import (
    DuplicateStudyError,
    StorageError,
    StudyNotFoundError,
    TrialStateError,
)
from dialed.storage import redact_url
from dialed.storage._base import Storage, StudyRecord, StudySummary
from dialed.storage._common import check_direction
from dialed.storage._common import check_metrics as _check_metrics
from dialed.storage._common import json_copy as _json_copy
from dialed.storage._common import merge_space as _merge_space
from dialed.storage._schema import (
    check_version,
    create_schema,
    stored_version,
    studies,
    study_attrs,
    study_space,
    trial_intermediate,
    trial_metrics,
    trials,
)
from dialed.trial import TrialRecord, TrialState

__all__ = ["SQLStorage"]

_T = TypeVar("_T")

#: How long one statement waits for another process's write lock (SQLite), in seconds.
_BUSY_TIMEOUT_S = 60.0
#: Transactions that still find the database busy are retried this often, while the time spent
#: stays under the busy timeout.
_MAX_ATTEMPTS = 8
_URL_FORMS = "sqlite:///path/to/file.db or postgresql+psycopg://user:password@host:5432/dbname"
#: PostgreSQL reads: one snapshot for the trials and their metrics.
_PG_SNAPSHOT = "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"
#: PostgreSQL: a running trial's bookkeeping commits without waiting for the WAL flush.
_PG_NO_FLUSH = "SET LOCAL synchronous_commit TO OFF"
_RUNNING = TrialState.RUNNING.value
_WAITING = TrialState.WAITING.value
_COMPLETE = TrialState.COMPLETE.value


class SQLStorage(Storage):
    """Studies in an SQLite file or a PostgreSQL database, shared by processes and machines."""

    def __init__(self, url: str) -> None:
        if not isinstance(url, str):
            raise StorageError(f"a storage URL is a string such as {_URL_FORMS}, got {url!r}")
        self.url = self._url = url
        self._shown = redact_url(url)
        try:
            parsed = sa.make_url(url)
        except (sa.exc.ArgumentError, ValueError) as exc:
            raise StorageError(
                f"cannot read storage URL {self._shown!r} ({_one_line(exc)}); expected {_URL_FORMS}"
            ) from None
        self._password = parsed.password if isinstance(parsed.password, str) else None
        backend = parsed.get_backend_name()
        if backend not in ("sqlite", "postgresql"):
            raise StorageError(
                f"cannot open storage {self._shown!r}: dialed stores studies in SQLite or "
                f"PostgreSQL, not {backend!r} (expected {_URL_FORMS})"
            )
        self._pg = backend == "postgresql"
        self._engine = self._create_engine(parsed)
        try:
            self._open_schema()
        except BaseException:
            self._engine.dispose()
            raise

    def __repr__(self) -> str:
        return f"SQLStorage({self._shown!r})"

    def __reduce__(self) -> tuple[type[SQLStorage], tuple[str]]:
        # sent to another process as its URL: the other side opens its own connections
        return (SQLStorage, (self._url,))

    def close(self) -> None:
        self._engine.dispose()

    # -- connecting ------------------------------------------------------------------------
    def _create_engine(self, parsed: sa.URL) -> sa.Engine:
        kwargs: dict[str, Any] = {}
        if self._pg:
            kwargs["pool_pre_ping"] = True  # a long-lived worker survives a server restart
            if "connect_timeout" not in parsed.query:
                kwargs["connect_args"] = {"connect_timeout": 10}
        else:
            parsed = parsed.set(database=self._sqlite_path(parsed.database))
            # other processes (workers started elsewhere) must reach this same file
            self.url = self._url = parsed.render_as_string(hide_password=False)
            kwargs["connect_args"] = {"timeout": _BUSY_TIMEOUT_S}
        try:
            engine = sa.create_engine(parsed, **kwargs)
        except ImportError as exc:
            driver = exc.name or _one_line(exc)
            raise StorageError(
                f"cannot open storage {self._shown!r}: its database driver {driver!r} is not "
                "installed (for PostgreSQL: pip install 'dialed[postgres]')"
            ) from None
        except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError, TypeError) as exc:
            raise StorageError(
                f"cannot open storage {self._shown!r}: {self._scrub(exc)} (expected {_URL_FORMS})"
            ) from None
        if not self._pg:
            sa.event.listen(engine, "connect", _sqlite_on_connect)
            sa.event.listen(engine, "begin", _sqlite_on_begin)
        return engine

    def _sqlite_path(self, database: str | None) -> str:
        if not database or database == ":memory:" or database.startswith("file:"):
            raise StorageError(
                f"cannot open storage {self._shown!r}: an SQLite storage needs a file path "
                "(sqlite:///path/to/file.db); use 'memory' for a storage in this process only"
            )
        path = os.path.abspath(database)  # relative to the working directory, fixed now
        directory = os.path.dirname(path)
        if not os.path.isdir(directory):
            raise StorageError(
                f"cannot open storage {self._shown!r}: the directory {directory} of the SQLite "
                f"file {database} does not exist (create it first)"
            )
        if os.path.isdir(path):
            raise StorageError(
                f"cannot open storage {self._shown!r}: {path} is a directory, not a database file"
            )
        return path

    def _open_schema(self) -> None:
        try:
            version = self._run(stored_version, write=False)
            if version is None:
                version = self._run(self._create_schema, write=True)
        except StorageError as exc:
            if not isinstance(exc.__cause__, sa.exc.DBAPIError):
                raise
            # the server cannot be reached, the file is not a database, ...
            cause: BaseException = exc.__cause__
        except sa.exc.SQLAlchemyError as exc:
            cause = exc
        else:
            check_version(version)
            return
        raise StorageError(f"cannot open storage {self._shown!r}: {self._scrub(cause)}") from None

    def _create_schema(self, conn: sa.Connection) -> int:
        if self._pg:  # two processes creating one new database: one creates, one waits
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(7204551833)"))
        return create_schema(conn)

    # -- transactions ----------------------------------------------------------------------
    def _run(self, fn: Callable[[sa.Connection], _T], *, write: bool = True,
             durable: bool = True) -> _T:
        """``fn(connection)`` in one transaction, retried while the database is busy.

        ``durable=False``: a running trial's bookkeeping, not waited onto the disk (see the
        module's docstring).
        """
        start, attempt = time.monotonic(), 0
        while True:
            attempt += 1
            try:
                with self._engine.connect() as conn:
                    conn.execution_options(dialed_write=write, dialed_durable=durable)
                    with conn.begin():
                        if self._pg and not write:
                            conn.execute(sa.text(_PG_SNAPSHOT))
                        elif self._pg and not durable:
                            conn.execute(sa.text(_PG_NO_FLUSH))
                        return fn(conn)
            except sa.exc.TimeoutError:  # every pooled connection in use for pool_timeout
                raise StorageError(
                    f"storage {self._shown!r}: no free connection in this process's pool; "
                    "too many threads use one storage at once"
                ) from None
            except sa.exc.DBAPIError as exc:
                elapsed = time.monotonic() - start
                if not _is_busy(exc):
                    raise StorageError(f"storage {self._shown!r}: {self._scrub(exc)}") from exc
                if attempt >= _MAX_ATTEMPTS or elapsed >= _BUSY_TIMEOUT_S:
                    raise StorageError(
                        f"storage {self._shown!r} stayed busy for {elapsed:.0f} s ({attempt} "
                        "tries): another process holds a long write transaction on it"
                    ) from None
                time.sleep(min(1.0, 0.02 * 2**attempt) * random.uniform(0.5, 1.5))

    def _scrub(self, exc: BaseException) -> str:
        text = _one_line(getattr(exc, "orig", None) or exc)
        return text.replace(self._password, "***") if self._password else text

    def _insert(self, table: sa.Table) -> Any:
        """An INSERT that can say ON CONFLICT, in this database's dialect."""
        return _pg.insert(table) if self._pg else _sqlite.insert(table)

    # -- studies ---------------------------------------------------------------------------
    def create_study(
        self,
        name: str,
        *,
        metrics: Mapping[str, str],
        seed: int,
        attrs: Mapping[str, Any] | None = None,
    ) -> StudyRecord:
        attrs_json = {k: _dump(v) for k, v in _json_copy(dict(attrs or {})).items()}
        metrics_json = json.dumps(dict(metrics))

        def txn(conn: sa.Connection) -> StudyRecord:
            if conn.execute(sa.select(studies.c.study_id).where(studies.c.name == name)).first():
                raise _duplicate(name)
            t = now()
            sid = _new_id(conn.execute(sa.insert(studies).values(
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
            return self._run(txn)
        except StorageError as exc:
            # two processes creating one name at once: the unique index refuses the second
            if isinstance(exc.__cause__, sa.exc.IntegrityError):
                raise _duplicate(name) from None
            raise

    def get_study(self, name: str) -> StudyRecord:
        def txn(conn: sa.Connection) -> StudyRecord:
            row = conn.execute(sa.select(studies).where(studies.c.name == name)).first()
            if row is None:
                raise _no_study_named(conn, name)
            return StudyRecord(row.study_id, row.name, json.loads(row.metrics), row.seed,
                               row.created_at, _attrs(conn, row.study_id))

        return self._run(txn, write=False)

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
                        _best_value(row.study_id, primary, metrics[primary])
                    ).scalar()
                out.append(
                    StudySummary(row.study_id, row.name, metrics, row.created_at,
                                 counts.get(row.study_id, {}), last.get(row.study_id), best)
                )
            return out

        return self._run(txn, write=False)

    def delete_study(self, name: str) -> None:
        def txn(conn: sa.Connection) -> None:
            sid = conn.execute(
                sa.select(studies.c.study_id).where(studies.c.name == name)
            ).scalar()
            if sid is None:
                raise _no_study_named(conn, name)
            ids = sa.select(trials.c.trial_id).where(trials.c.study_id == sid)
            conn.execute(sa.delete(trial_intermediate).where(trial_intermediate.c.trial_id.in_(ids)))
            for table in (trial_metrics, trials, study_space, study_attrs, studies):
                conn.execute(sa.delete(table).where(table.c.study_id == sid))

        self._run(txn)

    def set_study_attr(self, study_id: int, key: str, value: Any) -> None:
        text = _dump(value)

        def txn(conn: sa.Connection) -> None:
            _require_study(conn, study_id)
            stmt = self._insert(study_attrs).values(study_id=study_id, key=key, value=text)
            conn.execute(stmt.on_conflict_do_update(
                index_elements=[study_attrs.c.study_id, study_attrs.c.key],
                set_={"value": stmt.excluded.value},
            ))

        self._run(txn)

    def set_study_attr_if_absent(self, study_id: int, key: str, value: Any) -> bool:
        text = _dump(value)

        def txn(conn: sa.Connection) -> bool:
            _require_study(conn, study_id)
            return self._insert_attr_if_absent(conn, study_id, key, text)

        return self._run(txn)

    def _insert_attr_if_absent(self, conn: sa.Connection, study_id: int, key: str,
                               text: str) -> bool:
        stmt = self._insert(study_attrs).values(study_id=study_id, key=key, value=text)
        stmt = stmt.on_conflict_do_nothing(
            index_elements=[study_attrs.c.study_id, study_attrs.c.key]
        ).execution_options(preserve_rowcount=True)  # SQLAlchemy keeps it for UPDATE only
        return bool(conn.execute(stmt).rowcount == 1)

    def get_study_attrs(self, study_id: int) -> dict[str, Any]:
        def txn(conn: sa.Connection) -> dict[str, Any]:
            _require_study(conn, study_id)
            return _attrs(conn, study_id)

        return self._run(txn, write=False)

    # -- the space -------------------------------------------------------------------------
    def register_params(
        self, study_id: int, distributions: Mapping[str, Mapping[str, Any]]
    ) -> dict[str, dict[str, Any]]:
        def txn(conn: sa.Connection) -> dict[str, dict[str, Any]]:
            _lock_study(conn, study_id)
            space = _space(conn, study_id)
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

        return self._run(txn)

    def get_space(self, study_id: int) -> dict[str, dict[str, Any]]:
        def txn(conn: sa.Connection) -> dict[str, dict[str, Any]]:
            _require_study(conn, study_id)
            return _space(conn, study_id)

        return self._run(txn, write=False)

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
            "params": _dump(dict(params or {})),
            "environment": _dump(dict(environment or {})),
            "user_attrs": "{}",
            "system_attrs": _dump(dict(system_attrs or {})),
        }

        def txn(conn: sa.Connection) -> TrialRecord:
            seed = _lock_study(conn, study_id)
            number = _next_number(conn, study_id)
            t = now()
            row = {
                "study_id": study_id, "number": number, "state": state.value,
                "seed": derive_seed(seed, number), "created_at": t,
                "started_at": t if running else None, "heartbeat_at": t if running else None,
                "worker": worker if running else None, **texts,
            }
            trial_id = _new_id(conn.execute(_INSERT_TRIAL, row))
            return _record({**row, "trial_id": trial_id}, {}, {})

        return self._run(txn, durable=not running)

    def enqueue_trials(
        self,
        study_id: int,
        params_list: Sequence[Mapping[str, Any]],
        *,
        once_key: str | None = None,
        system_attrs: Mapping[str, Any] | None = None,
    ) -> int:
        # every value is checked before the transaction: a bad one enqueues nothing
        params_texts = [_dump(dict(p)) for p in params_list]
        attrs_text = _dump(dict(system_attrs or {}))
        count_text = json.dumps(len(params_texts))

        def txn(conn: sa.Connection) -> int:
            seed = _lock_study(conn, study_id)
            if once_key is not None and not self._insert_attr_if_absent(
                conn, study_id, once_key, count_text
            ):
                return 0
            if not params_texts:
                return 0
            first, t = _next_number(conn, study_id), now()
            conn.execute(_INSERT_TRIAL, [
                {
                    "study_id": study_id, "number": first + i, "state": _WAITING,
                    "seed": derive_seed(seed, first + i), "params": text, "created_at": t,
                    "environment": "{}", "user_attrs": "{}", "system_attrs": attrs_text,
                }
                for i, text in enumerate(params_texts)
            ])
            return len(params_texts)

        return self._run(txn)

    def claim_trial(
        self,
        study_id: int,
        *,
        worker: str,
        environment: Mapping[str, Any] | None = None,
        system_attrs: Mapping[str, Any] | None = None,
    ) -> TrialRecord | None:
        env_text = _dump(dict(environment or {}))
        merges = _merges(system_attrs=system_attrs)

        def txn(conn: sa.Connection) -> TrialRecord | None:
            # SQLite: BEGIN IMMEDIATE already excludes other writers (FOR UPDATE renders as
            # nothing). PostgreSQL: skip trials another worker is claiming right now.
            row = conn.execute(_FIRST_WAITING, {"sid": study_id}).first()
            if row is None:
                _require_study(conn, study_id)
                return None
            t = now()
            changes = {"state": _RUNNING, "started_at": t, "heartbeat_at": t,
                       "worker": worker, "environment": env_text, **_merged(row, merges)}
            _update_trial(conn, row.trial_id, changes)
            return _record({**row._mapping, **changes}, {}, {})

        return self._run(txn, durable=False)

    def update_trial(
        self,
        trial_id: int,
        *,
        params: Mapping[str, Any] | None = None,
        user_attrs: Mapping[str, Any] | None = None,
        system_attrs: Mapping[str, Any] | None = None,
    ) -> None:
        merges = _merges(params=params, user_attrs=user_attrs, system_attrs=system_attrs)

        def txn(conn: sa.Connection) -> None:
            row = _running_row(conn, trial_id)
            changes: dict[str, Any] = {"heartbeat_at": now(), **_merged(row, merges)}
            _update_trial(conn, trial_id, changes)

        self._run(txn, durable=False)

    def report(self, trial_id: int, step: int, value: float) -> None:
        step, value = int(step), float(value)

        def txn(conn: sa.Connection) -> None:
            _touch_running(conn, trial_id)
            stmt = self._insert(trial_intermediate).values(trial_id=trial_id, step=step,
                                                           value=value)
            conn.execute(stmt.on_conflict_do_update(
                index_elements=[trial_intermediate.c.trial_id, trial_intermediate.c.step],
                set_={"value": stmt.excluded.value},
            ))

        self._run(txn, durable=False)

    def heartbeat(self, trial_id: int) -> None:
        def txn(conn: sa.Connection) -> None:
            with contextlib.suppress(TrialStateError):  # a finished trial is left as it is
                _touch_running(conn, trial_id)

        self._run(txn, durable=False)

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
        values = {name: float(v) for name, v in (metrics or {}).items()}
        merges = _merges(params=params, user_attrs=user_attrs, system_attrs=system_attrs)

        def txn(conn: sa.Connection) -> TrialRecord:
            row = _running_row(conn, trial_id)
            changes: dict[str, Any] = {
                "state": state.value, "error": error, "finished_at": now(),
                "wall_seconds": wall_seconds, "cpu_seconds": cpu_seconds,
                "peak_memory_mb": peak_memory_mb, **_merged(row, merges),
            }
            _update_trial(conn, trial_id, changes)
            if values:
                conn.execute(_INSERT_METRICS, [
                    {"trial_id": trial_id, "study_id": row.study_id, "name": k, "value": v}
                    for k, v in values.items()
                ])
            return _record({**row._mapping, **changes}, values,
                           _intermediate(conn, {"trial": trial_id}).get(trial_id, {}))

        return self._run(txn)

    def fail_stale_trial(
        self, trial_id: int, *, reason: str, retry: bool, max_retries: int
    ) -> TrialRecord | None:
        def txn(conn: sa.Connection) -> TrialRecord | None:
            try:
                row = _running_row(conn, trial_id)
            except TrialStateError:
                return None
            changes = {"state": TrialState.FAILED.value, "error": reason, "finished_at": now()}
            _update_trial(conn, trial_id, changes)
            attrs = json.loads(row.system_attrs)
            retries = int(attrs.get("retries", 0))
            if retry and retries < max_retries:
                seed = _lock_study(conn, row.study_id)
                number = _next_number(conn, row.study_id)
                conn.execute(_INSERT_TRIAL, dict(
                    study_id=row.study_id, number=number, state=_WAITING,
                    seed=derive_seed(seed, number), params=row.params, created_at=now(),
                    environment="{}", user_attrs="{}",
                    system_attrs=json.dumps({**attrs, "retry_of": row.number,
                                             "retries": retries + 1}),
                ))
            where = {"trial": trial_id}
            return _record({**row._mapping, **changes},
                           _metrics(conn, where).get(trial_id, {}),
                           _intermediate(conn, where).get(trial_id, {}))

        return self._run(txn)

    def get_trial(self, trial_id: int) -> TrialRecord:
        def txn(conn: sa.Connection) -> TrialRecord:
            found = _load(conn, {"trial": trial_id})
            if not found:
                raise StorageError(f"no trial with id {trial_id} in this storage")
            return found[0]

        return self._run(txn, write=False)

    def get_trial_by_number(self, study_id: int, number: int) -> TrialRecord:
        def txn(conn: sa.Connection) -> TrialRecord:
            found = _load(conn, {"study": study_id, "number": number})
            if found:
                return found[0]
            _require_study(conn, study_id)
            n = _count(conn, study_id, None)
            raise StorageError(f"no trial number {number} in this study (numbers 0..{n - 1})")

        return self._run(txn, write=False)

    def get_trials(
        self,
        study_id: int,
        *,
        states: Iterable[TrialState] | None = None,
        min_trial_id: int | None = None,
    ) -> list[TrialRecord]:
        where: dict[str, Any] = {"study": study_id}
        if states is not None:
            where["states"] = _state_values(states)
        if min_trial_id is not None:
            where["min_trial_id"] = min_trial_id

        def txn(conn: sa.Connection) -> list[TrialRecord]:
            found = _load(conn, where)
            if not found:
                _require_study(conn, study_id)
            return found

        return self._run(txn, write=False)

    def count_trials(self, study_id: int, states: Iterable[TrialState] | None = None) -> int:
        values = None if states is None else _state_values(states)

        def txn(conn: sa.Connection) -> int:
            n = _count(conn, study_id, values)
            if n == 0:
                _require_study(conn, study_id)
            return n

        return self._run(txn, write=False)

    def best_trial(self, study_id: int, metric: str, direction: str) -> TrialRecord | None:
        check_direction(direction)
        def txn(conn: sa.Connection) -> TrialRecord | None:
            best = conn.execute(_best_value(study_id, metric, direction)).scalar()
            if best is None:
                _require_study(conn, study_id)
                return None
            # the few trials that share the best value: the lowest number wins
            trial_id = conn.execute(
                sa.select(trials.c.trial_id)
                .select_from(_METRIC_TRIAL)
                .where(trial_metrics.c.study_id == study_id, trial_metrics.c.name == metric,
                       trial_metrics.c.value == best, trials.c.state == _COMPLETE)
                .order_by(trials.c.number)
                .limit(1)
            ).scalar_one()
            return _load(conn, {"trial": trial_id})[0]

        return self._run(txn, write=False)


# -- SQLite connection setup ---------------------------------------------------------------
def _sqlite_on_connect(dbapi_connection: Any, connection_record: Any) -> None:
    # SQLAlchemy emits BEGIN itself (below); the driver must not start transactions on its own
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
    finally:
        cursor.close()


def _sqlite_on_begin(conn: sa.Connection) -> None:
    options = conn.get_execution_options()
    write = options.get("dialed_write", True)
    if write:  # FULL syncs the WAL at the commit; NORMAL leaves it to the next sync
        sync = "FULL" if options.get("dialed_durable", True) else "NORMAL"
        info = conn.connection.info
        if info.get("dialed_sync") != sync:
            conn.exec_driver_sql(f"PRAGMA synchronous={sync}")
            info["dialed_sync"] = sync
    conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def _is_busy(exc: sa.exc.DBAPIError) -> bool:
    """Whether waiting and running the transaction again can succeed."""
    if isinstance(exc, sa.exc.OperationalError):
        text = str(exc.orig).lower()
        if "database is locked" in text or "busy" in text:
            return True
    # PostgreSQL: serialization failure, deadlock detected
    return getattr(exc.orig, "sqlstate", None) in ("40001", "40P01")


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


# -- values --------------------------------------------------------------------------------
def _dump(value: Any) -> str:
    """JSON text of ``value``, refused exactly as the memory storage refuses it."""
    return json.dumps(_json_copy(value))


def _loads(text: str) -> Any:
    return {} if text == "{}" else json.loads(text)  # most attribute columns are empty


def _new_id(result: sa.CursorResult[Any]) -> int:
    key = result.inserted_primary_key
    if key is None or key[0] is None:
        raise StorageError("the database returned no id for the new row")
    return int(key[0])


def _duplicate(name: str) -> DuplicateStudyError:
    return DuplicateStudyError(
        f"a study named {name!r} already exists (load it, or pass load_if_exists=True)"
    )


def _state_values(states: Iterable[TrialState]) -> list[str]:
    return [s.value if isinstance(s, TrialState) else str(s) for s in states]


def _merges(**parts: Mapping[str, Any] | None) -> dict[str, dict[str, Any]]:
    """The JSON dicts to merge into a trial's stored columns (checked before any transaction)."""
    return {column: _json_copy(dict(part)) for column, part in parts.items() if part}


def _merged(row: Any, merges: Mapping[str, dict[str, Any]]) -> dict[str, str]:
    return {
        column: json.dumps({**json.loads(getattr(row, column)), **part})
        for column, part in merges.items()
    }


def _record(row: Mapping[Any, Any], metrics: Mapping[str, float],
            intermediate: Mapping[int, float]) -> TrialRecord:
    return TrialRecord(
        trial_id=row["trial_id"],
        study_id=row["study_id"],
        number=row["number"],
        state=TrialState(row["state"]),
        seed=row["seed"],
        params=_loads(row["params"]),
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
        environment=_loads(row["environment"]),
        user_attrs=_loads(row["user_attrs"]),
        system_attrs=_loads(row["system_attrs"]),
    )


# -- queries -------------------------------------------------------------------------------
_METRIC_TRIAL = trial_metrics.join(trials, trial_metrics.c.trial_id == trials.c.trial_id)
_STEP_TRIAL = trial_intermediate.join(trials, trial_intermediate.c.trial_id == trials.c.trial_id)


def _require_study(conn: sa.Connection, study_id: int) -> None:
    if conn.execute(_STUDY_EXISTS, {"sid": study_id}).first():
        return
    raise StudyNotFoundError(f"no study with id {study_id} in this storage")


def _no_study_named(conn: sa.Connection, name: str) -> StudyNotFoundError:
    names = conn.execute(sa.select(studies.c.name).order_by(studies.c.name)).scalars()
    known = ", ".join(names) or "none"
    return StudyNotFoundError(f"no study named {name!r} in this storage (studies: {known})")


def _lock_study(conn: sa.Connection, study_id: int) -> int:
    """Lock the study row until the transaction ends (PostgreSQL) and return its seed."""
    seed = conn.execute(_LOCK_STUDY, {"sid": study_id}).scalar()
    if seed is None:
        raise StudyNotFoundError(f"no study with id {study_id} in this storage")
    return int(seed)


def _next_number(conn: sa.Connection, study_id: int) -> int:
    top = conn.execute(_MAX_NUMBER, {"sid": study_id}).scalar()
    return 0 if top is None else int(top) + 1


def _count(conn: sa.Connection, study_id: int, states: list[str] | None) -> int:
    query = sa.select(sa.func.count()).select_from(trials).where(trials.c.study_id == study_id)
    if states is not None:
        query = query.where(trials.c.state.in_(states))
    return int(conn.execute(query).scalar_one())


def _attrs(conn: sa.Connection, study_id: int) -> dict[str, Any]:
    rows = conn.execute(
        sa.select(study_attrs.c.key, study_attrs.c.value).where(study_attrs.c.study_id == study_id)
    )
    return {key: json.loads(value) for key, value in rows}


def _space(conn: sa.Connection, study_id: int) -> dict[str, dict[str, Any]]:
    rows = conn.execute(
        sa.select(study_space.c.name, study_space.c.distribution)
        .where(study_space.c.study_id == study_id)
        .order_by(study_space.c.position)
    )
    return {name: json.loads(spec) for name, spec in rows}


def _running_row(conn: sa.Connection, trial_id: int) -> Any:
    """The trial's row, locked until the transaction ends; TrialStateError unless running."""
    row = conn.execute(_TRIAL_ROW_LOCKED, {"tid": trial_id}).first()
    if row is None:
        raise StorageError(f"no trial with id {trial_id} in this storage")
    if row.state != _RUNNING:
        raise TrialStateError(
            f"trial {row.number} is {row.state}; only a running trial can change"
        )
    return row


def _touch_running(conn: sa.Connection, trial_id: int) -> None:
    """Refresh a running trial's heartbeat; the same errors as :func:`_running_row`."""
    result = conn.execute(_TOUCH_RUNNING, {"tid": trial_id, "t": now()})
    if result.rowcount == 0:
        _running_row(conn, trial_id)  # raises: no such trial, or not running


def _update_trial(conn: sa.Connection, trial_id: int, changes: Mapping[str, Any]) -> None:
    conn.execute(_UPDATE_TRIAL, {"where_trial_id": trial_id, **changes})


def _metrics(conn: sa.Connection, where: Mapping[str, Any]) -> dict[int, dict[str, float]]:
    out: dict[int, dict[str, float]] = {}
    query = _trial_queries(tuple(where))[1]
    for trial_id, name, value in conn.execute(query, _where_params(where)):
        out.setdefault(trial_id, {})[name] = value
    return out


def _intermediate(conn: sa.Connection, where: Mapping[str, Any]) -> dict[int, dict[int, float]]:
    out: dict[int, dict[int, float]] = {}
    query = _trial_queries(tuple(where))[2]
    for trial_id, step, value in conn.execute(query, _where_params(where)):
        out.setdefault(trial_id, {})[step] = float("nan") if value is None else value
    return {trial_id: dict(sorted(steps.items())) for trial_id, steps in out.items()}


def _load(conn: sa.Connection, where: Mapping[str, Any]) -> list[TrialRecord]:
    """The trials matching ``where`` by number, in three queries however many there are."""
    rows = conn.execute(_trial_queries(tuple(where))[0], _where_params(where)).all()
    if not rows:
        return []
    metrics, steps = _metrics(conn, where), _intermediate(conn, where)
    return [
        _record(row._mapping, metrics.get(row.trial_id, {}), steps.get(row.trial_id, {}))
        for row in rows
    ]


# -- statements built once ------------------------------------------------------------------
# SQLAlchemy caches the SQL it compiles, but a statement built afresh on every call must first be
# walked to find its cache key (~0.15 ms, a dozen times per trial). These are built once.
_STUDY_EXISTS = sa.select(studies.c.study_id).where(studies.c.study_id == sa.bindparam("sid"))
#: Lock the study row until the transaction ends (PostgreSQL) and read its seed. NO KEY UPDATE:
#: inserting the study's trials still works meanwhile.
_LOCK_STUDY = (sa.select(studies.c.seed).where(studies.c.study_id == sa.bindparam("sid"))
               .with_for_update(key_share=True))
_MAX_NUMBER = (sa.select(sa.func.max(trials.c.number))
               .where(trials.c.study_id == sa.bindparam("sid")))
#: SQLite: BEGIN IMMEDIATE already excludes other writers (FOR UPDATE renders as nothing).
#: PostgreSQL: skip trials another worker is claiming right now.
_FIRST_WAITING = (sa.select(trials)
                  .where(trials.c.study_id == sa.bindparam("sid"), trials.c.state == _WAITING)
                  .order_by(trials.c.number)
                  .limit(1)
                  .with_for_update(skip_locked=True, key_share=True))
_TRIAL_ROW_LOCKED = (sa.select(trials).where(trials.c.trial_id == sa.bindparam("tid"))
                     .with_for_update(key_share=True))
#: SET whichever columns the parameters name.
_UPDATE_TRIAL = sa.update(trials).where(trials.c.trial_id == sa.bindparam("where_trial_id"))
_TOUCH_RUNNING = (sa.update(trials)
                  .where(trials.c.trial_id == sa.bindparam("tid"), trials.c.state == _RUNNING)
                  .values(heartbeat_at=sa.bindparam("t")))
_INSERT_TRIAL = sa.insert(trials)
_INSERT_METRICS = sa.insert(trial_metrics)

#: The conditions a read of trials can combine, by name (each a bound parameter ``w_<name>``).
_WHERE: dict[str, Callable[[], Any]] = {
    "study": lambda: trials.c.study_id == sa.bindparam("w_study"),
    "states": lambda: trials.c.state.in_(sa.bindparam("w_states", expanding=True)),
    "min_trial_id": lambda: trials.c.trial_id >= sa.bindparam("w_min_trial_id"),
    "trial": lambda: trials.c.trial_id == sa.bindparam("w_trial"),
    "number": lambda: trials.c.number == sa.bindparam("w_number"),
}


@functools.cache
def _trial_queries(shape: tuple[str, ...]) -> tuple[Any, Any, Any]:
    """The trials, their metrics and their intermediate values matching the named conditions."""
    where = [_WHERE[name]() for name in shape]
    return (
        sa.select(trials).where(*where).order_by(trials.c.number),
        sa.select(trial_metrics.c.trial_id, trial_metrics.c.name, trial_metrics.c.value)
        .select_from(_METRIC_TRIAL).where(*where),
        sa.select(trial_intermediate.c.trial_id, trial_intermediate.c.step,
                  trial_intermediate.c.value)
        .select_from(_STEP_TRIAL).where(*where),
    )


def _where_params(where: Mapping[str, Any]) -> dict[str, Any]:
    return {f"w_{name}": value for name, value in where.items()}


def _best_value(study_id: int, metric: str, direction: str) -> sa.Select[float]:
    """The best value of ``metric`` among complete trials: a walk down one index."""
    value = trial_metrics.c.value
    return (
        sa.select(value)
        .select_from(_METRIC_TRIAL)
        .where(trial_metrics.c.study_id == study_id, trial_metrics.c.name == metric,
               trials.c.state == _COMPLETE)
        .order_by(value.desc() if direction == "maximize" else value.asc())
        .limit(1)
    )
