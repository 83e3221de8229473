"""TPE's Parzen estimator on the unit cube: the encoding of trials and the densities l and g.

The equations (E5)-(E8) are those of :mod:`dialed.samplers._tpe`, after S. Watanabe,
"Tree-structured Parzen estimator: Understanding its algorithm components and their roles for
better empirical performance", arXiv:2304.11127 (2023), Sec. 3 and App. C:

    (E5)  l(x) = [sum_i w_i prod_d K_d(x_d | x_id) + w_0 prod_d prior_d(x_d)] / (sum_i w_i + w_0)
    (E6)  h_d = 1.059 min(IQR_d / 1.34, std_d) n^(-1/5),  clipped to [max(0.01, (1 + n)^-alpha), 1]
    (E7)  K(x | mu, h) = phi((x - mu) / h) / (h (Phi((1 - mu) / h) - Phi(-mu / h)))
    (E8)  K(c | c_i) = 1 - b if c = c_i, else b / (C - 1)          (Aitchison-Aitken, b = 0.2)

A continuous parameter is a coordinate in ``[0, 1]`` (a log-scaled one already linear there); a
discrete one (an int, a stepped float) owns one slice of the cube per value, its kernel gives the
Gaussian mass of the slice and a draw is moved to its value; a categorical is its choice's index.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import product
from typing import Any

import numpy as np

from dialed.space import (
    CategoricalDistribution,
    Distribution,
    IntDistribution,
)

__all__ = [
    "CATEGORICAL",
    "CONTINUOUS",
    "DISCRETE",
    "Dim",
    "Parzen",
    "decode",
    "enumerate_cells",
    "repeats",
    "snap_points",
]

#: Smallest bandwidth as a fraction of the range (Watanabe's minimum bandwidth factor, E6).
_MIN_BANDWIDTH = 0.01
#: The magic clip's exponent alpha: no bandwidth below ``(1 + n_kernels)^-alpha`` (E6; Optuna's
#: clip is alpha = 1); 1.5 did better (benchmarks/results/notes.md, "the magic clip").
_MAGIC_CLIP_EXPONENT = 1.5
#: A discrete parameter's bandwidth is at least this fraction of one value's slice.
_MIN_BANDWIDTH_DISCRETE = 0.5
#: Probability mass an Aitchison-Aitken kernel spreads over the choices it was not fitted on.
_CATEGORICAL_SPREAD = 0.2
#: Discrete spaces of at most this many cells are enumerated when every candidate is a duplicate.
_MAX_ENUMERATED = 4096
_TOL = 1e-9
_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)

# Kinds of parameter on the unit cube.
CONTINUOUS, DISCRETE, CATEGORICAL = 0, 1, 2


# -- the unit cube -------------------------------------------------------------------------
@dataclass(frozen=True)
class Dim:
    """How a distribution sits on the unit cube.

    A continuous float is a coordinate in ``[0, 1]``. A discrete value (an int, a stepped float)
    owns a slice of the cube and is represented by the point ``to_unit`` maps it to; a
    categorical is represented by its index (not a point of the cube).
    """

    kind: int
    size: int = 0  # number of values of a discrete or categorical parameter
    log_range: tuple[float, float] | None = None  # (log(low - 1/2), log(high + 1/2)): log ints
    bounds: tuple[float, float] = (0.0, 0.0)  # (low, high) of a log int

    @classmethod
    def of(cls, dist: Distribution) -> Dim:
        if isinstance(dist, CategoricalDistribution):
            return cls(CATEGORICAL, len(dist.choices))
        if isinstance(dist, IntDistribution):
            if dist.log:
                span = (math.log(dist.low - 0.5), math.log(dist.high + 0.5))
                return cls(DISCRETE, dist.high - dist.low + 1, span, (dist.low, dist.high))
            return cls(DISCRETE, (dist.high - dist.low) // dist.step + 1)
        if dist.step is not None:
            return cls(DISCRETE, round((dist.high - dist.low) / dist.step) + 1)
        return cls(CONTINUOUS)

    def snap(self, u: np.ndarray) -> np.ndarray:
        """The representative point of the value each ``u`` decodes to."""
        if self.kind == CONTINUOUS:
            return _clip(u, 0.0, 1.0)
        if self.log_range is not None:
            return self._log_unit(self._log_value(u))
        index: np.ndarray = np.minimum(np.floor(_clip(u, 0.0, 1.0) * self.size), self.size - 1)
        return index if self.kind == CATEGORICAL else (index + 0.5) / self.size

    def edges(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The slice of the cube that the discrete value at point ``x`` owns."""
        if self.log_range is None:
            i = np.floor(x * self.size)
            return i / self.size, (i + 1.0) / self.size
        v = self._log_value(x)
        lo, hi = self.log_range
        return (np.log(v - 0.5) - lo) / (hi - lo), (np.log(v + 0.5) - lo) / (hi - lo)

    def _log_value(self, u: np.ndarray) -> np.ndarray:
        lo, hi = self.log_range or (0.0, 1.0)
        v = np.round(np.exp(lo + _clip(u, 0.0, 1.0) * (hi - lo)))
        return _clip(v, self.bounds[0], self.bounds[1])

    def _log_unit(self, v: np.ndarray) -> np.ndarray:
        lo, hi = self.log_range or (0.0, 1.0)
        return _clip((np.log(v) - lo) / (hi - lo), 0.0, 1.0)


