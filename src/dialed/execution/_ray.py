"""Trials as Ray tasks, for users who already run a Ray cluster.

One task runs one trial through the ordinary engine path (:func:`~dialed.execution.run_one`):
claim a waiting trial or create one, heartbeat while the objective runs, store the outcome in
one transaction. Every task reopens the study's storage from its URL (once per Ray worker
process, which also keeps its history cache between tasks), so the storage stays the only
source of truth and recovery works as for any worker: a task whose process died leaves its
trial running, and :func:`~dialed.execution.fail_stale_trials` fails it (at once on this host,
after the grace period elsewhere) and re-queues it when the study allows retries.

The driver (the process that called ``optimize``) keeps at most ``n_jobs`` tasks in flight,
counts the trial budget and the deadline, and runs callbacks as each task's record comes back.
The objective travels by value when it is the user's own code (a module beside the study file,
a test module, a script), so Ray workers need not import it from the same path; installed
packages travel by name as usual. Ray is imported here only, when a study runs with
``executor="ray"`` (``pip install -e '.[ray]'``).
"""

from __future__ import annotations

import dataclasses
import os
import pickle
import sys
import sysconfig
import time
import uuid
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from dialed._util import install_hint
from dialed.errors import ConfigError, DialedError, SearchExhausted
from dialed.execution._context import StudyContext
from dialed.execution._loop import Callback, Objective, run_one
from dialed.execution._recovery import fail_stale_trials
from dialed.execution._runner import enqueue_sampler_queue
from dialed.history import HistoryLog
from dialed.storage import Storage, open_storage
from dialed.trial import TrialRecord

__all__ = ["ray_task_options", "run_ray"]

#: What a trial may ask Ray for, as in ``ray.remote(...).options(...)``.
_RESOURCE_KEYS = ("num_cpus", "num_gpus", "memory", "resources", "accelerator_type")
#: Tasks in a row whose worker died before the study gives up (a crash loop, not bad luck).
_MAX_LOST_IN_A_ROW = 10
#: How often the driver looks for trials whose worker died without Ray noticing.
_SWEEP_EVERY_S = 30.0
#: After Ray reports a task's worker lost, how long the driver keeps looking for its trial.
_LOSS_SWEEP_S = 5.0


def ray_task_options(resources_per_trial: Mapping[str, Any] | None) -> dict[str, Any]:
    """The ``.options()`` of each trial's task, checked; default one CPU and no GPU."""
    if resources_per_trial is None:
        return {"num_cpus": 1}
    if not isinstance(resources_per_trial, Mapping):
        raise ConfigError(
            "resources_per_trial must be a mapping such as {'num_cpus': 1, 'num_gpus': 0}, "
            f"got {resources_per_trial!r}"
        )
    options: dict[str, Any] = {}
    for key, value in resources_per_trial.items():
        if key not in _RESOURCE_KEYS:
            raise ConfigError(
                f"resources_per_trial: unknown key {key!r}; valid keys are "
                f"{', '.join(_RESOURCE_KEYS)}"
            )
        if key == "resources":
            if not isinstance(value, Mapping) or not all(
                isinstance(k, str) and _amount(v) for k, v in value.items()
            ):
                raise ConfigError(
                    "resources_per_trial: resources must map custom resource names to "
                    f"amounts >= 0, such as {{'TPU': 1}}, got {value!r}"
                )
            options[key] = dict(value)
        elif key == "accelerator_type":
            if not isinstance(value, str) or not value:
                raise ConfigError(
                    f"resources_per_trial: accelerator_type must be a name such as 'A100', "
                    f"got {value!r}"
                )
            options[key] = value
        else:
            if not _amount(value):
                raise ConfigError(
                    f"resources_per_trial: {key} must be a number >= 0, got {value!r}"
                )
            options[key] = value
    return options


