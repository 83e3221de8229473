"""The sampler interface: a proposal from the engine's read-only history, and nothing else.

A sampler never sees the study, the storage or the engine; it reads a
:class:`~dialed.history.History` (the trials and the arrays derived from them, which the
engine computes once per trial) and keeps no state of its own beyond its settings: model state
worth keeping between suggestions goes to the history's memo, keyed by what it was derived
from. For each new trial the engine calls

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
from collections.abc import Mapping
from typing import Any

import numpy as np

from dialed._util import derive_seed, derive_uniform
from dialed.history import History
from dialed.metrics import MetricSet
from dialed.space import Distribution, Space

__all__ = ["UNSEEN_DRAWS", "Sampler"]

#: Uniform draws :meth:`Sampler.unseen` makes to replace a proposal that repeats a trial.
UNSEEN_DRAWS = 64


class Sampler(abc.ABC):
    """Proposes parameters from a :class:`History`; subclasses implement :meth:`suggest`."""

    #: The name recorded in the study and shown by the CLI.
    name: str = "sampler"
    #: True when the sampler proposes only its :meth:`queue` (a grid): once every queued
    #: configuration has been claimed, the study has nothing left to run.
    finite: bool = False

    def __init__(self, seed: int | None = None) -> None:
        self._seed = seed

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

    def uniform(self, number: int, salt: str) -> float:
        """One uniform draw in [0, 1) for trial ``number`` and ``salt`` (a parameter's name)."""
        if self._seed is None:
            self._seed = derive_seed(0)
        return derive_uniform(self._seed, number, salt)

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
        return distribution.from_unit(self.uniform(number, name))

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
