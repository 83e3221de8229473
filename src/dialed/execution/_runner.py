"""One live trial: where its suggestions come from and how its progress reaches the storage.

``start_trial`` claims an enqueued trial (its parameters fixed) or creates a new one; the
returned :class:`TrialRunner` is the backend of the user's :class:`~dialed.trial.Trial`. The
sampler's joint proposal is made lazily, at the first suggestion it must answer. In the
engine's own loop suggested values are buffered and written with the next report, heartbeat
or the finish, so a trial that only suggests costs no extra write per parameter; a trial started
by hand (``Study.ask``) writes each at once, since any handle may tell it.
"""

from __future__ import annotations

import math
import os
import pickle
import tempfile
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dialed._util import environment, one_line, worker_id
from dialed.errors import (
    CheckpointError,
    ConfigError,
    SearchExhausted,
    SpaceError,
    TrialAbandoned,
    TrialStateError,
)
from dialed.execution._context import StudyContext
from dialed.history import History, HistoryLog
from dialed.pruners import Pruner
from dialed.space import Distribution, compatible
from dialed.storage import ArtifactStore, CheckpointInfo, study_folder
from dialed.trial import Trial, TrialRecord, TrialState

__all__ = ["TrialRunner", "enqueue_promotions", "enqueue_sampler_queue", "start_trial"]


