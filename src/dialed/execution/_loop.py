"""The optimisation loop of one worker: start a trial, run the objective, store the outcome.

Every outcome ends the trial in one transaction (``finish``) before anything propagates, so no
trial is left running by the objective, whatever it does:

* the objective returns numbers: COMPLETE with its metrics (NaN / infinite / missing
  objective, or a value that is no float at all: FAILED with the reason);
* it raises :class:`~dialed.errors.Pruned` (or Optuna's ``TrialPruned``): PRUNED, its reported
  curve kept;
* it raises anything else, ``SystemExit`` included: FAILED with a one-line reason and the
  traceback; the exception propagates unless it is an ``Exception`` whose type is in ``catch``;
* the user interrupts (Ctrl-C): FAILED as interrupted, then ``KeyboardInterrupt`` propagates;
* recovery failed the trial while it ran (its worker was presumed dead, then woke up): the
  objective is stopped at its next report (:class:`TrialAbandoned`), nothing of its late result
  is stored, a warning names the trial, and the loop goes on with the next trial (the retry
  owns the configuration).
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

from dialed._util import now, one_line
from dialed.errors import Pruned, SearchExhausted, TrialAbandoned, TrialStateError
from dialed.execution._context import StudyContext
from dialed.execution._heartbeat import FIRST_FLUSH_S, heartbeats
from dialed.execution._recovery import fail_stale_trials
from dialed.execution._runner import TrialRunner, enqueue_sampler_queue, start_trial
from dialed.history import HistoryLog
from dialed.pruners import PAUSED
from dialed.trial import Trial, TrialRecord, TrialState

__all__ = ["Budget", "Objective", "finish", "finish_pruned", "run_loop", "run_one"]

Objective = Callable[[Trial], Any]
Callback = Callable[[TrialRecord], None]


@dataclass
class Budget:
    """When a loop stops taking new trials: a count and / or a deadline, shared if need be."""

    n_trials: int | None = None
    deadline: float | None = None  # time.monotonic() value
    _taken: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stopped: bool = False

    def stop(self) -> None:
        """Take no new trial (``Study.stop``); the running ones finish."""
        self._stopped = True

    def take(self) -> bool:
        if self._stopped:
            return False
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
    storage, trial_id = runner.ctx.storage, runner.record.trial_id
    try:
        return storage.finish_trial(
            trial_id,
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
        return _abandoned(runner)
    except Exception as exc:
        # The outcome itself cannot be stored (a metric name or a value no storage holds):
        # the trial still ends, failed, with the reason.
        try:
            return storage.finish_trial(
                trial_id, TrialState.FAILED,
                error=f"the outcome could not be stored: {one_line(exc)}",
                wall_seconds=costs.get("wall_seconds"), cpu_seconds=costs.get("cpu_seconds"),
                peak_memory_mb=costs.get("peak_memory_mb"),
            )
        except TrialStateError:
            return _abandoned(runner)


def finish_pruned(runner: TrialRunner, reason: str, *,
                  costs: dict[str, float] | None = None) -> TrialRecord:
    """End a trial the pruner (or the objective) stopped: PRUNED, its curve kept; a pause (a
    rung or a PBT round reached) marked ``paused`` for its continuation, unless the pruner
    needs checkpoints and the trial saved none (then FAILED, in one line)."""
    paused = reason.startswith(PAUSED)
    if paused and runner.trial_attrs.get("checkpoint_required") and not runner.checkpoint_saved:
        return finish(runner, TrialState.FAILED, costs=costs, error=(
            f"{runner.ctx.pruner.name} needs checkpoints: the trial ended its round without "
            "trial.save_checkpoint(...), so no other trial can continue from it"))
    return finish(runner, TrialState.PRUNED, costs=costs, system_attrs={
        "pruned_at": max(runner.intermediate) if runner.intermediate else None,
        "prune_reason": reason, **({"paused": True} if paused else {}),
    })


def _abandoned(runner: TrialRunner) -> TrialRecord:
    """Recovery failed this trial while it ran (its heartbeats did not arrive in time): the
    stored outcome stands, a retry may already be queued; warn, and store nothing more."""
    stored = runner.ctx.storage.get_trial(runner.record.trial_id)
    if not runner.warned:
        runner.warned = True
        warnings.warn(
            f"trial {stored.number} was marked {stored.state.value} by recovery while it ran "
            f"({(stored.error or '').splitlines()[0] if stored.error else 'no reason'}); "
            "its result was not stored", stacklevel=3,
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
    """The one-line reason, then the last lines of the traceback."""
    head = one_line(exc)
    try:
        lines = traceback.format_exception(type(exc), exc, exc.__traceback__)
    except BaseException:
        return head
    return head + "\n" + "".join(lines[-12:]) if len(lines) > 1 else head


def run_one(
    ctx: StudyContext,
    cache: HistoryLog,
    objective: Objective,
    *,
    catch: tuple[type[BaseException], ...] = (),
) -> TrialRecord:
    """Run one trial to its end and store the outcome (see the module's docstring)."""
    runner = start_trial(ctx, cache, heartbeat=True)
    trial = runner.make_trial()
    costs: dict[str, float] = {}
    try:
        with _heartbeat(runner, ctx.settings.heartbeat_interval), _measure() as costs:
            returned = objective(trial)
    except TrialAbandoned:
        return _abandoned(runner)
    except Pruned as exc:
        return finish_pruned(runner, _prune_reason(exc, runner), costs=costs)
    except KeyboardInterrupt:
        finish(runner, TrialState.FAILED, error="interrupted by the user (KeyboardInterrupt)",
               costs=costs)
        raise
    except SearchExhausted as exc:  # a subclass (dialed.llm's spent budget) says why
        finish(runner, TrialState.FAILED, costs=costs,
               error=str(exc) if type(exc) is not SearchExhausted and str(exc)
               else "the sampler has nothing left to propose")
        raise
    except BaseException as exc:  # SystemExit and any other BaseException end it failed too
        if _optuna_pruned(exc):
            return finish_pruned(runner, _prune_reason(exc, runner), costs=costs)
        record = finish(runner, TrialState.FAILED, error=_error_text(exc), costs=costs)
        if isinstance(exc, Exception) and isinstance(exc, catch):
            return record
        raise
    if runner.abandoned:  # the objective returned after recovery took the trial over
        return _abandoned(runner)
    try:  # a cost the study names as a metric and the objective did not return: the measure
        metrics = ctx.metrics.values_from(returned, costs=costs)
    except Exception as exc:  # ValueError; or whatever a returned object's __float__ raises
        reason = str(exc) if isinstance(exc, ValueError) else one_line(exc)
        return finish(runner, TrialState.FAILED, error=f"invalid result: {reason}", costs=costs)
    return finish(runner, TrialState.COMPLETE, metrics=metrics, costs=costs)


def _prune_reason(exc: BaseException, runner: TrialRunner) -> str:
    return one_line(exc).partition(": ")[2] or runner.prune_reason or "pruned by the objective"


def _optuna_pruned(exc: BaseException) -> bool:
    """Optuna's ``TrialPruned`` (raised by code written for Optuna, or by its integrations'
    callbacks), recognised without importing Optuna."""
    kind = type(exc)
    return (kind.__name__ == "TrialPruned"
            and kind.__module__.partition(".")[0] in ("optuna", "optuna_integration"))


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
    cache = HistoryLog(ctx.storage, ctx.study_id, ctx.metrics)
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
