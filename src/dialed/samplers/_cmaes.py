"""CMA-ES on the unit cube; with margin for integer and stepped parameters; IPOP restarts.

N. Hansen, "The CMA Evolution Strategy: A Tutorial", arXiv:1604.00772 (2016).
R. Hamano, S. Saito, M. Nomura, S. Shirakawa, "CMA-ES with Margin: Lower-Bounding Marginal
Probability for Mixed-Integer Black-Box Optimization", GECCO 2022 (arXiv:2205.13482).
A. Auger, N. Hansen, "A Restart CMA Evolution Strategy With Increasing Population Size",
IEEE CEC 2005, 1769-1776.

The strategy is the ``cmaes`` package's: :class:`cmaes.CMA` (Hansen 2016) when every parameter
it covers is continuous, :class:`cmaes.CMAwM` (Hamano et al. 2022) when some are integers or
stepped floats, whose margin keeps the chance of leaving the current integer from vanishing.
Both work on the unit cube of :mod:`dialed.space`: a continuous (or log-scaled) parameter is a
coordinate in ``[0, 1]``; an integer or a stepped float with ``k`` values is a lattice of the
``k`` slice centres ``(i + 0.5) / k``. When a run converges (``should_stop()``, or a whole
generation inside a box of side 1e-4 of the cube) it restarts from a random mean with twice the
population (IPOP, Auger and Hansen 2005).

The sampler keeps no state a crash could lose: the strategy is rebuilt by replaying the
history. The complete (and pruned) trials, in order of number, are cut into generations of the
population size, and each full generation is told; trial ``number`` is then drawn from the
result with the generator reseeded from the sampler seed and ``number``. So the same seed,
history and number give the same suggestion in any process, and workers never wait on one
another: each asks its own point from the generations complete so far. The replayed strategy is
kept in the history's memo with the exact sequence of trials it consumed; a later call whose
history extends that sequence continues from it, and any other history is replayed from scratch.

A draw that repeats the configuration of a finished or running trial is drawn again from the
strategy with another seed, up to ``_REDRAWS`` times, and then uniformly
(:meth:`~dialed.samplers.Sampler.unseen`): on a small discrete space a converged strategy
would otherwise propose the same few configurations over and over.

While replaying, the sampler asks the strategy again for each trial with that trial's seed: when
the point decodes to the trial's parameters (the trial was drawn from this very state, as in a
sequential run) the strategy is told the continuous point it drew, which CMA-ES with margin
needs; otherwise (a startup, enqueued or parallel trial) it is told the trial's unit-cube point.
"""

from __future__ import annotations

import bisect
import math
import operator
from collections.abc import Sequence
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any, NamedTuple

import numpy as np

from dialed._util import derive_seed
from dialed.errors import ConfigError
from dialed.history import History
from dialed.metrics import MetricSet
from dialed.samplers._base import Sampler
from dialed.samplers._sobol import SobolSampler
from dialed.space import CategoricalDistribution, Distribution, FloatDistribution, Space
from dialed.trial import TrialRecord, TrialState

__all__ = ["CMAESSampler"]

_RESTARTS = ("ipop", "none")
#: IPOP doubles the population at each restart; beyond this many doublings it stops growing.
_MAX_DOUBLINGS = 9
#: A generation inside a box this small (a fraction of the unit cube) has converged.
_COLLAPSED = 1e-4
#: Draws from the strategy that replace one repeating a trial, before a uniform draw does.
_REDRAWS = 8


