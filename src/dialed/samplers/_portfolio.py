"""A portfolio: several samplers take turns, each proposing from the whole shared history.

No single sampler wins everywhere. In the NeurIPS 2020 black-box optimisation challenge
(Turner et al. 2021, "Bayesian Optimization is Superior to Random Search for Machine Learning
Hyperparameter Tuning: Analysis of the Black-Box Optimization Challenge 2020", PMLR 133)
several of the strongest entries combined optimisers rather than trusting one. On this
library's quick run of the same problems (benchmarks/results/bbo-quick.md) a Gaussian process
stalls where the loss has plateaus and steps (a decision tree's log loss), on which a density
model such as TPE does well, and TPE is slower to refine a smooth optimum, on which the GP does
well. Here the members take turns by trial number, member ``number mod k`` proposing trial
``number``; each is fitted on every trial, its own and the others' (and sees
the running ones, so a batch does not pile onto one point), so each model is corrected by
evidence it would not have gathered alone. With ``lead``, the first member proposes the first
``lead`` trials alone (its own initial design included) before the turns begin.

Each member is a pure function of (seed, history, number), so the portfolio is too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from dialed.errors import ConfigError
from dialed.history import History
from dialed.metrics import MetricSet
from dialed.samplers._base import Sampler
from dialed.space import Distribution, Space

__all__ = ["PortfolioSampler"]


class PortfolioSampler(Sampler):
    """Members take turns: trial ``n`` is proposed by member ``n mod len(members)``.

    ``members`` names samplers the registry knows (not ``grid`` or ``auto``); each is built with
    this sampler's seed and its defaults. Trials numbered below ``lead`` are all the first
    member's.
    """

    name = "portfolio"

    def __init__(
        self,
        seed: int | None = None,
        members: Sequence[str] = ("gp", "tpe"),
        lead: int = 0,
    ) -> None:
        super().__init__(seed)
        if isinstance(lead, bool) or not isinstance(lead, int) or lead < 0:
            raise ConfigError(
                f"portfolio lead must be a whole number of trials >= 0, got {lead!r}"
            )
        if isinstance(members, str) or not members:
            raise ConfigError(
                f"portfolio members must be a non-empty list of sampler names, got {members!r}"
            )
        names = [str(m).strip().lower() for m in members]
        bad = [m for m in names if m in ("grid", "auto", "portfolio")]
        if bad:
            raise ConfigError(
                f"portfolio members cannot include {bad[0]!r}; give samplers that propose "
                "from history, such as ['gp', 'tpe']"
            )
        for m in names:  # fail now, with the registry's message, on an unknown name
            _build(m, 0)
        self._names = tuple(names)
        self._lead = lead
        self._members: list[Sampler] | None = None  # built once the seed is known

    @property
    def members(self) -> tuple[str, ...]:
        return self._names

    @property
    def lead(self) -> int:
        return self._lead

    def member_for(self, number: int) -> str:
        """The name of the member that proposes trial ``number``."""
        return self._names[self._turn(number)]

    def _turn(self, number: int) -> int:
        return 0 if number < self._lead else number % len(self._names)

    # -- what the engine calls -------------------------------------------------------------
    def plan(
        self, space: Space, metrics: MetricSet, *, n_trials: int | None, n_jobs: int
    ) -> None:
        for member in self._built():
            member.plan(space, metrics, n_trials=n_trials, n_jobs=n_jobs)

    def suggest(self, history: History, space: Space, number: int) -> dict[str, Any]:
        return self._member(number).suggest(history, space, number)

    def suggest_one(
        self,
        history: History,
        name: str,
        distribution: Distribution,
        number: int,
        params: Mapping[str, Any],
    ) -> Any:
        return self._member(number).suggest_one(history, name, distribution, number, params)

    def describe(self) -> dict[str, Any]:
        return {**super().describe(),
                "options": {"members": list(self._names), "lead": self._lead}}

    # -- the members -----------------------------------------------------------------------
    def _member(self, number: int) -> Sampler:
        return self._built()[self._turn(number)]

    def bind_seed(self, study_seed: int) -> None:
        unbound = self._seed is None
        super().bind_seed(study_seed)
        if unbound:
            self._members = None  # any built before take the study's seed

    def _built(self) -> list[Sampler]:
        members = self._members
        if members is None:
            # Two threads may both build: the members hold only their settings, so either
            # list proposes the same.
            self.rng(0)  # fixes the seed when none was given
            seed = int(self._seed or 0)
            # a name given twice (a weight: ["tpe", "random", "tpe"]) is one sampler
            one = {m: _build(m, seed) for m in dict.fromkeys(self._names)}
            members = self._members = [one[m] for m in self._names]
        return members


def _build(name: str, seed: int) -> Sampler:
    from dialed.samplers import make_sampler  # the registry imports this module

    return make_sampler(name, seed=seed)
