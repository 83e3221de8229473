"""The conformance suite every storage passes: the whole contract of ``dialed.storage._base``.

A test module subclasses :class:`StorageSuite` and provides a ``storage`` fixture, a fresh and
empty storage::

    import pytest
    from dialed.storage import MemoryStorage
    from dialed.testing.storage import StorageSuite

    class TestMemoryStorage(StorageSuite):
        @pytest.fixture
        def storage(self):
            storage = MemoryStorage()
            yield storage
            storage.close()

A storage with a ``url`` is also checked across processes: workers started with the ``spawn``
method reopen it from its URL and claim and create trials at the same time.
"""

from __future__ import annotations

import math
import multiprocessing
import queue
import struct
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from dialed._util import derive_seed
from dialed.errors import (
    DuplicateStudyError,
    SpaceError,
    StorageError,
    StudyNotFoundError,
    TrialStateError,
)
from dialed.storage import Storage, StudyRecord, open_storage
from dialed.trial import TrialRecord, TrialState

__all__ = ["StorageSuite"]

COMPLETE, PRUNED, FAILED = TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAILED
RUNNING, WAITING = TrialState.RUNNING, TrialState.WAITING

#: Floats that a careless storage rounds: they must all come back bit for bit.
TRICKY_FLOATS = [
    0.1, 0.1 + 0.2, 1 / 3, -2 / 3, math.pi, 1e-300, 5e-324, 2.2250738585072014e-308,
    1.7976931348623157e308, -1.7976931348623157e308, 123456789.12345679, 1e22, 2.0**53 + 2,
    math.nextafter(1.0, 2.0), math.nextafter(1.0, 0.0), 0.0, 1.0,
]


def _bits(x: float) -> bytes:
    return struct.pack("<d", x)


def _same_floats(a: list[float], b: list[float]) -> bool:
    return [_bits(x) for x in a] == [_bits(float(y)) for y in b]


