"""The study: a thin handle on one study in a storage (ask, tell, optimize, best, trials).

The loop and the executors live in :mod:`dialed.execution`; everything a study knows is read
from its storage, so any number of handles in any number of processes see the same study.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from dialed._util import html_table, install_hint, new_seed, now
from dialed.errors import ConfigError, NoTrialsError, StorageError, StudyNotFoundError
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
from dialed.pruners import PAUSED, Pruner, Resource, make_pruner
from dialed.samplers import Sampler, make_sampler
from dialed.space import Space
from dialed.storage import (
    ArtifactStore,
    Storage,
    StudySummary,
    default_artifact_url,
    open_artifacts,
    open_storage,
    study_folder,
)
from dialed.trial import Trial, TrialRecord, TrialState, evolve

__all__ = [
    "DEFAULT_PRUNER",
    "DEFAULT_SAMPLER",
    "Study",
    "check_scale",
    "create_study",
    "delete_study",
    "list_studies",
    "load_study",
]

#: The sampler a study uses when given none.
DEFAULT_SAMPLER = "auto"
#: The pruner a study uses when given none.
DEFAULT_PRUNER = "auto"

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,199}$")
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
        ones, by number, with the arrays derived from them (read incrementally)."""
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
        if format == "csv":
            rows = flatten_trials(self.trials)
            buf = io.StringIO()
            columns = list(dict.fromkeys(k for r in rows for k in r)) or ["number"]
            writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
            text = buf.getvalue()
        elif format == "json":
            text = json.dumps({
                "study": {"name": self.name, "metrics": self.metrics.to_dict(), "seed": self.seed,
                          "space": self.space.to_dict(), "attrs": self.attrs},
                "trials": [t.to_dict() for t in self.trials],
            }, indent=2)
        else:
            raise ConfigError(f"export format must be 'csv' or 'json', got {format!r}")
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
        return text


def flatten_trials(trials: Sequence[TrialRecord]) -> list[dict[str, Any]]:
    """One flat row per trial: number, state, metrics, params_*, times, costs, worker, error."""
    rows = []
    for t in trials:
        row: dict[str, Any] = {"number": t.number, "state": t.state.value}
        row.update({f"metric_{k}": v for k, v in t.metrics.items()})
        row.update({
            f"params_{k}": json.dumps(v) if isinstance(v, (list, dict)) else v
            for k, v in t.params.items()
        })
        row.update({
            "seed": t.seed,
            "started_at": t.start.isoformat() if t.start else None,
            "finished_at": t.end.isoformat() if t.end else None,
            "wall_seconds": t.wall_seconds,
            "cpu_seconds": t.cpu_seconds,
            "peak_memory_mb": t.peak_memory_mb,
            "worker": t.worker,
            "error": (t.error or "").splitlines()[0] if t.error else None,
        })
        rows.append(row)
    return rows


def _bind(cb: Callable[[Study, TrialRecord], None], study: Study) -> Callable[[TrialRecord], None]:
    def call(record: TrialRecord) -> None:
        cb(study, record)

    return call


# -- opening studies ---------------------------------------------------------------------------
def _resolve_sampler(sampler: str | Sampler | None, seed: int | None) -> Sampler:
    if isinstance(sampler, Sampler):
        return sampler
    if sampler is None:
        sampler = DEFAULT_SAMPLER
    if not isinstance(sampler, str):
        raise ConfigError(f"sampler must be a name such as 'tpe' or a Sampler, got {sampler!r}")
    return make_sampler(sampler, seed=seed)


def _resolve_pruner(pruner: str | Mapping[str, Any] | Pruner | None) -> Pruner:
    if pruner is None:
        return make_pruner(DEFAULT_PRUNER)
    if isinstance(pruner, Pruner):
        return pruner
    if not isinstance(pruner, (str, Mapping)):
        raise ConfigError(f"pruner must be a name such as 'median', a description mapping or "
                          f"a Pruner, got {pruner!r}")
    return make_pruner(pruner)


def _resolve_resource(resource: Resource | Mapping[str, Any] | None) -> Resource | None:
    return None if resource is None else Resource.from_spec(resource)