def snap_points(u: np.ndarray, dims: Sequence[Dim]) -> np.ndarray:
    """Uniform points of the cube, shape ``(n, len(dims))``, moved to what they decode to."""
    out = np.empty_like(u)
    for j, dim in enumerate(dims):
        out[:, j] = dim.snap(u[:, j])
    return out


def decode(dist: Distribution, dim: Dim, x: float) -> Any:
    if isinstance(dist, CategoricalDistribution):
        return dist.choices[min(max(int(x), 0), len(dist.choices) - 1)]
    return dist.from_unit(x)


def enumerate_cells(dims: Sequence[Dim]) -> np.ndarray | None:
    """Every cell of an all-discrete space small enough to list, else None."""
    if any(dim.kind == CONTINUOUS for dim in dims):
        return None
    if math.prod(dim.size for dim in dims) > _MAX_ENUMERATED:
        return None
    axes = []
    for dim in dims:
        if dim.kind == CATEGORICAL:
            axes.append(np.arange(dim.size, dtype=float))
        elif dim.log_range is None:
            axes.append((np.arange(dim.size) + 0.5) / dim.size)
        else:
            axes.append(dim._log_unit(np.arange(dim.bounds[0], dim.bounds[1] + 1.0)))
    return np.array(list(product(*axes)), dtype=float).reshape(-1, len(dims))


def repeats(points: np.ndarray, x_all: np.ndarray) -> np.ndarray:
    """Whether each point repeats a trial: equal on every parameter that trial has.

    ``points`` has shape ``(m, d)``, ``x_all`` ``(n, d)`` (NaN where a trial lacks a
    parameter); trials without any parameter of the space repeat nothing.
    """
    out = np.zeros(len(points), dtype=bool)
    has = ~np.isnan(x_all)
    if len(points) <= 8:  # a few points: compare each with every trial at once
        for i, p in enumerate(points):
            same = (np.abs(x_all - p) <= _TOL) | ~has
            out[i] = bool((same.all(axis=1) & has.any(axis=1)).any())
        return out
    # many points: look them up among the trials of each pattern of parameters present
    patterns: dict[bytes, list[int]] = {}
    for row, key in enumerate(map(bytes, np.packbits(has, axis=1))):
        patterns.setdefault(key, []).append(row)
    for rows in patterns.values():
        mask = has[rows[0]]
        if not mask.any():
            continue
        seen = set(map(tuple, np.round(x_all[np.ix_(rows, mask)], 9).tolist()))
        keys = map(tuple, np.round(points[:, mask], 9).tolist())
        out |= np.fromiter((k in seen for k in keys), dtype=bool, count=len(points))
    return out


