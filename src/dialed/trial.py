"""Trials: their states, the immutable record of one, and the live handle an objective receives.

The live :class:`Trial` holds no storage and no sampler of its own: the engine hands it a
backend (:class:`TrialBackend`) that answers suggestions, stores reports and decides pruning.
"""

from __future__ import annotations

import datetime as _dt
import enum
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Protocol

from dialed.space import (
    CategoricalDistribution,
    Distribution,
    FloatDistribution,
    IntDistribution,
)

__all__ = ["Trial", "TrialBackend", "TrialRecord", "TrialState", "evolve"]


class TrialState(str, enum.Enum):
    WAITING = "waiting"  # enqueued, not yet claimed by a worker
    RUNNING = "running"
    COMPLETE = "complete"
    PRUNED = "pruned"
    FAILED = "failed"
    FAIL = "failed"  # Optuna's spelling: the same member as FAILED

    @property
    def finished(self) -> bool:
        return self in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAILED)

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class TrialRecord:
    """What happened in one trial, as stored. Times are UNIX seconds (UTC)."""

    trial_id: int
    study_id: int
    number: int
    state: TrialState
    seed: int
    params: Mapping[str, Any] = field(default_factory=dict)
    metrics: Mapping[str, float] = field(default_factory=dict)
    intermediate: Mapping[int, float] = field(default_factory=dict)
    created_at: float | None = None
    started_at: float | None = None
    finished_at: float | None = None
    heartbeat_at: float | None = None
    wall_seconds: float | None = None
    cpu_seconds: float | None = None
    peak_memory_mb: float | None = None
    worker: str | None = None
    error: str | None = None
    environment: Mapping[str, Any] = field(default_factory=dict)
    user_attrs: Mapping[str, Any] = field(default_factory=dict)
    system_attrs: Mapping[str, Any] = field(default_factory=dict)
    #: The study's objective names, in order, where the study handed the record out (so that
    #: ``value`` / ``values`` can be read); empty on a record straight from a storage.
    objectives: tuple[str, ...] = field(default=(), compare=False, repr=False)

    @property
    def values(self) -> list[float] | None:
        """The objective values in the study's order (Optuna's ``values``); None when the
        trial has none (failed, or still running)."""
        names = self.objectives or _objective_names(self.metrics)
        if not names or any(n not in self.metrics for n in names):
            return None
        return [float(self.metrics[n]) for n in names]

    @property
    def value(self) -> float | None:
        """The objective value of a single-objective study (Optuna's ``value``); None when
        the trial has none. With several objectives read ``values``."""
        names = self.objectives or _objective_names(self.metrics)
        if len(names) > 1:
            raise AttributeError(
                f"trial {self.number} has {len(names)} objectives ({', '.join(names)}): read "
                "trial.values or trial.metrics[name]"
            )
        values = self.values
        return None if values is None else values[0]

    @property
    def last_step(self) -> int | None:
        return max(self.intermediate) if self.intermediate else None

    @property
    def start(self) -> _dt.datetime | None:
        return _to_datetime(self.started_at)

    @property
    def end(self) -> _dt.datetime | None:
        return _to_datetime(self.finished_at)

    def to_dict(self) -> dict[str, Any]:
        """A plain, JSON-serialisable form (for export)."""
        return {
            "number": self.number,
            "state": self.state.value,
            "params": dict(self.params),
            "metrics": dict(self.metrics),
            "intermediate": {str(k): v for k, v in sorted(self.intermediate.items())},
            "seed": self.seed,
            "created_at": _iso(self.created_at),
            "started_at": _iso(self.started_at),
            "finished_at": _iso(self.finished_at),
            "wall_seconds": self.wall_seconds,
            "cpu_seconds": self.cpu_seconds,
            "peak_memory_mb": self.peak_memory_mb,
            "worker": self.worker,
            "error": self.error,
            "environment": dict(self.environment),
            "user_attrs": dict(self.user_attrs),
            "system_attrs": dict(self.system_attrs),
        }