class TrialRunner:
    """The backend of one running trial (it implements :class:`~dialed.trial.TrialBackend`)."""

    def __init__(self, ctx: StudyContext, cache: HistoryLog, record: TrialRecord, *,
                 buffered: bool = True) -> None:
        self.ctx = ctx
        self.buffered = buffered
        self.cache = cache
        self.record = record
        self.fixed: dict[str, Any] = dict(record.params)  # enqueued / retried configuration
        self.params: dict[str, Any] = {}
        self.intermediate: dict[int, float] = {}
        self.user_attrs: dict[str, Any] = {}
        self.prune_reason: str | None = None
        #: The trial's system attributes as this runner knows them (the pruner's included).
        self.trial_attrs: dict[str, Any] = dict(record.system_attrs)
        self._pending: dict[str, Any] = {}
        self._pending_attrs: dict[str, Any] = {}
        self._proposal: dict[str, Any] | None = None
        self._history: History | None = None
        self._sampler_history: History | None = None
        self._lock = threading.Lock()
        self._holding = False  # suggest_many: one write for all
        #: Recovery failed this trial while it ran: nothing more of it is stored.
        self.abandoned = False
        self.warned = False
        #: Whether the objective saved a checkpoint in this run; the step it resumed from.
        self.checkpoint_saved = False
        self.resumed_step: int | None = None

    # -- the TrialBackend protocol -----------------------------------------------------------
    def suggest(self, name: str, distribution: Distribution) -> Any:
        if name in self.params:
            have = self.cache.space.get(name)
            if have is not None and not compatible(have, distribution):
                raise SpaceError(
                    f"parameter {name!r} was already suggested as {have.to_dict()} in this "
                    f"trial; it cannot now be {distribution.to_dict()}"
                )
            return self.params[name]
        self._register(name, distribution)
        if name in self.fixed:
            value = self.fixed[name]
            if not distribution.contains(value):
                raise SpaceError(
                    f"parameter {name!r}: the enqueued value {value!r} is outside "
                    f"{distribution.to_dict()}"
                )
        else:
            proposal = self._joint_proposal()
            if name in proposal:
                value = proposal[name]
            else:
                value = self.ctx.sampler.suggest_one(
                    self.sampler_history(), name, distribution, self.record.number,
                    dict(self.params),
                )
        value = _native(distribution, value)
        with self._lock:
            self.params[name] = value
            self._pending[name] = value
        if not self.buffered and not self._holding:
            self.flush(beat=False, strict=True)
        return value

    def suggest_many(self, space: Mapping[str, Distribution]) -> dict[str, Any]:
        """Every parameter of ``space``; a trial that stores each suggestion at once stores
        these in one write."""
        self._holding = True
        try:
            values = {name: self.suggest(name, dist) for name, dist in space.items()}
        finally:
            self._holding = False
        if not self.buffered:
            self.flush(beat=False, strict=True)
        return values

    def report(self, value: float, step: int) -> None:
        if isinstance(step, bool) or not isinstance(step, int) or step < 0:
            raise ValueError(f"report(value, step): step must be an int >= 0, got {step!r}")
        try:
            v = float(value)
        except (TypeError, ValueError):
            raise ValueError(
                f"report(value, step): value must be a number, got {value!r}"
            ) from None
        if not math.isfinite(v):
            # A diverged run: nothing useful to store at this step; the trial should stop.
            self.prune_reason = f"intermediate value at step {step} is {v}: the run diverged"
            with self._lock:
                self._pending_attrs["diverged_at"] = step
            self.flush(strict=True)
            return
        self.flush(strict=True)
        self._write(self.ctx.storage.report, self.record.trial_id, step, v)
        self.intermediate[step] = v

    def should_prune(self) -> bool:
        if self.abandoned:
            raise self._abandon_error()
        if self.prune_reason is not None:
            return True
        if not self.intermediate:
            return False
        snapshot = TrialRecord(
            trial_id=self.record.trial_id,
            study_id=self.record.study_id,
            number=self.record.number,
            state=TrialState.RUNNING,
            seed=self.record.seed,
            params=dict(self.params),
            intermediate=dict(self.intermediate),
            started_at=self.record.started_at,
            worker=self.record.worker,
            system_attrs=dict(self.trial_attrs),
        )
        history = self.cache.refresh(exclude_trial_id=self.record.trial_id)
        self.prune_reason = self.ctx.pruner.should_prune(history, snapshot)
        return self.prune_reason is not None

    def set_user_attr(self, key: str, value: Any) -> None:
        with self._lock:
            self.user_attrs[key] = value
        self._write(self.ctx.storage.update_trial, self.record.trial_id,
                    user_attrs={key: value})

    # -- checkpoints and artifacts -------------------------------------------------------------
    def _store(self) -> ArtifactStore:
        store = self.ctx.artifacts
        if store is None:
            raise ConfigError(
                f"study {self.ctx.name!r} has no artifact store for checkpoints and files: "
                "create it with artifacts='<folder or fsspec URL such as s3://bucket/path>'"
            )
        return store

    @property
    def folder(self) -> str:
        return study_folder(self.ctx.study_id, self.ctx.name)

    def save_checkpoint(self, obj: Any, step: int | None) -> None:
        if self.abandoned:
            raise self._abandon_error()
        number = self.record.number
        if isinstance(obj, os.PathLike):
            path = Path(obj)
            try:
                data = path.read_bytes()
            except OSError as exc:
                raise CheckpointError(f"save_checkpoint: cannot read the file {str(path)!r}: "
                                      f"{one_line(exc)}") from None
            kind, filename = "file", path.name
        else:
            try:
                data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
            except Exception as exc:
                raise CheckpointError(f"save_checkpoint: the checkpoint cannot be pickled: "
                                      f"{one_line(exc)}") from None
            kind, filename = "object", None
        if step is None:
            step = max(self.intermediate) if self.intermediate else self.resumed_step
        elif isinstance(step, bool) or not isinstance(step, int) or step < 0:
            raise ValueError(f"save_checkpoint: step must be an int >= 0, got {step!r}")
        self._store().save_checkpoint(self.folder, number, data,
                                      CheckpointInfo(number, step, kind, filename))
        self.checkpoint_saved = True
        with self._lock:
            self._pending_attrs["checkpoint"] = {"trial": number, "step": step}
        self.flush(strict=True)

    def load_checkpoint(self) -> tuple[Any, int | None] | None:
        store = self._store()
        found = self._resume_source(store)
        if found is None:
            return None
        source, info = found
        number = self.record.number
        whose = "its own" if source == number else f"that of trial {source}, which it continues"
        data = store.load_checkpoint(self.folder, source)
        if data is None:
            raise CheckpointError(
                f"trial {number}: its checkpoint ({whose}, step {info.step}) is missing from "
                f"the artifact store {store.url!r}"
            )
        value: Any
        if info.kind == "file":
            local = Path(tempfile.mkdtemp(prefix=f"dialed-checkpoint-{number}-"))
            value = local / (info.filename or "checkpoint")
            value.write_bytes(data)
        else:
            try:
                value = pickle.loads(data)
            except Exception as exc:
                raise CheckpointError(
                    f"trial {number}: its checkpoint ({whose}, step {info.step}) does not "
                    f"unpickle: {one_line(exc)}"
                ) from None
        if source != number:
            self._inherit(source, info.step)
        return value, info.step

    def _resume_source(self, store: ArtifactStore) -> tuple[int, CheckpointInfo] | None:
        """The nearest trial with a checkpoint: this one, else (breadth first) the attempt it
        retries, then the trial it continues (a promotion, a PBT exploit), and so on."""
        own = self.record.number
        queue, seen = [own], set()
        while queue:
            number = queue.pop(0)
            if number in seen:
                continue
            seen.add(number)
            attrs = (self.trial_attrs if number == own else
                     self.ctx.storage.get_trial_by_number(self.ctx.study_id, number).system_attrs)
            info = store.checkpoint_info(self.folder, number)
            saved = attrs.get("checkpoint")
            if info is None and isinstance(saved, Mapping) and saved.get("trial") == number:
                raise CheckpointError(
                    f"trial {own}: the checkpoint trial {number} saved at step "
                    f"{saved.get('step')} is missing from the artifact store {store.url!r}"
                )
            if info is not None:
                return number, info
            for key in ("retry_of", "resume_from"):
                nxt = attrs.get(key)
                if isinstance(nxt, int) and not isinstance(nxt, bool):
                    queue.append(nxt)
        return None

    def _inherit(self, source: int, step: int | None) -> None:
        """The continued trial's reports up to ``step`` become this trial's (its curve whole,
        each step trained once); recorded as ``resumed_from``."""
        record = self.ctx.storage.get_trial_by_number(self.ctx.study_id, source)
        for s, v in sorted(record.intermediate.items()):
            if (step is None or s <= step) and s not in self.intermediate:
                self._write(self.ctx.storage.report, self.record.trial_id, s, v)
                self.intermediate[s] = v
        self.resumed_step = step
        with self._lock:
            self.trial_attrs["resumed_from"] = {"trial": source, "step": step}
            self._pending_attrs["resumed_from"] = {"trial": source, "step": step}
        self.flush(strict=True)

    def save_artifact(self, data: bytes, name: str) -> None:
        if self.abandoned:
            raise self._abandon_error()
        self._store().save_file(self.folder, self.record.number, name, data)
        with self._lock:
            files = dict(self.trial_attrs.get("artifacts") or {})
            files[name] = len(data)
            self.trial_attrs["artifacts"] = files
            self._pending_attrs["artifacts"] = files
        self.flush(strict=True)

    def _write(self, write: Any, *args: Any, **kwargs: Any) -> None:
        """A write of this running trial; once recovery has failed the trial (a worker presumed
        dead that woke up), :class:`TrialAbandoned` stops the objective instead."""
        if self.abandoned:
            raise self._abandon_error()
        try:
            write(*args, **kwargs)
        except TrialStateError:
            self.abandoned = True
            raise self._abandon_error() from None

    def _abandon_error(self) -> TrialAbandoned:
        return TrialAbandoned(
            f"trial {self.record.number} was failed by recovery while it ran (its worker was "
            "presumed dead); its result is not stored and its retry owns the configuration"
        )

    # -- helpers -----------------------------------------------------------------------------
    def history(self) -> History:
        if self._history is None:
            self._history = self.cache.refresh(exclude_trial_id=self.record.trial_id)
        return self._history

    def sampler_history(self) -> History:
        """The history the sampler sees for this trial: the pruner's view of it."""
        if self._sampler_history is None:
            self._sampler_history = self.ctx.pruner.sampler_history(
                self.history(), dict(self.trial_attrs)
            )
        return self._sampler_history

    def begin(self) -> None:
        """Let the pruner tag the new trial (its Hyperband bracket, say); written buffered.

        A retry's copy of its failed attempt's own records (its checkpoint, files, resume
        point) is cleared: they stay the attempt's, and the retry resumes from them."""
        stale = {k: None for k in ("checkpoint", "artifacts", "resumed_from")
                 if self.trial_attrs.get(k) is not None}
        if stale and "retry_of" in self.trial_attrs:
            with self._lock:
                self.trial_attrs.update(stale)
                self._pending_attrs.update(stale)
        pruner = self.ctx.pruner
        if type(pruner).on_trial_start is Pruner.on_trial_start:
            return  # the no-op default: no history to read
        attrs = pruner.on_trial_start(self.record.number, self.history())
        # a promoted / continued / retried trial keeps the tags it was enqueued with
        attrs = {k: v for k, v in attrs.items() if k not in self.record.system_attrs}
        if attrs:
            with self._lock:
                self.trial_attrs.update(attrs)
                self._pending_attrs.update(attrs)

    @property
    def resource(self) -> float | None:
        """The amount of the declared resource this trial should train to."""
        res = self.ctx.resource
        own = self.trial_attrs.get("resource")
        if isinstance(own, (int, float)) and not isinstance(own, bool):
            return own
        return None if res is None else res.max

    def _joint_proposal(self) -> dict[str, Any]:
        if self._proposal is None:
            history = self.sampler_history()
            space = self.cache.space
            self._proposal = (
                dict(self.ctx.sampler.suggest(history, space, self.record.number))
                if len(space) else {}
            )
        return self._proposal

    def _register(self, name: str, distribution: Distribution) -> None:
        space = self.cache.space
        have = space.get(name)
        if have is not None and compatible(have, distribution) and (
            have.family is not None or distribution.family is None
        ):
            return
        if have is not None and not compatible(have, distribution):
            raise SpaceError(
                f"parameter {name!r} was already defined as {have.to_dict()} in this study; "
                f"it cannot now be {distribution.to_dict()} (use a new name for a different range)"
            )
        stored = self.ctx.storage.register_params(
            self.ctx.study_id, {name: distribution.to_dict()}
        )
        self.cache.set_space(stored)
        history = self._history
        if history is not None and history.space != self.cache.space:
            # A pruner's start-of-trial hook (Hyperband's bracket) read the history before the
            # objective declared this parameter: the sampler sees the space as it now is, as it
            # does without such a hook (the same trials, so the same suggestions).
            self._history = history.view(history.trials, self.cache.space)
            self._sampler_history = None

    def flush(self, *, beat: bool = True, strict: bool = False) -> None:
        """Write buffered parameters and attributes (else, with ``beat``, refresh the
        heartbeat). A trial recovery has failed meanwhile is marked abandoned; with ``strict``
        (the objective's own calls) :class:`TrialAbandoned` then stops the objective."""
        with self._lock:
            params, attrs = self._pending, self._pending_attrs
            self._pending, self._pending_attrs = {}, {}
        try:
            if self.abandoned:
                raise TrialStateError("abandoned")
            if params or attrs:
                self.ctx.storage.update_trial(
                    self.record.trial_id, params=params, system_attrs=attrs or None
                )
            elif beat:
                self.ctx.storage.heartbeat(self.record.trial_id)
        except TrialStateError:
            self.abandoned = True
            if strict:
                raise self._abandon_error() from None

    def take_pending(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """Buffered parameters and attributes not yet written (for the finishing write)."""
        with self._lock:
            params, attrs = self._pending, self._pending_attrs
            self._pending, self._pending_attrs = {}, {}
        return params, attrs

    def make_trial(self) -> Trial:
        return Trial(
            self,
            number=self.record.number,
            seed=self.record.seed,
            study_name=self.ctx.name,
            trial_id=self.record.trial_id,
            resource=self.resource,
            resource_name=None if self.ctx.resource is None else self.ctx.resource.name,
            scale=self.ctx.scale,
        )


def start_trial(
    ctx: StudyContext,
    cache: HistoryLog,
    *,
    fixed: Mapping[str, Any] | None = None,
    heartbeat: bool = False,
    buffered: bool = True,
) -> TrialRunner:
    """Claim an enqueued trial, or create a new one; ``fixed`` creates one with those params.

    ``buffered=False``: the trial writes each suggestion at once (a trial started by hand).
    """
    worker = worker_id()
    env = environment()
    attrs = {"heartbeat": True} if heartbeat else None
    record = None
    if fixed is None:
        record = _claim(ctx, cache, worker, env, attrs)
    if record is None and fixed is None and ctx.sampler.finite:
        raise SearchExhausted(
            f"the {ctx.sampler.name} sampler has no configuration left to run in study "
            f"{ctx.name!r}"
        )
    if record is None:
        record = ctx.storage.create_trial(
            ctx.study_id, state=TrialState.RUNNING, params=fixed, worker=worker,
            environment=env, system_attrs=attrs,
        )
    runner = TrialRunner(ctx, cache, record, buffered=buffered)
    runner.begin()
    if not buffered:
        runner.flush(beat=False)
    return runner


def _native(dist: Distribution, value: Any) -> Any:
    kind = dist.kind
    if kind == "int":
        return int(value)
    if kind == "float":
        return float(value)
    return value


def _claim(ctx: StudyContext, cache: HistoryLog, worker: str, env: dict[str, Any],
           attrs: dict[str, Any] | None) -> TrialRecord | None:
    """An enqueued trial for this worker, after the pruner's promotions are enqueued; None
    when there is none and the pruner does not make workers wait (then a new trial starts).

    PBT's synchronous rounds: while the population is full and members still train, a worker
    with nothing to claim waits (a grace period at most) and looks again, rather than found
    an extra member. It waits on what it can claim, not on what it computed: another worker
    may have enqueued (and claimed) the same promotions first. And it founds a member only
    after a whole pass over an unchanged history: the last running round may end between the
    promotions and the look at what runs, and then the next round is queued on the next
    pass, not founded beside."""
    give_up = time.monotonic() + ctx.settings.grace_period
    waits = type(ctx.pruner).must_wait is not Pruner.must_wait
    seen: tuple[tuple[int, TrialState], ...] | None = None
    while True:
        enqueue_promotions(ctx, cache)
        record = ctx.storage.claim_trial(ctx.study_id, worker=worker, environment=env,
                                         system_attrs=attrs)
        if record is not None or not waits or time.monotonic() >= give_up:
            return record
        history = cache.refresh()
        if ctx.pruner.must_wait(history):
            time.sleep(_WAIT_S)
            continue
        now = tuple((t.number, t.state) for t in history.trials)
        if now == seen:
            return None
        seen = now


def enqueue_promotions(ctx: StudyContext, cache: HistoryLog) -> int:
    """Enqueue the continuations of paused trials the pruner promotes (each once, across all
    workers: the storage sets each promotion's key once); returns how many this call queued."""
    pruner = ctx.pruner
    if type(pruner).promotions is Pruner.promotions:
        return 0
    queued = 0
    for p in pruner.promotions(cache.refresh()):
        queued += ctx.storage.enqueue_trials(ctx.study_id, [dict(p.params)], once_key=p.key,
                                             system_attrs=dict(p.attrs))
    return queued


#: How often a worker waiting for running trials (PBT's rounds) looks again, in seconds.
_WAIT_S = 0.1


def enqueue_sampler_queue(ctx: StudyContext, cache: HistoryLog) -> int:
    """Enqueue the sampler's fixed configurations (a grid) once per study, atomically."""
    space = cache.refresh_space()
    queue = ctx.sampler.queue(space)
    if queue is None:
        return 0
    if not len(space):
        raise ConfigError(
            f"the {ctx.sampler.name} sampler needs the space up front: pass space= to "
            "create_study or declare `space:` in the study file"
        )
    return ctx.storage.enqueue_trials(ctx.study_id, queue, once_key=f"queue:{ctx.sampler.name}")