# -- the Parzen estimator --------------------------------------------------------------------
class Parzen:
    """A weighted mixture of product kernels over one group's parameters, plus the prior.

    ``x`` holds ``n`` observations (shape ``(n, d)``: points of the cube, category indices),
    ``weights`` their weights; kernel ``n`` is the prior (E5).
    """

    def __init__(
        self, x: np.ndarray, weights: np.ndarray, dims: Sequence[Dim], prior_weight: float
    ) -> None:
        n = len(x)
        self._dims = list(dims)
        w = np.append(weights, prior_weight)
        self._w = w / w.sum()
        self._num = np.array([j for j, d in enumerate(dims) if d.kind != CATEGORICAL], dtype=int)
        self._cat = np.array([j for j, d in enumerate(dims) if d.kind == CATEGORICAL], dtype=int)
        self._cont = np.array(
            [k for k, j in enumerate(self._num) if dims[j].kind == CONTINUOUS], dtype=int
        )
        self._disc = np.array(
            [k for k, j in enumerate(self._num) if dims[j].kind == DISCRETE], dtype=int
        )

        mu = np.vstack([x[:, self._num], np.full((1, len(self._num)), 0.5)])  # (n + 1, dn)
        sigma = np.empty_like(mu)
        sigma[:n] = _bandwidth(mu, [dims[j] for j in self._num])
        sigma[n] = 1.0  # the prior spans the range
        self._mu, self._sigma = mu, sigma
        # log of each truncated kernel's mass inside [0, 1]: the denominator of (E7)
        from scipy.special import ndtr  # see _log_gauss_mass

        self._log_mass = np.log(ndtr((1.0 - mu) / sigma) - ndtr(-mu / sigma))
        const = np.log(self._w)
        if len(self._cont):
            # -(x - mu)^2 / (2 sigma^2) expanded, so that log_pdf is two small matrix products
            c = self._cont
            inv = 1.0 / sigma[:, c] ** 2
            self._quad = -0.5 * inv.T  # (dc, k)
            self._lin = (mu[:, c] * inv).T  # (dc, k)
            const = const - (
                np.log(sigma[:, c]) + _LOG_SQRT_2PI + self._log_mass[:, c]
                + 0.5 * mu[:, c] ** 2 * inv
            ).sum(axis=1)
        if len(self._disc):
            const = const - self._log_mass[:, self._disc].sum(axis=1)
        self._const = const

        # (E8): Aitchison-Aitken kernels on the observed choices, the prior uniform
        sizes = np.array([dims[j].size for j in self._cat], dtype=float)
        self._cat_obs = np.vstack([x[:, self._cat], np.full((1, len(self._cat)), -1.0)])
        self._log_top = np.full(len(self._cat), math.log(1.0 - _CATEGORICAL_SPREAD))
        self._log_rest = np.log(_CATEGORICAL_SPREAD / np.maximum(sizes - 1.0, 1.0))
        self._log_uniform = -np.log(sizes)

    def sample(self, rng: np.random.Generator, m: int) -> np.ndarray:
        """``m`` draws from the mixture, shape ``(m, d)``; discrete values on their points."""
        k = rng.choice(len(self._w), size=m, p=self._w)
        out = np.empty((m, len(self._dims)))
        if len(self._num):
            from scipy.special import ndtr, ndtri  # see _log_gauss_mass

            mu, sigma = self._mu[k], self._sigma[k]
            lo, hi = ndtr(-mu / sigma), ndtr((1.0 - mu) / sigma)
            u = lo + rng.random(mu.shape) * (hi - lo)  # inverse-CDF draw of a truncated Gaussian
            with np.errstate(over="ignore", invalid="ignore"):
                z = _clip(mu + sigma * ndtri(u), 0.0, 1.0)
            for c, j in enumerate(self._num):
                out[:, j] = self._dims[j].snap(z[:, c])
        if len(self._cat):
            obs = self._cat_obs[k]
            sizes = np.array([self._dims[j].size for j in self._cat])
            r = rng.random(obs.shape)
            other = np.floor(rng.random(obs.shape) * (sizes - 1))
            other += other >= obs  # a choice other than the observed one
            uniform = np.floor(rng.random(obs.shape) * sizes)
            out[:, self._cat] = np.where(
                obs < 0, uniform, np.where(r < 1.0 - _CATEGORICAL_SPREAD, obs, other)
            )
        return out

    def log_pdf(self, x: np.ndarray) -> np.ndarray:
        """Log of (E5) at points ``x`` (shape ``(m, d)``), shape ``(m,)``.

        A continuous parameter contributes its density (E7), a discrete one the mass of its
        value's slice, a categorical its kernel's probability (E8).
        """
        acc = np.broadcast_to(self._const, (len(x), len(self._w))).copy()  # (m, k)
        if len(self._cont):
            xc = x[:, self._num[self._cont]]
            acc += (xc * xc) @ self._quad + xc @ self._lin
        for c in self._disc:
            j = self._num[c]
            lo, hi = self._dims[j].edges(x[:, j])
            mu, sigma = self._mu[None, :, c], self._sigma[None, :, c]
            acc += _log_gauss_mass((lo[:, None] - mu) / sigma, (hi[:, None] - mu) / sigma)
        for c, j in enumerate(self._cat):
            same = x[:, j, None] == self._cat_obs[None, :, c]
            acc += np.where(same, self._log_top[c], self._log_rest[c])
            acc[:, -1] += self._log_uniform[c] - self._log_rest[c]  # the prior is uniform
        top = acc.max(axis=1)
        out: np.ndarray = top + np.log(np.exp(acc - top[:, None]).sum(axis=1))
        return out


