"""Optuna studies in dialed's storage engine: :class:`DialedStorage`.

An Optuna study is a dialed study in the same tables (``dialed studies``, ``dialed best`` and
the dashboard read it), written through dialed's :class:`~dialed.storage._sql_engine.Database`:
SQLite in WAL mode with ``BEGIN IMMEDIATE`` writes, or PostgreSQL; every call one transaction,
retried while the database is busy; a finished trial synced to disk when the call returns, a
running trial's bookkeeping (creation, parameters, reports) committed without waiting for the
disk, as dialed's own engine does. A trial records the process that runs it (``host:pid``): when
that process dies mid-trial, dialed (``load_study``, the CLI) marks the trial failed.

How Optuna's data sits in dialed's schema:

- the study's directions are its objective metrics (``value``, or ``value_0``, ``value_1``,
  ...); its user and system attributes are study attributes named ``optuna.user:<key>`` and
  ``optuna.system:<key>``;
- a trial's parameters are stored as their values (not Optuna's internal floats), its values as
  metrics, its intermediate values as dialed's, its user attributes as dialed's; its Optuna
  system attributes and each parameter's Optuna distribution (Optuna lets a range change between
  trials) are kept in dialed's trial system attributes under ``optuna`` and
  ``optuna_distributions``; each parameter's first distribution is registered in the study's
  space, which Optuna's rule (same kind, same choices) keeps consistent.

Finished trials never change, so each process keeps those it has read and reads only from the
lowest unfinished trial on (the frontier dialed's history reads from): reading a study's trials
costs what changed since the last read, not the whole study.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import json
import threading
import uuid
from collections.abc import Callable, Container, Sequence
from typing import Any

import sqlalchemy as sa
from optuna.distributions import (
    BaseDistribution,
    check_distribution_compatibility,
    distribution_to_json,
)
from optuna.exceptions import DuplicatedStudyError, UpdateFinishedTrialError
from optuna.storages import BaseStorage
from optuna.storages._base import DEFAULT_STUDY_NAME_PREFIX
from optuna.study import StudyDirection
from optuna.study._frozen import FrozenStudy
from optuna.trial import FrozenTrial
from optuna.trial import TrialState as OptunaState

from dialed._util import derive_seed, new_seed, now, worker_id
from dialed.errors import SpaceError, StorageError, StudyNotFoundError
from dialed.integrations._optuna_convert import (
    STATE_FROM_OPTUNA,
    STATE_TO_OPTUNA,
    metric_set,
    to_dialed,
)
from dialed.integrations._optuna_rows import (
    _END_UNFINISHED,
    _FINISHED,
    _IN_STATES,
    _SPACE_ENTRY,
    _SPACE_SIZE,
    _STATES,
    _STUDY_ROW,
    _T,
    _TRIAL_ID,
    _TRIAL_ROW,
    _UNFINISHED,
    _UPDATE,
    DISTRIBUTIONS,
    SYSTEM,
    TRIAL_SYSTEM,
    USER,
    _attrs,
    _changed,
    _datetime,
    _dumps,
    _from_dialed,
    _frozen,
    _insert_values,
    _keep,
    _load,
    _number,
    _objectives,
    _same,
    _stored,
    _Study,
    _take,
)
from dialed.storage.sql import (
    INSERT_TRIAL,
    Database,
    lock_study,
    new_id,
    next_number,
    studies,
    study_attrs,
    study_space,
    trial_intermediate,
    trial_metrics,
    trials,
)
from dialed.trial import TrialRecord, TrialState

__all__ = ["DialedStorage"]

class DialedStorage(BaseStorage):
    """An Optuna storage on dialed's storage engine, from a dialed storage URL:
    ``sqlite:///path/to/file.db`` (WAL) or ``postgresql+psycopg://user:pw@host/db``.

    ``optuna.create_study(storage=DialedStorage("sqlite:///optuna.db"))``; a process that
    unpickles it opens its own connections to the same database.
    """

    def __init__(self, url: str) -> None:
        self._db = Database(url)
        self.url = self._db.url
        self._lock = threading.RLock()
        self._studies: dict[int, _Study] = {}
        #: The trials this process created and runs, as written (write-through): a running
        #: trial belongs to the worker that runs it, so reading it back needs no query.
        self._mine: dict[int, tuple[int, FrozenTrial]] = {}
        #: Those of them with parameters or attributes not written yet (see _buffer).
        self._dirty: set[int] = set()

    def __repr__(self) -> str:
        return f"DialedStorage({self._db.shown!r})"

    def __reduce__(self) -> tuple[type[DialedStorage], tuple[str]]:
        return (DialedStorage, (self.url,))

    def close(self) -> None:
        """Write what this process's running trials hold unwritten; release the connections."""
        for trial_id in list(self._dirty):
            with contextlib.suppress(KeyError, UpdateFinishedTrialError):
                self._write(trial_id, functools.partial(self._flush, trial_id=trial_id),
                            _same, flushes=True)
        self._db.dispose()

    # -- studies ---------------------------------------------------------------------------
    def create_new_study(
        self, directions: Sequence[StudyDirection], study_name: str | None = None
    ) -> int:
        name = study_name if study_name is not None else (
            DEFAULT_STUDY_NAME_PREFIX + str(uuid.uuid4()))
        metrics = json.dumps(metric_set(list(directions)).to_dict())

        def txn(conn: sa.Connection) -> int:
            if conn.execute(sa.select(studies.c.study_id).where(studies.c.name == name)).first():
                raise DuplicatedStudyError(f"a study named {name!r} already exists")
            return new_id(conn.execute(sa.insert(studies).values(
                name=name, metrics=metrics, seed=new_seed(), created_at=now())))

        try:
            return self._db.run(txn)
        except StorageError as exc:
            if isinstance(exc.__cause__, sa.exc.IntegrityError):  # created meanwhile elsewhere
                raise DuplicatedStudyError(f"a study named {name!r} already exists") from None
            raise

    def delete_study(self, study_id: int) -> None:
        def txn(conn: sa.Connection) -> None:
            self._study(conn, study_id)
            ids = sa.select(trials.c.trial_id).where(trials.c.study_id == study_id)
            conn.execute(sa.delete(trial_intermediate).where(trial_intermediate.c.trial_id.in_(ids)))
            for table in (trial_metrics, trials, study_space, study_attrs, studies):
                conn.execute(sa.delete(table).where(table.c.study_id == study_id))

        self._db.run(txn)
        with self._lock:
            self._studies.pop(study_id, None)
            self._mine = {k: v for k, v in self._mine.items() if v[0] != study_id}

    def set_study_user_attr(self, study_id: int, key: str, value: Any) -> None:
        self._set_study_attr(study_id, USER + key, value)

    def set_study_system_attr(self, study_id: int, key: str, value: Any) -> None:
        self._set_study_attr(study_id, SYSTEM + key, value)

    def _set_study_attr(self, study_id: int, key: str, value: Any) -> None:
        text = _dumps(value)

        def txn(conn: sa.Connection) -> None:
            self._study(conn, study_id)
            stmt = self._db.insert(study_attrs).values(study_id=study_id, key=key, value=text)
            conn.execute(stmt.on_conflict_do_update(
                index_elements=[study_attrs.c.study_id, study_attrs.c.key],
                set_={"value": stmt.excluded.value}))

        self._db.run(txn)

    def get_study_id_from_name(self, study_name: str) -> int:
        def txn(conn: sa.Connection) -> int:
            sid = conn.execute(
                sa.select(studies.c.study_id).where(studies.c.name == study_name)).scalar()
            if sid is None:
                raise KeyError(f"no study named {study_name!r} in {self._db.shown}")
            return int(sid)

        return self._db.run(txn, write=False)

    def get_study_name_from_id(self, study_id: int) -> str:
        return self._known(study_id).name

    def get_study_directions(self, study_id: int) -> list[StudyDirection]:
        return list(self._known(study_id).directions)

    def get_study_user_attrs(self, study_id: int) -> dict[str, Any]:
        return self._study_attrs(study_id, USER)

    def get_study_system_attrs(self, study_id: int) -> dict[str, Any]:
        return self._study_attrs(study_id, SYSTEM)

    def _study_attrs(self, study_id: int, prefix: str) -> dict[str, Any]:
        def txn(conn: sa.Connection) -> dict[str, Any]:
            self._study(conn, study_id)
            return _attrs(conn, [study_id], prefix).get(study_id, {})

        return self._db.run(txn, write=False)

    def get_all_studies(self) -> list[FrozenStudy]:
        def txn(conn: sa.Connection) -> list[FrozenStudy]:
            rows = conn.execute(sa.select(studies.c.study_id, studies.c.name, studies.c.metrics)
                                .order_by(studies.c.study_id)).all()
            ids = [r.study_id for r in rows]
            user, system = _attrs(conn, ids, USER), _attrs(conn, ids, SYSTEM)
            out = []
            for row in rows:
                _, directions = _objectives(row.metrics)
                out.append(FrozenStudy(
                    study_name=row.name, direction=None, directions=directions,
                    user_attrs=user.get(row.study_id, {}),
                    system_attrs=system.get(row.study_id, {}), study_id=row.study_id))
            return out

        return self._db.run(txn, write=False)

    # -- trials: writes --------------------------------------------------------------------
    def create_new_trial(self, study_id: int, template_trial: FrozenTrial | None = None) -> int:
        t = template_trial
        state = TrialState.RUNNING if t is None else STATE_FROM_OPTUNA[t.state]
        started: float | None = now()
        finished: float | None = None
        params: dict[str, Any] = {}
        dists: dict[str, BaseDistribution] = {}
        system: dict[str, Any] = {}
        user: dict[str, Any] = {}
        if t is not None:
            started = None if t.datetime_start is None else t.datetime_start.timestamp()
            finished = None if t.datetime_complete is None else t.datetime_complete.timestamp()
            params, dists = dict(t.params), dict(t.distributions)
            user, system = dict(t.user_attrs), dict(t.system_attrs)
        texts = {
            "params": _dumps(params), "user_attrs": _dumps(user),
            "system_attrs": _dumps({TRIAL_SYSTEM: system, DISTRIBUTIONS: {
                name: distribution_to_json(d) for name, d in dists.items()}}),
        }

        def txn(conn: sa.Connection) -> tuple[int, int]:
            try:
                seed = lock_study(conn, study_id)
            except StudyNotFoundError:
                raise KeyError(f"no study with id {study_id} in {self._db.shown}") from None
            known = self._study(conn, study_id, check=False)
            number = next_number(conn, study_id)
            trial_id = new_id(conn.execute(INSERT_TRIAL, {
                "study_id": study_id, "number": number, "state": state.value,
                "seed": derive_seed(seed, number), "created_at": now(), "started_at": started,
                "finished_at": finished, "heartbeat_at": started, "environment": "{}",
                "worker": worker_id() if state == TrialState.RUNNING else None,
                **texts,
            }))
            if t is not None:
                for name, dist in dists.items():
                    self._register(conn, known, study_id, name, dist)
                if t.values is not None:
                    _insert_values(conn, known, study_id, trial_id, t.values)
                if t.intermediate_values:
                    conn.execute(sa.insert(trial_intermediate), [
                        {"trial_id": trial_id, "step": step, "value": _stored(v)}
                        for step, v in t.intermediate_values.items()])
            return trial_id, number

        trial_id, number = self._db.run(txn, durable=state.finished)
        if t is None:
            with self._lock:
                self._mine[trial_id] = (study_id, FrozenTrial(
                    number=number, state=OptunaState.RUNNING, value=None, values=None,
                    datetime_start=_datetime(started), datetime_complete=None, params={},
                    distributions={}, user_attrs={}, system_attrs={}, intermediate_values={},
                    trial_id=trial_id))
        return trial_id

    def set_trial_param(
        self,
        trial_id: int,
        param_name: str,
        param_value_internal: float,
        distribution: BaseDistribution,
    ) -> None:
        value = distribution.to_external_repr(param_value_internal)
        dist_json = distribution_to_json(distribution)

        def change(t: FrozenTrial) -> FrozenTrial:
            return _changed(t, params={**t.params, param_name: value},
                            distributions={**t.distributions, param_name: distribution})

        with self._lock:
            mine = self._mine.get(trial_id)
            known = None if mine is None else self._studies.get(mine[0])
            registered = known is not None and known.space.get(param_name) == dist_json
        if registered and self._buffer(trial_id, change):
            return

        def txn(conn: sa.Connection) -> None:
            row = self._updatable(conn, trial_id)
            known = self._study(conn, row.study_id, check=False)
            self._register(conn, known, row.study_id, param_name, distribution)
            params = json.loads(row.params)
            params[param_name] = value
            system = json.loads(row.system_attrs)
            system.setdefault(DISTRIBUTIONS, {})[param_name] = dist_json
            conn.execute(_UPDATE, {"where_trial_id": trial_id, "params": _dumps(params),
                                   "system_attrs": _dumps(system)})

        self._write(trial_id, txn, change)

    def set_trial_state_values(
        self, trial_id: int, state: OptunaState, values: Sequence[float] | None = None
    ) -> bool:
        new = STATE_FROM_OPTUNA[state]
        stamp = now()
        kept = None if values is None else [float(v) for v in values]

        with self._lock:
            mine = self._mine.get(trial_id)
        changes: dict[str, Any] = {"where_trial_id": trial_id, "state": new.value}
        if new == TrialState.RUNNING:
            changes["started_at"] = changes["heartbeat_at"] = stamp
            changes["worker"] = worker_id()
        if new.finished:
            changes["finished_at"] = stamp

        def txn(conn: sa.Connection) -> bool:
            buffered = self._flush(conn, trial_id, write=False)
            if mine is not None and new.finished:  # one statement, which checks the state
                done = conn.execute(_END_UNFINISHED, {**changes, **buffered})
                if done.rowcount != 1:
                    self._updatable(conn, trial_id)  # raises: gone, or finished elsewhere
                study_id = mine[0]
            else:
                row = self._updatable(conn, trial_id)
                if new == TrialState.RUNNING and row.state != TrialState.WAITING.value:
                    return False  # another worker took this waiting trial first
                conn.execute(_UPDATE, {**changes, **buffered})
                study_id = row.study_id
            if kept is not None:
                known = self._study(conn, study_id, check=False)
                _insert_values(conn, known, study_id, trial_id, kept)
            return True

        done = bool(self._write(trial_id, txn, lambda t: _changed(
            t, state=state, values=kept if kept is not None else t.values,
            datetime_complete=_datetime(stamp) if new.finished else None),
            durable=new.finished, flushes=True))
        if done and new.finished:  # the trial as written is the trial as stored: keep it
            with self._lock:
                ended = self._mine.pop(trial_id, None)
                known = None if ended is None else self._studies.get(ended[0])
                if ended is not None and known is not None:
                    _keep(known, ended[1])
        return done

    def set_trial_intermediate_value(
        self, trial_id: int, step: int, intermediate_value: float
    ) -> None:
        def txn(conn: sa.Connection) -> None:
            self._updatable(conn, trial_id)
            self._flush(conn, trial_id)
            stmt = self._db.insert(trial_intermediate).values(
                trial_id=trial_id, step=int(step), value=_stored(intermediate_value))
            conn.execute(stmt.on_conflict_do_update(
                index_elements=[trial_intermediate.c.trial_id, trial_intermediate.c.step],
                set_={"value": stmt.excluded.value}))

        self._write(trial_id, txn, lambda t: _changed(t, intermediate_values={
            **t.intermediate_values, int(step): float(intermediate_value)}), flushes=True)

    def set_trial_user_attr(self, trial_id: int, key: str, value: Any) -> None:
        stored = json.loads(_dumps(value))

        def change(t: FrozenTrial) -> FrozenTrial:
            return _changed(t, user_attrs={**t.user_attrs, key: stored})

        if self._buffer(trial_id, change):
            return

        def txn(conn: sa.Connection) -> None:
            row = self._updatable(conn, trial_id)
            attrs = json.loads(row.user_attrs)
            attrs[key] = value
            conn.execute(_UPDATE, {"where_trial_id": trial_id, "user_attrs": _dumps(attrs)})

        self._write(trial_id, txn, change)

    def set_trial_system_attr(self, trial_id: int, key: str, value: Any) -> None:
        stored = json.loads(_dumps(value))

        def change(t: FrozenTrial) -> FrozenTrial:
            return _changed(t, system_attrs={**t.system_attrs, key: stored})

        if self._buffer(trial_id, change):
            return

        def txn(conn: sa.Connection) -> None:
            row = self._updatable(conn, trial_id)
            system = json.loads(row.system_attrs)
            system.setdefault(TRIAL_SYSTEM, {})[key] = value
            conn.execute(_UPDATE, {"where_trial_id": trial_id, "system_attrs": _dumps(system)})

        self._write(trial_id, txn, change)

    # -- trials: reads ---------------------------------------------------------------------
    def get_trial_id_from_study_id_trial_number(self, study_id: int, trial_number: int) -> int:
        def txn(conn: sa.Connection) -> int:
            found = conn.execute(_TRIAL_ID, {"sid": study_id, "number": trial_number}).scalar()
            if found is None:
                raise KeyError(f"no trial number {trial_number} in study {study_id}")
            return int(found)

        return self._db.run(txn, write=False)

    def get_trial(self, trial_id: int) -> FrozenTrial:
        with self._lock:
            for known in self._studies.values():
                cached = known.finished.get(trial_id)
                if cached is not None:
                    return cached
            mine = self._mine.get(trial_id)
            if mine is not None:
                return mine[1]

        def txn(conn: sa.Connection) -> FrozenTrial:
            found = _load(conn, {"trial": trial_id})
            if not found:
                raise KeyError(f"no trial with id {trial_id} in {self._db.shown}")
            return _frozen(found[0], self._study(conn, found[0].study_id, check=False))

        return self._db.run(txn, write=False)

    def get_all_trials(
        self,
        study_id: int,
        deepcopy: bool = True,
        states: Container[OptunaState] | None = None,
    ) -> list[FrozenTrial]:
        if states is not None and all(s in _UNFINISHED for s in _STATES if s in states):
            return self._unfinished(study_id, deepcopy, states)  # a worker's look for waiting
        with self._lock:
            before = self._studies.get(study_id)
            frontier = None if before is None else before.frontier

        def held(trial_id: int, state: str) -> bool:
            """Whether this process holds the trial as stored: finished and read before, or
            running here."""
            if before is not None and trial_id in before.finished:
                return True
            mine = self._mine.get(trial_id)
            return mine is not None and state not in _FINISHED

        def txn(conn: sa.Connection) -> tuple[_Study, list[TrialRecord]]:
            where: dict[str, Any] = {"study": study_id}
            if frontier is not None:
                where["min_trial_id"] = frontier
            found = _load(conn, where, held)
            return self._study(conn, study_id, check=not found), found

        known, records = self._db.run(txn, write=False)
        with self._lock:
            unfinished = [self._latest(t) for t in _take(known, records, frontier)]
            for rec in records:
                if rec.state.finished:
                    self._mine.pop(rec.trial_id, None)
                    self._dirty.discard(rec.trial_id)
            found = list(known.ordered)
            if unfinished:
                found.extend(unfinished)
                tail = found[-len(unfinished) - 1:]
                if tail != sorted(tail, key=_number):
                    found.sort(key=_number)
        if states is not None:
            found = [t for t in found if t.state in states]
        return copy.deepcopy(found) if deepcopy else found

    def _unfinished(self, study_id: int, deepcopy: bool, states: Container[OptunaState]
                    ) -> list[FrozenTrial]:
        """The study's trials in ``states`` (unfinished ones only): one indexed query."""
        wanted = [STATE_FROM_OPTUNA[s].value for s in _STATES if s in states]

        def txn(conn: sa.Connection) -> tuple[_Study, list[TrialRecord]]:
            rows = conn.execute(_IN_STATES, {"sid": study_id, "states": wanted}).all()
            found = [r for _, i in rows if i is not None for r in _load(conn, {"trial": i})]
            return self._study(conn, study_id, check=not rows), found

        known, records = self._db.run(txn, write=False)
        with self._lock:
            out = [self._latest(_frozen(r, known)) for r in records]
        return copy.deepcopy(out) if deepcopy else out

    def _latest(self, trial: FrozenTrial) -> FrozenTrial:
        """``trial`` as read, or as this process holds it when it runs it (with what it has
        not written yet)."""
        mine = self._mine.get(trial._trial_id)
        return trial if mine is None else mine[1]

    def get_n_trials(
        self, study_id: int, state: tuple[OptunaState, ...] | OptunaState | None = None
    ) -> int:
        if isinstance(state, OptunaState):
            state = (state,)
        wanted = None if state is None else [STATE_FROM_OPTUNA[s].value for s in state]

        def txn(conn: sa.Connection) -> int:
            self._study(conn, study_id)
            query = sa.select(sa.func.count()).select_from(trials).where(
                trials.c.study_id == study_id)
            if wanted is not None:
                query = query.where(trials.c.state.in_(wanted))
            return int(conn.execute(query).scalar_one())

        return self._db.run(txn, write=False)

    # -- helpers -----------------------------------------------------------------------------
    def _write(self, trial_id: int, txn: Callable[[sa.Connection], _T],
               change: Callable[[FrozenTrial], FrozenTrial], durable: bool = False,
               flushes: bool = False) -> _T:
        """Run a write to a trial; then apply ``change`` to the trial as this process knows it
        (when it is one of its own; one whose write failed is forgotten). ``flushes``: the
        write carried the trial's buffered changes (:meth:`_flush`)."""
        try:
            out = self._db.run(txn, durable=durable)
        except (KeyError, UpdateFinishedTrialError):  # gone, or finished by another process
            with self._lock:
                self._mine.pop(trial_id, None)
                self._dirty.discard(trial_id)
            raise
        with self._lock:
            mine = self._mine.get(trial_id)
            if mine is not None and out is not False:
                self._mine[trial_id] = (mine[0], change(mine[1]))
            if flushes:
                self._dirty.discard(trial_id)
        return out

    def _buffer(self, trial_id: int, change: Callable[[FrozenTrial], FrozenTrial]) -> bool:
        """Apply ``change`` to one of this process's running trials and write it with the
        trial's next write (a report, its end), as dialed's engine buffers a trial's
        suggestions: False when the trial is not one of them."""
        with self._lock:
            mine = self._mine.get(trial_id)
            if mine is None:
                return False
            if mine[1].state.is_finished():
                raise UpdateFinishedTrialError(
                    f"trial {mine[1].number} is {mine[1].state.name} and cannot be changed")
            self._mine[trial_id] = (mine[0], change(mine[1]))
            self._dirty.add(trial_id)
            return True

    def _flush(self, conn: sa.Connection, trial_id: int, write: bool = True) -> dict[str, str]:
        """Write the buffered parameters and attributes of one of this process's trials (or,
        ``write=False``, return the columns for the caller's update); the caller's
        :meth:`_write` marks them written once its transaction commits."""
        with self._lock:
            if trial_id not in self._dirty:
                return {}
            t = self._mine[trial_id][1]
        columns = {
            "params": _dumps(t.params), "user_attrs": _dumps(t.user_attrs),
            "system_attrs": _dumps({TRIAL_SYSTEM: t.system_attrs, DISTRIBUTIONS: {
                n: distribution_to_json(d) for n, d in t.distributions.items()}})}
        if write:
            conn.execute(_UPDATE, {"where_trial_id": trial_id, **columns})
        return columns

    def _known(self, study_id: int) -> _Study:
        with self._lock:
            found = self._studies.get(study_id)
        if found is not None:
            return found
        return self._db.run(lambda conn: self._study(conn, study_id), write=False)

    def _study(self, conn: sa.Connection, study_id: int, check: bool = True) -> _Study:
        """The study (read once per process: its name and objectives never change); KeyError
        when there is none (checked in the database unless ``check`` is false and the study is
        known: the caller found one of its rows)."""
        if not check:
            with self._lock:
                found = self._studies.get(study_id)
            if found is not None:
                return found
        row = conn.execute(_STUDY_ROW, {"sid": study_id}).first()
        if row is None:
            with self._lock:
                self._studies.pop(study_id, None)
            raise KeyError(f"no study with id {study_id} in {self._db.shown}")
        with self._lock:
            found = self._studies.get(study_id)
            if found is None or found.name != row.name:
                objectives, directions = _objectives(row.metrics)
                found = self._studies[study_id] = _Study(row.name, objectives, directions)
            return found

    def _updatable(self, conn: sa.Connection, trial_id: int) -> Any:
        row = conn.execute(_TRIAL_ROW, {"tid": trial_id}).first()
        if row is None:
            raise KeyError(f"no trial with id {trial_id} in {self._db.shown}")
        if row.state in _FINISHED:
            raise UpdateFinishedTrialError(
                f"trial {row.number} is {STATE_TO_OPTUNA[TrialState(row.state)].name} "
                "and cannot be changed")
        return row

    def _register(self, conn: sa.Connection, known: _Study, study_id: int, name: str,
                  distribution: BaseDistribution) -> None:
        """Check ``distribution`` against the parameter's first (Optuna's rule: the same kind,
        the same choices; ValueError otherwise) and register it when it is the first."""
        text = distribution_to_json(distribution)
        with self._lock:
            if known.space.get(name) == text:
                return
        stored = conn.execute(_SPACE_ENTRY, {"sid": study_id, "name": name}).scalar()
        if stored is not None:
            first = _from_dialed(name, json.loads(stored))
            if first is not None:
                check_distribution_compatibility(first, distribution)
        else:
            try:
                spec = to_dialed(name, distribution).to_dict()
            except (SpaceError, TypeError):
                return  # dialed cannot hold it (a choice that is not finite): trial-only
            position = int(conn.execute(_SPACE_SIZE, {"sid": study_id}).scalar_one())
            stmt = self._db.insert(study_space).values(
                study_id=study_id, name=name, position=position, distribution=json.dumps(spec))
            conn.execute(stmt.on_conflict_do_nothing(
                index_elements=[study_space.c.study_id, study_space.c.name]))
        with self._lock:
            known.space[name] = text


# -- rows and records --------------------------------------------------------------------------
