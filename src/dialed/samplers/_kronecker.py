"""The R_d quasi-random sequence with a random shift: the GP's start-up design and candidates.

M. Roberts, "The unreasonable effectiveness of quasirandom sequences", extremelearning.com.au
(2018) [R_d]: the Kronecker (additive recurrence) sequence ``x_n = frac(s + n alpha)`` with
``alpha_i = 1 / phi_d^i`` (``i = 1 .. d``) and ``phi_d`` the unique positive root of
``x^(d+1) = x + 1``, the generalised golden ratio (``phi_1`` the golden ratio, ``phi_2`` the
plastic number).
R. Cranley and T. N. L. Patterson, "Randomization of number theoretic methods for multiple
integration", SIAM Journal on Numerical Analysis 13(6), 904-914 (1976): a uniform random shift
``s`` taken modulo 1 (a rotation of the torus) keeps a lattice's or a Kronecker sequence's
spacing and makes each point uniform on the cube, so that a seed fixes one of many equally
good sequences.

A Kronecker sequence spreads points more evenly than independent uniform draws (its
discrepancy falls nearly as ``1/n``, against ``1/sqrt(n)``), and R_d's ``alpha``, built from one
number per dimension, does so for every ``n`` and every ``d`` without tables: a point costs one
multiply-add per coordinate. It is the GP's, not a user-facing sampler: ``sobol``
(:mod:`._sobol`) is SciPy's scrambled Sobol' sequence, which needs ``scipy.stats`` (about half a
second to import); the GP stays off it (benchmarks/results/gp-cost.md).
"""

from __future__ import annotations

import functools

import numpy as np

__all__ = ["golden_ratio", "kronecker_points"]


@functools.lru_cache(maxsize=64)
def golden_ratio(d: int) -> float:
    """``phi_d``, the positive root of ``x^(d+1) = x + 1`` [R_d], for ``d >= 1``.

    By the fixed-point iteration ``x <- (1 + x)^(1/(d+1))`` from ``x = 2`` that R_d gives: a
    contraction on ``[1, 2]`` (its derivative is below ``1 / (d+1)``), so it settles to the last
    bit in a few dozen steps.
    """
    if d < 1:
        raise ValueError(f"the dimension must be at least 1, got {d}")
    x, power = 2.0, 1.0 / (d + 1)
    for _ in range(200):
        nxt: float = (1.0 + x) ** power
        if nxt == x:
            break
        x = nxt
    return x


@functools.lru_cache(maxsize=64)
def _alpha(d: int) -> np.ndarray:
    """``alpha_i = phi_d^-i`` for ``i = 1 .. d`` [R_d], shape ``(d,)``, read-only."""
    out = golden_ratio(d) ** -np.arange(1.0, d + 1.0)
    out.setflags(write=False)
    return out


def kronecker_points(start: int, n: int, shift: np.ndarray) -> np.ndarray:
    """Points ``start .. start + n - 1`` of the R_d sequence shifted by ``shift``, ``(n, d)``.

    ``x_k = frac(shift + k alpha)`` [R_d, with the rotation of Cranley and Patterson], ``d`` being
    ``len(shift)`` and ``shift`` in ``[0, 1)^d``; point ``k`` depends only on ``(k, shift)``, so
    callers that ask for the points one at a time, or from different processes, agree.
    """
    shift = np.asarray(shift, dtype=float)
    d = len(shift)
    if d == 0 or n <= 0:
        return np.empty((max(n, 0), d))
    k = np.arange(start, start + n, dtype=float)[:, None]
    # frac(k alpha) first: k alpha is exact to k * 2^-53, far below the points' spacing
    out: np.ndarray = np.mod(np.mod(k * _alpha(d), 1.0) + shift, 1.0)
    return out