def _bandwidth(mu: np.ndarray, dims: Sequence[Dim]) -> np.ndarray:
    """Scott's rule per parameter over the kernel centres (prior included), magic-clipped.

    ``mu`` has shape ``(n + 1, d)`` (last row: the prior); returns one bandwidth per parameter,
    shape ``(d,)`` (E6).
    """
    k = len(mu)
    if k > 1:
        centred = mu - mu.mean(axis=0)
        std = np.sqrt((centred * centred).sum(axis=0) / (k - 1))
        ranked = np.sort(mu, axis=0)
        iqr = _quantile(ranked, 0.75) - _quantile(ranked, 0.25)
        h = 1.059 * np.minimum(iqr / 1.34, std) * k ** -0.2
    else:
        h = np.ones(mu.shape[1])
    low = np.full(mu.shape[1], max(_MIN_BANDWIDTH, (1.0 + k) ** -_MAGIC_CLIP_EXPONENT))
    for j, dim in enumerate(dims):
        if dim.kind == DISCRETE:
            low[j] = max(low[j], _MIN_BANDWIDTH_DISCRETE / dim.size)
    out: np.ndarray = _clip(h, low, 1.0)
    return out


def _clip(x: Any, low: Any, high: Any) -> np.ndarray:
    """``np.clip`` without its per-call overhead (NaN stays NaN)."""
    out: np.ndarray = np.minimum(np.maximum(x, low), high)
    return out


def _quantile(ranked: np.ndarray, q: float) -> np.ndarray:
    """The ``q``-quantile of each column of a column-sorted array (linear interpolation)."""
    pos = q * (len(ranked) - 1)
    i = int(pos)
    j = min(i + 1, len(ranked) - 1)
    out: np.ndarray = ranked[i] + (pos - i) * (ranked[j] - ranked[i])
    return out


def _log_gauss_mass(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``log(Phi(b) - Phi(a))`` for ``a <= b``, on the side of the tails that keeps precision."""
    # SciPy's special functions are imported at the first fit, not with the module: auto's
    # portfolio builds TPE at the study's first trial, and the GP leads alone for dozens of
    # trials before TPE's first turn (benchmarks/results/startup.md, the first-trial row).
    from scipy.special import ndtr

    flip = a > 0
    lo, hi = np.where(flip, -b, a), np.where(flip, -a, b)
    mass = ndtr(hi) - ndtr(lo)
    out: np.ndarray = np.log(np.maximum(mass, 1e-300))
    return out
