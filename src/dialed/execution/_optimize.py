"""``Study.optimize``: validate the budget, pick the executor, show progress, sweep the dead."""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from dialed.errors import ConfigError
from dialed.execution._context import StudyContext
from dialed.execution._loop import Budget, Callback, Objective, run_loop
from dialed.execution._parallel import run_processes, run_threads
from dialed.execution._progress import ProgressBar
from dialed.execution._recovery import fail_stale_trials
from dialed.space import Space
from dialed.trial import TrialRecord, TrialState

__all__ = ["optimize"]


def optimize(
    ctx: StudyContext,
    objective: Objective,
    *,
    n_trials: int | None = None,
    timeout: float | None = None,
    n_jobs: int = 1,
    catch: Sequence[type[BaseException]] | type[BaseException] = (),
    callbacks: Sequence[Callback] = (),
    show_progress: bool = False,
    best_value: Callable[[], float | None] = lambda: None,
    executor: str = "local",
    ray_address: str | None = None,
    resources_per_trial: Mapping[str, Any] | None = None,
) -> None:
    if executor not in _EXECUTORS:
        raise ConfigError(f"executor must be one of {', '.join(_EXECUTORS)}, got {executor!r}")
    if executor != "ray" and (ray_address is not None or resources_per_trial is not None):
        raise ConfigError("ray_address and resources_per_trial are for executor='ray'")
    if not callable(objective):
        raise ConfigError(f"objective must be callable (a function of trial), got {objective!r}")
    if n_trials is not None and (isinstance(n_trials, bool) or not isinstance(n_trials, int)
                                 or n_trials < 0):
        raise ConfigError(f"n_trials must be a whole number >= 0, got {n_trials!r}")
    if timeout is not None and (not isinstance(timeout, (int, float)) or timeout <= 0):
        raise ConfigError(f"timeout must be a number of seconds > 0, got {timeout!r}")
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs == 0 or n_jobs < -1:
        raise ConfigError(f"n_jobs must be >= 1 (or -1 for one per CPU), got {n_jobs!r}")
    if n_jobs == -1:
        import os

        n_jobs = max(1, os.cpu_count() or 1)
    catch_t = (catch,) if isinstance(catch, type) else tuple(catch)
    for c in catch_t:
        if not (isinstance(c, type) and issubclass(c, BaseException)):
            raise ConfigError(f"catch must hold exception classes, got {c!r}")
    if n_trials is None and timeout is None:
        warnings.warn("optimize() with neither n_trials nor timeout runs until interrupted "
                      "(or until the sampler is exhausted)", stacklevel=3)

    ctx.pruner.check_budget(n_trials)
    if ctx.pruner.needs_checkpoints and ctx.artifacts is None:
        raise ConfigError(f"the {ctx.pruner.name} pruner needs checkpoints and study "
                          f"{ctx.name!r} has no artifact store: create it with "
                          "artifacts='<folder or fsspec URL>'")
    fail_stale_trials(ctx)
    ctx.sampler.plan(Space(ctx.storage.get_space(ctx.study_id)), ctx.metrics,
                     n_trials=n_trials, n_jobs=n_jobs)
    deadline = None if timeout is None else time.monotonic() + float(timeout)
    start_done = ctx.storage.count_trials(ctx.study_id, states=_FINISHED)
    total = n_trials
    with ProgressBar(total, ctx.name, show=show_progress) as bar:
        def poll() -> None:
            done = ctx.storage.count_trials(ctx.study_id, states=_FINISHED) - start_done
            bar.update(done, best_value())

        done_here = 0

        def on_trial(_: TrialRecord) -> None:
            nonlocal done_here
            done_here += 1
            bar.update(done_here, best_value())

        if executor == "ray":
            from dialed.execution._ray import run_ray  # Ray itself is imported there, lazily

            run_ray(ctx, objective, n_jobs=n_jobs, n_trials=n_trials, deadline=deadline,
                    catch=catch_t, callbacks=callbacks,
                    on_trial=on_trial if show_progress else None, address=ray_address,
                    resources_per_trial=resources_per_trial)
        else:
            try:
                _run_local(ctx, objective, n_jobs=n_jobs, n_trials=n_trials, deadline=deadline,
                           catch=catch_t, callbacks=callbacks,
                           on_trial=on_trial if show_progress else None,
                           poll=poll if show_progress else None)
            finally:
                ctx.running = None


def _run_local(ctx: StudyContext, objective: Objective, *, n_jobs: int,
               n_trials: int | None, deadline: float | None,
               catch: tuple[type[BaseException], ...], callbacks: Sequence[Callback],
               on_trial: Callback | None, poll: Callable[[], None] | None) -> None:
    """This process's loop, its threads, or its worker processes; ``ctx.running`` is their
    budget meanwhile (what ``Study.stop`` ends)."""
    if n_jobs == 1:
        ctx.running = budget = Budget(n_trials, deadline)
        run_loop(ctx, objective, budget, catch=catch, callbacks=callbacks, on_trial=on_trial)
    elif ctx.storage.url is None:
        warnings.warn("an in-memory study runs n_jobs > 1 as threads; give the study a "
                      "storage URL (sqlite:///dialed.db) to run worker processes",
                      stacklevel=4)
        ctx.running = budget = Budget(n_trials, deadline)
        run_threads(ctx, objective, n_jobs=n_jobs, budget=budget, catch=catch,
                    callbacks=callbacks, on_trial=on_trial)
    else:
        run_processes(ctx, objective, n_jobs=n_jobs, n_trials=n_trials, deadline=deadline,
                      catch=catch, callbacks=callbacks, poll=poll)


_FINISHED = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAILED)
#: Who runs the trials: this process (threads or worker processes for n_jobs > 1), or Ray tasks.
_EXECUTORS = ("local", "ray")