def evolve(record: TrialRecord, **changes: Any) -> TrialRecord:
    """``dataclasses.replace(record, **changes)`` for the hot paths (a stored record handed
    out, each record of a listing): the same record, built at a sixth of the cost. Only
    fields of :class:`TrialRecord` may be named."""
    unknown = changes.keys() - _FIELDS
    if unknown:
        raise TypeError(f"TrialRecord has no field {sorted(unknown)[0]!r}")
    new = object.__new__(TrialRecord)
    new.__dict__.update(record.__dict__)
    new.__dict__.update(changes)
    return new


def _objective_names(metrics: Mapping[str, float]) -> tuple[str, ...]:
    """The objectives of a record that does not know its study's: ``value``, ``value_0`` ...
    (the names of unnamed objectives), else its only metric."""
    if "value" in metrics:
        return ("value",)
    numbered = tuple(f"value_{i}" for i in range(len(metrics)) if f"value_{i}" in metrics)
    if numbered and numbered == tuple(f"value_{i}" for i in range(len(numbered))):
        return numbered
    if len(metrics) == 1:
        return tuple(metrics)
    if not metrics:
        return ()
    raise AttributeError(
        f"this record has the metrics {', '.join(metrics)} and does not know which are the "
        "study's objectives: read record.metrics[name], or take it from study.trials"
    )


def _to_datetime(ts: float | None) -> _dt.datetime | None:
    return None if ts is None else _dt.datetime.fromtimestamp(ts, tz=_dt.timezone.utc)


def _iso(ts: float | None) -> str | None:
    d = _to_datetime(ts)
    return None if d is None else d.isoformat()


class TrialBackend(Protocol):
    """What the engine gives a live trial: suggestions, reports and pruning decisions."""

    def suggest(self, name: str, distribution: Distribution) -> Any: ...

    def suggest_many(self, space: Mapping[str, Distribution]) -> dict[str, Any]: ...

    def report(self, value: float, step: int) -> None: ...

    def should_prune(self) -> bool: ...

    def set_user_attr(self, key: str, value: Any) -> None: ...

    def save_checkpoint(self, obj_or_path: Any, step: int | None) -> None: ...

    def load_checkpoint(self) -> tuple[Any, int | None] | None: ...

    def save_artifact(self, data: bytes, name: str) -> None: ...


