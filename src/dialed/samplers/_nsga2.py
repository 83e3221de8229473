"""NSGA-II: elitist non-dominated sorting genetic algorithm, as a pure function of history.

K. Deb, A. Pratap, S. Agarwal, T. Meyarivan, "A Fast and Elitist Multiobjective Genetic
Algorithm: NSGA-II", IEEE Transactions on Evolutionary Computation 6(2), 182-197 (2002).
K. Deb, R. B. Agrawal, "Simulated Binary Crossover for Continuous Search Space", Complex
Systems 9, 115-148 (1995).
K. Deb, M. Goyal, "A Combined Genetic Adaptive Search (GeneAS) for Engineering Design",
Computer Science and Informatics 26(4), 30-45 (1996) (polynomial mutation).

The steps of Deb et al. (2002), on the unit cube of :mod:`dialed.space`:

(S1) **Fast non-dominated sort** (Sec. III-A): the first front holds the points no other point
     dominates, the second those only the first dominates, and so on. Each front is peeled with
     :func:`dialed.metrics.non_dominated` (the same fronts as Deb's bookkeeping of domination
     counts), only as far as the population needs.
(S2) **Crowding distance** (Sec. III-B): per objective, the front sorted by it; a point's
     distance adds ``(f[i+1] - f[i-1]) / (f_max - f_min)``; the extremes get infinity.
(S3) **Elitist survival** (Sec. III-C, the main loop): the best ``P`` of parents and children
     together, front by front; the front that does not fit whole is cut by crowding distance.
(S4) **Binary tournament** with the crowded-comparison operator ``<_n`` (Sec. III-B): of two
     random members, the one of lower rank; of equal rank, the one of larger crowding distance.
(S5) **Simulated binary crossover** (SBX, Deb and Agrawal 1995; distribution index
     ``eta_c``), bounded to ``[0, 1]``, with probability ``crossover_prob``, each variable
     crossed with probability 1/2; **polynomial mutation** (Deb and Goyal 1996; index
     ``eta_m``), bounded, each variable with probability ``1 / d``.
(S6) **Constraint domination** (Sec. VI, Deb's constrained tournament): a feasible point beats
     an infeasible one; of two infeasible points, the smaller total violation wins; of two
     feasible ones, ordinary domination decides. So infeasible trials rank after every feasible
     front, by violation.

Categorical parameters, which SBX cannot cross, take each choice from either parent with
probability ``swap_prob`` (uniform crossover) and mutate to a uniform random choice.

**A pure function of (seed, history, number).** The sampler keeps no population. Trials are
numbered, and trials ``[g P, (g + 1) P)`` form generation ``g``. Generation 0 is uniform random
(Deb's random initial population). For a trial of generation ``g >= 1`` the parent population
is (S3) applied to every complete trial numbered below ``g P``: all earlier generations
together, so the best points found are never lost (elitism), and trials that failed, were
pruned or still run simply do not take part. The child is then drawn by (S4)-(S5) with the
generator of ``(seed, number)``. Workers in any process therefore agree without talking to one
another, and the same history gives the same suggestion; the selection of a generation is
kept in the history's memo, since every trial of that generation shares it. The non-dominated
sorting (S1) and the crowding distance (S2) are :func:`dialed.metrics.fronts` and
:func:`dialed.metrics.crowding_distance`, the implementations every part of dialed shares.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from dialed.errors import ConfigError
from dialed.history import History
from dialed.metrics import crowding_distance, fronts
from dialed.samplers._base import Sampler
from dialed.space import CategoricalDistribution, Distribution, Space
from dialed.trial import TrialRecord

__all__ = ["NSGAIISampler"]

#: How many times a child that repeats a trial is mutated again (harder each time).
_RETRIES = 8
#: Two parents closer than this on a variable are not crossed there (Deb's EPS).
_EPS = 1e-14


class NSGAIISampler(Sampler):
    """NSGA-II (Deb et al. 2002) over all parameters, several objectives and constraints.

    ``population_size`` is ``P``: trials ``[g P, (g + 1) P)`` form generation ``g``, and the
    first ``P`` trials are uniform random. ``crossover_prob`` is the chance that a child is a
    crossover of its two parents (else a copy of the first, mutated); ``swap_prob`` the chance
    that a categorical parameter comes from the second parent in a crossover;
    ``mutation_prob`` the chance that each parameter mutates (``1 / d`` when None);
    ``eta_crossover`` and ``eta_mutation`` the distribution indices of SBX and polynomial
    mutation (larger: children closer to their parents). Defaults are Deb et al.'s (Sec. V).
    """

    name = "nsga2"

    def __init__(
        self,
        seed: int | None = None,
        population_size: int = 50,
        crossover_prob: float = 0.9,
        swap_prob: float = 0.5,
        mutation_prob: float | None = None,
        eta_crossover: float = 20.0,
        eta_mutation: float = 20.0,
    ) -> None:
        super().__init__(seed)
        if (isinstance(population_size, bool) or not isinstance(population_size, int)
                or population_size < 2):
            raise ConfigError(
                f"nsga2: population_size must be a whole number >= 2, got {population_size!r}"
            )
        self._population_size = population_size
        self._crossover_prob = _probability("crossover_prob", crossover_prob)
        self._swap_prob = _probability("swap_prob", swap_prob)
        self._mutation_prob = (
            None if mutation_prob is None else _probability("mutation_prob", mutation_prob)
        )
        self._eta_crossover = _positive("eta_crossover", eta_crossover)
        self._eta_mutation = _positive("eta_mutation", eta_mutation)

    @property
    def population_size(self) -> int:
        return self._population_size

    def describe(self) -> dict[str, Any]:
        return {
            **super().describe(),
            "options": {
                "population_size": self._population_size,
                "crossover_prob": self._crossover_prob,
                "swap_prob": self._swap_prob,
                "mutation_prob": self._mutation_prob,
                "eta_crossover": self._eta_crossover,
                "eta_mutation": self._eta_mutation,
            },
        }

    # -- the Sampler interface ----------------------------------------------------------------
    def suggest(self, history: History, space: Space, number: int) -> dict[str, Any]:
        fixed = {name: dist.from_unit(0.5) for name, dist in space.items() if dist.single}
        names = [name for name, dist in space.items() if not dist.single]
        if not names:
            return fixed
        parents = self.parents(history, number)
        if parents is None:  # generation 0, or too few complete trials before it
            params = {**self._uniform(history, space, names, number), **fixed}
        else:
            dists = [space[name] for name in names]
            params = {**self._child(history, parents, names, dists, number), **fixed}
        return self.unseen(history, space, number, params)

    def parents(self, history: History, number: int) -> _Parents | None:
        """The parent population of trial ``number`` (S3), or None while there is none.

        The complete trials numbered below ``g P`` (``g`` = the trial's generation), ranked by
        constrained non-dominated sorting; at most ``P`` of them, with their rank and crowding
        distance. None in generation 0 and when fewer than two such trials exist.
        """
        cut = (number // self._population_size) * self._population_size
        if cut == 0:
            return None
        numbers = history.rows.number[history.complete_rows]
        k = int(np.searchsorted(numbers, cut))  # the complete trials are ordered by number
        if k < 2:
            return None
        pool = history.complete[:k]
        key = ("nsga2", cut, self._population_size, pool[0].study_id,
               tuple(t.trial_id for t in pool), tuple(history.metrics.to_dict().items()))
        cached: _Parents | None = history.memo.get(key)
        if cached is not None:
            return cached
        chosen = _survivors(history.losses()[:k], history.violations()[:k]
                            if history.metrics.constraints else np.zeros(k),
                            self._population_size)
        parents = _Parents(
            trials=tuple(pool[i] for i in chosen.index),
            rank=chosen.rank,
            crowding=chosen.crowding,
        )
        history.memo.put(key, parents)
        return parents

    # -- generation 0 -------------------------------------------------------------------------
    def _uniform(
        self, history: History, space: Space, names: Sequence[str], number: int
    ) -> dict[str, Any]:
        return {name: self.suggest_one(history, name, space[name], number, {}) for name in names}

    # -- a child ------------------------------------------------------------------------------
    def _child(
        self,
        history: History,
        parents: _Parents,
        names: Sequence[str],
        dists: Sequence[Distribution],
        number: int,
    ) -> dict[str, Any]:
        rng = self.rng(number, "nsga2")
        categorical = np.array([isinstance(d, CategoricalDistribution) for d in dists])
        sizes = np.array([len(d.choices) if isinstance(d, CategoricalDistribution) else 0
                          for d in dists])
        first = _tournament(parents, rng)  # (S4)
        second = _tournament(parents, rng, other_than=first)
        x1 = _genes(parents.trials[first], names, dists)
        x2 = _genes(parents.trials[second], names, dists)
        # A parameter a parent lacks (a conditional branch) comes from the other, else at random.
        fresh = _random_genes(rng, categorical, sizes)
        x1 = np.where(np.isnan(x1), np.where(np.isnan(x2), fresh, x2), x1)
        x2 = np.where(np.isnan(x2), x1, x2)

        child = x1.copy()
        if rng.random() < self._crossover_prob:  # (S5) crossover
            num = ~categorical
            a, b = _sbx(x1[num], x2[num], rng, self._eta_crossover)
            child[num] = a if rng.random() < 0.5 else b
            swap = categorical & (rng.random(len(names)) < self._swap_prob)
            child[swap] = x2[swap]

        pm = self._mutation_prob if self._mutation_prob is not None else 1.0 / len(names)
        params = _decode(_mutate(child, rng, pm, categorical, sizes, self._eta_mutation),
                         names, dists)
        for attempt in range(_RETRIES):  # a repeat of a trial is mutated again, harder
            if not history.seen(params):
                break
            pm_k = min(1.0, pm * 2.0 ** (attempt + 1))
            params = _decode(_mutate(child, rng, pm_k, categorical, sizes, self._eta_mutation),
                             names, dists)
        return params


# -- (S1)-(S3), (S6): ranking and survival ---------------------------------------------------
@dataclass(frozen=True)
class _Parents:
    """A parent population: trials with their front rank (0 = best) and crowding distance."""

    trials: tuple[TrialRecord, ...]
    rank: np.ndarray  # (k,) int
    crowding: np.ndarray  # (k,) float, inf at the extremes of a front


@dataclass(frozen=True)
class _Chosen:
    index: np.ndarray  # (k,) rows of the pool, best first
    rank: np.ndarray
    crowding: np.ndarray


def _survivors(losses: np.ndarray, violation: np.ndarray, size: int) -> _Chosen:
    """The best ``size`` rows (S3) under constrained domination (S6), with rank and crowding.

    ``losses`` has shape ``(n, m)`` (smaller is better), ``violation`` shape ``(n,)`` (0 =
    feasible). Feasible rows are sorted into fronts (S1); infeasible rows follow, one front per
    level of violation. The front that does not fit whole keeps its most isolated rows (S2).
    """
    violation = np.nan_to_num(np.asarray(violation, dtype=float), nan=np.inf)
    feasible = np.flatnonzero(violation <= 0.0)
    index: list[np.ndarray] = []
    rank: list[np.ndarray] = []
    crowd: list[np.ndarray] = []
    taken = 0
    level = 0
    for front in fronts(losses[feasible], enough=size):
        rows = feasible[front]
        dist = crowding_distance(losses[rows])
        if taken + len(rows) > size:
            keep = np.lexsort((rows, -dist))[: size - taken]
            rows, dist = rows[keep], dist[keep]
        index.append(rows)
        rank.append(np.full(len(rows), level))
        crowd.append(dist)
        taken += len(rows)
        level += 1
    if taken < size:
        infeasible = np.flatnonzero(violation > 0.0)
        order = infeasible[np.lexsort((infeasible, violation[infeasible]))][: size - taken]
        _, levels = np.unique(violation[order], return_inverse=True)
        index.append(order)
        rank.append(level + levels.reshape(-1))
        crowd.append(np.zeros(len(order)))  # equal violation: no point is preferred
    if not index:
        empty = np.zeros(0, dtype=int)
        return _Chosen(empty, empty, np.zeros(0))
    return _Chosen(np.concatenate(index), np.concatenate(rank).astype(int),
                   np.concatenate(crowd))


def _tournament(parents: _Parents, rng: np.random.Generator, other_than: int = -1) -> int:
    """Binary tournament with the crowded-comparison operator (S4); returns a parent index."""
    k = len(parents.trials)
    pool = [i for i in range(k) if i != other_than] if k > 2 else list(range(k))
    if other_than >= 0 and k == 2:
        return 1 - other_than
    a, b = (pool[int(i)] for i in rng.choice(len(pool), size=2, replace=False))
    if parents.rank[a] != parents.rank[b]:
        return a if parents.rank[a] < parents.rank[b] else b
    if parents.crowding[a] != parents.crowding[b]:
        return a if parents.crowding[a] > parents.crowding[b] else b
    return a if rng.random() < 0.5 else b


# -- (S5): variation on the unit cube ---------------------------------------------------------
def _sbx(
    x1: np.ndarray, x2: np.ndarray, rng: np.random.Generator, eta: float
) -> tuple[np.ndarray, np.ndarray]:
    """Bounded simulated binary crossover on ``[0, 1]`` (Deb and Agrawal 1995).

    Each variable is crossed with probability 1/2 (where the parents differ); the spread
    factor ``beta_q`` follows the polynomial density of index ``eta`` truncated so that both
    children stay in bounds: with ``beta = 1 + 2 (y1 - 0) / (y2 - y1)`` (and ``1 + 2 (1 - y2)
    / (y2 - y1)`` for the other child) and ``alpha = 2 - beta^-(eta + 1)``,
    ``beta_q = (u alpha)^(1 / (eta + 1))`` if ``u <= 1 / alpha`` else
    ``(1 / (2 - u alpha))^(1 / (eta + 1))``. Returns the two children, shapes ``(d,)``.
    """
    d = len(x1)
    cross, u, swap = rng.random(d), rng.random(d), rng.random(d)
    y1, y2 = np.minimum(x1, x2), np.maximum(x1, x2)
    diff = y2 - y1
    on = (cross <= 0.5) & (diff > _EPS)
    c1, c2 = x1.copy(), x2.copy()
    if not on.any():
        return c1, c2
    y1, y2, diff, u = y1[on], y2[on], diff[on], u[on]
    power = 1.0 / (eta + 1.0)

    def beta_q(beta: np.ndarray) -> np.ndarray:
        alpha = 2.0 - beta ** -(eta + 1.0)
        out: np.ndarray = np.where(
            u <= 1.0 / alpha,
            (u * alpha) ** power,
            (1.0 / np.maximum(2.0 - u * alpha, 1e-300)) ** power,
        )
        return out

    low = np.clip(0.5 * (y1 + y2 - beta_q(1.0 + 2.0 * y1 / diff) * diff), 0.0, 1.0)
    high = np.clip(0.5 * (y1 + y2 + beta_q(1.0 + 2.0 * (1.0 - y2) / diff) * diff), 0.0, 1.0)
    flip = swap[on] < 0.5
    c1[on] = np.where(flip, high, low)
    c2[on] = np.where(flip, low, high)
    return c1, c2


def _mutate(
    x: np.ndarray,
    rng: np.random.Generator,
    pm: float,
    categorical: np.ndarray,
    sizes: np.ndarray,
    eta: float,
) -> np.ndarray:
    """Polynomial mutation of numeric genes on ``[0, 1]``, uniform choice for categoricals.

    Bounded polynomial mutation (Deb and Goyal 1996): with ``r`` uniform and ``d1 = y``,
    ``d2 = 1 - y``, ``delta_q = (2 r + (1 - 2 r)(1 - d1)^(eta + 1))^(1 / (eta + 1)) - 1`` when
    ``r < 1/2``, else ``1 - (2 (1 - r) + 2 (r - 1/2)(1 - d2)^(eta + 1))^(1 / (eta + 1))``;
    the gene moves by ``delta_q``. Each gene mutates with probability ``pm``.
    """
    d = len(x)
    hit, r = rng.random(d) < pm, rng.random(d)
    pick = np.floor(rng.random(d) * np.maximum(sizes, 1))
    out = x.copy()
    num = hit & ~categorical
    if num.any():
        y, rr = x[num], r[num]
        power = 1.0 / (eta + 1.0)
        low = (2.0 * rr + (1.0 - 2.0 * rr) * (1.0 - y) ** (eta + 1.0)) ** power - 1.0
        high = 1.0 - (2.0 * (1.0 - rr) + 2.0 * (rr - 0.5) * y ** (eta + 1.0)) ** power
        out[num] = np.clip(y + np.where(rr < 0.5, low, high), 0.0, 1.0)
    cat = hit & categorical
    out[cat] = pick[cat]
    return out


# -- genes: parameters on the unit cube, categoricals as indices ------------------------------
def _genes(trial: TrialRecord, names: Sequence[str], dists: Sequence[Distribution]) -> np.ndarray:
    """A trial's parameters as genes (NaN where it lacks one or its value is outside)."""
    out = np.full(len(names), np.nan)
    for j, (name, dist) in enumerate(zip(names, dists, strict=True)):
        if name not in trial.params:
            continue
        value = trial.params[name]
        if not dist.contains(value):
            continue
        if isinstance(dist, CategoricalDistribution):
            out[j] = dist.index(value)
        else:
            out[j] = dist.to_unit(value)
    return out


def _random_genes(rng: np.random.Generator, categorical: np.ndarray, sizes: np.ndarray
                  ) -> np.ndarray:
    u = rng.random(len(categorical))
    return np.where(categorical, np.floor(u * np.maximum(sizes, 1)), u)


def _decode(x: np.ndarray, names: Sequence[str], dists: Sequence[Distribution]
            ) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, dist, g in zip(names, dists, x, strict=True):
        if isinstance(dist, CategoricalDistribution):
            out[name] = dist.choices[min(max(int(g), 0), len(dist.choices) - 1)]
        else:
            out[name] = dist.from_unit(float(g))
    return out


# -- option checks ---------------------------------------------------------------------------
def _probability(name: str, value: Any) -> float:
    ok = not isinstance(value, bool) and isinstance(value, (int, float))
    v = float(value) if ok else math.nan
    if not 0.0 <= v <= 1.0:
        raise ConfigError(f"nsga2: {name} must be a number in [0, 1], got {value!r}")
    return v


def _positive(name: str, value: Any) -> float:
    ok = not isinstance(value, bool) and isinstance(value, (int, float))
    v = float(value) if ok else math.nan
    if not (v > 0 and math.isfinite(v)):
        raise ConfigError(f"nsga2: {name} must be a number > 0, got {value!r}")
    return v
