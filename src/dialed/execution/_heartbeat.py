"""One heartbeat thread per process for every running trial in it.

A running trial's buffered parameters are flushed and its heartbeat refreshed shortly after it
starts (so a worker killed a second into a trial leaves its configuration stored, for the retry),
then every ``interval`` seconds. One long-lived daemon thread serves every trial of the process:
starting and joining a thread per trial cost milliseconds each on a busy machine (the new
thread must be scheduled and take the GIL), more than the trial's own storage writes.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from typing import Protocol

__all__ = ["FIRST_FLUSH_S", "Flushable", "HeartbeatService", "heartbeats"]

#: Seconds after its start at which a trial's suggested parameters are first written.
FIRST_FLUSH_S = 1.0


class Flushable(Protocol):
    def flush(self) -> None: ...


class HeartbeatService:
    """Calls ``flush()`` of each watched trial when due, from one daemon thread."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._due: dict[int, tuple[float, float, Flushable]] = {}  # id -> (due, interval, it)
        self._busy: int | None = None
        self._thread: threading.Thread | None = None
        self._wake_at: float | None = None  # when the thread wakes next (None: when told)

    def watch(self, trial: Flushable, interval: float, first: float | None = None) -> None:
        """Flush ``trial`` after ``first`` seconds (default ``interval``), then every interval."""
        delay = interval if first is None else min(first, interval)
        due = time.monotonic() + delay
        with self._cond:
            self._due[id(trial)] = (due, interval, trial)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._serve, name="dialed-heartbeat",
                                                daemon=True)
                self._thread.start()
            elif self._wake_at is None or due < self._wake_at:
                self._cond.notify_all()  # else it wakes in time anyway: no thread switch

    def unwatch(self, trial: Flushable) -> None:
        """Stop flushing ``trial``; returns once no flush of it is under way."""
        with self._cond:
            self._due.pop(id(trial), None)
            while self._busy == id(trial):
                self._cond.wait()

    def _serve(self) -> None:
        while True:
            with self._cond:
                while True:
                    now = time.monotonic()
                    due = [(key, entry) for key, entry in self._due.items() if entry[0] <= now]
                    if due:
                        break
                    nearest = min((entry[0] for entry in self._due.values()), default=None)
                    self._wake_at = nearest
                    self._cond.wait(None if nearest is None else nearest - now)
                self._wake_at = None
                key, (_, interval, trial) = min(due, key=lambda item: item[1][0])
                self._busy = key
            try:
                with contextlib.suppress(Exception):  # a missed beat is retried at the next
                    trial.flush()
            finally:
                with self._cond:
                    self._busy = None
                    if key in self._due:
                        self._due[key] = (time.monotonic() + interval, interval, trial)
                    self._cond.notify_all()


_service: HeartbeatService | None = None
_service_lock = threading.Lock()


def heartbeats() -> HeartbeatService:
    """This process's heartbeat service (a forked child gets its own)."""
    global _service
    with _service_lock:
        if _service is None:
            _service = HeartbeatService()
        return _service


def _after_fork_in_child() -> None:
    # the parent's thread does not exist here, and its locks may have been held at the fork
    global _service, _service_lock
    _service = None
    _service_lock = threading.Lock()


os.register_at_fork(after_in_child=_after_fork_in_child)
