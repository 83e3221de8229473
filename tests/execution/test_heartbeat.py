"""The process's heartbeat thread: first flush soon after the start, then every interval; no flush
after a trial is unwatched; one thread for every trial; a forked child gets its own."""

from __future__ import annotations

import itertools
import multiprocessing as mp
import threading
import time

from dialed.execution._heartbeat import HeartbeatService, heartbeats


class Beats:
    def __init__(self, slow: float = 0.0) -> None:
        self.times: list[float] = []
        self.slow = slow
        self.inside = threading.Event()

    def flush(self) -> None:
        self.inside.set()
        time.sleep(self.slow)
        self.times.append(time.monotonic())


def test_first_flush_then_every_interval() -> None:
    service = HeartbeatService()
    trial = Beats()
    start = time.monotonic()
    service.watch(trial, interval=0.3, first=0.05)
    time.sleep(0.75)
    service.unwatch(trial)
    offsets = [t - start for t in trial.times]
    assert 2 <= len(offsets) <= 4, offsets
    assert 0.04 <= offsets[0] < 0.25, offsets
    assert all(b - a >= 0.25 for a, b in itertools.pairwise(offsets)), offsets


def test_no_flush_after_unwatch_returns() -> None:
    service = HeartbeatService()
    trial = Beats(slow=0.3)
    service.watch(trial, interval=0.05, first=0.0)
    assert trial.inside.wait(5)
    service.unwatch(trial)  # waits for the flush under way
    done = len(trial.times)
    assert done >= 1
    time.sleep(0.3)
    assert len(trial.times) == done


def test_an_earlier_trial_is_not_delayed_by_a_later_one() -> None:
    service = HeartbeatService()
    late, early = Beats(), Beats()
    service.watch(late, interval=10.0, first=10.0)  # the thread now sleeps for 10 s
    start = time.monotonic()
    service.watch(early, interval=10.0, first=0.1)  # ... and is woken for this one
    time.sleep(0.5)
    service.unwatch(early)
    service.unwatch(late)
    assert len(early.times) == 1 and early.times[0] - start < 0.45
    assert late.times == []


def test_one_thread_serves_every_trial() -> None:
    service = heartbeats()
    trials = [Beats() for _ in range(20)]
    before = threading.active_count()
    for t in trials:
        service.watch(t, interval=0.05, first=0.01)
    time.sleep(0.3)
    assert threading.active_count() <= before + 1
    for t in trials:
        service.unwatch(t)
    assert all(t.times for t in trials)


def _child(out: mp.Queue[int]) -> None:
    trial = Beats()
    heartbeats().watch(trial, interval=0.05, first=0.01)
    time.sleep(0.3)
    heartbeats().unwatch(trial)
    out.put(len(trial.times))


def test_a_forked_child_gets_its_own_thread() -> None:
    parent = Beats()
    heartbeats().watch(parent, interval=0.05, first=0.01)  # the parent's thread is running
    try:
        ctx = mp.get_context("fork")
        out: mp.Queue[int] = ctx.Queue()
        proc = ctx.Process(target=_child, args=(out,))
        proc.start()
        beats = out.get(timeout=30)
        proc.join(timeout=30)
    finally:
        heartbeats().unwatch(parent)
    assert proc.exitcode == 0
    assert beats >= 2