class StorageSuite:
    """Checks one storage against the contract; subclasses provide the ``storage`` fixture."""

    @staticmethod
    def study(
        storage: Storage,
        name: str = "study",
        *,
        metrics: dict[str, str] | None = None,
        seed: int = 7,
    ) -> StudyRecord:
        return storage.create_study(
            name, metrics=metrics if metrics is not None else {"loss": "minimize"}, seed=seed
        )

    @staticmethod
    def finished(storage: Storage, study_id: int, state: TrialState = COMPLETE,
                 **metrics: float) -> TrialRecord:
        rec = storage.create_trial(study_id, worker="w")
        return storage.finish_trial(rec.trial_id, state, metrics=metrics)

    # -- studies ---------------------------------------------------------------------------
    def test_create_and_get_study(self, storage: Storage) -> None:
        before = time.time()
        made = storage.create_study(
            "s", metrics={"loss": "minimize", "acc": "track"}, seed=42, attrs={"note": [1, "a"]}
        )
        assert made.name == "s" and made.seed == 42
        assert dict(made.metrics) == {"loss": "minimize", "acc": "track"}
        assert list(made.metrics) == ["loss", "acc"]
        assert dict(made.attrs) == {"note": [1, "a"]}
        assert before - 1 <= made.created_at <= time.time() + 1
        got = storage.get_study("s")
        assert got == made
        assert list(got.metrics) == ["loss", "acc"]
        assert storage.get_study_attrs(made.study_id) == {"note": [1, "a"]}

    def test_duplicate_name_is_refused_and_keeps_the_first(self, storage: Storage) -> None:
        first = self.study(storage, "s", seed=1)
        with pytest.raises(DuplicateStudyError, match="'s' already exists"):
            storage.create_study("s", metrics={"acc": "maximize"}, seed=2)
        assert storage.get_study("s") == first
        assert len(storage.list_studies()) == 1

    def test_unknown_name_lists_known_names(self, storage: Storage) -> None:
        with pytest.raises(StudyNotFoundError, match="studies: none"):
            storage.get_study("nope")
        self.study(storage, "beta")
        self.study(storage, "alpha")
        with pytest.raises(StudyNotFoundError, match="studies: alpha, beta") as info:
            storage.get_study("nope")
        assert isinstance(info.value, KeyError) and "'nope'" in str(info.value)
        with pytest.raises(StudyNotFoundError, match="alpha, beta"):
            storage.delete_study("nope")

    def test_unknown_study_id_is_refused_everywhere(self, storage: Storage) -> None:
        sid = self.study(storage).study_id + 1000
        calls: list[Callable[[], object]] = [
            lambda: storage.set_study_attr(sid, "k", 1),
            lambda: storage.set_study_attr_if_absent(sid, "k", 1),
            lambda: storage.get_study_attrs(sid),
            lambda: storage.register_params(sid, {"x": {"type": "int", "low": 0, "high": 1}}),
            lambda: storage.get_space(sid),
            lambda: storage.create_trial(sid),
            lambda: storage.enqueue_trials(sid, [{}]),
            lambda: storage.claim_trial(sid, worker="w"),
            lambda: storage.get_trials(sid),
            lambda: storage.count_trials(sid),
            lambda: storage.best_trial(sid, "loss", "minimize"),
            lambda: storage.get_trial_by_number(sid, 0),
        ]
        for call in calls:
            with pytest.raises(StudyNotFoundError, match=f"no study with id {sid}"):
                call()

    def test_list_studies(self, storage: Storage) -> None:
        assert storage.list_studies() == []
        a = self.study(storage, "b-first")
        b = self.study(storage, "a-second", metrics={"acc": "maximize", "loss": "minimize"})
        c = self.study(storage, "c-tracked", metrics={"t": "track"})
        self.finished(storage, a.study_id, loss=3.0)
        self.finished(storage, a.study_id, loss=1.5)
        self.finished(storage, a.study_id, PRUNED, loss=0.5)  # only complete trials are best
        last = storage.create_trial(a.study_id, worker="w")
        storage.enqueue_trials(a.study_id, [{}])
        self.finished(storage, b.study_id, acc=0.5, loss=9.0)
        self.finished(storage, b.study_id, acc=0.75, loss=1.0)
        self.finished(storage, c.study_id, t=1.0)
        rows = storage.list_studies()
        assert [r.name for r in rows] == ["b-first", "a-second", "c-tracked"]
        assert [r.study_id for r in rows] == [a.study_id, b.study_id, c.study_id]
        ra, rb, rc = rows
        assert dict(ra.counts) == {"complete": 2, "pruned": 1, "running": 1, "waiting": 1}
        assert ra.n_trials == 5
        assert ra.best_value == 1.5
        assert ra.last_activity is not None and last.started_at is not None
        assert ra.last_activity >= last.started_at
        assert ra.created_at == a.created_at and dict(ra.metrics) == dict(a.metrics)
        assert rb.best_value == 0.75  # the first objective, maximized
        assert dict(rb.counts) == {"complete": 2}
        assert rc.best_value is None  # no objective
        empty = self.study(storage, "empty")
        row = storage.list_studies()[-1]
        assert row.study_id == empty.study_id
        assert (dict(row.counts), row.n_trials, row.last_activity, row.best_value) == (
            {}, 0, None, None,
        )

    def test_delete_study_removes_its_trials_only(self, storage: Storage) -> None:
        doomed = self.study(storage, "doomed")
        kept = self.study(storage, "kept")
        storage.set_study_attr(doomed.study_id, "k", 1)
        storage.register_params(doomed.study_id, {"x": {"type": "int", "low": 0, "high": 3}})
        gone = storage.create_trial(doomed.study_id, worker="w", params={"x": 1})
        storage.report(gone.trial_id, 0, 1.0)
        storage.finish_trial(gone.trial_id, COMPLETE, metrics={"loss": 1.0})
        storage.enqueue_trials(doomed.study_id, [{"x": 2}])
        other = self.finished(storage, kept.study_id, loss=2.0)
        storage.delete_study("doomed")
        with pytest.raises(StudyNotFoundError):
            storage.get_study("doomed")
        with pytest.raises(StorageError):
            storage.get_trial(gone.trial_id)
        assert [s.name for s in storage.list_studies()] == ["kept"]
        assert storage.get_trial(other.trial_id) == other
        again = self.study(storage, "doomed")  # the name is free again, numbering restarts
        assert storage.get_study_attrs(again.study_id) == {}
        assert storage.get_space(again.study_id) == {}
        assert storage.create_trial(again.study_id).number == 0
        assert storage.best_trial(again.study_id, "loss", "minimize") is None

    def test_study_attrs(self, storage: Storage) -> None:
        sid = self.study(storage).study_id
        storage.set_study_attr(sid, "a", {"x": [1, 2.5, None, True]})
        storage.set_study_attr(sid, "b", "text")
        storage.set_study_attr(sid, "b", 3)
        assert storage.get_study_attrs(sid) == {"a": {"x": [1, 2.5, None, True]}, "b": 3}
        assert storage.set_study_attr_if_absent(sid, "c", 1) is True
        assert storage.set_study_attr_if_absent(sid, "c", 2) is False
        assert storage.set_study_attr_if_absent(sid, "a", 2) is False
        attrs = storage.get_study_attrs(sid)
        assert attrs["c"] == 1 and attrs["a"] == {"x": [1, 2.5, None, True]}
        attrs["a"]["x"].append("mutated")  # a copy, not the stored value
        assert storage.get_study_attrs(sid)["a"] == {"x": [1, 2.5, None, True]}
        assert dict(storage.get_study("study").attrs) == storage.get_study_attrs(sid)

    def test_non_json_values_are_refused(self, storage: Storage) -> None:
        sid = self.study(storage).study_id
        with pytest.raises(StorageError, match="JSON"):
            storage.set_study_attr(sid, "k", object())
        with pytest.raises(StorageError, match="JSON"):
            storage.set_study_attr_if_absent(sid, "k", {1, 2})
        with pytest.raises(StorageError, match="JSON"):
            storage.create_study("other", metrics={}, seed=1, attrs={"k": object()})
        with pytest.raises(StorageError, match="JSON"):
            storage.create_trial(sid, params={"x": object()})
        with pytest.raises(StorageError, match="JSON"):
            storage.enqueue_trials(sid, [{"x": object()}])
        rec = storage.create_trial(sid, worker="w")
        with pytest.raises(StorageError, match="JSON"):
            storage.update_trial(rec.trial_id, user_attrs={"k": object()})
        with pytest.raises(StorageError, match="JSON"):
            storage.finish_trial(rec.trial_id, COMPLETE, system_attrs={"k": object()})
        assert storage.get_study_attrs(sid) == {}
        assert storage.count_trials(sid) == 1
        assert storage.get_trial(rec.trial_id).state == RUNNING
        assert [s.name for s in storage.list_studies()] == ["study"]

    # -- the space -------------------------------------------------------------------------
    def test_register_params_grows_in_order(self, storage: Storage) -> None:
        sid = self.study(storage).study_id
        assert storage.get_space(sid) == {}
        lr = {"type": "float", "low": 1e-5, "high": 0.1, "log": True}
        space = storage.register_params(sid, {"lr": lr, "depth": {"type": "int", "low": 1,
                                                                  "high": 8}})
        assert list(space) == ["lr", "depth"]
        space = storage.register_params(
            sid, {"act": {"type": "categorical", "choices": ["relu", "gelu"]}, "lr": lr}
        )
        assert list(space) == ["lr", "depth", "act"]
        assert space["act"] == {"type": "categorical", "choices": ["relu", "gelu"]}
        assert space["lr"] == lr
        assert storage.get_space(sid) == space and list(storage.get_space(sid)) == list(space)
        assert storage.register_params(sid, {}) == space

    def test_register_params_fills_in_a_family(self, storage: Storage) -> None:
        sid = self.study(storage).study_id
        storage.register_params(sid, {"a": {"type": "int", "low": 0, "high": 3},
                                      "b": {"type": "int", "low": 0, "high": 3}})
        space = storage.register_params(
            sid, {"a": {"type": "int", "low": 0, "high": 3, "family": "architecture"}}
        )
        assert list(space) == ["a", "b"]
        assert space["a"]["family"] == "architecture"
        # registering it again without the family keeps the family
        space = storage.register_params(sid, {"a": {"type": "int", "low": 0, "high": 3}})
        assert storage.get_space(sid)["a"]["family"] == "architecture"

    def test_register_params_conflict_changes_nothing(self, storage: Storage) -> None:
        sid = self.study(storage).study_id
        before = storage.register_params(sid, {"x": {"type": "float", "low": 0.0, "high": 1.0}})
        with pytest.raises(SpaceError, match="'x'"):
            storage.register_params(
                sid,
                {"new": {"type": "int", "low": 0, "high": 2},
                 "x": {"type": "float", "low": 0.0, "high": 2.0}},
            )
        with pytest.raises(SpaceError):
            storage.register_params(sid, {"x": {"type": "int", "low": 0, "high": 1}})
        with pytest.raises(SpaceError):
            storage.register_params(sid, {"bad": {"type": "float", "low": 2.0, "high": 1.0}})
        assert storage.get_space(sid) == before

    # -- creating and claiming trials ------------------------------------------------------
    def test_numbers_are_dense_and_seeds_derived(self, storage: Storage) -> None:
        s1 = self.study(storage, "one", seed=11)
        s2 = self.study(storage, "two", seed=12)
        recs = [storage.create_trial(s1.study_id, worker="w") for _ in range(3)]
        recs.append(storage.create_trial(s2.study_id, worker="w"))
        storage.enqueue_trials(s1.study_id, [{}, {}])
        recs.append(storage.create_trial(s1.study_id, state=WAITING))
        assert [r.number for r in recs] == [0, 1, 2, 0, 5]
        assert len({r.trial_id for r in recs}) == len(recs)
        for r in storage.get_trials(s1.study_id):
            assert r.seed == derive_seed(11, r.number)
        assert [r.number for r in storage.get_trials(s1.study_id)] == list(range(6))
        assert recs[3].seed == derive_seed(12, 0)

    def test_create_trial_running_or_waiting(self, storage: Storage) -> None:
        sid = self.study(storage).study_id
        run = storage.create_trial(
            sid, params={"x": 1}, worker="host:1", environment={"python": "3"},
            system_attrs={"src": "ask"},
        )
        assert (run.state, run.worker, run.study_id) == (RUNNING, "host:1", sid)
        assert run.started_at is not None and run.heartbeat_at is not None
        assert run.created_at is not None and run.finished_at is None
        assert dict(run.params) == {"x": 1} and dict(run.environment) == {"python": "3"}
        assert dict(run.system_attrs) == {"src": "ask"} and dict(run.user_attrs) == {}
        assert (dict(run.metrics), dict(run.intermediate)) == ({}, {})
        assert storage.get_trial(run.trial_id) == run
        wait = storage.create_trial(sid, state=WAITING, worker="ignored")
        assert (wait.state, wait.worker, wait.started_at, wait.heartbeat_at) == (
            WAITING, None, None, None,
        )
        assert storage.get_trial(wait.trial_id) == wait
        for state in (COMPLETE, PRUNED, FAILED):
            with pytest.raises(TrialStateError):
                storage.create_trial(sid, state=state)
        assert storage.count_trials(sid) == 2

    def test_claim_takes_the_lowest_number_once(self, storage: Storage) -> None:
        sid = self.study(storage).study_id
        assert storage.claim_trial(sid, worker="w") is None
        n = storage.enqueue_trials(sid, [{"x": i} for i in range(3)],
                                   system_attrs={"source": "grid"})
        assert n == 3
        storage.create_trial(sid, state=WAITING, params={"x": 3})
        waiting = storage.get_trials(sid, states=[WAITING])
        assert [t.number for t in waiting] == [0, 1, 2, 3]
        assert dict(waiting[0].system_attrs) == {"source": "grid"}
        claimed = []
        for i in range(4):
            rec = storage.claim_trial(sid, worker=f"w{i}", environment={"i": i})
            assert rec is not None
            assert (rec.state, rec.worker, dict(rec.environment)) == (RUNNING, f"w{i}", {"i": i})
            assert rec.started_at is not None and rec.heartbeat_at is not None
            assert rec == storage.get_trial(rec.trial_id)
            claimed.append((rec.number, rec.params["x"]))
        assert claimed == [(0, 0), (1, 1), (2, 2), (3, 3)]
        assert storage.claim_trial(sid, worker="w") is None
        assert storage.count_trials(sid, [RUNNING]) == 4

    def test_claim_merges_system_attrs_in_the_same_change(self, storage: Storage) -> None:
        sid = self.study(storage).study_id
        storage.enqueue_trials(sid, [{"x": 1}], system_attrs={"source": "grid"})
        rec = storage.claim_trial(sid, worker="w", system_attrs={"heartbeat": True})
        assert rec is not None and rec.state == RUNNING
        assert dict(rec.system_attrs) == {"source": "grid", "heartbeat": True}
        assert storage.get_trial(rec.trial_id) == rec
        with pytest.raises(StorageError):
            storage.claim_trial(sid, worker="w", system_attrs={"bad": object()})

    def test_enqueue_once_key(self, storage: Storage) -> None:
        sid = self.study(storage).study_id
        assert storage.enqueue_trials(sid, [{"x": 1}, {"x": 2}], once_key="grid") == 2
        assert storage.enqueue_trials(sid, [{"x": 1}, {"x": 2}], once_key="grid") == 0
        assert storage.enqueue_trials(sid, [{"x": 3}], once_key="other") == 1
        assert storage.count_trials(sid) == 3
        attrs = storage.get_study_attrs(sid)
        assert attrs["grid"] == 2 and attrs["other"] == 1
        assert storage.enqueue_trials(sid, []) == 0
        assert storage.count_trials(sid) == 3

    def test_enqueue_is_all_or_nothing(self, storage: Storage) -> None:
        sid = self.study(storage).study_id
        with pytest.raises(StorageError):
            storage.enqueue_trials(sid, [{"x": 1}, {"x": object()}], once_key="grid")
        assert storage.count_trials(sid) == 0
        assert "grid" not in storage.get_study_attrs(sid)

    def test_records_are_snapshots(self, storage: Storage) -> None:
        sid = self.study(storage).study_id
        rec = storage.create_trial(sid, worker="w", params={"x": [1, 2]})
        rec.params["x"].append(3)
        rec.params["y"] = 1  # type: ignore[index]
        assert dict(storage.get_trial(rec.trial_id).params) == {"x": [1, 2]}
        listed = storage.get_trials(sid)[0]
        listed.params["z"] = 0  # type: ignore[index]
        assert dict(storage.get_trials(sid)[0].params) == {"x": [1, 2]}

    # -- running trials --------------------------------------------------------------------
    def test_update_trial_merges(self, storage: Storage) -> None:
        sid = self.study(storage).study_id
        rec = storage.create_trial(sid, worker="w", params={"a": 1}, system_attrs={"s": 1})
        time.sleep(0.01)
        storage.update_trial(rec.trial_id, params={"b": 2.5})
        storage.update_trial(rec.trial_id, user_attrs={"u": [1]}, system_attrs={"t": 2})
        storage.update_trial(rec.trial_id, params={"a": "one"}, user_attrs={"v": None})
        got = storage.get_trial(rec.trial_id)
        assert dict(got.params) == {"a": "one", "b": 2.5}
        assert dict(got.user_attrs) == {"u": [1], "v": None}
        assert dict(got.system_attrs) == {"s": 1, "t": 2}
        assert got.heartbeat_at is not None and rec.heartbeat_at is not None
        assert got.heartbeat_at > rec.heartbeat_at
        assert got.state == RUNNING and got.started_at == rec.started_at

    def test_report_and_heartbeat(self, storage: Storage) -> None:
        sid = self.study(storage).study_id
        rec = storage.create_trial(sid, worker="w")
        storage.report(rec.trial_id, 2, 0.5)
        storage.report(rec.trial_id, 0, 0.9)
        storage.report(rec.trial_id, 2, 0.25)  # the same step again overwrites
        storage.report(rec.trial_id, 5, float("inf"))
        got = storage.get_trial(rec.trial_id)
        assert dict(got.intermediate) == {0: 0.9, 2: 0.25, 5: float("inf")}
        assert all(type(k) is int for k in got.intermediate)
        assert got.last_step == 5
        storage.report(rec.trial_id, 6, float("nan"))
        assert math.isnan(storage.get_trial(rec.trial_id).intermediate[6])
        before = storage.get_trial(rec.trial_id).heartbeat_at
        time.sleep(0.01)
        storage.heartbeat(rec.trial_id)
        after = storage.get_trial(rec.trial_id).heartbeat_at
        assert before is not None and after is not None and after > before
        with pytest.raises(StorageError, match="no trial"):
            storage.heartbeat(rec.trial_id + 1000)
        with pytest.raises(StorageError, match="no trial"):
            storage.report(rec.trial_id + 1000, 0, 1.0)

    def test_finish_trial(self, storage: Storage) -> None:
        sid = self.study(storage).study_id
        rec = storage.create_trial(sid, worker="w", params={"a": 1}, system_attrs={"s": 1})
        storage.report(rec.trial_id, 1, 3.0)
        storage.update_trial(rec.trial_id, user_attrs={"u": 1})
        done = storage.finish_trial(
            rec.trial_id, COMPLETE, metrics={"loss": 0.125, "acc": 0.5}, params={"b": 2},
            wall_seconds=1.5, cpu_seconds=2.25, peak_memory_mb=100.0,
            user_attrs={"v": 2}, system_attrs={"t": 3},
        )
        assert done.state == COMPLETE
        assert dict(done.metrics) == {"loss": 0.125, "acc": 0.5}
        assert dict(done.params) == {"a": 1, "b": 2}
        assert dict(done.user_attrs) == {"u": 1, "v": 2}
        assert dict(done.system_attrs) == {"s": 1, "t": 3}
        assert dict(done.intermediate) == {1: 3.0}
        assert (done.wall_seconds, done.cpu_seconds, done.peak_memory_mb) == (1.5, 2.25, 100.0)
        assert done.finished_at is not None and done.started_at is not None
        assert done.finished_at >= done.started_at
        assert done.error is None and done.worker == "w" and done.number == rec.number
        assert storage.get_trial(rec.trial_id) == done
        failed = storage.create_trial(sid, worker="w")
        out = storage.finish_trial(failed.trial_id, FAILED, error="ValueError: boom")
        assert (out.state, out.error, dict(out.metrics)) == (FAILED, "ValueError: boom", {})
        assert storage.get_trial(failed.trial_id) == out

    def test_finished_trials_are_immutable(self, storage: Storage) -> None:
        sid = self.study(storage).study_id
        for state in (COMPLETE, PRUNED, FAILED):
            rec = storage.create_trial(sid, worker="w")
            storage.report(rec.trial_id, 0, 1.0)
            done = storage.finish_trial(rec.trial_id, state, metrics={"loss": 1.0})
            with pytest.raises(TrialStateError, match=f"trial {rec.number} is {state.value}"):
                storage.finish_trial(rec.trial_id, COMPLETE, metrics={"loss": 0.0})
            with pytest.raises(TrialStateError):
                storage.update_trial(rec.trial_id, params={"x": 1})
            with pytest.raises(TrialStateError):
                storage.report(rec.trial_id, 1, 0.5)
            storage.heartbeat(rec.trial_id)  # ignored, no error
            assert storage.fail_stale_trial(
                rec.trial_id, reason="gone", retry=True, max_retries=3
            ) is None
            assert storage.get_trial(rec.trial_id) == done
        assert storage.count_trials(sid) == 3

    def test_waiting_trials_cannot_change(self, storage: Storage) -> None:
        sid = self.study(storage).study_id
        storage.enqueue_trials(sid, [{"x": 1}])
        rec = storage.get_trials(sid)[0]
        with pytest.raises(TrialStateError, match="is waiting"):
            storage.finish_trial(rec.trial_id, COMPLETE, metrics={"loss": 1.0})
        with pytest.raises(TrialStateError):
            storage.update_trial(rec.trial_id, params={"x": 2})
        with pytest.raises(TrialStateError):
            storage.report(rec.trial_id, 0, 1.0)
        storage.heartbeat(rec.trial_id)
        assert storage.get_trial(rec.trial_id) == rec

    def test_finish_needs_a_finished_state(self, storage: Storage) -> None:
        sid = self.study(storage).study_id
        rec = storage.create_trial(sid, worker="w")
        for state in (RUNNING, WAITING):
            with pytest.raises(TrialStateError):
                storage.finish_trial(rec.trial_id, state)
        assert storage.get_trial(rec.trial_id).state == RUNNING

    @pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf"), "0.5", None])
    def test_non_finite_metric_is_refused(self, storage: Storage, bad: Any) -> None:
        sid = self.study(storage).study_id
        rec = storage.create_trial(sid, worker="w")
        with pytest.raises(StorageError, match="'loss'"):
            storage.finish_trial(rec.trial_id, COMPLETE, metrics={"acc": 1.0, "loss": bad})
        got = storage.get_trial(rec.trial_id)
        assert got.state == RUNNING and dict(got.metrics) == {}
        storage.finish_trial(rec.trial_id, COMPLETE, metrics={"loss": 1.0})

    def test_unknown_trial_id(self, storage: Storage) -> None:
        sid = self.study(storage).study_id
        tid = storage.create_trial(sid).trial_id + 1000
        calls: list[Callable[[], object]] = [
            lambda: storage.get_trial(tid),
            lambda: storage.update_trial(tid, params={"x": 1}),
            lambda: storage.finish_trial(tid, COMPLETE),
            lambda: storage.fail_stale_trial(tid, reason="r", retry=False, max_retries=0),
        ]
        for call in calls:
            with pytest.raises(StorageError, match=f"no trial with id {tid}"):
                call()

    # -- stale trials ----------------------------------------------------------------------
    def test_fail_stale_trial_without_retry(self, storage: Storage) -> None:
        sid = self.study(storage).study_id
        rec = storage.create_trial(sid, worker="w", params={"x": 1})
        storage.report(rec.trial_id, 3, 0.5)
        failed = storage.fail_stale_trial(rec.trial_id, reason="worker lost", retry=False,
                                          max_retries=5)
        assert failed is not None
        assert (failed.state, failed.error, failed.number) == (FAILED, "worker lost", 0)
        assert failed.finished_at is not None and dict(failed.intermediate) == {3: 0.5}
        assert storage.get_trial(rec.trial_id) == failed
        assert storage.count_trials(sid) == 1
        assert storage.fail_stale_trial(rec.trial_id, reason="again", retry=False,
                                        max_retries=5) is None

    def test_fail_stale_trial_retries_up_to_max(self, storage: Storage) -> None:
        sid = self.study(storage).study_id
        rec = storage.create_trial(sid, worker="w", params={"x": 0.5, "c": [1, "a"]},
                                   system_attrs={"src": "tpe"})
        numbers = [rec.number]
        while True:
            storage.fail_stale_trial(rec.trial_id, reason="lost", retry=True, max_retries=2)
            nxt = storage.claim_trial(sid, worker="w2")
            if nxt is None:
                break
            assert dict(nxt.params) == {"x": 0.5, "c": [1, "a"]}
            assert dict(nxt.system_attrs) == {
                "src": "tpe", "retry_of": numbers[-1], "retries": len(numbers),
            }
            numbers.append(nxt.number)
            rec = nxt
        assert numbers == [0, 1, 2]  # the original and two retries
        trials = storage.get_trials(sid)
        assert [t.state for t in trials] == [FAILED, FAILED, FAILED]
        assert all(t.seed == derive_seed(7, t.number) for t in trials)
        one = storage.create_trial(sid, worker="w")
        storage.fail_stale_trial(one.trial_id, reason="lost", retry=True, max_retries=0)
        assert storage.count_trials(sid, [WAITING]) == 0

    # -- reading trials --------------------------------------------------------------------
    def test_get_trial_by_number(self, storage: Storage) -> None:
        sid = self.study(storage).study_id
        other = self.study(storage, "other").study_id
        storage.create_trial(other)
        with pytest.raises(StorageError, match="no trial number 0"):
            storage.get_trial_by_number(sid, 0)
        recs = [storage.create_trial(sid) for _ in range(3)]
        assert storage.get_trial_by_number(sid, 1) == recs[1]
        for bad in (3, -1):
            with pytest.raises(StorageError, match=r"numbers 0\.\.2"):
                storage.get_trial_by_number(sid, bad)

    def test_get_trials_filters_and_order(self, storage: Storage) -> None:
        sid = self.study(storage).study_id
        other = self.study(storage, "other").study_id
        a = self.finished(storage, sid, loss=1.0)
        b = storage.create_trial(sid, worker="w")
        storage.create_trial(other)
        storage.enqueue_trials(sid, [{"x": 1}])
        c = self.finished(storage, sid, PRUNED, loss=2.0)
        all_ = storage.get_trials(sid)
        assert [t.number for t in all_] == [0, 1, 2, 3]
        assert all(t.study_id == sid for t in all_)
        assert all_[0] == a and all_[3] == c
        assert [t.number for t in storage.get_trials(sid, states=[COMPLETE, PRUNED])] == [0, 3]
        assert storage.get_trials(sid, states=[]) == []
        assert storage.get_trials(sid, states=iter([RUNNING])) == [storage.get_trial(b.trial_id)]
        assert [t.number for t in storage.get_trials(sid, min_trial_id=b.trial_id)] == [1, 2, 3]
        newest = storage.get_trials(sid, min_trial_id=b.trial_id, states=[PRUNED, COMPLETE])
        assert newest == [c]
        assert storage.get_trials(sid, min_trial_id=c.trial_id + 1) == []
        assert storage.get_trials(self.study(storage, "empty").study_id) == []

    def test_trials_since_reads_what_changed_and_the_frontier(self, storage: Storage) -> None:
        sid = self.study(storage).study_id
        empty = storage.trials_since(sid, None)
        assert empty.trials == [] and empty.frontier is None
        a = self.finished(storage, sid, loss=1.0)
        first = storage.trials_since(sid, None)
        assert first.trials == [storage.get_trial(a.trial_id)]
        assert first.frontier is not None and first.frontier > a.trial_id  # all finished
        storage.enqueue_trials(sid, [{"x": 1}])  # waiting: below the frontier, not read
        b = storage.create_trial(sid, worker="w")
        read = storage.trials_since(sid, first.frontier)
        assert [t.number for t in read.trials] == [2]  # the running one; the waiting one is not
        waiting = storage.get_trials(sid, states=[WAITING])[0]
        assert read.frontier == waiting.trial_id  # the lowest waiting or running trial
        claimed = storage.claim_trial(sid, worker="w")
        assert claimed is not None and claimed.trial_id == waiting.trial_id
        storage.finish_trial(claimed.trial_id, COMPLETE, metrics={"loss": 0.5})
        again = storage.trials_since(sid, read.frontier)
        assert [(t.number, t.state) for t in again.trials] == [(1, COMPLETE), (2, RUNNING)]
        assert again.frontier == b.trial_id
        storage.finish_trial(b.trial_id, FAILED)
        last = storage.trials_since(sid, again.frontier)
        assert [t.number for t in last.trials] == [2]
        assert last.frontier is not None and last.frontier > b.trial_id  # none unfinished

    def test_last_trials_are_the_tail_by_number(self, storage: Storage) -> None:
        sid = self.study(storage).study_id
        other = self.study(storage, "other").study_id  # another study's trials interleave
        assert storage.last_trials(sid, 3) == []
        for i in range(7):
            self.finished(storage, sid, FAILED if i % 3 == 0 else COMPLETE, loss=float(i))
            self.finished(storage, other, loss=float(i))
        storage.create_trial(sid, worker="w")
        every = storage.get_trials(sid)
        for n in (1, 3, 8, 20):
            assert storage.last_trials(sid, n) == every[-n:]
        complete = storage.get_trials(sid, states=[COMPLETE])
        assert storage.last_trials(sid, 2, states=[COMPLETE]) == complete[-2:]
        assert [t.number for t in storage.last_trials(sid, 2, states=[FAILED, RUNNING])] == [6, 7]
        for bad in (0, -1, 2.5, True):
            with pytest.raises(ValueError, match="n must be an int >= 1"):
                storage.last_trials(sid, bad)  # type: ignore[arg-type]

    def test_count_trials(self, storage: Storage) -> None:
        sid = self.study(storage).study_id
        assert storage.count_trials(sid) == 0
        self.finished(storage, sid, loss=1.0)
        self.finished(storage, sid, FAILED)
        storage.create_trial(sid)
        storage.enqueue_trials(sid, [{}, {}])
        assert storage.count_trials(sid) == 5
        assert storage.count_trials(sid, [WAITING]) == 2
        assert storage.count_trials(sid, [COMPLETE, FAILED]) == 2
        assert storage.count_trials(sid, []) == 0

    def test_best_trial(self, storage: Storage) -> None:
        sid = self.study(storage, metrics={"loss": "minimize", "acc": "maximize"}).study_id
        assert storage.best_trial(sid, "loss", "minimize") is None
        self.finished(storage, sid, loss=0.5, acc=0.9)
        tie_low = self.finished(storage, sid, loss=0.25, acc=0.5)
        self.finished(storage, sid, loss=0.25, acc=0.95)
        top_acc = self.finished(storage, sid, loss=0.75, acc=0.99)
        self.finished(storage, sid, loss=0.75, acc=0.99)
        self.finished(storage, sid, PRUNED, loss=0.0, acc=1.0)  # not complete: never best
        self.finished(storage, sid, FAILED, loss=-1.0, acc=2.0)
        storage.create_trial(sid, worker="still running")
        self.finished(storage, sid)  # complete without metrics
        best = storage.best_trial(sid, "loss", "minimize")
        assert best is not None and best.trial_id == tie_low.trial_id  # ties: lower number
        assert best == storage.get_trial(tie_low.trial_id)
        best = storage.best_trial(sid, "acc", "maximize")
        assert best is not None and best.trial_id == top_acc.trial_id
        assert storage.best_trial(sid, "nothing", "minimize") is None
        only_pruned = self.study(storage, "pruned").study_id
        self.finished(storage, only_pruned, PRUNED, loss=1.0)
        assert storage.best_trial(only_pruned, "loss", "minimize") is None
        with pytest.raises(StorageError, match="maximise"):
            storage.best_trial(sid, "loss", "maximise")

    def test_best_trial_with_negative_and_large_values(self, storage: Storage) -> None:
        sid = self.study(storage).study_id
        values = [3.0, -1e300, 1e300, -0.5, 2.5e-310, -1e300]
        recs = [self.finished(storage, sid, loss=v) for v in values]
        best = storage.best_trial(sid, "loss", "minimize")
        assert best is not None and best.trial_id == recs[1].trial_id
        best = storage.best_trial(sid, "loss", "maximize")
        assert best is not None and best.trial_id == recs[2].trial_id

    # -- values ----------------------------------------------------------------------------
    def test_params_of_every_kind_round_trip(self, storage: Storage) -> None:
        sid = self.study(storage).study_id
        params: dict[str, Any] = {
            "lr": 0.1, "tiny": 5e-324, "huge": 1.7976931348623157e308, "neg_zero": -0.0,
            "third": 1 / 3, "int": 3, "big_int": 2**62 + 1, "neg": -7, "text": "relu",
            "unicode": "größe \u2713", "empty": "", "yes": True, "no": False, "none": None,
            "list": [1, 2.5, "a", None, [True]], "dict": {"k": [1, {"n": None}]},
            "nested_empty": {"a": [], "b": {}},
        }
        system = {"grid": [0.1, 0.2], "source": None}
        environment = {"python": "3.11", "nums": [1.5e-8]}
        rec = storage.create_trial(sid, worker="w", params=params, system_attrs=system,
                                   environment=environment)
        for got in (rec, storage.get_trial(rec.trial_id), storage.get_trials(sid)[0]):
            assert dict(got.params) == params
            assert list(got.params) == list(params)  # the order too
            assert math.copysign(1.0, got.params["neg_zero"]) == -1.0
            assert type(got.params["int"]) is int and type(got.params["yes"]) is bool
            assert type(got.params["lr"]) is float
            assert dict(got.system_attrs) == system and dict(got.environment) == environment
        storage.enqueue_trials(sid, [params, {"t": (1, 2)}])
        waiting = storage.get_trials(sid, states=[WAITING])
        assert dict(waiting[0].params) == params
        assert dict(waiting[1].params) == {"t": [1, 2]}  # a tuple comes back as a JSON list

    def test_floats_round_trip_exactly(self, storage: Storage) -> None:
        sid = self.study(storage).study_id
        rng = np.random.default_rng(0)
        bits = rng.integers(0, 2**63, size=200, dtype=np.uint64)
        randoms = [float(x) for x in bits.view(np.float64) if np.isfinite(x)]
        randoms += [float(x) for x in rng.standard_normal(50) * 10.0 ** rng.integers(-30, 30, 50)]
        values = TRICKY_FLOATS + randoms
        rec = storage.create_trial(sid, worker="w", params={"v": values})
        metrics = {f"m{i}": v for i, v in enumerate(values)}
        for step, v in enumerate(values):
            storage.report(rec.trial_id, step, v)
        storage.update_trial(rec.trial_id, user_attrs={"v": values})
        storage.finish_trial(rec.trial_id, COMPLETE, metrics=metrics, wall_seconds=values[0],
                             cpu_seconds=values[2])
        for got in (storage.get_trial(rec.trial_id), storage.get_trials(sid)[0]):
            assert _same_floats(values, got.params["v"])
            assert _same_floats(values, got.user_attrs["v"])
            assert _same_floats(values, [got.metrics[f"m{i}"] for i in range(len(values))])
            assert _same_floats(values, [got.intermediate[i] for i in range(len(values))])
            assert (got.wall_seconds, got.cpu_seconds) == (values[0], values[2])
        best = storage.best_trial(sid, "m5", "minimize")
        assert best is not None and _same_floats([values[5]], [best.metrics["m5"]])
        tricky = self.study(storage, "tricky")
        self.finished(storage, tricky.study_id, loss=1 / 3)
        self.finished(storage, tricky.study_id, loss=0.1 + 0.2)
        summary = storage.list_studies()[-1]
        assert summary.best_value is not None and _same_floats([0.1 + 0.2], [summary.best_value])

    def test_pruned_trial_keeps_its_curve(self, storage: Storage) -> None:
        sid = self.study(storage).study_id
        rec = storage.create_trial(sid, worker="w")
        for step in range(4):
            storage.report(rec.trial_id, step, 1.0 / (step + 1))
        done = storage.finish_trial(rec.trial_id, PRUNED)
        assert done.state == PRUNED and done.last_step == 3
        assert dict(storage.get_trial(rec.trial_id).intermediate) == {
            0: 1.0, 1: 0.5, 2: 1 / 3, 3: 0.25,
        }

    # -- concurrency -----------------------------------------------------------------------
    def test_threads_claim_each_trial_once(self, storage: Storage) -> None:
        sid = self.study(storage).study_id
        storage.enqueue_trials(sid, [{"i": i} for i in range(50)])
        claimed: list[int] = []
        created: list[int] = []
        errors: list[str] = []
        lock = threading.Lock()
        start = threading.Barrier(6)

        def work(name: str) -> None:
            try:
                start.wait(timeout=30)
                mine, made = _claim_and_create(storage, sid, name, n_create=5)
                with lock:
                    claimed.extend(mine)
                    created.extend(made)
            except BaseException:
                errors.append(traceback.format_exc())

        threads = [threading.Thread(target=work, args=(f"t{i}",)) for i in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert not errors, errors[0]
        _check_claims(storage, sid, claimed, created, n_enqueued=50, n_created=30)

    def test_processes_claim_each_trial_once(self, storage: Storage) -> None:
        if storage.url is None:
            pytest.skip("the data of this storage lives in this process only")
        sid = self.study(storage).study_id
        storage.enqueue_trials(sid, [{"i": i} for i in range(50)])
        n_procs, n_create = 4, 8
        ctx = multiprocessing.get_context("spawn")
        barrier = ctx.Barrier(n_procs)
        results: Any = ctx.Queue()
        procs = [
            ctx.Process(target=_process_worker,
                        args=(storage.url, sid, f"p{i}", n_create, barrier, results))
            for i in range(n_procs)
        ]
        for p in procs:
            p.start()
        claimed: list[int] = []
        created: list[int] = []
        try:
            for _ in procs:
                try:
                    outcome = results.get(timeout=240)
                except queue.Empty:
                    pytest.fail("a worker process gave no answer within 240 s")
                assert outcome[0] == "ok", f"a worker process failed:\n{outcome[1]}"
                claimed.extend(outcome[1])
                created.extend(outcome[2])
        finally:
            for p in procs:
                p.join(timeout=30)
                if p.is_alive():
                    p.terminate()
        assert all(p.exitcode == 0 for p in procs)
        _check_claims(storage, sid, claimed, created, n_enqueued=50,
                      n_created=n_procs * n_create)

    def test_url_reopens_the_same_data(self, storage: Storage) -> None:
        if storage.url is None:
            pytest.skip("the data of this storage lives in this process only")
        sid = self.study(storage).study_id
        storage.register_params(sid, {"x": {"type": "float", "low": 0.0, "high": 1.0}})
        done = self.finished(storage, sid, loss=0.5)
        other = open_storage(storage.url)
        try:
            assert other.get_study("study") == storage.get_study("study")
            assert other.get_space(sid) == storage.get_space(sid)
            assert other.get_trials(sid) == [done]
            more = other.create_trial(sid)
            assert storage.get_trial(more.trial_id) == more
        finally:
            other.close()


def _claim_and_create(storage: Storage, study_id: int, worker: str,
                      n_create: int) -> tuple[list[int], list[int]]:
    """Claim and finish waiting trials while creating ``n_create`` new ones, interleaved."""
    claimed: list[int] = []
    created: list[int] = []
    while True:
        if len(created) < n_create:
            rec = storage.create_trial(study_id, worker=worker)
            created.append(rec.number)
            storage.report(rec.trial_id, 0, 1.0)
            storage.finish_trial(rec.trial_id, COMPLETE, metrics={"loss": float(rec.number)})
        got = storage.claim_trial(study_id, worker=worker)
        if got is None:
            if len(created) >= n_create:
                return claimed, created
            continue
        claimed.append(got.number)
        time.sleep(0.002)  # the objective runs: another worker gets the lock meanwhile
        storage.heartbeat(got.trial_id)
        storage.finish_trial(got.trial_id, COMPLETE, metrics={"loss": float(got.number)},
                             user_attrs={"by": worker})


def _process_worker(url: str, study_id: int, worker: str, n_create: int, barrier: Any,
                    results: Any) -> None:
    """A spawned process: reopen the storage from its URL, then claim and create."""
    try:
        storage = open_storage(url)
        barrier.wait(timeout=120)
        claimed, created = _claim_and_create(storage, study_id, worker, n_create)
        storage.close()
        results.put(("ok", claimed, created))
    except BaseException:
        results.put(("error", traceback.format_exc()))


def _check_claims(storage: Storage, study_id: int, claimed: list[int], created: list[int],
                  *, n_enqueued: int, n_created: int) -> None:
    twice = [n for n, c in Counter(claimed).items() if c > 1]
    assert not twice, f"trials claimed more than once: {twice}"
    assert sorted(claimed) == list(range(n_enqueued))  # the enqueued trials came first
    assert len(created) == len(set(created)) == n_created
    trials = storage.get_trials(study_id)
    assert [t.number for t in trials] == list(range(n_enqueued + n_created))
    assert all(t.state == COMPLETE for t in trials)
    assert all(t.metrics["loss"] == float(t.number) for t in trials)
    assert all(t.seed == derive_seed(7, t.number) for t in trials)
