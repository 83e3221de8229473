"""Log expected improvement and its optimiser over a mixed space, for :mod:`._gp`.

S. Ament, S. Daulton, D. Eriksson, M. Balandat and E. Bakshy, "Unexpected Improvements to
Expected Improvement for Bayesian Optimization", NeurIPS 2023 [LogEI]: expected improvement in
log space, ``log EI(x) = log h(z) + log sigma(x)`` with ``z = (best - mu(x)) / sigma(x)`` and
``h(z) = phi(z) + z Phi(z)`` (their Eq. 4), and ``log h`` computed without underflow for very
negative ``z`` (their Eq. 9), so that the acquisition keeps a useful gradient far from the data.
J. R. Gardner, M. J. Kusner, Z. Xu, K. Q. Weinberger and J. P. Cunningham, "Bayesian
Optimization with Inequality Constraints", ICML 2014 [cEI]: expected improvement times the
probability of feasibility (their Eq. 5), a sum in log space here.

The optimiser follows the recipe of BoTorch's ``optimize_acqf`` and Optuna's mixed optimiser:
score a few thousand quasi-random points and perturbations of the best trials, polish the best
few with L-BFGS-B over the continuous dimensions (integers relaxed), snap to valid values, then a
discrete local search over neighbouring integer values and other categorical choices, on exact
valid points only.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import optimize, special

from dialed.samplers._gp_model import GaussianProcess
from dialed.samplers._kronecker import kronecker_points

__all__ = ["Acquisition", "MixedDims", "log_h", "maximize"]

_C1 = 0.5 * math.log(2.0 * math.pi)
_C2 = 0.5 * math.log(math.pi / 2.0)
_INV_SQRT_EPS = 1.0 / math.sqrt(np.finfo(float).eps)


def _log1mexp(x: np.ndarray) -> np.ndarray:
    """``log(1 - exp(x))`` for ``x < 0``, accurate near 0 and far below it (Mächler 2012)."""
    x = np.minimum(x, -1e-300)
    near = x > -math.log(2.0)
    out = np.empty_like(x)
    out[near] = np.log(-np.expm1(x[near]))
    out[~near] = np.log1p(-np.exp(x[~near]))
    return out


def log_h(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``log h(z)`` (LogEI Eq. 9) and its derivative ``Phi(z) / h(z)``, each shaped like ``z``.

    Three branches: the direct formula for ``z > -1``; for ``-1/sqrt(eps) < z <= -1``,
    ``-z^2/2 - c1 + log1mexp(log(erfcx(-z/sqrt2) |z|) + c2)``; below that the asymptote
    ``-z^2/2 - c1 - 2 log|z|``; with ``c1 = log(2 pi)/2`` and ``c2 = log(pi/2)/2``.
    """
    z = np.asarray(z, dtype=float)
    out = np.empty_like(z)
    upper = z > -1.0
    zu = z[upper]
    out[upper] = np.log(np.exp(-0.5 * zu * zu - _C1) + zu * special.ndtr(zu))
    mid = (~upper) & (z > -_INV_SQRT_EPS)
    zm = z[mid]
    out[mid] = -0.5 * zm * zm - _C1 + _log1mexp(np.log(special.erfcx(-zm / math.sqrt(2.0))
                                                        * np.abs(zm)) + _C2)
    low = ~(upper | mid)
    zl = z[low]
    out[low] = -0.5 * zl * zl - _C1 - 2.0 * np.log(np.abs(zl))
    dlog = np.exp(special.log_ndtr(z) - out)
    return out, dlog


