"""One family at a time: the sampler of a stage sees only the stage's sub-space.

A stage is a run of ordinary trials of the study. Its sampler is a :class:`StageSampler`
around a fresh sampler of the study's kind: every parameter outside the stage's families is
answered with the incumbent's value (so each trial records the whole configuration), and the
inner sampler is shown only the stage's parameters and only the trials that vary them: this
stage's search trials and the incumbent's evaluations (the point the stage starts from).
Everything stays in the study: trials, the stage's record, the incumbent.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from dialed.history import History
from dialed.metrics import MetricSet
from dialed.samplers import Sampler
from dialed.space import Distribution, Space
from dialed.workflow._evaluate import ROLE

__all__ = ["StageSampler", "stage_parameters"]


def stage_parameters(space: Space, families: Sequence[str] | None) -> list[str]:
    """The parameters a stage tunes: those of its families (``None``: every parameter)."""
    if families is None:
        return list(space)
    wanted = set(families)
    return [name for name, dist in space.items() if (dist.family or "") in wanted]


class StageSampler(Sampler):
    """Proposes the stage's parameters with ``inner`` and the incumbent's values for the rest."""

    def __init__(
        self,
        inner: Sampler,
        tuned: Sequence[str],
        fixed: Mapping[str, Any],
        *,
        first_number: int,
        start_numbers: Sequence[int] = (),
        label: str = "stage",
    ) -> None:
        super().__init__(inner.seed)
        self.inner = inner
        self.tuned = tuple(tuned)
        self.fixed = {k: v for k, v in fixed.items() if k not in self.tuned}
        self.first_number = int(first_number)
        self.start_numbers = frozenset(int(n) for n in start_numbers)
        self.label = label
        self.name = f"{inner.name}@{label}"
        self.finite = inner.finite

    # -- the view the inner sampler gets ---------------------------------------------------
    def _sub(self, space: Space) -> Space:
        return space.subset([n for n in space if n in self.tuned])

    def _view(self, history: History, sub: Space) -> History:
        keep = set(self.tuned)
        trials = tuple(
            dataclasses.replace(t, params={k: v for k, v in t.params.items() if k in keep})
            for t in history.trials
            if (t.number >= self.first_number and not t.system_attrs.get(ROLE))
            or t.number in self.start_numbers
        )
        return history.view(trials, sub)

    # -- the Sampler interface -------------------------------------------------------------
    def bind_seed(self, study_seed: int) -> None:
        self.inner.bind_seed(study_seed)
        self._seed = self.inner.seed

    def suggest(self, history: History, space: Space, number: int) -> dict[str, Any]:
        sub = self._sub(space)
        proposal = dict(self.inner.suggest(self._view(history, sub), sub, number)) if len(sub) \
            else {}
        return {**self.fixed, **{k: v for k, v in proposal.items() if k in self.tuned}}

    def suggest_one(
        self,
        history: History,
        name: str,
        distribution: Distribution,
        number: int,
        params: Mapping[str, Any],
    ) -> Any:
        if name in self.fixed:
            return self.fixed[name]
        view = self._view(history, Space())
        inner_params = {k: v for k, v in params.items() if k not in self.fixed}
        return self.inner.suggest_one(view, name, distribution, number, inner_params)

    def queue(self, space: Space) -> list[dict[str, Any]] | None:
        cells = self.inner.queue(self._sub(space))
        return None if cells is None else [{**self.fixed, **c} for c in cells]

    def plan(self, space: Space, metrics: MetricSet, *, n_trials: int | None,
             n_jobs: int) -> None:
        self.inner.plan(self._sub(space), metrics, n_trials=n_trials, n_jobs=n_jobs)

    def decision(self) -> dict[str, Any] | None:
        inner = self.inner.decision()
        return None if inner is None else {**inner, "stage": self.label}

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "seed": self.seed, "stage": self.label,
                "inner": self.inner.describe(), "tuned": list(self.tuned)}
