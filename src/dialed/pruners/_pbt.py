"""Population-based training (PBT).

Jaderberg, Dalibard, Osindero, Czarnecki, Donahue, Razavi, Vinyals, Green, Dunning, Simonyan,
Fernando and Kavukcuoglu, "Population Based Training of Neural Networks", arXiv:1711.09846,
2017: section 3 (``step``, ``eval``, ``ready``, ``exploit``, ``explore``) with the
*truncation selection* exploit and the *perturb* / *resample* explore of section 4.

A population of ``population`` members trains in rounds of ``interval`` units of the study's
resource (epochs, say). Each round of a member is a trial: it resumes from a checkpoint
(``trial.load_checkpoint()``), trains one round, saves a checkpoint and stops (a pause, see
:data:`~dialed.pruners.PAUSED`); the last round trains to the resource's maximum and
completes. Once every member has ended round ``k`` (the round is synchronous, so members are
ranked at the same amount of training), each member's round ``k + 1`` is queued:

* a member in the bottom ``quantile`` of round ``k``'s values **exploits**: it takes the
  checkpoint of a member drawn from the top ``quantile`` (its next trial resumes from that
  member's round-``k`` trial), and **explores** that member's settings: each is resampled
  from its distribution with probability ``resample_probability``, else multiplied by 0.8
  or 1.2 (a categorical moves to a neighbouring choice), kept within its range;
* any other member continues from its own checkpoint with its own settings.

Every round's trial records ``pbt_member``, ``pbt_round`` and ``pbt_trajectory``: the
member's settings round by round, with the member and trial each exploit copied from (the
schedule the paper reports as PBT's result). The first round's settings come from the
study's sampler. Every draw is seeded by ``seed``, the member and the round.

PBT needs checkpoints: a round that ends without ``trial.save_checkpoint`` fails its trial
(one line). It is never chosen by ``auto``; a study uses it by name.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from dialed.errors import ConfigError
from dialed.history import History
from dialed.metrics import MetricSet
from dialed.pruners._base import PAUSED, Promotion, Pruner
from dialed.pruners._curve import at_rung, check_int, check_number
from dialed.pruners._resource import Resource
from dialed.space import CategoricalDistribution, Distribution, IntDistribution
from dialed.trial import TrialRecord, TrialState

__all__ = ["PBTPruner"]

#: The explore step's perturbation factors (Jaderberg et al. 2017, section 4.1).
FACTORS = (0.8, 1.2)


class PBTPruner(Pruner):
    """Population-based training over the study's declared resource (see the module)."""

    name = "pbt"
    needs_checkpoints = True

    def __init__(
        self,
        population: int = 8,
        interval: float | None = None,
        quantile: float = 0.25,
        resample_probability: float = 0.25,
        seed: int = 0,
    ) -> None:
        check_int(self.name, "population", population, 2)
        if interval is not None:
            check_number(self.name, "interval", interval, above=0)
        check_number(self.name, "quantile", quantile, above=0, at_most=0.5)
        check_number(self.name, "resample_probability", resample_probability, at_least=0,
                     at_most=1)
        check_int(self.name, "seed", seed, 0)
        self._options: dict[str, Any] = {
            "population": population, "interval": interval, "quantile": quantile,
            "resample_probability": resample_probability, "seed": seed,
        }
        self._resource: Resource | None = None
        self._queued: set[int] = set()

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, **self._options}

    def bind(self, resource: Resource | None, metrics: MetricSet) -> None:
        super().bind(resource, metrics)
        if resource is None:
            raise ConfigError(
                "pbt trains in rounds of the study's resource: declare it (create_study(..., "
                "resource={'name': 'epochs', 'min': 1, 'max': 40}))"
            )
        self._resource = resource

    # -- settings --------------------------------------------------------------------------------
    @property
    def population(self) -> int:
        return int(self._options["population"])

    def interval(self) -> float:
        """The resource one round trains: the option, else a tenth of the maximum (at least
        the resource's minimum)."""
        res = self._resource
        if res is None:
            raise ConfigError("pbt: the study's resource is not bound yet")
        given = self._options["interval"]
        return float(given) if given is not None else max(res.min, res.max / 10)

    @property
    def rounds(self) -> int:
        high = self._resource.max if self._resource is not None else 0.0
        return max(1, math.ceil(high / self.interval() - 1e-9))

    def check_budget(self, n_trials: int | None) -> None:
        if n_trials is not None and n_trials < self.population:
            raise ConfigError(
                f"pbt: a population of {self.population} is larger than the budget of "
                f"{n_trials} trials: give n_trials >= population x rounds "
                f"({self.population} x {self.rounds} = {self.population * self.rounds}) or "
                "a smaller population"
            )

    def _target(self, rnd: int) -> float:
        res = self._resource
        high = res.max if res is not None else math.inf
        return min(high, (rnd + 1) * self.interval())

    # -- hooks -----------------------------------------------------------------------------------
    def on_trial_start(self, number: int, history: History) -> dict[str, Any]:
        """A trial the sampler started founds a member (a continuation keeps its own tags)."""
        return {"pbt_member": number, "pbt_round": 0, "checkpoint_required": True}

    def should_prune(self, history: History, trial: TrialRecord) -> str | None:
        rnd = _round(trial)
        target = self._target(rnd)
        res = self._resource
        step = trial.last_step
        if res is None or step is None or target >= res.max - 1e-9 or step < target - 1e-9:
            return None
        return (f"{PAUSED}round {rnd + 1} of {self.rounds} ({target:g} {self.unit}; pbt: the "
                "member goes on, or copies a better one, in its next trial)")

    @property
    def unit(self) -> str:
        return self._resource.name if self._resource is not None else "steps"

    def must_wait(self, history: History) -> bool:
        """Whether a worker should wait for running rounds instead of founding a member: the
        population is full and some member is still training."""
        return (len(_founders(history)) >= self.population
                and any(t.state == TrialState.RUNNING for t in history.trials))

    def promotions(self, history: History) -> list[Promotion]:
        if len(_founders(history)) < self.population:
            # the founders, each queued once across all workers (its key), their settings
            # drawn by the sampler when claimed: two workers never found one member too many
            return [Promotion({}, {"checkpoint_required": True}, f"pbt:found:{i}")
                    for i in range(self.population)]
        if any(t.state == TrialState.RUNNING for t in history.trials):
            return []  # the round is synchronous: every member ranked at the same training
        by_round: dict[int, list[TrialRecord]] = {}
        latest: dict[int, TrialRecord] = {}  # each member's trial of the highest round
        for t in history.trials:
            if "pbt_round" not in t.system_attrs:
                continue
            m = _member(t)
            if m not in latest or (_round(t), t.number) > (_round(latest[m]), latest[m].number):
                latest[m] = t
            if t.state == TrialState.PRUNED and t.system_attrs.get("paused"):
                by_round.setdefault(_round(t), []).append(t)
        out: list[Promotion] = []
        for rnd in sorted(by_round):
            ended = [t for t in by_round[rnd] if t.number not in self._queued]
            if not ended or not self._round_over(rnd, latest):
                continue
            ranked = self._ranked(by_round[rnd], rnd, history)
            for t in ended:
                out.append(self._next_round(t, rnd, ranked, history))
                self._queued.add(t.number)
        return out

    @staticmethod
    def _round_over(rnd: int, latest: Mapping[int, TrialRecord]) -> bool:
        """Every member ended round ``rnd``: it is past it, or paused at it, or died (its
        latest trial failed)."""
        for t in latest.values():
            r = _round(t)
            if r > rnd or t.state == TrialState.FAILED:
                continue
            if r < rnd or t.state != TrialState.PRUNED:
                return False
        return True

    # -- exploit and explore -----------------------------------------------------------------------
    def _ranked(self, jobs: list[TrialRecord], rnd: int, history: History) -> list[TrialRecord]:
        """The round's trials, best first, by their value at the round's end."""
        loss = history.metrics.primary.loss
        scored = []
        for t in jobs:
            hit = at_rung(t.intermediate, self._target(rnd))
            if hit is not None:
                scored.append((loss(hit[1]), t.number, t))
        scored.sort(key=lambda s: (s[0], s[1]))
        return [s[2] for s in scored]

    def _next_round(self, job: TrialRecord, rnd: int, ranked: list[TrialRecord],
                    history: History) -> Promotion:
        member = _member(job)
        rng = np.random.default_rng([int(self._options["seed"]), member, rnd])
        n = len(ranked)
        cut = max(1, math.floor(n * float(self._options["quantile"]) + 1e-9)) if n > 1 else 0
        bottom = {t.number for t in ranked[n - cut:]} if cut else set()
        source, params, copied = job, dict(job.params), None
        if job.number in bottom:
            source = ranked[int(rng.integers(cut))]  # truncation selection: one of the top
            params = self._explore(dict(source.params), history, rng)
            copied = {"member": _member(source), "trial": source.number}
        trajectory = list(job.system_attrs.get("pbt_trajectory")
                          or [{"round": 0, "params": dict(job.params), "copied_from": None}])
        trajectory.append({"round": rnd + 1, "params": params, "copied_from": copied})
        attrs = {"pbt_member": member, "pbt_round": rnd + 1, "resume_from": source.number,
                 "checkpoint_required": True, "pbt_trajectory": trajectory}
        return Promotion(params, attrs, f"pbt:{member}:{rnd + 1}")

    def _explore(self, params: dict[str, Any], history: History,
                 rng: np.random.Generator) -> dict[str, Any]:
        space = history.space
        resample = float(self._options["resample_probability"])
        out = dict(params)
        for name, value in params.items():
            dist = space.get(name)
            if dist is None or dist.single:
                continue
            if rng.random() < resample:
                out[name] = dist.from_unit(float(rng.random()))
            else:
                out[name] = _perturb(dist, value, FACTORS[int(rng.integers(2))])
        return out