class CMAESSampler(Sampler):
    """CMA-ES (with margin where there are integers) over the numeric parameters, IPOP restarts.

    * Numeric parameters that every complete trial has are searched by CMA-ES; categorical
      parameters, single-valued ones and conditional ones (missing from some complete trial)
      are drawn independently and uniformly by :meth:`Sampler.suggest_one`.
    * Trials numbered below ``n_startup`` are points of a scrambled Sobol' sequence; the first
      mean of CMA-ES is then the best of them (the centre of the cube when ``n_startup=0``).
    * Failed and running trials are ignored. **Pruned trials count as the worst of their
      generation** (the pruner judged them poor), ranked after every complete one.
    * Infeasible trials (a constraint broken) rank after every feasible one of their generation,
      by how far the constraint is broken.
    * **Multi-objective studies are optimised on the first objective only**; the others are
      recorded but not searched (use ``auto`` or ``tpe`` for a Pareto front).

    ``popsize`` is the first population (``4 + floor(3 ln d)`` when None); ``sigma0`` the first
    step size as a fraction of the unit cube; ``restarts`` is ``"ipop"`` or ``"none"`` (or None).
    """

    name = "cmaes"

    def __init__(
        self,
        seed: int | None = None,
        popsize: int | None = None,
        restarts: str | None = "ipop",
        n_startup: int = 0,
        sigma0: float = 1 / 6,
    ) -> None:
        super().__init__(seed)
        if popsize is not None and (
            isinstance(popsize, bool) or not isinstance(popsize, int) or popsize < 2
        ):
            raise ConfigError(
                f"cmaes: popsize must be a whole number >= 2 or None, got {popsize!r}"
            )
        restarts = "none" if restarts is None else restarts
        if restarts not in _RESTARTS:
            raise ConfigError(
                f"cmaes: restarts must be one of {', '.join(map(repr, _RESTARTS))}, "
                f"got {restarts!r}"
            )
        if isinstance(n_startup, bool) or not isinstance(n_startup, int) or n_startup < 0:
            raise ConfigError(f"cmaes: n_startup must be a whole number >= 0, got {n_startup!r}")
        if (
            isinstance(sigma0, bool) or not isinstance(sigma0, (int, float))
            or not 0 < sigma0 <= 1
        ):
            raise ConfigError(f"cmaes: sigma0 must be a number in (0, 1], got {sigma0!r}")
        self._popsize = popsize
        self._restarts = restarts
        self._n_startup = n_startup
        self._sigma0 = float(sigma0)

    @property
    def popsize(self) -> int | None:
        return self._popsize

    @property
    def restarts(self) -> str:
        return self._restarts

    @property
    def n_startup(self) -> int:
        return self._n_startup

    @property
    def sigma0(self) -> float:
        return self._sigma0

    # -- proposing ---------------------------------------------------------------------------
    def suggest(self, history: History, space: Space, number: int) -> dict[str, Any]:
        if not len(space):
            return {}
        seed = self._seed_now()
        if number < self._n_startup:
            return SobolSampler(seed=seed).suggest(history, space, number)
        names = list(space)
        holds = ~np.isnan(history.points(names, history.complete_rows, space=space))
        in_every_trial: np.ndarray = np.all(holds, axis=0)
        layout = _Layout.of(space, in_every_trial.tolist())
        others = {name: self.suggest_one(history, name, dist, number, {})
                  for name, dist in space.items() if name not in layout.names}
        params = others
        if layout.names:
            records = _told(history, layout, self._n_startup)
            key = ("cmaes", *self._key(layout, history))
            run = self._replay(history.memo.take(key), key, layout, records, history.metrics)
            try:
                for attempt in range(_REDRAWS + 1):  # a repeat of a trial: the strategy again
                    enc, _ = _ask(run.optimizer, _ask_seed(seed, number, attempt))
                    params = {**dict(zip(layout.names, layout.decode(enc), strict=True)),
                              **others}
                    if not history.seen(params):
                        break
            finally:
                history.memo.put(key, run)  # taken while in use: one caller winds it
        return self.unseen(history, space, number, {name: params[name] for name in space})

    # -- the replay --------------------------------------------------------------------------
    def _key(self, layout: _Layout, history: History) -> tuple[Any, ...]:
        """What the first strategy depends on besides the trials told to it."""
        mean = _first_mean(history, layout, self._n_startup)
        return (self._seed_now(), layout, history.metrics, self._popsize, self._restarts,
                self._sigma0, self._n_startup, tuple(float(m) for m in mean))

    def _replay(
        self,
        run: _Run | None,
        key: tuple[Any, ...],
        layout: _Layout,
        records: Sequence[TrialRecord],
        metrics: MetricSet,
    ) -> _Run:
        """The strategy after ``records``: ``run`` (kept from an earlier call) continued, or a
        fresh replay."""
        if run is None or run.key != key or not run.continues(records, layout, metrics):
            mean = np.array(key[-1], dtype=float)
            run = _Run(key=key, optimizer=self._new_optimizer(layout, mean, 0))
        seed = self._seed_now()
        for record in records[len(run.consumed):]:
            entry = _Entry.of(record, layout, metrics)
            enc, raw = _ask(run.optimizer, _ask_seed(seed, entry.number))
            x = raw if layout.decode(enc) == entry.values else layout.encode(entry.values)
            run.pending.append((x, entry))
            run.consumed.append(entry)
            run.records.append(record)
            if len(run.pending) == run.optimizer.population_size:
                self._tell(run, layout)
        return run

    def _tell(self, run: _Run, layout: _Layout) -> None:
        """Tell one full generation; restart with twice the population when it converged."""
        generation = [entry for _, entry in run.pending]
        scores = _scores(generation)
        run.optimizer.tell([(x, s) for (x, _), s in zip(run.pending, scores, strict=True)])
        run.pending = []
        if self._restarts == "ipop" and (
            run.optimizer.should_stop() or _collapsed(generation, layout)
        ):
            run.restarts += 1
            low, high = layout.bounds[:, 0], layout.bounds[:, 1]
            mean = self.rng(run.restarts, "cmaes-restart").uniform(low, high)
            run.optimizer = self._new_optimizer(layout, mean, min(run.restarts, _MAX_DOUBLINGS))

    def _new_optimizer(self, layout: _Layout, mean: np.ndarray, doublings: int) -> Any:
        from cmaes import CMA, CMAwM  # cmaes imports scipy.stats: only when first used

        d = len(layout.names)
        base = self._popsize if self._popsize is not None else 4 + math.floor(3 * math.log(d))
        popsize = base * 2**doublings
        if layout.discrete:
            return CMAwM(mean=mean, sigma=self._sigma0, bounds=layout.bounds,
                         steps=layout.steps, seed=0, population_size=popsize)
        return CMA(mean=mean, sigma=self._sigma0, bounds=layout.bounds, seed=0,
                   population_size=popsize)

    def _seed_now(self) -> int:
        if self._seed is None:
            self._seed = derive_seed(0)
        return self._seed

    # -- recording ---------------------------------------------------------------------------
    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "options": {
            "popsize": self._popsize, "restarts": self._restarts,
            "n_startup": self._n_startup, "sigma0": self._sigma0,
        }}


