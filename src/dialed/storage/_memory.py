"""A storage in this process's memory: fast, shared by threads, gone when the process ends."""

from __future__ import annotations

import bisect
import copy
import threading
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from dialed._util import derive_seed, now
from dialed.errors import (
    DuplicateStudyError,
    StorageError,
    StudyNotFoundError,
    TrialStateError,
)
from dialed.storage._base import Storage, StudyRecord, StudySummary, TrialsSince
from dialed.storage._common import check_direction, check_imported, check_name, clean_text
from dialed.storage._common import check_metrics as _check_metrics
from dialed.storage._common import json_copy as _json_copy
from dialed.storage._common import merge_space as _merge_space
from dialed.trial import TrialRecord, TrialState, evolve

__all__ = ["MemoryStorage"]


class MemoryStorage(Storage):
    url = None

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._studies: dict[int, StudyRecord] = {}
        self._attrs: dict[int, dict[str, Any]] = {}
        self._spaces: dict[int, dict[str, dict[str, Any]]] = {}
        self._trials: dict[int, TrialRecord] = {}
        self._by_study: dict[int, list[int]] = {}
        # waiting trials per study, oldest first: a claim does not scan the whole study
        self._waiting: dict[int, deque[int]] = {}
        # how many of a study's first trials are known finished (finished trials stay so)
        self._finished_prefix: dict[int, int] = {}
        self._next_study = 1
        self._next_trial = 1

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
        with self._lock:
            if any(s.name == name for s in self._studies.values()):
                raise DuplicateStudyError(
                    f"a study named {name!r} already exists (load it, or pass load_if_exists=True)"
                )
            sid = self._next_study
            self._next_study += 1
            self._attrs[sid] = _json_copy(dict(attrs or {}))
            rec = StudyRecord(sid, name, dict(metrics), int(seed), now(), {})
            self._studies[sid] = rec
            self._spaces[sid] = {}
            self._by_study[sid] = []
            self._waiting[sid] = deque()
            return self._with_attrs(rec)

    def _with_attrs(self, rec: StudyRecord) -> StudyRecord:
        return replace(rec, attrs=copy.deepcopy(self._attrs[rec.study_id]))

    def _study(self, study_id: int) -> StudyRecord:
        try:
            return self._studies[study_id]
        except KeyError:
            raise StudyNotFoundError(f"no study with id {study_id} in this storage") from None

    def get_study(self, name: str) -> StudyRecord:
        with self._lock:
            for rec in self._studies.values():
                if rec.name == name:
                    return self._with_attrs(rec)
            known = ", ".join(sorted(s.name for s in self._studies.values())) or "none"
            raise StudyNotFoundError(f"no study named {name!r} in this storage (studies: {known})")

    def list_studies(self) -> list[StudySummary]:
        with self._lock:
            out = []
            for sid, rec in sorted(self._studies.items()):
                trials = [self._trials[t] for t in self._by_study[sid]]
                counts: dict[str, int] = {}
                for t in trials:
                    counts[t.state.value] = counts.get(t.state.value, 0) + 1
                times = [x for t in trials for x in (t.started_at, t.finished_at) if x is not None]
                primary = next(
                    (n for n, s in rec.metrics.items() if s in ("minimize", "maximize")), None
                )
                best = None
                if primary is not None:
                    b = self.best_trial(sid, primary, rec.metrics[primary])
                    best = None if b is None else b.metrics[primary]
                out.append(
                    StudySummary(sid, rec.name, dict(rec.metrics), rec.created_at, counts,
                                 max(times) if times else None, best)
                )
            return out

    def delete_study(self, name: str) -> None:
        with self._lock:
            sid = self.get_study(name).study_id
            for tid in self._by_study.pop(sid):
                del self._trials[tid]
            del self._waiting[sid]
            self._finished_prefix.pop(sid, None)
            del self._studies[sid], self._attrs[sid], self._spaces[sid]

    def set_study_attr(self, study_id: int, key: str, value: Any) -> None:
        check_name("attribute name", key)
        with self._lock:
            self._study(study_id)
            self._attrs[study_id][key] = _json_copy(value)

    def set_study_attr_if_absent(self, study_id: int, key: str, value: Any) -> bool:
        check_name("attribute name", key)
        with self._lock:
            self._study(study_id)
            if key in self._attrs[study_id]:
                return False
            self._attrs[study_id][key] = _json_copy(value)
            return True

    def get_study_attrs(self, study_id: int) -> dict[str, Any]:
        with self._lock:
            self._study(study_id)
            return copy.deepcopy(self._attrs[study_id])

    # -- the space -------------------------------------------------------------------------
    def register_params(
        self, study_id: int, distributions: Mapping[str, Mapping[str, Any]]
    ) -> dict[str, dict[str, Any]]:
        with self._lock:
            self._study(study_id)
            space = self._spaces[study_id]
            updates = _merge_space(space, distributions)
            space.update(updates)
            return copy.deepcopy(space)

    def get_space(self, study_id: int) -> dict[str, dict[str, Any]]:
        with self._lock:
            self._study(study_id)
            return copy.deepcopy(self._spaces[study_id])

    # -- trials ----------------------------------------------------------------------------
    def _new_trial(
        self,
        study_id: int,
        state: TrialState,
        params: Mapping[str, Any] | None,
        worker: str | None,
        environment: Mapping[str, Any] | None,
        system_attrs: Mapping[str, Any] | None,
    ) -> TrialRecord:
        study = self._study(study_id)
        number = len(self._by_study[study_id])
        t = now()
        rec = TrialRecord(
            trial_id=self._next_trial,
            study_id=study_id,
            number=number,
            state=state,
            seed=derive_seed(study.seed, number),
            params=_json_copy(dict(params or {})),
            created_at=t,
            started_at=t if state == TrialState.RUNNING else None,
            heartbeat_at=t if state == TrialState.RUNNING else None,
            worker=worker if state == TrialState.RUNNING else None,
            environment=_json_copy(dict(environment or {})),
            system_attrs=_json_copy(dict(system_attrs or {})),
        )
        self._next_trial += 1
        self._trials[rec.trial_id] = rec
        self._by_study[study_id].append(rec.trial_id)
        if state == TrialState.WAITING:
            self._waiting[study_id].append(rec.trial_id)
        return rec

    def import_trials(
        self,
        name: str,
        trials: Sequence[TrialRecord],
        *,
        space: Mapping[str, Mapping[str, Any]],
        attrs: Mapping[str, Any] | None = None,
        create: Mapping[str, Any] | None = None,
    ) -> StudyRecord:
        check_imported(trials)
        copies = [
            (_json_copy(dict(t.params)), _json_copy(dict(t.environment)),
             _json_copy(dict(t.user_attrs)), _json_copy(dict(t.system_attrs)))
            for t in trials
        ]
        attrs_copy = _json_copy(dict(attrs or {}))
        with self._lock:
            if create is None:
                study = self.get_study(name)
                updates = _merge_space(self._spaces[study.study_id], space)
            else:
                updates = _merge_space({}, space)  # checked before the study exists
                study = self.create_study(name, metrics=create["metrics"],
                                          seed=int(create["seed"]))
            sid = study.study_id
            self._spaces[sid].update(updates)
            self._attrs[sid].update(attrs_copy)
            first = len(self._by_study[sid])
            for i, (t, (params, env, user, system)) in enumerate(zip(trials, copies,
                                                                    strict=True)):
                number = first + i
                rec = replace(
                    t, trial_id=self._next_trial, study_id=sid, number=number,
                    seed=derive_seed(study.seed, number), params=params,
                    metrics={k: float(v) for k, v in t.metrics.items()},
                    intermediate={int(k): float(v) for k, v in sorted(t.intermediate.items())},
                    error=None if t.error is None else clean_text(str(t.error)),
                    environment=env, user_attrs=user, system_attrs=system,
                    created_at=t.created_at if t.created_at is not None else now(),
                    heartbeat_at=None, worker=t.worker,
                )
                self._next_trial += 1
                self._trials[rec.trial_id] = rec
                self._by_study[sid].append(rec.trial_id)
                if rec.state == TrialState.WAITING:
                    self._waiting[sid].append(rec.trial_id)
            return self._with_attrs(self._studies[sid])

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
        with self._lock:
            return _snapshot(
                self._new_trial(study_id, state, params, worker, environment, system_attrs)
            )

    def enqueue_trials(
        self,
        study_id: int,
        params_list: Sequence[Mapping[str, Any]],
        *,
        once_key: str | None = None,
        system_attrs: Mapping[str, Any] | None = None,
    ) -> int:
        with self._lock:
            self._study(study_id)
            checked = [_json_copy(dict(p)) for p in params_list]  # all or nothing
            if once_key is not None and not self.set_study_attr_if_absent(
                study_id, once_key, len(params_list)
            ):
                return 0
            for params in checked:
                self._new_trial(study_id, TrialState.WAITING, params, None, None, system_attrs)
            return len(params_list)

    def claim_trial(
        self,
        study_id: int,
        *,
        worker: str,
        environment: Mapping[str, Any] | None = None,
        system_attrs: Mapping[str, Any] | None = None,
    ) -> TrialRecord | None:
        env = _json_copy(dict(environment or {}))
        attrs = _json_copy(dict(system_attrs or {}))
        with self._lock:
            self._study(study_id)
            waiting = self._waiting[study_id]
            while waiting:
                tid = waiting.popleft()  # only a claim takes a trial out of WAITING
                rec = self._trials[tid]
                if rec.state == TrialState.WAITING:
                    t = now()
                    new = replace(
                        rec, state=TrialState.RUNNING, started_at=t, heartbeat_at=t,
                        worker=worker, environment=env,
                        system_attrs={**rec.system_attrs, **attrs},
                    )
                    self._trials[tid] = new
                    return _snapshot(new)
            return None

    def _running(self, trial_id: int) -> TrialRecord:
        rec = self._get(trial_id)
        if rec.state != TrialState.RUNNING:
            raise TrialStateError(
                f"trial {rec.number} is {rec.state.value}; only a running trial can change"
            )
        return rec

    def update_trial(
        self,
        trial_id: int,
        *,
        params: Mapping[str, Any] | None = None,
        user_attrs: Mapping[str, Any] | None = None,
        system_attrs: Mapping[str, Any] | None = None,
    ) -> None:
        with self._lock:
            rec = self._running(trial_id)
            self._trials[trial_id] = replace(
                rec,
                params={**rec.params, **_json_copy(dict(params or {}))},
                user_attrs={**rec.user_attrs, **_json_copy(dict(user_attrs or {}))},
                system_attrs={**rec.system_attrs, **_json_copy(dict(system_attrs or {}))},
                heartbeat_at=now(),
            )

    def report(self, trial_id: int, step: int, value: float) -> None:
        with self._lock:
            rec = self._running(trial_id)
            self._trials[trial_id] = replace(
                rec, intermediate={**rec.intermediate, int(step): float(value)}, heartbeat_at=now()
            )

    def heartbeat(self, trial_id: int) -> None:
        with self._lock:
            rec = self._get(trial_id)
            if rec.state == TrialState.RUNNING:
                self._trials[trial_id] = replace(rec, heartbeat_at=now())

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
        with self._lock:
            rec = self._running(trial_id)
            new = replace(
                rec,
                state=state,
                metrics=dict(metrics or {}),
                params={**rec.params, **_json_copy(dict(params or {}))},
                error=error,
                finished_at=now(),
                wall_seconds=wall_seconds,
                cpu_seconds=cpu_seconds,
                peak_memory_mb=peak_memory_mb,
                user_attrs={**rec.user_attrs, **_json_copy(dict(user_attrs or {}))},
                system_attrs={**rec.system_attrs, **_json_copy(dict(system_attrs or {}))},
            )
            self._trials[trial_id] = new
            return _snapshot(new)

    def fail_stale_trial(
        self, trial_id: int, *, reason: str, retry: bool, max_retries: int
    ) -> TrialRecord | None:
        reason = clean_text(reason)
        with self._lock:
            rec = self._get(trial_id)
            if rec.state != TrialState.RUNNING:
                return None
            failed = replace(rec, state=TrialState.FAILED, error=reason, finished_at=now())
            self._trials[trial_id] = failed
            retries = int(rec.system_attrs.get("retries", 0))
            if retry and retries < max_retries:
                attrs = {**rec.system_attrs, "retry_of": rec.number, "retries": retries + 1}
                self._new_trial(rec.study_id, TrialState.WAITING, rec.params, None, None, attrs)
            return _snapshot(failed)

    def _get(self, trial_id: int) -> TrialRecord:
        try:
            return self._trials[trial_id]
        except KeyError:
            raise StorageError(f"no trial with id {trial_id} in this storage") from None

    def get_trial(self, trial_id: int) -> TrialRecord:
        with self._lock:
            return _snapshot(self._get(trial_id))

    def get_trial_by_number(self, study_id: int, number: int) -> TrialRecord:
        with self._lock:
            self._study(study_id)
            ids = self._by_study[study_id]
            if not 0 <= number < len(ids):
                raise StorageError(
                    f"no trial number {number} in this study (numbers 0..{len(ids) - 1})"
                )
            return _snapshot(self._trials[ids[number]])

    def get_trials(
        self,
        study_id: int,
        *,
        states: Iterable[TrialState] | None = None,
        min_trial_id: int | None = None,
    ) -> list[TrialRecord]:
        wanted = None if states is None else set(states)
        with self._lock:
            self._study(study_id)
            ids = self._by_study[study_id]  # ids rise with numbers: skip the older ones
            start = 0 if min_trial_id is None else bisect.bisect_left(ids, min_trial_id)
            return [
                _snapshot(self._trials[t])
                for t in ids[start:]
                if (wanted is None or self._trials[t].state in wanted)
                and (min_trial_id is None or t >= min_trial_id)
            ]

    def trials_since(self, study_id: int, trial_id: int | None) -> TrialsSince:
        with self._lock:
            trials = self.get_trials(study_id, states=_NOT_WAITING, min_trial_id=trial_id)
            ids = self._by_study[study_id]
            k = self._finished_prefix.get(study_id, 0)
            while k < len(ids) and self._trials[ids[k]].state.finished:
                k += 1
            self._finished_prefix[study_id] = k
            frontier = ids[k] if k < len(ids) else (ids[-1] + 1 if ids else None)
            return TrialsSince(trials, frontier)

    def count_trials(self, study_id: int, states: Iterable[TrialState] | None = None) -> int:
        wanted = None if states is None else set(states)
        with self._lock:
            self._study(study_id)
            ids = self._by_study[study_id]
            if wanted is None:
                return len(ids)
            return sum(1 for t in ids if self._trials[t].state in wanted)  # no copies

    def best_trial(self, study_id: int, metric: str, direction: str) -> TrialRecord | None:
        check_direction(direction)
        sign = -1.0 if direction == "maximize" else 1.0
        best: TrialRecord | None = None
        with self._lock:
            for rec in self.get_trials(study_id, states=[TrialState.COMPLETE]):
                v = rec.metrics.get(metric)
                if v is None:
                    continue
                if best is None or sign * v < sign * best.metrics[metric]:
                    best = rec
            return best


_NOT_WAITING = (TrialState.RUNNING, TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAILED)


def _snapshot(rec: TrialRecord) -> TrialRecord:
    """A record whose mappings the caller may change without changing what is stored."""
    return evolve(
        rec,
        params=_copied(rec.params),
        metrics=dict(rec.metrics),
        intermediate=dict(rec.intermediate),
        environment=dict(rec.environment),
        user_attrs=_copied(rec.user_attrs),
        system_attrs=_copied(rec.system_attrs),
    )


_SCALARS = (int, float, str, bool, type(None))


def _copied(values: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of a JSON-like mapping: scalars as they are, containers deep-copied."""
    return {k: v if type(v) in _SCALARS else copy.deepcopy(v) for k, v in values.items()}