class Trial:
    """The handle an objective receives: ask it for settings, report progress to it.

    ``trial.seed`` is derived from the study's seed and the trial number and is recorded; seed
    the model with it so that a trial can be repeated exactly.
    """

    def __init__(
        self,
        backend: TrialBackend,
        *,
        number: int,
        seed: int,
        study_name: str,
        params: Mapping[str, Any] | None = None,
        trial_id: int | None = None,
        resource: float | None = None,
        resource_name: str | None = None,
        scale: Mapping[str, float] | None = None,
    ) -> None:
        self._backend = backend
        self.number = number
        self.seed = seed
        self.study_name = study_name
        self.trial_id = trial_id
        #: How much of the study's declared resource to train to (its maximum, or the
        #: trial's budget where a pruner sets one); None when the study declared none.
        self.resource = resource
        #: The declared resource's name ("epochs", say); report steps count it.
        self.resource_name = resource_name
        #: The study's size on a ladder of scales (``{"width": 64}``); empty when not declared.
        self.scale: dict[str, float] = dict(scale or {})
        self._params: dict[str, Any] = dict(params or {})
        self._user_attrs: dict[str, Any] = {}
        #: The step of the checkpoint :meth:`load_checkpoint` returned (None: none, or not
        #: asked yet).
        self.checkpoint_step: int | None = None

    # -- suggestions -------------------------------------------------------------------------
    def suggest_float(
        self,
        name: str,
        low: float,
        high: float,
        *,
        log: bool = False,
        step: float | None = None,
        family: str | None = None,
    ) -> float:
        dist = FloatDistribution(low, high, log=log, step=step, family=family, name=name)
        return float(self._suggest(name, dist))

    def suggest_int(
        self,
        name: str,
        low: int,
        high: int,
        *,
        log: bool = False,
        step: int = 1,
        family: str | None = None,
    ) -> int:
        dist = IntDistribution(low, high, log=log, step=step, family=family, name=name)
        return int(self._suggest(name, dist))

    def suggest_categorical(
        self, name: str, choices: Sequence[Any], *, family: str | None = None
    ) -> Any:
        dist = CategoricalDistribution(tuple(choices), family=family, name=name)
        return self._suggest(name, dist)

    def suggest(self, name: str, distribution: Distribution) -> Any:
        """Suggest a value from a distribution object (``Space[name]``, say)."""
        return self._suggest(name, distribution)

    def suggest_space(self, space: Mapping[str, Distribution]) -> dict[str, Any]:
        """Suggest every parameter of a declared space; returns the configuration (stored in
        one write where a trial stores each suggestion at once)."""
        values = self._backend.suggest_many(space)
        self._params.update(values)
        return values

    def _suggest(self, name: str, dist: Distribution) -> Any:
        value = self._backend.suggest(name, dist)
        self._params[name] = value
        return value

    # -- progress ----------------------------------------------------------------------------
    def report(self, value: float, step: int) -> None:
        """Record an intermediate value (a validation loss after an epoch, say) at ``step``."""
        self._backend.report(value, step)

    def should_prune(self) -> bool:
        """Whether the study's pruner says this trial should stop now (then raise Pruned)."""
        return self._backend.should_prune()

    def set_user_attr(self, key: str, value: Any) -> None:
        self._user_attrs[key] = value
        self._backend.set_user_attr(key, value)

    # -- checkpoints and artifacts -----------------------------------------------------------
    def save_checkpoint(self, obj_or_path: Any, *, step: int | None = None) -> None:
        """Store this trial's latest checkpoint, replacing its previous one only once written.

        ``obj_or_path``: any picklable object (a dict of weights and the epoch, say), or a
        :class:`pathlib.Path` to a file whose bytes are stored. ``step`` (by default the last
        reported one) is where a trial that resumes from it continues.
        """
        self._backend.save_checkpoint(obj_or_path, step)

    def load_checkpoint(self) -> Any:
        """The checkpoint to resume from, or None when there is none.

        That is this trial's own latest checkpoint, else the one of the trial it continues: the
        run a promotion continues, the attempt whose worker died (a retry), the better member
        a PBT member copies. A file checkpoint comes back as the :class:`pathlib.Path` of a
        local copy. The reports the continued trial made up to the checkpoint's step become
        this trial's too, so its curve is whole and each step is trained once.
        :class:`~dialed.errors.CheckpointError` (one line) when the checkpoint's file is
        missing or does not unpickle.
        """
        found = self._backend.load_checkpoint()
        if found is None:
            self.checkpoint_step = None
            return None
        value, self.checkpoint_step = found
        return value

    def save_artifact(self, path_or_bytes: str | os.PathLike[str] | bytes,
                      name: str | None = None) -> None:
        """Store a file of this trial (a model, a plot): a path, or bytes with a ``name``.

        Artifacts are listed on the trial's page of the dashboard and the report, and deleted
        with the study.
        """
        if isinstance(path_or_bytes, (bytes, bytearray)):
            if name is None:
                raise ValueError("save_artifact(data, name): bytes need a name such as "
                                 "'model.pt'")
            data = bytes(path_or_bytes)
        elif isinstance(path_or_bytes, (str, os.PathLike)):
            path = Path(path_or_bytes)
            if not path.is_file():
                raise ValueError(f"save_artifact: {str(path)!r} is not a file")
            data = path.read_bytes()
            name = path.name if name is None else name
        else:
            raise ValueError(f"save_artifact takes a file path or bytes, got "
                             f"{type(path_or_bytes).__name__}")
        self._backend.save_artifact(data, name)

    @property
    def params(self) -> dict[str, Any]:
        return dict(self._params)

    @property
    def user_attrs(self) -> dict[str, Any]:
        return dict(self._user_attrs)

    def __repr__(self) -> str:
        return f"Trial(number={self.number}, params={self._params!r})"


_FIELDS = frozenset(f.name for f in fields(TrialRecord))