class Acquisition:
    """``log EI`` of ``model`` below ``best`` (``None``: no feasible trial yet, EI left out),
    plus ``log P(feasible)`` when a ``constraint`` model (of a score that is <= 0 when feasible)
    is given. Larger is better. Points are rows of shape ``(m, D)``.
    """

    def __init__(
        self,
        model: GaussianProcess,
        best: float | None,
        constraint: GaussianProcess | None = None,
    ) -> None:
        self.model = model
        self.best = best
        self.constraint = constraint

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Values at ``x`` ``(m, D)``, shape ``(m,)``."""
        x = np.atleast_2d(x)
        out = np.zeros(len(x))
        if self.best is not None:
            mean, var = self.model.predict(x)
            sd = np.sqrt(var)
            out += log_h((self.best - mean) / sd)[0] + np.log(sd)
        if self.constraint is not None:
            mean_c, var_c = self.constraint.predict(x)
            out += special.log_ndtr(-mean_c / np.sqrt(var_c))
        return out

    def with_grad(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Values ``(m,)`` and gradients ``(m, D)`` at ``x`` ``(m, D)``."""
        x = np.atleast_2d(x)
        out = np.zeros(len(x))
        grad = np.zeros_like(x)
        if self.best is not None:
            mean, var, dmean, dvar = self.model.predict_with_grad(x)
            sd = np.sqrt(var)
            z = (self.best - mean) / sd
            value, dlog = log_h(z)
            dsd = dvar / (2.0 * sd[:, None])
            dz = -(dmean + z[:, None] * dsd) / sd[:, None]
            out += value + np.log(sd)
            grad += dlog[:, None] * dz + dsd / sd[:, None]
        if self.constraint is not None:
            mean_c, var_c, dmean_c, dvar_c = self.constraint.predict_with_grad(x)
            sd_c = np.sqrt(var_c)
            w = -mean_c / sd_c
            logp = special.log_ndtr(w)
            dw = -(dmean_c + w[:, None] * dvar_c / (2.0 * sd_c[:, None])) / sd_c[:, None]
            ratio = np.exp(-0.5 * w * w - _C1 - logp)  # phi(w) / Phi(w)
            out += logp
            grad += ratio[:, None] * dw
        return out, grad


@dataclass(frozen=True)
class MixedDims:
    """What the optimiser needs to know of the model's ``D`` dimensions.

    ``relaxed`` marks dimensions L-BFGS-B moves (floats, and integers or stepped values
    relaxed); ``discrete`` marks those of them that ``snap`` must round; ``n_choices`` holds,
    per dimension, the number of choices of a categorical (0 otherwise). ``snap`` maps points
    ``(m, D)`` to the nearest valid ones; ``neighbours`` maps one valid point ``(D,)`` to its
    valid neighbours ``(k, D)`` (next integer values up and down, every other choice).
    """

    relaxed: np.ndarray
    discrete: np.ndarray
    n_choices: np.ndarray
    snap: Callable[[np.ndarray], np.ndarray]
    neighbours: Callable[[np.ndarray], np.ndarray]