def _perturb(dist: Distribution, value: Any, factor: float) -> Any:
    """``value`` times ``factor`` within ``dist`` (a categorical: the next or previous choice)."""
    if isinstance(dist, CategoricalDistribution):
        choices = list(dist.choices)
        i = choices.index(value) if value in choices else 0
        return choices[min(len(choices) - 1, max(0, i + (1 if factor > 1 else -1)))]
    low, high = float(dist.low), float(dist.high)
    moved = min(high, max(low, float(value) * factor))
    if isinstance(dist, IntDistribution):
        step = 1 if factor > 1 else -1
        near = round(moved)
        if near == int(value):
            near = int(value) + step
        return int(min(dist.high, max(dist.low, near)))
    return dist.from_unit(dist.to_unit(moved))


def _round(trial: TrialRecord) -> int:
    r = trial.system_attrs.get("pbt_round", 0)
    return r if isinstance(r, int) and not isinstance(r, bool) else 0


def _member(trial: TrialRecord) -> int:
    m = trial.system_attrs.get("pbt_member", trial.system_attrs.get("retry_of", trial.number))
    return m if isinstance(m, int) and not isinstance(m, bool) else trial.number


def _founders(history: History) -> list[TrialRecord]:
    """The trials that founded a member: neither a continuation nor a retry."""
    return [t for t in history.trials
            if "resume_from" not in t.system_attrs and "retry_of" not in t.system_attrs]

