"""The optimisation loop of one worker: start a trial, run the objective, store the outcome.

Outcomes, each stored in one transaction by ``finish``:

* the objective returns numbers: COMPLETE with its metrics (NaN / infinite / missing
  objective: FAILED with the reason);
* it raises :class:`~dialed.errors.Pruned`: PRUNED, its reported curve kept;
* it raises anything else: FAILED with the error text; the exception propagates unless its
  type is in ``catch``;
* the user interrupts (Ctrl-C): FAILED as interrupted, then ``KeyboardInterrupt`` propagates.
"""

from __future__ import annotations

import contextlib
import resource
import sys
import threading
import time
import traceback
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from dialed._util import now
from dialed.errors import Pruned, SearchExhausted, TrialStateError
from dialed.execution._context import StudyContext
from dialed.execution._heartbeat import FIRST_FLUSH_S, heartbeats
from dialed.execution._history import HistoryCache
from dialed.execution._recovery import fail_stale_trials
from dialed.execution._runner import TrialRunner, enqueue_sampler_queue, start_trial
from dialed.trial import Trial, TrialRecord, TrialState

__all__ = ["Budget", "Objective", "finish", "run_loop", "run_one"]

Objective = Callable[[Trial], Any]
Callback = Callable[[TrialRecord], None]


@dataclass
class Budget:
    """When a loop stops taking new trials: a count and / or a deadline, shared if need be."""

    n_trials: int | None = None
    deadline: float | None = None  # time.monotonic() value
    _taken: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self) -> bool:
        if self.deadline is not None and time.monotonic() >= self.deadline:
            return False
        with self._lock:
            if self.n_trials is not None and self._taken >= self.n_trials:
                return False
            self._taken += 1
            return True


def finish(
    runner: TrialRunner,
    state: TrialState,
    *,
    metrics: dict[str, float] | None = None,
    error: str | None = None,
    costs: dict[str, float] | None = None,
    system_attrs: dict[str, Any] | None = None,
) -> TrialRecord:
    params, attrs = runner.take_pending()
    attrs.update(system_attrs or {})
    costs = costs or {}
    try:
        return runner.ctx.storage.finish_trial(
            runner.record.trial_id,
            state,
            metrics=metrics,
            params=params,
            error=error,
            wall_seconds=costs.get("wall_seconds"),
            cpu_seconds=costs.get("cpu_seconds"),
            peak_memory_mb=costs.get("peak_memory_mb"),
            system_attrs=attrs or None,
        )
    except TrialStateError:
        # Recovery failed this trial while it ran (its heartbeats did not arrive in time):
        # the stored outcome stands, and a retry may already be queued.
        stored = runner.ctx.storage.get_trial(runner.record.trial_id)
        warnings.warn(
            f"trial {stored.number} was marked {stored.state.value} by recovery while it ran "
            f"({stored.error}); its result was not stored", stacklevel=2,
        )
        return stored


@contextlib.contextmanager
def _heartbeat(runner: TrialRunner, interval: float) -> Iterator[None]:
    """Flush buffered parameters soon after the start, then every ``interval`` seconds.

    The process's one heartbeat thread does it (no thread started per trial).
    """
    service = heartbeats()
    service.watch(runner, interval, first=FIRST_FLUSH_S)
    try:
        yield
    finally:
        service.unwatch(runner)


@contextlib.contextmanager
def _measure() -> Iterator[dict[str, float]]:
    """Wall and CPU seconds of the block and the process's peak memory after it."""
    # getrusage, not time.process_time: the latter took 50 us to 8 ms a call here (it sums
    # every thread's clock), the former ~1 us, and it gives the peak memory too
    out: dict[str, float] = {}
    wall0, before = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF)
    try:
        yield out
    finally:
        out["wall_seconds"] = time.perf_counter() - wall0
        after = resource.getrusage(resource.RUSAGE_SELF)
        out["cpu_seconds"] = max(0.0, (after.ru_utime + after.ru_stime)
                                 - (before.ru_utime + before.ru_stime))
        out["peak_memory_mb"] = after.ru_maxrss / (1024 * 1024 if sys.platform == "darwin"
                                                   else 1024)


def _error_text(exc: BaseException) -> str:
    lines = traceback.format_exception(type(exc), exc, exc.__traceback__)
    head = f"{type(exc).__name__}: {exc}"
    return head + "\n" + "".join(lines[-12:]) if len(lines) > 1 else head


def run_one(
    ctx: StudyContext,
    cache: HistoryCache,
    objective: Objective,
    *,
    catch: tuple[type[BaseException], ...] = (),
) -> TrialRecord:
    """Run one trial to its end and store the outcome."""
    runner = start_trial(ctx, cache, heartbeat=True)
    trial = runner.make_trial()
    try:
        with _heartbeat(runner, ctx.settings.heartbeat_interval), _measure() as costs:
            returned = objective(trial)
    except Pruned as exc:
        reason = str(exc) or runner.prune_reason or "pruned by the objective"
        return finish(runner, TrialState.PRUNED, costs=costs, system_attrs={
            "pruned_at": max(runner.intermediate) if runner.intermediate else None,
            "prune_reason": reason,
        })
    except KeyboardInterrupt:
        finish(runner, TrialState.FAILED, error="interrupted by the user (KeyboardInterrupt)",
               costs=costs)
        raise
    except SearchExhausted:
        finish(runner, TrialState.FAILED, error="the sampler has nothing left to propose",
               costs=costs)
        raise
    except Exception as exc:
        finish(runner, TrialState.FAILED, error=_error_text(exc), costs=costs)
        if isinstance(exc, catch):
            return runner.ctx.storage.get_trial(runner.record.trial_id)
        raise
    try:  # a cost the study names as a metric and the objective did not return: the measure
        metrics = ctx.metrics.values_from(returned, costs=costs)
    except ValueError as exc:
        return finish(runner, TrialState.FAILED, error=f"invalid result: {exc}", costs=costs)
    return finish(runner, TrialState.COMPLETE, metrics=metrics, costs=costs)


def run_loop(
    ctx: StudyContext,
    objective: Objective,
    budget: Budget,
    *,
    catch: tuple[type[BaseException], ...] = (),
    callbacks: Sequence[Callback] = (),
    on_trial: Callback | None = None,
    sweep_every: float = 30.0,
) -> int:
    """Run trials until the budget is spent or the sampler is exhausted; returns trials run."""
    cache = HistoryCache(ctx.storage, ctx.study_id, ctx.metrics)
    enqueue_sampler_queue(ctx, cache)
    done = 0
    last_sweep = now()
    decision: dict[str, Any] | None = None
    pruner_decision: dict[str, Any] | None = None
    while budget.take():
        if now() - last_sweep > sweep_every:
            fail_stale_trials(ctx)
            last_sweep = now()
        try:
            record = run_one(ctx, cache, objective, catch=catch)
        except SearchExhausted:
            break
        done += 1
        now_deciding = ctx.sampler.decision()
        if now_deciding is not None and now_deciding != decision:
            ctx.storage.set_study_attr(ctx.study_id, "sampler_decision", now_deciding)
            decision = now_deciding
        pruning = ctx.pruner.decision()
        if pruning is not None and pruning != pruner_decision:
            ctx.storage.set_study_attr(ctx.study_id, "pruner_decision", pruning)
            pruner_decision = pruning
        for cb in callbacks:
            cb(record)
        if on_trial is not None:
            on_trial(record)
    return done
