"""The sampler interface and the narrow, read-only history every sampler works from.

A sampler never sees the study, the storage or the engine. For each new trial the engine calls

* :meth:`Sampler.suggest` once, with the study's known space: a joint proposal for those
  parameters (model-based samplers fit their model here);
* :meth:`Sampler.suggest_one` for each parameter the objective asks for that the joint proposal
  did not cover (a parameter seen for the first time, or one of a conditional branch);
* :meth:`Sampler.queue` once per study, for fixed configurations to enqueue (a grid).

Randomness comes only from :meth:`Sampler.rng`, seeded by the sampler seed (the study's seed when
the sampler was given none) and the trial number: the same seed and the same history give the
same suggestion, in any process.

A configuration a finished or running trial already has is not proposed again while others
remain: :meth:`History.seen` tells, and :meth:`Sampler.unseen` replaces such a proposal.
"""

from __future__ import annotations

import abc
import copy
import operator
import threading
from collections.abc import Callable, Mapping, Sequence, Set
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, ClassVar

import numpy as np

from dialed._util import derive_seed
from dialed.metrics import MetricSet
from dialed.space import Distribution, Space
from dialed.trial import TrialRecord, TrialState

__all__ = ["UNSEEN_DRAWS", "GrowingRows", "History", "Sampler", "config_key", "is_complete"]

#: Uniform draws :meth:`Sampler.unseen` makes to replace a proposal that repeats a trial.
UNSEEN_DRAWS = 64


@dataclass(frozen=True)
class History:
    """What a sampler may know: the space, the metrics, and the trials so far (read-only).

    ``trials`` holds every finished trial and the running ones (for constant-liar style
    strategies), ordered by number; it never holds the trial being suggested for.
    """

    space: Space
    metrics: MetricSet
    trials: tuple[TrialRecord, ...] = ()
    _cache: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def of_parts(
        cls,
        space: Space,
        metrics: MetricSet,
        trials: tuple[TrialRecord, ...],
        *,
        complete: tuple[TrialRecord, ...],
        pruned: tuple[TrialRecord, ...],
        running: tuple[TrialRecord, ...],
        finished_keys: Set[tuple[tuple[str, str], ...]] | None = None,
    ) -> History:
        """A history whose subsets the caller keeps already (the engine's incremental cache).

        They must be what :attr:`complete`, :attr:`pruned` and :attr:`running` would compute
        from ``trials``, and ``finished_keys`` the :func:`config_key` of every finished trial
        among them (read, never changed); the engine keeps them up to date trial by trial
        instead of scanning the whole study for each suggestion.
        """
        history = cls(space=space, metrics=metrics, trials=trials)
        history.__dict__.update(complete=complete, pruned=pruned, running=running)
        if finished_keys is not None:
            history._cache["finished_keys"] = finished_keys
        return history

    @cached_property
    def complete(self) -> tuple[TrialRecord, ...]:
        """Finished trials with every objective, feasible or not."""
        names = [m.name for m in self.metrics.objectives]
        return tuple(t for t in self.trials if is_complete(t, names))

    @cached_property
    def running(self) -> tuple[TrialRecord, ...]:
        return tuple(t for t in self.trials if t.state == TrialState.RUNNING)

    @cached_property
    def pruned(self) -> tuple[TrialRecord, ...]:
        return tuple(t for t in self.trials if t.state == TrialState.PRUNED)

    def losses(self, trials: Sequence[TrialRecord] | None = None) -> np.ndarray:
        """Objective values as losses (smaller is better), shape ``(n_trials, n_objectives)``."""
        trials = self.complete if trials is None else trials
        objs = self.metrics.objectives
        out = np.empty((len(trials), len(objs)))
        for i, t in enumerate(trials):
            for j, m in enumerate(objs):
                out[i, j] = m.loss(t.metrics[m.name])
        return out

    def violations(self, trials: Sequence[TrialRecord] | None = None) -> np.ndarray:
        """Total constraint violation per trial (0 = feasible), shape ``(n_trials,)``."""
        trials = self.complete if trials is None else trials
        return np.array([self.metrics.violation(t.metrics) for t in trials], dtype=float)

    def encode(
        self, trials: Sequence[TrialRecord] | None = None, space: Space | None = None
    ) -> np.ndarray:
        """Trials' parameters in the unit cube, shape ``(n_trials, len(space))``; NaN = absent."""
        trials = self.complete if trials is None else trials
        space = self.space if space is None else space
        out = np.empty((len(trials), len(space)))
        for i, t in enumerate(trials):
            out[i] = space.encode(t.params)
        return out

    def seen(self, params: Mapping[str, Any]) -> bool:
        """Whether a finished or running trial already has exactly these parameters."""
        key = config_key(params)
        keys = self._cache.get("keys")
        if keys is None:
            finished = self._cache.get("finished_keys")
            if finished is None:  # built here once per history
                keys = {config_key(t.params) for t in self.trials}
            else:  # kept by the engine: only the running trials are new
                keys = _Union(finished, {config_key(t.params) for t in self.running})
            self._cache["keys"] = keys
        return key in keys