def _amount(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0


def _import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ConfigError(
            f"executor='ray' needs Ray: {install_hint('ray')} (or run with the default "
            "executor, worker processes on this machine)"
        ) from None
    return ray


def _installed_roots() -> tuple[str, ...]:
    """Where installed packages and the standard library live (never shipped by value)."""
    paths = sysconfig.get_paths()
    roots = {paths.get(k) for k in ("stdlib", "platstdlib", "purelib", "platlib")}
    roots.update(p for p in sys.path if p.endswith(("site-packages", "dist-packages")))
    return tuple(os.path.realpath(r) + os.sep for r in roots if r)


def _user_modules(objective: Any) -> list[str]:
    """Modules of the objective (and of callables it wraps) that are the user's own files."""
    candidates = [objective, type(objective)]
    candidates += [v for v in getattr(objective, "__dict__", {}).values() if callable(v)]
    roots = _installed_roots()
    found: list[str] = []
    for obj in candidates:
        name = getattr(obj, "__module__", None)
        if not isinstance(name, str) or name == "__main__" or name in found:
            continue
        path = getattr(sys.modules.get(name), "__file__", None)
        if not isinstance(path, str):
            continue
        if name.split(".")[0] in ("dialed", "builtins") or os.path.realpath(path).startswith(roots):
            continue
        found.append(name)
    return found


@contextmanager
def _shipped_by_value(ray: Any, objective: Any) -> Iterator[None]:
    """Pickle the objective's own modules by value while the run's objects are put."""
    registered = []
    for name in _user_modules(objective):
        try:
            ray.cloudpickle.register_pickle_by_value(sys.modules[name])
        except (ValueError, TypeError):  # a namespace package, say: stays by reference
            continue
        registered.append(name)
    try:
        yield
    finally:
        for name in registered:
            ray.cloudpickle.unregister_pickle_by_value(sys.modules[name])


def _connect(ray: Any, address: str | None) -> bool:
    """Connect to the cluster at ``address`` (a local runtime when None); True if started here."""
    if ray.is_initialized():
        return False
    try:
        ray.init(address=address, include_dashboard=False, logging_level="WARNING")
    except (ConnectionError, ValueError, RuntimeError, TimeoutError) as exc:
        where = "a local Ray runtime" if address is None else f"the Ray cluster at {address!r}"
        text = " ".join(str(exc).split()) or type(exc).__name__
        raise ConfigError(f"cannot connect to {where}: {text}") from None
    return True


# -- inside a Ray worker process ----------------------------------------------------------------
#: Per Ray worker process: the runs it has served, newest last (the study's context with its
#: sampler and pruner, and the history cache), so consecutive tasks reuse both.
_RUNS: OrderedDict[str, tuple[StudyContext, HistoryLog]] = OrderedDict()
_STORAGES: dict[str, Storage] = {}
_KEEP_RUNS = 4


def _run_for(token: str, url: str, fields: Mapping[str, Any]) -> tuple[StudyContext, HistoryLog]:
    found = _RUNS.get(token)
    if found is not None:
        _RUNS.move_to_end(token)
        return found
    storage = _STORAGES.get(url)
    if storage is None:
        storage = _STORAGES[url] = open_storage(url)
    ctx = StudyContext(storage=storage, **fields)
    run = (ctx, HistoryLog(storage, ctx.study_id, ctx.metrics))
    _RUNS[token] = run
    while len(_RUNS) > _KEEP_RUNS:
        _RUNS.popitem(last=False)
    return run


def _trial_task(
    token: str,
    url: str,
    fields: Mapping[str, Any],
    objective: Objective,
    catch: tuple[type[BaseException], ...],
) -> tuple[str, Any]:
    """Run one trial; ("done", record), ("exhausted", None) or ("error", pickled exception)."""
    ctx, cache = _run_for(token, url, fields)
    try:
        record = run_one(ctx, cache, objective, catch=catch)
    except SearchExhausted:
        return ("exhausted", None)
    except BaseException as exc:  # the trial is stored as failed; the driver re-raises this
        return ("error", _pickled(exc))
    return ("done", record)


def _pickled(exc: BaseException) -> bytes:
    try:
        return pickle.dumps(exc)
    except Exception:
        return pickle.dumps(RuntimeError(f"{type(exc).__name__}: {exc}"))


# -- the driver ---------------------------------------------------------------------------------
def run_ray(
    ctx: StudyContext,
    objective: Objective,
    *,
    n_jobs: int,
    n_trials: int | None,
    deadline: float | None,
    catch: tuple[type[BaseException], ...],
    callbacks: Sequence[Callback],
    on_trial: Callback | None = None,
    address: str | None = None,
    resources_per_trial: Mapping[str, Any] | None = None,
) -> int:
    """Run trials as Ray tasks, at most ``n_jobs`` at once, until the budget is spent.

    Returns how many trials ran. An objective that raises outside ``catch`` stops new tasks;
    those in flight finish, then the exception is raised here.
    """
    url = ctx.storage.url
    if url is None:
        raise ConfigError(
            "executor='ray' needs a storage every Ray worker can open: give the study a URL "
            "(sqlite:///study.db on one machine, postgresql+psycopg://... for a cluster), "
            "not an in-memory storage"
        )
    options = ray_task_options(resources_per_trial)
    ray = _import_ray()
    started_here = _connect(ray, address)
    try:
        enqueue_sampler_queue(ctx, HistoryLog(ctx.storage, ctx.study_id, ctx.metrics))
        fields = {f.name: getattr(ctx, f.name) for f in dataclasses.fields(ctx)
                  if f.name != "storage"}
        task = ray.remote(max_retries=0)(_trial_task).options(**options)
        with _shipped_by_value(ray, objective):
            fields_ref, objective_ref = ray.put(fields), ray.put(objective)
        return _drive(ray, task, ctx, url, fields_ref, objective_ref,
                      n_jobs=n_jobs, n_trials=n_trials, deadline=deadline, catch=catch,
                      callbacks=callbacks, on_trial=on_trial)
    finally:
        if started_here:
            ray.shutdown()


def _drive(
    ray: Any,
    task: Any,
    ctx: StudyContext,
    url: str,
    fields_ref: Any,
    objective_ref: Any,
    *,
    n_jobs: int,
    n_trials: int | None,
    deadline: float | None,
    catch: tuple[type[BaseException], ...],
    callbacks: Sequence[Callback],
    on_trial: Callback | None,
) -> int:
    token = uuid.uuid4().hex
    pending: list[Any] = []
    submitted = done = lost_in_a_row = lost = 0
    exhausted = False
    error: bytes | None = None
    last_sweep = time.monotonic()
    try:
        while True:
            while (not exhausted and error is None and len(pending) < n_jobs
                   and (n_trials is None or submitted < n_trials)
                   and (deadline is None or time.monotonic() < deadline)):
                pending.append(task.remote(token, url, fields_ref, objective_ref, catch))
                submitted += 1
            if not pending:
                break
            ready, pending = ray.wait(pending, num_returns=1, timeout=1.0)
            for ref in ready:
                try:
                    kind, value = ray.get(ref)
                except _lost_errors(ray) as exc:  # the worker died: its trial is stale
                    lost_in_a_row += 1
                    lost += 1
                    sweep_after_loss(ctx)
                    if lost_in_a_row >= _MAX_LOST_IN_A_ROW:
                        raise DialedError(
                            f"study {ctx.name!r}: {lost_in_a_row} Ray tasks in a row lost their "
                            f"worker (last: {' '.join(str(exc).split())[:300]}); stopping"
                        ) from None
                    continue
                except ray.exceptions.RayError as exc:  # the task could not even start
                    raise DialedError(
                        f"study {ctx.name!r}: Ray could not run a trial task: "
                        f"{_ray_error_text(exc)}"
                    ) from None
                lost_in_a_row = 0
                if kind == "exhausted":
                    exhausted = True
                elif kind == "error":
                    error = error or value
                else:
                    done += 1
                    record: TrialRecord = value
                    for cb in callbacks:
                        cb(record)
                    if on_trial is not None:
                        on_trial(record)
            if time.monotonic() - last_sweep > _SWEEP_EVERY_S:
                fail_stale_trials(ctx)
                last_sweep = time.monotonic()
    except BaseException:
        for ref in pending:  # Ctrl-C or a failing callback: stop the trials still running
            ray.cancel(ref, force=True)
        if pending:
            ray.wait(pending, num_returns=len(pending), timeout=10.0)
        fail_stale_trials(ctx)
        raise
    if lost:
        fail_stale_trials(ctx)
    if error is not None:
        raise pickle.loads(error)
    return done


def sweep_after_loss(ctx: StudyContext, wait: float = _LOSS_SWEEP_S) -> list[TrialRecord]:
    """Fail the trial of a task whose worker Ray reports lost.

    Ray can report the loss (the worker's socket closed) while the killed process is still
    exiting, when its pid still looks alive: sweep until a trial is failed or ``wait`` seconds
    pass. (A worker on another machine is failed after the study's grace period instead.)
    """
    end = time.monotonic() + wait
    while True:
        failed = fail_stale_trials(ctx)
        if failed or time.monotonic() >= end:
            return failed
        time.sleep(0.1)


def _lost_errors(ray: Any) -> tuple[type[BaseException], ...]:
    """Ray's errors for a task whose worker, node or result went away (not the task's fault)."""
    names = ("WorkerCrashedError", "NodeDiedError", "OutOfMemoryError", "LocalRayletDiedError",
             "ObjectLostError", "TaskCancelledError")
    return tuple(getattr(ray.exceptions, n) for n in names if hasattr(ray.exceptions, n))


def _ray_error_text(exc: BaseException) -> str:
    """The root cause of a Ray error in one line (its last line names the exception)."""
    cause = getattr(exc, "cause", None)
    if isinstance(cause, BaseException):
        return f"{type(cause).__name__}: {' '.join(str(cause).split())}"[:500]
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    return (lines[-1] if lines else type(exc).__name__)[:500]
