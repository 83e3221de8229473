"""Several workers on one study: processes on a shared storage, or threads on a memory one.

Processes, not threads, run real objectives in parallel (the GIL serialises Python-heavy
training). Each process reopens the storage from its URL and runs the ordinary loop; the trial
budget and the deadline are shared through a lock-guarded counter; the storage hands every
enqueued configuration to exactly one of them. A worker killed by a signal is replaced while
budget remains, and its trial is failed at once (its process is gone). A worker dies with its
parent: Linux kills it when the parent dies (``PR_SET_PDEATHSIG``), elsewhere a thread of the
worker watches for the parent to go; its running trial is then failed by the next sweep.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import pickle
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from multiprocessing.sharedctypes import Synchronized
from typing import Any

from dialed._util import die_with_parent
from dialed.errors import ConfigError
from dialed.execution._context import StudyContext
from dialed.execution._loop import Budget, Callback, Objective, run_loop
from dialed.execution._recovery import fail_stale_trials
from dialed.storage import open_storage

__all__ = ["run_processes", "run_threads"]


class _SharedBudget(Budget):
    def __init__(self, counter: Synchronized[int], stop: Any, n_trials: int | None,
                 deadline: float | None) -> None:
        super().__init__(n_trials=n_trials, deadline=deadline)
        self._counter = counter
        self._stop = stop

    def stop(self) -> None:
        self._stop.set()  # an Event shared by every worker process: all of them stop

    def take(self) -> bool:
        if self._stop.is_set():
            return False
        if self.deadline is not None and time.monotonic() >= self.deadline:
            return False
        with self._counter.get_lock():
            if self.n_trials is not None and self._counter.value >= self.n_trials:
                return False
            self._counter.value += 1
            return True


def _worker(
    ctx: StudyContext,
    objective: Objective,
    budget: _SharedBudget,
    catch: tuple[type[BaseException], ...],
    callbacks: Sequence[Callback],
    errors: Any,
    parent: int,
) -> None:
    die_with_parent(parent)
    storage = open_storage(ctx.storage.url)
    local = replace(ctx, storage=storage)
    try:
        run_loop(local, objective, budget, catch=catch, callbacks=callbacks)
    except KeyboardInterrupt:
        pass
    except BaseException as exc:  # reported to the parent, which re-raises it
        budget._stop.set()
        try:
            errors.put(pickle.dumps(exc))
        except Exception:
            errors.put(pickle.dumps(RuntimeError(f"{type(exc).__name__}: {exc}")))
    finally:
        storage.close()


def run_processes(
    ctx: StudyContext,
    objective: Objective,
    *,
    n_jobs: int,
    n_trials: int | None,
    deadline: float | None,
    catch: tuple[type[BaseException], ...],
    callbacks: Sequence[Callback],
    poll: Callable[[], None] | None = None,
) -> None:
    """Run the loop in ``n_jobs`` processes until the shared budget is spent."""
    if ctx.storage.url is None:
        raise ConfigError("worker processes need a storage URL they can all open")
    # fork: the objective need not be picklable; where there is no fork, it must be
    method = "fork" if "fork" in mp.get_all_start_methods() else "spawn"
    mpc: Any = mp.get_context(method)
    counter = mpc.Value("q", 0)
    stop = mpc.Event()
    errors = mpc.Queue()
    budget = _SharedBudget(counter, stop, n_trials, deadline)

    def spawn() -> Any:
        p = mpc.Process(target=_worker, args=(ctx, objective, budget, catch, callbacks, errors,
                                              os.getpid()), daemon=False)
        p.start()
        return p

    ctx.running = budget  # before the fork: a worker's Study.stop() reaches every worker
    procs = [spawn() for _ in range(n_jobs)]
    try:
        while procs:
            time.sleep(0.2)
            if poll is not None:
                poll()
            alive = []
            for p in procs:
                if p.is_alive():
                    alive.append(p)
                    continue
                p.join()
                killed = p.exitcode is not None and p.exitcode < 0
                if killed and not stop.is_set():
                    fail_stale_trials(ctx)
                    if budget.n_trials is None or counter.value < budget.n_trials:
                        alive.append(spawn())
            procs = alive
    except KeyboardInterrupt:
        stop.set()
        for p in procs:
            p.join(timeout=10)
            if p.is_alive():
                p.terminate()
        fail_stale_trials(ctx)
        raise
    fail_stale_trials(ctx)
    if poll is not None:
        poll()
    if not errors.empty():
        raise pickle.loads(errors.get())


def run_threads(
    ctx: StudyContext,
    objective: Objective,
    *,
    n_jobs: int,
    budget: Budget,
    catch: tuple[type[BaseException], ...],
    callbacks: Sequence[Callback],
    on_trial: Callback | None,
) -> None:
    """Run the loop in ``n_jobs`` threads (for a storage that lives in this process)."""
    errors: list[BaseException] = []

    def work() -> None:
        try:
            run_loop(ctx, objective, budget, catch=catch, callbacks=callbacks, on_trial=on_trial)
        except BaseException as exc:
            errors.append(exc)
            budget.n_trials = 0

    threads = [threading.Thread(target=work, name=f"dialed-worker-{i}") for i in range(n_jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