# -- the unit cube CMA-ES searches -----------------------------------------------------------
@dataclass(frozen=True)
class _Layout:
    """The parameters CMA-ES searches, in space order, and each one's number of values.

    ``sizes[i]`` is the number of values of an integer or stepped float (a lattice in the unit
    cube) and 0 for a continuous one (log-scaled integers are continuous here: their values are
    not evenly spaced in the cube; decoding rounds them).
    """

    names: tuple[str, ...]
    dists: tuple[Distribution, ...] = field(compare=False)
    sizes: tuple[int, ...]
    specs: tuple[str, ...]  # the distributions' plain forms, so equal layouts compare equal

    @classmethod
    def of(cls, space: Space, in_every_trial: Sequence[bool]) -> _Layout:
        """The layout of ``space``'s parameters that every complete trial holds
        (``in_every_trial``, shape ``(len(space),)``)."""
        names, dists, sizes, specs = [], [], [], []
        for (name, dist), common in zip(space.items(), in_every_trial, strict=True):
            if isinstance(dist, CategoricalDistribution) or dist.single:
                continue
            if not common:
                continue  # conditional: drawn independently
            names.append(name)
            dists.append(dist)
            sizes.append(_lattice_size(dist))
            specs.append(repr(sorted(dist.to_dict().items())))
        return cls(tuple(names), tuple(dists), tuple(sizes), tuple(specs))

    @property
    def discrete(self) -> bool:
        return any(self.sizes)

    @property
    def bounds(self) -> np.ndarray:
        """Shape ``(d, 2)``: ``[0, 1]``, or the first and last lattice centres."""
        return np.array([
            [0.5 / k, 1 - 0.5 / k] if k else [0.0, 1.0] for k in self.sizes
        ])

    @property
    def steps(self) -> np.ndarray:
        """Shape ``(d,)``: the lattice step ``1 / k``, or 0 for a continuous coordinate."""
        return np.array([1 / k if k else 0.0 for k in self.sizes])

    def encode(self, values: tuple[Any, ...]) -> np.ndarray:
        return np.array([d.to_unit(v) for d, v in zip(self.dists, values, strict=True)])

    def decode(self, x: np.ndarray) -> tuple[Any, ...]:
        return tuple(d.from_unit(float(u)) for d, u in zip(self.dists, x, strict=True))


def _lattice_size(dist: Distribution) -> int:
    if isinstance(dist, CategoricalDistribution) or dist.log:
        return 0
    if isinstance(dist, FloatDistribution):
        return 0 if dist.step is None else round((dist.high - dist.low) / dist.step) + 1
    return (dist.high - dist.low) // dist.step + 1


class _Entry(NamedTuple):
    """One trial as the replay tells it; equal entries are the same trial, told the same."""

    number: int
    values: tuple[Any, ...]  # the searched parameters' values, in layout order
    loss: float | None  # the first objective's loss; None: pruned
    violation: float

    @classmethod
    def of(cls, trial: TrialRecord, layout: _Layout, metrics: MetricSet) -> _Entry:
        values = _values(trial, layout)
        if trial.state == TrialState.PRUNED:
            return cls(trial.number, values, None, 0.0)
        primary = metrics.primary
        loss = primary.loss(trial.metrics[primary.name])
        return cls(trial.number, values, float(loss), float(metrics.violation(trial.metrics)))