def _random_points(dims: MixedDims, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` points ``(n, D)``: the R_d sequence with a random shift (:mod:`._kronecker`) in
    relaxed dimensions, its coordinates cut into equal slices per choice in categorical ones.

    Not scipy's scrambled Sobol' points, which would import ``scipy.stats`` on the default
    sampler's path (benchmarks/results/gp-cost.md).
    """
    d = len(dims.n_choices)
    out = kronecker_points(0, n, rng.random(d))
    for j in np.flatnonzero(dims.n_choices):
        out[:, j] = np.minimum(np.floor(out[:, j] * dims.n_choices[j]), dims.n_choices[j] - 1)
    return out


def _around(
    dims: MixedDims, centres: np.ndarray, n_each: int, rng: np.random.Generator
) -> np.ndarray:
    """Perturbations of each row of ``centres`` (``(k, D)``), shape ``(k * n_each, D)``."""
    d = len(dims.n_choices)
    base = np.repeat(centres, n_each, axis=0)
    scale = np.where(np.arange(len(base)) % 2 == 0, 0.02, 0.1)[:, None]
    # perturb a random subset of dimensions (about 10 of them, all when there are fewer)
    moved = rng.random(base.shape) < min(1.0, 10.0 / max(d, 1))
    pts = np.clip(base + moved * scale * rng.standard_normal(base.shape), 0.0, 1.0)
    out = np.where(dims.relaxed, pts, base)
    for j in np.flatnonzero(dims.n_choices):
        flip = moved[:, j] & (rng.random(len(base)) < 0.5)
        out[flip, j] = rng.integers(0, dims.n_choices[j], int(flip.sum()))
    return out


def _polish(
    acq: Acquisition, dims: MixedDims, starts: np.ndarray, free: np.ndarray, maxiter: int
) -> np.ndarray:
    """L-BFGS-B on the dimensions ``free`` of every row of ``starts`` at once (their log EIs
    summed, so the rows move independently); returns the polished rows, ``(k, D)``."""
    if not free.any():
        return starts
    k = len(starts)
    fixed = starts.copy()

    def f(flat: np.ndarray) -> tuple[float, np.ndarray]:
        x = fixed.copy()
        x[:, free] = flat.reshape(k, -1)
        value, grad = acq.with_grad(x)
        return -float(value.sum()), -grad[:, free].ravel()

    res = optimize.minimize(
        f, starts[:, free].ravel(), jac=True, method="L-BFGS-B",
        bounds=[(0.0, 1.0)] * int(free.sum()) * k, options={"maxiter": maxiter},
    )
    out = fixed.copy()
    out[:, free] = np.clip(res.x.reshape(k, -1), 0.0, 1.0)
    return out


def _local_search(
    acq: Acquisition, dims: MixedDims, x: np.ndarray, value: float, rounds: int
) -> tuple[np.ndarray, float]:
    """Greedy moves to the best neighbour of ``x`` (``(D,)``) while it improves."""
    for _ in range(rounds):
        nb = dims.neighbours(x)
        if not len(nb):
            break
        values = acq(nb)
        i = int(np.argmax(values))
        if not values[i] > value + 1e-12:
            break
        x, value = nb[i], float(values[i])
    return x, value


def _choose_starts(
    values: np.ndarray, n_random: int, has_local: bool, n_starts: int, rng: np.random.Generator
) -> np.ndarray:
    """Indices of the starting points for L-BFGS-B among candidates scored ``values``.

    The best random candidate, the best local one and the best trial itself (the last row when
    ``has_local``), then a roulette over the rest with weights ``exp(value - max)`` (as in
    BoTorch's and Optuna's initialisers), so that the starts are not all in one basin.
    """
    chosen = [int(np.argmax(values[:n_random]))]
    if has_local:
        if len(values) - 1 > n_random:
            chosen.append(n_random + int(np.argmax(values[n_random:-1])))
        chosen.append(len(values) - 1)
    chosen = list(dict.fromkeys(chosen))[:n_starts]
    weight = np.exp(values - values.max())
    weight[chosen] = 0.0
    n_more = min(n_starts - len(chosen), int(np.count_nonzero(weight > 0.0)))
    if n_more > 0:
        more = rng.choice(len(values), size=n_more, replace=False, p=weight / weight.sum())
        chosen += [int(i) for i in more]
    return np.array(chosen)


def maximize(
    acq: Acquisition,
    dims: MixedDims,
    incumbents: np.ndarray,
    rng: np.random.Generator,
    n_candidates: int = 1024,
    n_starts: int = 5,
    maxiter: int = 30,
) -> tuple[np.ndarray, np.ndarray]:
    """Valid points ``(k, D)`` sorted by acquisition (best first) and their values ``(k,)``.

    ``incumbents`` ``(j, D)`` are the best trials, around which local candidates are drawn.
    The budget (1024 candidates, 5 starts, 30 L-BFGS-B iterations; BoTorch's and Optuna's
    recipes use 512-2048 candidates and 10-20 starts) scored as high on the quick bayesmark
    suite as the former 2048, 10 and 100, at half the cost of the polish; an iteration of the
    joint polish costs more in SciPy's and NumPy's call overhead than in arithmetic, and the
    polish was the costliest step. 512, 4 and 20 cost less again and scored as high on
    bayesmark but found worse optima of smooth synthetic functions
    (benchmarks/results/gp-cost.md).
    The list holds the polished points first and then the best raw candidates, so that a
    caller who must skip a configuration already tried has good alternatives.
    """
    pts = [_random_points(dims, n_candidates, rng)]
    if len(incumbents):
        pts.append(_around(dims, incumbents, max(n_candidates // (4 * len(incumbents)), 1), rng))
        pts.append(incumbents[:1])
    cand = np.vstack(pts)
    values = acq(cand)
    order = np.argsort(-values, kind="stable")
    starts = cand[_choose_starts(values, n_candidates, len(incumbents) > 0, n_starts, rng)]
    polished = _polish(acq, dims, starts, dims.relaxed, maxiter)
    snapped = dims.snap(polished)
    snapped_values = acq(snapped)
    pure = dims.relaxed & ~dims.discrete
    mixed = bool(dims.discrete.any() or dims.n_choices.any())
    final, final_values = [], []
    for x, v in zip(snapped, snapped_values, strict=True):
        value = float(v)
        for _ in range(3 if mixed else 0):
            x_new, value_new = _local_search(acq, dims, x, value, rounds=10)
            if value_new <= value + 1e-12:
                break
            x, value = x_new, value_new
            if pure.any():  # the discrete values moved: re-polish the floats around them
                x_pol = _polish(acq, dims, x[None], pure, maxiter)[0]
                value_pol = float(acq(x_pol[None])[0])
                if value_pol > value:
                    x, value = x_pol, value_pol
        final.append(x)
        final_values.append(value)
    raw = dims.snap(cand[order[: 4 * n_starts]])
    all_x = np.vstack([np.array(final), raw])
    all_v = np.concatenate([final_values, acq(raw)])
    best_first = np.argsort(-all_v, kind="stable")
    return all_x[best_first], all_v[best_first]
