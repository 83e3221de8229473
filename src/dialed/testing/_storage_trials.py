"""The storage contract's trials: created, claimed, run, finished, failed when stale
(part of :class:`~dialed.testing.storage.StorageSuite`)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import pytest

from dialed._util import derive_seed
from dialed.errors import (
    StorageError,
    TrialStateError,
)
from dialed.storage import Storage
from dialed.testing._storage_base import (
    COMPLETE,
    FAILED,
    PRUNED,
    RUNNING,
    WAITING,
    _SuiteBase,
)


class _TrialTests(_SuiteBase):
    """The storage contract's trials: created, claimed, run, finished, failed when stale."""

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
