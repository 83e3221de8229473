"""Limits shared by the worker processes of one machine: concurrent calls per endpoint, and
the budget (dollars and calls) of a study.

Both live in files locked with ``flock``: a process that dies releases its locks, and every
thread and process that opens the same file competes for the same lock.

* :class:`EndpointSlots`: at most ``limit`` calls in flight to one endpoint. Slot ``i`` is the
  lock of file ``<folder>/<endpoint hash>.<i>.lock``; a call holds one slot while it runs.
* :class:`BudgetLedger`: the calls and dollars spent, in a JSON file. A call is *reserved*
  before it is sent (one call, and its worst case in dollars: the prompt's tokens and
  ``max_tokens`` at the prices), then *settled* at its real cost; a reservation the cap cannot
  hold raises :class:`BudgetSpent`, which ends the study's loop cleanly (the running trial is
  failed with the reason, and no new trial starts), so the cap is never passed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from dialed.errors import ConfigError, SearchExhausted

try:  # POSIX; elsewhere the limits hold within one process only
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["Budget", "BudgetLedger", "BudgetSpent", "EndpointSlots"]

_POLL_S = 0.005
_LOCAL = threading.Lock()


class BudgetSpent(SearchExhausted):
    """The study's budget (dollars or calls) cannot pay for the next call: the study stops."""


def _try_lock(fh: IO[Any]) -> bool:
    if fcntl is None:  # pragma: no cover
        return True
    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[IO[Any]]:
    """An exclusive lock on ``path`` (blocking), the file open for reading and writing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+", encoding="utf-8") as fh:
        if fcntl is not None:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        else:  # pragma: no cover
            _LOCAL.acquire()
        try:
            yield fh
        finally:
            if fcntl is not None:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
            else:  # pragma: no cover
                _LOCAL.release()


class EndpointSlots:
    """A counting semaphore over files: at most ``limit`` holders across processes."""

    def __init__(self, folder: str | Path, endpoint: str, limit: int) -> None:
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise ConfigError(f"concurrency must be a whole number >= 1, got {limit!r}")
        self.folder = Path(folder)
        self.limit = limit
        self._stem = hashlib.sha256(endpoint.rstrip("/").encode()).hexdigest()[:16]

    @contextlib.contextmanager
    def hold(self) -> Iterator[int]:
        """Wait for a free slot and hold it; yields the slot's number."""
        self.folder.mkdir(parents=True, exist_ok=True)
        while True:
            for i in range(self.limit):
                fh = open(self.folder / f"{self._stem}.{i}.lock", "a+", encoding="utf-8")  # noqa: SIM115
                if _try_lock(fh):
                    try:
                        yield i
                    finally:
                        fh.close()  # closing the file releases its lock
                    return
                fh.close()
            time.sleep(_POLL_S)


@dataclass(frozen=True)
class Budget:
    """A cap on what a study spends: ``dollars`` and / or ``calls`` (paid calls: cached
    answers are free), counted in the ``ledger`` file shared by its worker processes."""

    dollars: float | None = None
    calls: int | None = None

    def __post_init__(self) -> None:
        if self.dollars is not None and (isinstance(self.dollars, bool)
                                         or not isinstance(self.dollars, (int, float))
                                         or not self.dollars > 0):
            raise ConfigError(f"budget dollars must be a number > 0, got {self.dollars!r}")
        if self.calls is not None and (isinstance(self.calls, bool)
                                       or not isinstance(self.calls, int) or self.calls < 1):
            raise ConfigError(f"budget calls must be a whole number >= 1, got {self.calls!r}")
        if self.dollars is None and self.calls is None:
            raise ConfigError("a budget needs dollars and / or calls, such as "
                              "{dollars: 0.5, calls: 2000}")


class BudgetLedger:
    """What has been spent against a :class:`Budget`, in a JSON file."""

    def __init__(self, path: str | Path, budget: Budget) -> None:
        self.path = Path(path)
        self.budget = budget

    def spent(self) -> tuple[int, float]:
        """``(calls, dollars)`` spent so far."""
        with _locked(self.path) as fh:
            data = _read(fh)
        return int(data["calls"]), float(data["dollars"])

    def reserve(self, dollars: float) -> None:
        """Count one call and ``dollars`` (its worst case); BudgetSpent when the cap is short."""
        with _locked(self.path) as fh:
            data = _read(fh)
            calls, spent = int(data["calls"]), float(data["dollars"])
            cap_calls, cap_dollars = self.budget.calls, self.budget.dollars
            if cap_calls is not None and calls + 1 > cap_calls:
                raise BudgetSpent(f"budget spent: {calls} of {cap_calls} calls (${spent:.4f}); "
                                  "raise the budget's calls to go on (cached answers are free)")
            if cap_dollars is not None and spent + dollars > cap_dollars + 1e-12:
                raise BudgetSpent(f"budget spent: ${spent:.4f} of ${cap_dollars:g}, and the "
                                  f"next call may cost up to ${dollars:.4f} ({calls} calls); "
                                  "raise the budget's dollars to go on (cached answers are free)")
            _write(fh, {"calls": calls + 1, "dollars": spent + dollars})

    def settle(self, change: float) -> None:
        """Correct the dollars of a reservation by ``change`` (real cost minus worst case)."""
        if change == 0:
            return
        with _locked(self.path) as fh:
            data = _read(fh)
            _write(fh, {"calls": int(data["calls"]),
                        "dollars": max(float(data["dollars"]) + change, 0.0)})


def _read(fh: IO[Any]) -> dict[str, Any]:
    fh.seek(0)
    text = fh.read()
    try:
        data = json.loads(text) if text.strip() else {}
    except ValueError:
        data = {}
    return {"calls": int(data.get("calls", 0)), "dollars": float(data.get("dollars", 0.0))}


def _write(fh: IO[Any], data: dict[str, Any]) -> None:
    fh.seek(0)
    fh.truncate()
    fh.write(json.dumps(data))
    fh.flush()
    os.fsync(fh.fileno())
