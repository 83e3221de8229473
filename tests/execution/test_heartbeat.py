"""The process's heartbeat thread: first flush soon after the start, then every interval; no flush
after a trial is unwatched; one thread for every trial; a forked child gets its own.

Bounded by progress, not by the clock: each test waits for the flushes it expects (a long
limit only turns a hang into a failure) and checks orders and lower bounds, which load cannot
break; "soon" is shown by an interval so long that only the first delay can explain a flush.
"""

from __future__ import annotations

import itertools
import multiprocessing as mp
import threading
import time
from collections.abc import Callable

from dialed.execution._heartbeat import HeartbeatService, heartbeats

#: Seconds before a wait gives up (a hang); every wait here ends in well under a second idle.
LIMIT = 120.0
#: An interval no test reaches: a flush within LIMIT came from the first delay.
NEVER = 3600.0


class Beats:
    def __init__(self, slow: float = 0.0) -> None:
        self.times: list[float] = []
        self.slow = slow
        self.inside = threading.Event()

    def flush(self) -> None:
        self.inside.set()
        time.sleep(self.slow)
        self.times.append(time.monotonic())


def _wait(done: Callable[[], bool]) -> None:
    limit = time.monotonic() + LIMIT
    while not done():
        assert time.monotonic() < limit, "gave up waiting"
        time.sleep(0.01)


def test_first_flush_after_the_first_delay_not_the_interval() -> None:
    service = HeartbeatService()
    trial = Beats()
    start = time.monotonic()
    service.watch(trial, interval=NEVER, first=0.05)
    _wait(lambda: len(trial.times) >= 1)
    service.unwatch(trial)
    assert trial.times[0] - start >= 0.04
    assert len(trial.times) == 1


def test_then_every_interval_never_sooner() -> None:
    service = HeartbeatService()
    trial = Beats()
    service.watch(trial, interval=0.2, first=0.01)
    _wait(lambda: len(trial.times) >= 4)
    service.unwatch(trial)
    assert all(b - a >= 0.19 for a, b in itertools.pairwise(trial.times)), trial.times


def test_no_flush_after_unwatch_returns() -> None:
    service = HeartbeatService()
    trial = Beats(slow=0.3)
    service.watch(trial, interval=0.05, first=0.0)
    assert trial.inside.wait(LIMIT)
    service.unwatch(trial)  # waits for the flush under way
    done = len(trial.times)
    assert done >= 1
    time.sleep(0.3)  # would the thread flush again, it would have by now
    assert len(trial.times) == done


def test_an_earlier_trial_is_not_delayed_by_a_later_one() -> None:
    service = HeartbeatService()
    late, early = Beats(), Beats()
    service.watch(late, interval=NEVER, first=NEVER)  # the thread now sleeps for an hour
    service.watch(early, interval=NEVER, first=0.1)  # ... and is woken for this one
    _wait(lambda: len(early.times) == 1)
    service.unwatch(early)
    service.unwatch(late)
    assert late.times == []


def test_one_thread_serves_every_trial() -> None:
    service = heartbeats()
    trials = [Beats() for _ in range(20)]
    before = threading.active_count()
    for t in trials:
        service.watch(t, interval=0.05, first=0.01)
    _wait(lambda: all(len(t.times) >= 2 for t in trials))
    assert threading.active_count() <= before + 1
    for t in trials:
        service.unwatch(t)


def _child(out: mp.Queue[int]) -> None:
    trial = Beats()
    heartbeats().watch(trial, interval=0.05, first=0.01)
    limit = time.monotonic() + LIMIT
    while len(trial.times) < 2 and time.monotonic() < limit:
        time.sleep(0.01)
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
        beats = out.get(timeout=LIMIT)
        proc.join(timeout=LIMIT)
    finally:
        heartbeats().unwatch(parent)
    assert proc.exitcode == 0
    assert beats >= 2