@dataclass
class _Run:
    """A strategy replayed over ``consumed``; ``pending`` is the unfinished generation.

    ``records`` are the trial records the entries came from: a record that is the very same
    object (records are immutable, and held here so no other takes its place) need not be
    compared again, which keeps a call in a long study from re-reading every trial.
    """

    key: tuple[Any, ...]
    optimizer: Any
    consumed: list[_Entry] = field(default_factory=list)
    records: list[TrialRecord] = field(default_factory=list)
    pending: list[tuple[np.ndarray, _Entry]] = field(default_factory=list)
    restarts: int = 0

    def continues(
        self, records: Sequence[TrialRecord], layout: _Layout, metrics: MetricSet
    ) -> bool:
        """Whether ``records`` start with the trials this run consumed, each told the same."""
        if len(records) < len(self.consumed):
            return False
        if all(map(operator.is_, self.records, records)):  # the same records: at C speed
            return True
        for i, (mine, theirs) in enumerate(zip(self.records, records, strict=False)):
            if mine is theirs:
                continue
            if _Entry.of(theirs, layout, metrics) != self.consumed[i]:
                return False
            self.records[i] = theirs
        return True


def _told(history: History, layout: _Layout, n_startup: int) -> Sequence[TrialRecord]:
    """Complete and pruned trials past the startup, with every searched parameter, by number.

    Every complete trial holds the searched parameters (the layout is made of those), and the
    history's subsets are ordered by number: the complete ones past the startup are a slice.
    """
    complete = history.complete[_first_numbered(history.complete, n_startup):]
    names = frozenset(layout.names)
    pruned = [t for t in history.pruned if t.number >= n_startup and t.params.keys() >= names]
    if not pruned:
        return complete
    return sorted((*complete, *pruned), key=attrgetter("number"))


def _first_numbered(trials: Sequence[TrialRecord], number: int) -> int:
    """The position of the first trial numbered ``number`` or more (``trials`` by number)."""
    return bisect.bisect_left(trials, number, key=attrgetter("number"))


def _values(trial: TrialRecord, layout: _Layout) -> tuple[Any, ...]:
    return tuple(trial.params[n] for n in layout.names)


def _first_mean(history: History, layout: _Layout, n_startup: int) -> np.ndarray:
    """The centre of the cube, or the best startup trial (feasible first) when there is one."""
    startup = history.complete[:_first_numbered(history.complete, n_startup)]
    bounds = layout.bounds
    if not startup:
        centre: np.ndarray = bounds.mean(axis=1)
        return centre
    losses = history.losses()[: len(startup), 0]
    violations = history.violations()[: len(startup)]
    best = min(range(len(startup)),
               key=lambda i: (violations[i] > 0, violations[i], losses[i], startup[i].number))
    mean: np.ndarray = np.clip(layout.encode(_values(startup[best], layout)),
                               bounds[:, 0], bounds[:, 1])
    return mean


def _scores(generation: list[_Entry]) -> list[float]:
    """What CMA-ES ranks: the loss; infeasible trials after the feasible, pruned ones last."""
    finite = [e.loss for e in generation if e.loss is not None]
    worst = max(finite, default=0.0)
    spread = worst - min(finite, default=0.0)
    out = []
    for e in generation:
        if e.loss is None:
            out.append(math.inf)
        elif e.violation > 0:
            out.append(worst + spread + 1.0 + e.violation)
        else:
            out.append(e.loss)
    return out


def _collapsed(generation: list[_Entry], layout: _Layout) -> bool:
    """Whether a whole generation lies in a box of side :data:`_COLLAPSED` of the unit cube.

    ``should_stop()`` waits for differences of 1e-12, which a noisy validation metric never
    shows; a generation this tight (or one configuration repeated, on a discrete space) has
    nothing left to learn where it is.
    """
    points = np.array([layout.encode(e.values) for e in generation])
    return bool(np.ptp(points, axis=0).max() < _COLLAPSED)


def _ask_seed(seed: int, number: int, attempt: int = 0) -> int:
    """The seed of the strategy's generator when drawing trial ``number`` (``attempt`` > 0: the
    draws that replace one repeating a trial)."""
    return derive_seed(seed, number, "cmaes") if not attempt else derive_seed(
        seed, number, "cmaes", attempt)


def _ask(optimizer: Any, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """One draw as (the point to decode, the point to tell), each of shape ``(d,)``."""
    from cmaes import CMAwM

    optimizer.reseed_rng(seed)
    if isinstance(optimizer, CMAwM):
        enc, raw = optimizer.ask()
    else:
        enc = raw = optimizer.ask()
    return np.array(enc, dtype=float), np.array(raw, dtype=float)
