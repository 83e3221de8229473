"""How well one study pins down the optimum of one parameter: a local quadratic fit.

Near its optimum ``x*`` a smooth loss is a parabola, ``L(x) ≈ L* + c (x - x*)²`` (the
second-order Taylor expansion used by response-surface methods: Box and Wilson, "On the
Experimental Attainment of Optimum Conditions", JRSS B 13(1), 1951). Fitting it to the best
trials of a study gives the curvature ``c``; settings whose loss lies within ``tolerance``
of the best (the half-width of the best configuration's confirm interval, ``z · s/√n``: a
difference the seeds cannot tell apart) span ``|x - x*| ≤ √(tolerance / c)``, and that
half-width is the optimum's uncertainty ``σ``. ``x`` is the parameter's coordinate in the
space of the fit: ``log p`` for a log-scale parameter, ``p`` otherwise.

The parabola's vertex, when it lies among the trials it was fitted to, estimates the optimum
itself from all of them, less noisily than the one best configuration does.

Without curvature (a flat or concave marginal, or too few trials) ``σ`` is the spread of the
near-best trials' coordinates, and at least ``MIN_SHARE`` of the searched range.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["EDGE_SHARE", "MIN_SHARE", "OptimumSpread", "optimum_spread"]

#: An optimum within this share of the range from its low or high end is "at the edge".
EDGE_SHARE = 0.05
#: The smallest uncertainty, as a share of the searched range (the search's resolution).
MIN_SHARE = 0.02
#: The share of the trials (best first) the parabola is fitted to, and the least number.
TOP_SHARE = 0.5
MIN_POINTS = 5


@dataclass(frozen=True)
class OptimumSpread:
    """A rung's optimum of one parameter (fit units) and its uncertainty ``sigma``."""

    optimum: float
    sigma: float
    method: str  # "curvature" or "spread"
    at_edge: bool
    #: The parabola's vertex when it curves upward and lies among the points it was fitted to
    #: (a less noisy estimate of the optimum than the single best configuration), else None.
    vertex: float | None = None


def optimum_spread(
    coords: Sequence[float],
    losses: Sequence[float],
    optimum: float,
    tolerance: float,
    low: float,
    high: float,
) -> OptimumSpread:
    """The uncertainty of ``optimum`` from the trials' ``coords`` and ``losses``.

    ``low`` and ``high`` bound the searched range (fit units); ``tolerance`` is the loss
    difference the seeds cannot resolve (> 0).
    """
    x = np.asarray(coords, dtype=float)
    y = np.asarray(losses, dtype=float)
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    width = max(high - low, 1e-12)
    floor = MIN_SHARE * width
    at_edge = bool(optimum - low <= EDGE_SHARE * width or high - optimum <= EDGE_SHARE * width)
    tol = tolerance if math.isfinite(tolerance) and tolerance > 0 else _noise(y)
    k = max(MIN_POINTS, math.ceil(TOP_SHARE * x.size))
    order = np.argsort(y, kind="stable")[:k]
    xs, ys = x[order] - optimum, y[order]
    if xs.size >= MIN_POINTS and np.ptp(xs) > 0:
        design = np.column_stack([np.ones_like(xs), xs, xs**2])
        coef, *_ = np.linalg.lstsq(design, ys, rcond=None)
        c = float(coef[2])
        if c > 0 and tol > 0:
            sigma = math.sqrt(tol / c)
            shift = -float(coef[1]) / (2.0 * c)
            vertex = optimum + shift if xs.min() <= shift <= xs.max() else None
            return OptimumSpread(optimum, float(min(max(sigma, floor), width / 2.0)),
                                 "curvature", at_edge, vertex)
    near = x[y <= (float(y.min()) + tol)] if y.size else x
    spread = float(np.std(near - optimum)) if near.size >= 2 else width / 4.0
    return OptimumSpread(optimum, float(min(max(spread, floor), width / 2.0)), "spread",
                         at_edge)


def _noise(y: np.ndarray) -> float:
    """A stand-in tolerance without a confirm interval: 5% of the losses' interquartile range."""
    if y.size < 4:
        return 0.0
    q1, q3 = np.percentile(y, [25, 75])
    return 0.05 * float(q3 - q1)