class GrowingRows:
    """An array with one row per trial of a sequence, kept between calls so that a call computes
    the rows of the trials added since the last one only.

    The sequences a sampler sees (``History.trials``, ``complete``, ...) grow at their end and
    records are immutable: while a sequence starts with the very records (the same objects)
    whose rows are kept, those rows are still right. Rows are kept up to the first unfinished
    trial (a running trial's record is replaced as it changes). Any other sequence, or another
    ``key`` (what the rows depend on besides the trials), is computed afresh. One instance
    serves one sequence of one sampler.
    """

    def __init__(self) -> None:
        self._kept: tuple[Any, tuple[TrialRecord, ...], np.ndarray] | None = None

    def rows(
        self,
        key: Any,
        trials: Sequence[TrialRecord],
        compute: Callable[[Sequence[TrialRecord]], np.ndarray],
    ) -> np.ndarray:
        """``compute(trials)``, shape ``(len(trials), ...)``, reusing the rows kept."""
        kept = self._kept
        n = 0
        if kept is not None and kept[0] == key and len(kept[1]) <= len(trials) and all(
            map(operator.is_, kept[1], trials)  # the same records first, compared at C speed
        ):
            n = len(kept[1])
        new = compute(trials[n:])
        out = new if kept is None or n == 0 else np.concatenate([kept[2], new])
        out.setflags(write=False)  # the kept rows are shared with the next call
        k = n
        while k < len(trials) and trials[k].state.finished:
            k += 1
        self._kept = (key, tuple(trials[:k]), out[:k])
        return out


def is_complete(trial: TrialRecord, objectives: Sequence[str]) -> bool:
    """Whether ``trial`` is complete with a value for each of ``objectives``."""
    return trial.state == TrialState.COMPLETE and all(n in trial.metrics for n in objectives)


def config_key(params: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    """What two trials with the same configuration share (and no two others)."""
    return tuple(sorted((k, repr(v)) for k, v in params.items()))


@dataclass(frozen=True)
class _Union:
    """Membership in either of two sets, without copying the large one."""

    large: Set[tuple[tuple[str, str], ...]]
    small: Set[tuple[tuple[str, str], ...]]

    def __contains__(self, key: object) -> bool:
        return key in self.small or key in self.large


class Sampler(abc.ABC):
    """Proposes parameters from a :class:`History`; subclasses implement :meth:`suggest`."""

    #: The name recorded in the study and shown by the CLI.
    name: str = "sampler"
    #: True when the sampler proposes only its :meth:`queue` (a grid): once every queued
    #: configuration has been claimed, the study has nothing left to run.
    finite: bool = False

    #: Attributes a copy sent to another process starts afresh with (caches), by value.
    _fresh_when_pickled: ClassVar[Mapping[str, Any]] = {}

    def __init__(self, seed: int | None = None) -> None:
        self._seed = seed

    # Process executors send samplers to workers: a lock cannot be pickled (a copy gets its own)
    # and caches are rebuilt there rather than shipped.
    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        if "_lock" in state:
            state["_lock"] = None
        for key, value in self._fresh_when_pickled.items():
            state[key] = copy.copy(value)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        if "_lock" in state:
            self._lock = threading.Lock()

    @property
    def seed(self) -> int | None:
        return self._seed

    def bind_seed(self, study_seed: int) -> None:
        """Called by the study: a sampler given no seed takes the study's."""
        if self._seed is None:
            self._seed = int(study_seed)

    def rng(self, number: int, salt: str = "") -> np.random.Generator:
        """The random generator for trial ``number`` (and a salt per use within it)."""
        if self._seed is None:
            self._seed = derive_seed(0)
        return np.random.default_rng(derive_seed(self._seed, number, salt or "joint"))

    def unseen(
        self, history: History, space: Space, number: int, params: dict[str, Any]
    ) -> dict[str, Any]:
        """``params``, or when a finished or running trial has them already, uniform draws of
        the same parameters until one that no trial has (the last of :data:`UNSEEN_DRAWS` draws
        when all repeat one: the space is nearly used up)."""
        if not history.seen(params):
            return params
        rng = self.rng(number, "unseen")
        for _ in range(UNSEEN_DRAWS):
            params = {name: space[name].from_unit(float(rng.random())) for name in params}
            if not history.seen(params):
                break
        return params

    @abc.abstractmethod
    def suggest(self, history: History, space: Space, number: int) -> dict[str, Any]:
        """A joint proposal for (some of) the parameters of ``space`` for trial ``number``."""

    def suggest_one(
        self,
        history: History,
        name: str,
        distribution: Distribution,
        number: int,
        params: Mapping[str, Any],
    ) -> Any:
        """One parameter the joint proposal did not cover; uniform in the unit cube by default.

        ``params`` holds what the trial has suggested so far (for conditional parameters).
        """
        return distribution.from_unit(float(self.rng(number, name).random()))

    def queue(self, space: Space) -> list[dict[str, Any]] | None:
        """Configurations to enqueue once per study before sampling (a grid); None = none."""
        return None

    def plan(  # noqa: B027 - an optional hook
        self, space: Space, metrics: MetricSet, *, n_trials: int | None, n_jobs: int
    ) -> None:
        """Called by ``optimize`` before its first trial with what is known of the run ahead.

        ``space`` is the declared (or so far seen) space and ``n_trials`` the budget of this
        call (None: until a timeout). Most samplers ignore it; ``auto`` chooses by it.
        """

    def decision(self) -> dict[str, Any] | None:
        """What the sampler chose and why (``{"sampler": ..., "reason": ...}``), when it chose.

        The engine records it in the study (attribute ``sampler_decision``) whenever it changes.
        """
        return None

    def describe(self) -> dict[str, Any]:
        """The sampler's name and settings, recorded in the study.

        ``make_sampler(d["name"], seed=d["seed"], **d.get("options", {}))`` must rebuild it;
        subclasses with options put them under ``"options"``.
        """
        return {"name": self.name, "seed": self._seed}
