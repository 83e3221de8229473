"""Tree-structured Parzen Estimator (TPE).

J. Bergstra, R. Bardenet, Y. Bengio, B. Kégl, "Algorithms for Hyper-Parameter Optimization",
NeurIPS 24 (2011), Sec. 4.
S. Watanabe, "Tree-structured Parzen estimator: Understanding its algorithm components and their
roles for better empirical performance", arXiv:2304.11127 (2023), Sec. 3 and App. C.

TPE models ``p(x | y)`` instead of ``p(y | x)``. Of ``N`` observations, the best ``gamma(N)``
give the density ``l`` and the others ``g`` (Bergstra et al., Sec. 4)::

    (E1)  p(x | y) = l(x) if y is among the best gamma(N),  g(x) otherwise

and expected improvement over the split's threshold is monotone in their ratio (Sec. 4.1)::

    (E2)  EI(x) ~ (gamma + (1 - gamma) g(x) / l(x))^-1,   so take argmax log l(x) - log g(x)

over ``n_candidates`` draws from ``l``. The components are those Watanabe's ablation
recommends (Sec. 3, App. C), on the unit cube of :class:`~dialed.space.Space`::

    (E3)  gamma(N) = min(ceil(beta N), 25),  beta = 0.1        (no cap of 25 for a Pareto front)
    (E4)  w_i = 1 for the 25 newest observations of a group; older ones ramp linearly from 1/n
    (E5)  l(x) = [sum_i w_i prod_d K_d(x_d | x_id) + w_0 prod_d prior_d(x_d)] / (sum_i w_i + w_0)
    (E6)  h_d = 1.059 min(IQR_d / 1.34, std_d) n^(-1/5),  clipped to [max(0.01, (1 + n)^-alpha), 1]
    (E7)  K(x | mu, h) = phi((x - mu) / h) / (h (Phi((1 - mu) / h) - Phi(-mu / h)))
    (E8)  K(c | c_i) = 1 - b if c = c_i, else b / (C - 1)          (Aitchison-Aitken, b = 0.2)

(E5) is a multivariate Parzen window: one product kernel per observation keeps the dependence
between parameters that univariate TPE loses. (E6) is Scott's rule over the kernel centres,
the prior's included, with the "magic clip" below (``alpha = 1.5`` did better than Optuna's 1
on our checks); the prior kernel ``w_0 = prior_weight`` sits at the centre of the cube with the
whole range as bandwidth (uniform over a categorical's choices), so neither density is ever zero.
A log-scaled parameter is already linear on the cube. A discrete parameter (an int, a stepped
float) owns one slice of the cube per value: its kernel gives the Gaussian mass of the slice,
and a draw is moved to its value, so every suggestion is a valid one.

Conditional spaces are split into **groups**: parameters that occur in the same finished trials
share a group, and each group is modelled on the trials that hold it (as in Optuna's group
decomposition). Running trials are lies with the worst loss (constant liar), so parallel
workers spread out; pruned trials rank below every complete one (further is better, then the
last intermediate value); infeasible trials rank below the feasible ones by their violation;
with several objectives the good group is filled front by front of the non-dominated sorting,
the last front cut by hypervolume subset selection (MOTPE, Ozaki et al., JAIR 73, 2022: the
points that add the most hypervolume; crowding distance, NSGA-II's cut, keeps the extremes
instead and did worse on ZDT1-3 and DTLZ2, see benchmarks/multiobjective), or by crowding
distance where the selection would cost too much (a large front in 3 or more objectives). A
candidate that repeats a trial gives way to the next best.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from dialed.errors import ConfigError
from dialed.history import History
from dialed.metrics import crowding_distance, fronts, hypervolume_subset
from dialed.samplers._base import Sampler
from dialed.samplers._tpe_parzen import (
    CONTINUOUS,
    Dim,
    Parzen,
    decode,
    enumerate_cells,
    repeats,
    snap_points,
)
from dialed.space import Distribution, Space

__all__ = ["TPESampler"]

#: Most observations in the good group (E3; Optuna and Hyperopt cap it at 25 too).
_MAX_GOOD = 25
#: The newest observations of a group that keep full weight (E4).
_FLAT_WEIGHTS = 25
#: Random points scored when every candidate is a duplicate and the space is too big to list.
_FALLBACK_POINTS = 256
#: With 3 or more objectives, hypervolume subset selection cuts a front of ``f`` rows down to
#: ``k`` while ``f * k`` is at most this (well under 0.1 s); crowding distance beyond.
_MAX_SUBSET_WORK = 2048

# Kinds of observation, in the order they rank.
_FEASIBLE, _INFEASIBLE, _PRUNED, _RUNNING = 0, 1, 2, 3


class TPESampler(Sampler):
    """Tree-structured Parzen Estimator on the unit cube of the space.

    ``n_startup`` finished trials (per group of parameters) are drawn uniformly before the model
    is used; each suggestion then scores ``n_candidates`` draws from ``l(x)``. ``gamma`` is the
    ``beta`` of the split (E3); ``prior_weight`` is ``w_0`` in (E5), the prior kernel's weight
    relative to one observation's. ``multivariate=False`` models each parameter on its own
    (independent TPE, usually worse); ``constant_liar=False`` ignores running trials.
    """

    name = "tpe"

    def __init__(
        self,
        seed: int | None = None,
        n_startup: int = 10,
        n_candidates: int = 24,
        multivariate: bool = True,
        gamma: float = 0.1,
        prior_weight: float = 1.0,
        constant_liar: bool = True,
    ) -> None:
        super().__init__(seed)
        self._n_startup = _check_int("n_startup", n_startup, 0)
        self._n_candidates = _check_int("n_candidates", n_candidates, 1)
        self._multivariate = _check_bool("multivariate", multivariate)
        self._gamma = _check_positive("gamma", gamma, upper=1.0)
        self._prior_weight = _check_positive("prior_weight", prior_weight)
        self._constant_liar = _check_bool("constant_liar", constant_liar)

    def describe(self) -> dict[str, Any]:
        return {
            **super().describe(),
            "options": {
                "n_startup": self._n_startup,
                "n_candidates": self._n_candidates,
                "multivariate": self._multivariate,
                "gamma": self._gamma,
                "prior_weight": self._prior_weight,
                "constant_liar": self._constant_liar,
            },
        }

    # -- the Sampler interface ----------------------------------------------------------------
    def suggest(self, history: History, space: Space, number: int) -> dict[str, Any]:
        fixed = {name: dist.from_unit(0.5) for name, dist in space.items() if dist.single}
        names = [name for name, dist in space.items() if not dist.single]
        if not names:
            return fixed
        dists = [space[name] for name in names]
        dims = [Dim.of(dist) for dist in dists]
        x_all = history.points(names, space=space)
        obs = _Observations.of(history, self._constant_liar)
        x_obs = x_all[obs.rows]

        proposals = [
            self._propose_group(obs, x_obs, cols, dims, number, "tpe:" + ",".join(
                names[c] for c in cols))
            for cols in self._groups(obs, x_obs)
        ]
        point = _assemble(proposals, len(names), x_all)
        if point is None:
            point = self._fallback(proposals, dims, x_all, number)
        out = {name: decode(dist, dim, float(point[j]))
               for j, (name, dist, dim) in enumerate(zip(names, dists, dims, strict=True))}
        return {**out, **fixed}

    def suggest_one(
        self,
        history: History,
        name: str,
        distribution: Distribution,
        number: int,
        params: Mapping[str, Any],
    ) -> Any:
        if distribution.single:
            return distribution.from_unit(0.5)
        dim = Dim.of(distribution)
        obs = _Observations.of(history, self._constant_liar)
        x_obs = history.points([name], obs.rows, space=Space({name: distribution}))
        proposal = self._propose_group(obs, x_obs, np.array([0]), [dim], number, name)
        return decode(distribution, dim, float(proposal.candidates[0, 0]))

    # -- one group ----------------------------------------------------------------------------
    def _groups(self, obs: _Observations, x_obs: np.ndarray) -> list[np.ndarray]:
        """Column indices of each group: parameters present in the same finished trials."""
        d = x_obs.shape[1]
        if not self._multivariate:
            return [np.array([j]) for j in range(d)]
        finished = obs.kind < _RUNNING
        complete = obs.kind <= _INFEASIBLE
        rows = complete if complete.any() else finished
        present = np.packbits(~np.isnan(x_obs[rows]), axis=0)  # one bit per trial
        groups: dict[bytes, list[int]] = {}
        for j in range(d):
            groups.setdefault(present[:, j].tobytes(), []).append(j)
        return [np.array(cols) for cols in groups.values()]

    def _propose_group(
        self,
        obs: _Observations,
        x_obs: np.ndarray,
        cols: np.ndarray,
        dims: Sequence[Dim],
        number: int,
        salt: str,
    ) -> _Proposal:
        """Candidates for the parameters ``cols``, best first (random ones during startup)."""
        rng = self.rng(number, salt)
        group_dims = [dims[c] for c in cols]
        rows = np.flatnonzero(~np.isnan(x_obs[:, cols]).any(axis=1))
        n_finished = int(np.count_nonzero(obs.kind[rows] < _RUNNING))
        if n_finished == 0 or n_finished < self._n_startup:
            cands = snap_points(rng.random((self._n_candidates, len(cols))), group_dims)
            return _Proposal(cols, cands, np.zeros(len(cands)), None)

        cap = _MAX_GOOD if obs.losses.shape[1] == 1 else n_finished  # no cap for a front
        n_good = min(math.ceil(self._gamma * n_finished), cap, n_finished)
        good = obs.good(rows, max(n_good, 1))
        x = x_obs[np.ix_(rows, cols)]
        numbers = obs.number[rows]
        below = Parzen(x[good], _weights(numbers[good]), group_dims, self._prior_weight)
        above = Parzen(x[~good], _weights(numbers[~good]), group_dims, self._prior_weight)
        cands = below.sample(rng, self._n_candidates)
        score = below.log_pdf(cands) - above.log_pdf(cands)  # (E2): log l(x) - log g(x)
        order = np.argsort(-score, kind="stable")
        cands, score = cands[order], score[order]
        if all(dim.kind != CONTINUOUS for dim in group_dims):  # drop repeated candidates
            _, first = np.unique(cands, axis=0, return_index=True)
            keep = np.sort(first)
            cands, score = cands[keep], score[keep]
        return _Proposal(cols, cands, score, (below, above))

    def _fallback(
        self, proposals: Sequence[_Proposal], dims: Sequence[Dim], x_all: np.ndarray, number: int
    ) -> np.ndarray:
        """Every candidate repeats a trial: the best-scored point that does not, if any."""
        pool = enumerate_cells(dims)
        if pool is None:
            rng = self.rng(number, "tpe:fallback")
            pool = snap_points(rng.random((_FALLBACK_POINTS, len(dims))), dims)
        fresh = ~repeats(pool, x_all)
        best_guess = np.empty(len(dims))
        for p in proposals:
            best_guess[p.cols] = p.candidates[0]
        if not fresh.any():
            return best_guess  # the space is used up: a repeat cannot be avoided
        pool = pool[fresh]
        score = np.zeros(len(pool))
        for p in proposals:
            if p.model is not None:
                below, above = p.model
                sub = pool[:, p.cols]
                score += below.log_pdf(sub) - above.log_pdf(sub)
        chosen: np.ndarray = pool[int(np.argmax(score))]
        return chosen


# -- observations and their ranking ---------------------------------------------------------
@dataclass(frozen=True)
class _Observations:
    """The trials a model learns from, with what ranks them (rows index ``history.trials``)."""

    rows: np.ndarray  # (n,) int
    kind: np.ndarray  # (n,) _FEASIBLE .. _RUNNING
    key: np.ndarray  # (n,) loss, violation, or -steps of a pruned trial
    key2: np.ndarray  # (n,) last intermediate loss of a pruned trial
    number: np.ndarray  # (n,) trial number
    losses: np.ndarray  # (n, n_objectives), +inf where not complete

    @classmethod
    def of(cls, history: History, constant_liar: bool) -> _Observations:
        """The observations of ``history``, from the rows the history derived once per trial."""
        rows_of = history.rows
        complete, pruned = history.complete_rows, history.pruned_rows
        running = history.running_rows if constant_liar else np.zeros(0, dtype=int)
        rows = np.concatenate([complete, pruned, running])
        n, n_c = len(rows), len(complete)
        losses = np.full((n, len(history.metrics.objectives)), np.inf)
        losses[:n_c] = np.nan_to_num(rows_of.losses[complete], nan=np.inf, posinf=np.inf)
        number = rows_of.number[rows].astype(float)
        violation = np.zeros(n_c)
        if history.metrics.constraints:
            violation = np.nan_to_num(rows_of.violation[complete], nan=np.inf)
        feasible = violation <= 0.0
        # A pruned trial ranks by how far it got, then by its last intermediate value.
        steps = np.nan_to_num(rows_of.last_step[pruned], nan=-np.inf)
        last = rows_of.last_loss[pruned]
        kind = np.concatenate([
            np.where(feasible, _FEASIBLE, _INFEASIBLE),
            np.full(len(pruned), _PRUNED),
            np.full(len(running), _RUNNING),
        ]).astype(int)
        key = np.concatenate([
            np.where(feasible, losses[:n_c, 0], violation),
            -steps.astype(float),
            np.zeros(len(running)),
        ])
        key2 = np.concatenate([np.zeros(n_c), last, np.zeros(len(running))])
        return cls(
            rows=rows,
            kind=kind,
            key=np.nan_to_num(key, nan=np.inf),
            key2=np.nan_to_num(key2, nan=np.inf),
            number=number,
            losses=losses,
        )

    def good(self, rows: np.ndarray, n_good: int) -> np.ndarray:
        """Mask over ``rows`` (indices into this object) of the ``n_good`` best observations.

        These make ``l`` and the others ``g`` (E1): feasible complete trials by loss (by front
        with several objectives), then infeasible ones by violation, then pruned ones; running
        trials never.
        """
        kind, key, key2, number = (a[rows] for a in (self.kind, self.key, self.key2, self.number))
        mask = np.zeros(len(rows), dtype=bool)
        if self.losses.shape[1] > 1:
            feasible = np.flatnonzero(kind == _FEASIBLE)
            chosen = _pareto_best(self.losses[rows[feasible]], n_good)
            mask[feasible[chosen]] = True
            n_good -= len(chosen)
            kind = np.where(kind == _FEASIBLE, -1, kind)  # already taken or never good
        if n_good > 0:
            order = np.lexsort((number, key2, key, kind))
            order = order[kind[order] >= 0][:n_good]
            mask[order] = True
        return mask


def _pareto_best(losses: np.ndarray, n: int) -> np.ndarray:
    """Indices of ``n`` rows of ``losses`` chosen front by front (non-dominated sorting).

    The last front that does not fit whole keeps the rows that dominate the most together
    (greedy hypervolume subset selection, :func:`hypervolume_subset`); with 3 or more
    objectives and a front of more than ``_MAX_SUBSET_WORK / k`` rows (``k`` to keep) it keeps
    the rows of largest crowding distance instead (Deb et al., NSGA-II), which costs
    milliseconds where the selection would cost seconds.
    """
    chosen: list[np.ndarray] = []
    n_chosen = 0
    for front in fronts(losses, enough=n):
        if n_chosen + len(front) > n:
            k = n - n_chosen
            if losses.shape[1] == 2 or len(front) * k <= _MAX_SUBSET_WORK:
                front = np.sort(front[hypervolume_subset(losses[front], k)])
            else:
                crowd = crowding_distance(losses[front])
                front = np.sort(front[np.lexsort((front, -crowd))[:k]])
        chosen.append(front)
        n_chosen += len(front)
    return np.concatenate(chosen) if chosen else np.zeros(0, dtype=int)


def _weights(numbers: np.ndarray) -> np.ndarray:
    """Weights of observations (E4): the newest 25 weigh 1, older ones ramp from 1/n up."""
    n = len(numbers)
    w = np.ones(n)
    if n > _FLAT_WEIGHTS:
        age = np.argsort(np.argsort(numbers, kind="stable"), kind="stable")  # 0 = oldest
        ramp = np.linspace(1.0 / n, 1.0, n - _FLAT_WEIGHTS)
        old = age < n - _FLAT_WEIGHTS
        w[old] = ramp[age[old]]
    return w


# -- assembling a proposal -------------------------------------------------------------------
@dataclass(frozen=True)
class _Proposal:
    cols: np.ndarray  # columns of the space this group covers
    candidates: np.ndarray  # (m, len(cols)), best first
    scores: np.ndarray  # (m,) log l - log g, descending (zeros for random candidates)
    model: tuple[Parzen, Parzen] | None  # (l, g); None while starting up


def _assemble(proposals: Sequence[_Proposal], d: int, x_all: np.ndarray) -> np.ndarray | None:
    """The groups' best candidates joined; while that repeats a trial, the group losing least
    moves to its next candidate. None when every combination tried repeats a trial."""
    pick = [0] * len(proposals)
    point = np.empty(d)
    for _ in range(1 + sum(len(p.candidates) for p in proposals)):
        for p, k in zip(proposals, pick, strict=True):
            point[p.cols] = p.candidates[k]
        if not repeats(point[None, :], x_all)[0]:
            return point
        best, drop = -1, np.inf
        for g, (p, k) in enumerate(zip(proposals, pick, strict=True)):
            if k + 1 < len(p.candidates) and p.scores[k] - p.scores[k + 1] < drop:
                best, drop = g, float(p.scores[k] - p.scores[k + 1])
        if best < 0:
            return None
        pick[best] += 1
    return None


# -- option checks ---------------------------------------------------------------------------
def _check_int(name: str, value: Any, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ConfigError(f"TPESampler: {name} must be an integer >= {low}, got {value!r}")
    return int(value)


def _check_bool(name: str, value: Any) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise ConfigError(f"TPESampler: {name} must be true or false, got {value!r}")
    return bool(value)


def _check_positive(name: str, value: Any, upper: float | None = None) -> float:
    ok = not isinstance(value, bool) and isinstance(value, (int, float, np.integer, np.floating))
    v = float(value) if ok else math.nan
    if not (v > 0 and math.isfinite(v) and (upper is None or v <= upper)):
        bound = f" and <= {upper}" if upper is not None else ""
        raise ConfigError(f"TPESampler: {name} must be a number > 0{bound}, got {value!r}")
    return v