def create_study(
    name: str | None = None,
    *,
    storage: str | Storage | None = None,
    metrics: Mapping[str, str] | Sequence[str] | str | None = None,
    direction: str | None = None,
    directions: Sequence[str] | None = None,
    study_name: str | None = None,
    sampler: str | Sampler | None = None,
    pruner: str | Mapping[str, Any] | Pruner | None = None,
    seed: int | None = None,
    space: Space | Mapping[str, Any] | None = None,
    resource: Resource | Mapping[str, Any] | None = None,
    scale: Mapping[str, float] | None = None,
    load_if_exists: bool = False,
    max_retries: int = 0,
    heartbeat_interval: float = 5.0,
    grace_period: float = 60.0,
    artifacts: str | None = None,
) -> Study:
    """Create a study (``storage=None`` keeps it in memory; a URL stores it durably).

    ``metrics`` maps names to 'minimize', 'maximize', 'track' or a bound ('<= 512');
    ``direction`` is the short form for one unnamed objective ('minimize' by default).
    ``seed`` makes the whole study repeatable; one is drawn and recorded when not given.
    ``resource`` declares what a trial spends, for early stopping and multi-fidelity search:
    ``{"name": "epochs", "min": 1, "max": 81, "reduction_factor": 3}``; report steps then
    count it, and ``trial.resource`` is the amount a trial should train to.
    ``artifacts`` is where trials' checkpoints and files go (``trial.save_checkpoint``): a
    folder or an fsspec URL (``s3://bucket/path``) every worker can reach; by default a folder
    beside the SQLite file (``study.db.artifacts``), a temporary one for an in-memory study.
    Optuna's spellings work too: ``study_name=`` for ``name`` and ``directions=[...]`` for
    several unnamed objectives (``value_0``, ``value_1``, ...).
    ``scale`` records the study's size on a ladder of studies (``{"width": 64}``: parameters,
    width, rows of data ...); ``trial.scale`` hands it to the objective, and
    :mod:`dialed.workflow`'s ladder fits how the best settings move with it.
    """
    if study_name is not None:
        if name is not None and name != study_name:
            raise ConfigError(f"give the study's name once: name={name!r} or study_name="
                              f"{study_name!r}, not both")
        name = study_name
    if directions is not None:
        if metrics is not None or direction is not None:
            raise ConfigError("give one of metrics=, direction= or directions=")
        if isinstance(directions, str) or not isinstance(directions, Sequence) \
                or not directions:
            raise ConfigError(f"directions must be a non-empty list such as ['minimize', "
                              f"'maximize'], got {directions!r}")
        metrics = list(directions)
    if name is None:
        name = f"study-{int(now() * 1000)}"
    if not isinstance(name, str) or not _NAME.match(name):
        raise ConfigError(
            f"study name {name!r} is not valid: use 1-200 letters, digits, '_', '-' or '.', "
            "starting with a letter or digit"
        )
    if metrics is not None and direction is not None:
        raise ConfigError("give either metrics= or direction=, not both")
    metric_set = MetricSet(direction if metrics is None else metrics)
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        raise ConfigError(f"seed must be a whole number >= 0, got {seed!r}")
    if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
        raise ConfigError(f"max_retries must be a whole number >= 0, got {max_retries!r}")
    if heartbeat_interval <= 0 or grace_period <= heartbeat_interval:
        raise ConfigError(
            "heartbeat_interval must be > 0 and grace_period longer than it, got "
            f"{heartbeat_interval} and {grace_period}"
        )
    declared = None if space is None else (space if isinstance(space, Space) else Space(space))
    resource_obj = _resolve_resource(resource)
    scale_map = None if scale is None else check_scale(scale, name)
    store = open_storage(storage)  # after the checks above: a bad name creates no file
    artifact_url = artifacts if artifacts is not None else default_artifact_url(store.url)
    if load_if_exists:
        try:
            existing = load_study(name, storage=store, sampler=sampler, pruner=pruner)
        except StudyNotFoundError:
            pass
        else:
            if (metrics is not None or direction is not None) and existing.metrics != metric_set:
                raise ConfigError(
                    f"study {name!r} already exists with metrics {existing.metrics.to_dict()}, not "
                    f"{metric_set.to_dict()}: use another study name, or the same metrics"
                )
            if resource_obj is not None and existing.resource != resource_obj:
                have = None if existing.resource is None else existing.resource.to_dict()
                raise ConfigError(
                    f"study {name!r} exists with resource {have}, not "
                    f"{resource_obj.to_dict()}: use another study name, or the same resource"
                )
            if scale_map is not None and existing.scale != scale_map:
                raise ConfigError(
                    f"study {name!r} exists with scale {existing.scale or None}, not "
                    f"{scale_map}: use another study name, or the same scale"
                )
            return existing
    study_seed = new_seed() if seed is None else seed
    sampler_obj = _resolve_sampler(sampler, study_seed)
    sampler_obj.bind_seed(study_seed)
    pruner_obj = _resolve_pruner(pruner)
    pruner_obj.bind(resource_obj, metric_set)
    settings = Settings(heartbeat_interval, grace_period, max_retries)
    artifact_store: ArtifactStore | None = None
    if artifacts is not None or store.url is None:  # a given store: checked before storing
        artifact_store = open_artifacts(artifact_url)
    elif artifact_url is not None:  # the folder beside the SQLite file: made on first use
        artifact_store = ArtifactStore(artifact_url)
    attrs: dict[str, Any] = {"sampler": sampler_obj.describe(), "pruner": pruner_obj.describe(),
                             "settings": settings.to_dict()}
    if resource_obj is not None:
        attrs["resource"] = resource_obj.to_dict()
    if artifact_store is not None:
        attrs["artifacts"] = artifact_store.url
    if scale_map is not None:
        attrs["scale"] = scale_map
    record = store.create_study(
        name, metrics=metric_set.to_dict(), seed=study_seed, attrs=attrs,
    )
    if declared is not None and len(declared):
        store.register_params(record.study_id, declared.to_dict())
    ctx = StudyContext(store, record.study_id, name, metric_set, study_seed, sampler_obj,
                       pruner_obj, settings, resource_obj, artifact_store, scale_map)
    return Study(ctx)


