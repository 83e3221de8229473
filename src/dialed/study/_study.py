"""The study handle: ask, tell, optimize, best, trials, export; read from its storage.

The loop and the executors live in :mod:`dialed.execution`; everything a study knows is read
from its storage, so any number of handles in any number of processes see the same study.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from dialed._util import html_table, install_hint
from dialed.errors import ConfigError, NoTrialsError, StorageError
from dialed.execution import (
    Settings,
    StudyContext,
    TrialRunner,
    enqueue_sampler_queue,
    fail_stale_trials,
    finish,
    finish_pruned,
    optimize,
    start_trial,
)
from dialed.history import History, HistoryLog
from dialed.metrics import MetricSet
from dialed.pruners import PAUSED, Pruner, Resource
from dialed.samplers import Sampler
from dialed.space import Space
from dialed.storage import Storage
from dialed.study._export import export_text, flatten_trials
from dialed.trial import Trial, TrialRecord, TrialState, evolve

__all__ = ["Study"]

_USER = "user:"


class Study:
    """One study. Create it with :func:`create_study` or :func:`load_study`."""

    def __init__(self, ctx: StudyContext) -> None:
        self._ctx = ctx
        self._log = HistoryLog(ctx.storage, ctx.study_id, ctx.metrics)
        self._asked: dict[int, TrialRunner] = {}

    # -- identity --------------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self._ctx.name

    @property
    def study_name(self) -> str:
        """The study's name (Optuna's spelling of :attr:`name`)."""
        return self._ctx.name

    @property
    def study_id(self) -> int:
        return self._ctx.study_id

    @property
    def storage(self) -> Storage:
        return self._ctx.storage

    @property
    def metrics(self) -> MetricSet:
        return self._ctx.metrics

    @property
    def seed(self) -> int:
        return self._ctx.seed

    @property
    def sampler(self) -> Sampler:
        return self._ctx.sampler

    @property
    def pruner(self) -> Pruner:
        return self._ctx.pruner

    @property
    def settings(self) -> Settings:
        return self._ctx.settings

    @property
    def resource(self) -> Resource | None:
        """What a trial spends (epochs, ...) and its range, when the study declared it."""
        return self._ctx.resource

    @property
    def scale(self) -> dict[str, float]:
        """The study's size on a ladder of scales (``{"width": 64}``); empty when not given."""
        return dict(self._ctx.scale or {})

    @property
    def context(self) -> StudyContext:
        """What executors need to run this study's trials (for workflow and executor code)."""
        return self._ctx

    @property
    def space(self) -> Space:
        """Every parameter suggested (or declared) in this study so far."""
        return Space(self.storage.get_space(self.study_id))

    def history(self) -> History:
        """The study's history as its samplers see it now: every finished trial and the running
        ones, by number, with the arrays derived from them (read incrementally), over the
        study's whole space (a declared one included before any trial suggests from it)."""
        self._log.refresh_space()
        return self._log.refresh()

    @property
    def attrs(self) -> dict[str, Any]:
        """Everything recorded on the study (sampler, settings, workflow steps ...)."""
        return self.storage.get_study_attrs(self.study_id)

    @property
    def user_attrs(self) -> dict[str, Any]:
        return {k[len(_USER):]: v for k, v in self.attrs.items() if k.startswith(_USER)}

    def set_user_attr(self, key: str, value: Any) -> None:
        self.storage.set_study_attr(self.study_id, _USER + key, value)

    def __repr__(self) -> str:
        return f"Study(name={self.name!r}, metrics={self.metrics.to_dict()!r})"

    def _repr_html_(self) -> str:
        """The study in a notebook: metrics, trials by state, the best trial (or the size of
        the Pareto front), sampler and seed; read from the storage's counts and its index."""
        store, sid = self.storage, self.study_id
        counts = [(state.value, store.count_trials(sid, [state])) for state in TrialState]
        rows = [("metrics", ", ".join(f"{m.name} ({m.spec()})" for m in self.metrics.values())),
                ("trials", " · ".join(f"{n:,} {state}" for state, n in counts if n)
                 or "none yet")]
        if self.metrics.multi_objective:
            rows.append(("Pareto front", f"{len(self.best_trials):,} trials"))
        else:
            try:
                best = self.best_trial
            except NoTrialsError:
                best = None
            if best is not None:
                m = self.metrics.primary.name
                rows.append(("best", f"trial {best.number}: {m} = {best.metrics[m]:.6g}"))
                rows.append(("best params", ", ".join(f"{k}={v!r}"
                                                      for k, v in best.params.items())))
        rows += [("sampler", str(self.sampler.describe()["name"])), ("seed", str(self.seed))]
        return html_table(f"dialed study {self.name!r}", rows)

    # -- running ---------------------------------------------------------------------------
    def optimize(
        self,
        objective: Callable[[Trial], Any],
        n_trials: int | None = None,
        timeout: float | None = None,
        n_jobs: int = 1,
        catch: Sequence[type[BaseException]] | type[BaseException] = (),
        callbacks: Sequence[Callable[[Study, TrialRecord], None]] = (),
        show_progress: bool = False,
        executor: str = "local",
        ray_address: str | None = None,
        resources_per_trial: Mapping[str, Any] | None = None,
        *,
        show_progress_bar: bool | None = None,
    ) -> None:
        """Run trials of ``objective`` until ``n_trials`` have run or ``timeout`` seconds passed.

        ``n_jobs > 1`` runs that many worker processes on the study's storage. ``catch`` lists
        exception types that fail a trial without stopping the study; any other exception
        fails the trial (its text stored) and propagates. Callbacks run after each trial, in
        the process that ran it, as ``callback(study, record)``.

        ``executor="ray"`` runs each trial as a Ray task (at most ``n_jobs`` at once) on the
        cluster at ``ray_address`` (a local Ray runtime when None), each asking for
        ``resources_per_trial`` (default ``{"num_cpus": 1}``; ``num_gpus``, ``memory``,
        ``resources`` too); callbacks then run here, as each task's trial ends.
        ``show_progress_bar`` is Optuna's spelling of ``show_progress``.
        """
        if show_progress_bar is not None:
            show_progress = bool(show_progress_bar)
        bound = [_bind(cb, self) for cb in callbacks]
        optimize(
            self._ctx, objective, n_trials=n_trials, timeout=timeout, n_jobs=n_jobs,
            catch=catch, callbacks=bound, show_progress=show_progress,
            best_value=self._best_value_or_none, executor=executor, ray_address=ray_address,
            resources_per_trial=resources_per_trial,
        )

    def stop(self) -> None:
        """End the running ``optimize`` after the trials now running (from the objective or a
        callback): no new trial starts, in this process, its threads or its worker processes.
        Under Ray, end it with ``timeout`` or ``n_trials`` instead."""
        running = self._ctx.running
        if running is None:
            raise RuntimeError(
                f"study {self.name!r}: stop() ends a running optimize() from its objective or a "
                "callback; none runs in this process (under executor='ray' use n_trials or "
                "timeout)"
            )
        running.stop()

    def ask(self, fixed_params: Mapping[str, Any] | None = None) -> Trial:
        """Start a trial by hand (an enqueued one first); finish it with :meth:`tell`.

        Each value the trial suggests is stored at once, so the sampler sees the trials asked
        and not yet told as running points (constant liar, kriging believer), and any handle
        on the study, in any process, may tell it.
        """
        if fixed_params is None:
            enqueue_sampler_queue(self._ctx, self._log)
        runner = start_trial(self._ctx, self._log, fixed=fixed_params, buffered=False)
        self._asked[runner.record.trial_id] = runner
        return runner.make_trial()

    def tell(
        self,
        trial: Trial | int,
        value: Any = None,
        *,
        state: TrialState | str | None = None,
        error: str | None = None,
    ) -> TrialRecord:
        """Finish a running trial with the objective's result, or as pruned / failed."""
        record = self._running_record(trial)
        runner = self._asked.pop(record.trial_id, None) or TrialRunner(
            self._ctx, self._log, record
        )
        target = TrialState(state) if state is not None else None
        if target is None:
            if value is None:
                raise ConfigError(
                    "tell() needs the objective's value, or state='pruned' / 'failed'"
                )
            try:
                metrics = self.metrics.values_from(value)
            except ValueError as exc:
                return finish(runner, TrialState.FAILED, error=f"invalid result: {exc}")
            return finish(runner, TrialState.COMPLETE, metrics=metrics)
        if target == TrialState.COMPLETE:
            raise ConfigError("give the value to complete a trial: tell(trial, value)")
        if target not in (TrialState.PRUNED, TrialState.FAILED):
            raise ConfigError(f"a trial is told complete, pruned or failed, not {target.value}")
        reason = runner.prune_reason
        if target == TrialState.PRUNED and reason is not None and reason.startswith(PAUSED):
            return finish_pruned(runner, reason)  # a pause stays a pause, to be continued
        return finish(runner, target, error=error)

    def _running_record(self, trial: Trial | int) -> TrialRecord:
        number = trial.number if isinstance(trial, Trial) else trial
        if isinstance(number, bool) or not isinstance(number, int):
            raise ConfigError(f"tell() takes a Trial or a trial number, got {trial!r}")
        record = self.storage.get_trial_by_number(self.study_id, number)
        if record.state != TrialState.RUNNING:
            raise StorageError(
                f"trial {number} is already {record.state.value}; only a running trial can be told"
            )
        return record

    def enqueue_trial(self, params: Mapping[str, Any]) -> None:
        """Optuna's spelling of :meth:`enqueue`."""
        self.enqueue(params)

    def enqueue(self, params: Mapping[str, Any], *, validate: bool = True) -> None:
        """Queue a configuration to run before the sampler's own (the baseline, say)."""
        if not isinstance(params, Mapping):
            raise ConfigError(f"enqueue() takes a mapping of parameter names to values, got "
                              f"{params!r}")
        space = self.space
        if validate and len(space):
            known = {k: v for k, v in params.items() if k in space}
            space.validate(known)
        self.storage.enqueue_trials(self.study_id, [dict(params)])

    def fail_stale_trials(self) -> list[TrialRecord]:
        """Fail running trials whose worker is gone (done on open and by optimize too)."""
        return fail_stale_trials(self._ctx)

    # -- results ---------------------------------------------------------------------------
    @property
    def trials(self) -> list[TrialRecord]:
        return self._known(self.storage.get_trials(self.study_id))

    def get_trials(self, states: Iterable[TrialState | str] | None = None) -> list[TrialRecord]:
        wanted = None if states is None else [TrialState(s) for s in states]
        return self._known(self.storage.get_trials(self.study_id, states=wanted))

    def _known(self, records: Iterable[TrialRecord]) -> list[TrialRecord]:
        """The records, each knowing the study's objectives (so ``record.value`` reads)."""
        names = tuple(m.name for m in self.metrics.objectives)
        return [evolve(r, objectives=names) for r in records]

    @property
    def best_trial(self) -> TrialRecord:
        """The best complete (and feasible) trial by the only objective."""
        if self.metrics.multi_objective:
            raise ConfigError(
                f"study {self.name!r} has {len(self.metrics.objectives)} objectives: "
                "use best_trials (the Pareto front) instead of best_trial"
            )
        primary = self.metrics.primary
        best: TrialRecord | None
        if not self.metrics.constraints:  # a walk down an index of the storage
            best = self.storage.best_trial(self.study_id, primary.name, str(primary.direction))
        else:
            front = self.history().front  # one objective: the best feasible (ties: all)
            best = front[0] if front else None
        if best is None:
            raise NoTrialsError(f"study {self.name!r} has no complete trial yet")
        return self._known([best])[0]

    @property
    def best_trials(self) -> list[TrialRecord]:
        """The complete, feasible trials no other such trial dominates (all objectives)."""
        return self._known(self.history().front)

    @property
    def best_params(self) -> dict[str, Any]:
        return dict(self.best_trial.params)

    @property
    def best_value(self) -> float:
        return float(self.best_trial.metrics[self.metrics.primary.name])

    def _best_value_or_none(self) -> float | None:
        try:
            return self.best_value
        except (NoTrialsError, ConfigError):
            return None

    # -- export ----------------------------------------------------------------------------
    def trials_dataframe(self) -> Any:
        """The trials as a pandas DataFrame (needs the pandas extra)."""
        try:
            import pandas as pd
        except ImportError:
            raise ConfigError(
                f"trials_dataframe() needs pandas: {install_hint('pandas')} "
                "(or use export(path, format='csv'))"
            ) from None
        return pd.DataFrame(flatten_trials(self.trials))

    def export(self, path: str | Path | None = None, format: str = "csv") -> str:
        """The trials as CSV or JSON text; written to ``path`` when given."""
        text = export_text(self.trials, format, study={
            "name": self.name, "metrics": self.metrics.to_dict(), "seed": self.seed,
            "space": self.space.to_dict(), "attrs": self.attrs,
        })
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
        return text


def _bind(cb: Callable[[Study, TrialRecord], None], study: Study) -> Callable[[TrialRecord], None]:
    def call(record: TrialRecord) -> None:
        cb(study, record)

    return call

