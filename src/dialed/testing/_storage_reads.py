"""The storage contract's reads, stored values and concurrency (part of
:class:`~dialed.testing.storage.StorageSuite`)."""

from __future__ import annotations

import math
import multiprocessing
import queue
import threading
import time
import traceback
from collections import Counter
from typing import Any

import numpy as np
import pytest

from dialed._util import derive_seed
from dialed.errors import (
    StorageError,
)
from dialed.storage import Storage, open_storage
from dialed.testing._storage_base import (
    COMPLETE,
    FAILED,
    PRUNED,
    RUNNING,
    TRICKY_FLOATS,
    WAITING,
    _same_floats,
    _SuiteBase,
)


class _ReadTests(_SuiteBase):
    """The storage contract's reads, stored values and concurrency."""

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