def load_study(
    name: str,
    *,
    storage: str | Storage | None,
    sampler: str | Sampler | None = None,
    pruner: str | Mapping[str, Any] | Pruner | None = None,
) -> Study:
    """Open an existing study; its sampler, pruner, resource and settings come from storage."""
    store = open_storage(storage)
    record = store.get_study(name)
    attrs = dict(record.attrs)
    if sampler is None:
        desc = dict(attrs.get("sampler") or {"name": DEFAULT_SAMPLER})
        sampler_obj = make_sampler(
            str(desc.pop("name")), seed=desc.pop("seed", record.seed), **desc.pop("options", {})
        )
    else:
        sampler_obj = _resolve_sampler(sampler, record.seed)
    sampler_obj.bind_seed(record.seed)
    pruner_obj = _resolve_pruner(attrs.get("pruner") if pruner is None else pruner)
    resource_obj = _resolve_resource(attrs.get("resource"))
    metric_set = MetricSet(record.metrics)
    pruner_obj.bind(resource_obj, metric_set)
    raw = attrs.get("settings") or {}
    settings = Settings(
        float(raw.get("heartbeat_interval", 5.0)),
        float(raw.get("grace_period", 60.0)),
        int(raw.get("max_retries", 0)),
    )
    raw_scale = attrs.get("scale")
    ctx = StudyContext(store, record.study_id, record.name, metric_set,
                       record.seed, sampler_obj, pruner_obj, settings, resource_obj,
                       _artifact_store(attrs, store),
                       dict(raw_scale) if isinstance(raw_scale, Mapping) else None)
    study = Study(ctx)
    if not store.read_only:  # a read-only file is read as it is
        study.fail_stale_trials()
    return study


def _artifact_store(attrs: Mapping[str, Any], store: Storage) -> ArtifactStore | None:
    """The store a study recorded (a study from before artifacts: the default beside its
    file); opened lazily, so reading a study never writes to its store."""
    url = attrs.get("artifacts") or default_artifact_url(store.url)
    return None if url is None else ArtifactStore(str(url))


def check_scale(scale: Any, study: str) -> dict[str, float]:
    """``scale`` as a mapping of names to positive finite numbers, or one ConfigError line."""
    if not isinstance(scale, Mapping) or not scale:
        raise ConfigError(f"study {study!r}: scale must be a mapping of names to sizes such as "
                          f"{{'width': 64}}, got {scale!r}")
    out: dict[str, float] = {}
    for key, value in scale.items():
        if not isinstance(key, str) or not _NAME.match(key):
            raise ConfigError(f"study {study!r}: scale name {key!r} is not valid: use letters, "
                              "digits, '_', '-' or '.'")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not (
                math.isfinite(value) and value > 0):
            raise ConfigError(f"study {study!r}: scale {key} must be a number > 0 (a size such "
                              f"as 64), got {value!r}")
        out[key] = value
    return out


def delete_study(name: str, *, storage: str | Storage) -> None:
    """Delete the study's records, then its checkpoints and files."""
    store = open_storage(storage)
    record = store.get_study(name)
    artifacts = _artifact_store(record.attrs, store)
    store.delete_study(name)
    if artifacts is not None:
        artifacts.delete_study(study_folder(record.study_id, record.name))


def list_studies(storage: str | Storage) -> list[StudySummary]:
    return open_storage(storage).list_studies()
