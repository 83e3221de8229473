"""Exact hypervolume and hypervolume subset selection, for the samplers and the analysis.

The hypervolume of a set of points (losses: smaller is better on every column) is the volume
of the region they dominate up to a reference point (Zitzler and Thiele, PPSN V, 1998).
:func:`dialed.analysis.hypervolume` is the public entry; this module is shared vocabulary
(:mod:`dialed.metrics`), below both the samplers and the analysis that use it. The algorithms:

* 2 objectives: sort by the first objective and sweep (``O(n log n)``);
* 3 objectives: the HV3D sweep (Fonseca, Paquete, Lopez-Ibanez, "An improved dimension-sweep
  algorithm for the hypervolume indicator", IEEE CEC 2006): points in increasing order of the
  third objective, the 2-d front of those seen so far kept sorted, its area updated as each
  point enters, and the volume summed slab by slab (``O(n log n)`` amortised);
* 4 objectives: slabs in the fourth objective, each the 3-d sweep of the points below it;
* 5 or more: WFG (While, Bradstreet, Barone, "A Fast Way of Calculating Exact Hypervolumes",
  IEEE TEC 16(1), 2012): the sum of each point's exclusive hypervolume, each computed from
  the front of the points after it limited by it, down to 4 objectives.

:func:`hypervolume_subset` chooses ``k`` of ``n`` points that dominate as much as possible
together (the hypervolume subset selection problem), greedily: the point adding the most
hypervolume to those chosen, then the next. Hypervolume is submodular, so the greedy choice is
within ``1 - 1/e`` of the best subset (Nemhauser, Wolsey, Fisher 1978), and a point's gain can
only shrink as others are chosen: gains are recomputed lazily, only for the point on top
(Minoux's accelerated greedy, 1978). :mod:`dialed.samplers._tpe` uses it to cut the last front
of its good group with several objectives, as Optuna's multi-objective TPE does (Ozaki et al.,
"Multiobjective Tree-Structured Parzen Estimator", JAIR 73, 2022).
"""

from __future__ import annotations

import bisect
import heapq
from collections.abc import Sequence

import numpy as np

from dialed.metrics._pareto import non_dominated

__all__ = ["hypervolume", "hypervolume_subset", "inside"]


def hypervolume(points: np.ndarray, reference: Sequence[float] | np.ndarray) -> float:
    """The exact volume that ``points`` (losses, shape ``(n, m)``) dominate up to ``reference``.

    Points not strictly better than the reference on every objective add nothing. Exact for
    any ``m``: sweeps for 2 to 4 objectives, WFG above (see the module's notes on cost).
    """
    ref = np.asarray(reference, dtype=float).reshape(-1)
    return _volume(inside(points, ref), ref)


def _volume(pts: np.ndarray, ref: np.ndarray) -> float:
    """The hypervolume of finite points strictly inside the box (dominated ones allowed)."""
    m = len(ref)
    if len(pts) == 0:
        return 0.0
    if m == 1:
        return float(ref[0] - pts[:, 0].min())
    if m == 2:
        return _hv2(pts, ref)
    if m == 3:
        return _hv3(pts, ref)
    return _wfg(pts, ref)


def inside(points: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """The distinct non-dominated points strictly inside the reference box."""
    pts: np.ndarray = np.asarray(points, dtype=float)
    if pts.size == 0:
        return np.zeros((0, len(ref)))
    if pts.ndim != 2 or pts.shape[1] != len(ref):
        raise ValueError(f"points must have shape (n, {len(ref)}) to match the reference "
                         f"point, got {pts.shape}")
    if not np.all(np.isfinite(ref)):
        raise ValueError(f"the reference point must be finite, got {ref.tolist()}")
    pts = pts[np.all(np.isfinite(pts), axis=1) & np.all(pts < ref, axis=1)]
    if len(pts) == 0:
        return pts
    distinct: np.ndarray = np.unique(pts, axis=0)
    out: np.ndarray = distinct[non_dominated(distinct)]
    return out


def _hv2(pts: np.ndarray, ref: np.ndarray) -> float:
    """2-d sweep: sorted by f1, each strip as high as the least f2 so far."""
    order = np.lexsort((pts[:, 1], pts[:, 0]))
    x, y = pts[order, 0], np.minimum.accumulate(pts[order, 1])
    widths = np.append(x[1:], ref[0]) - x
    return float(np.sum(widths * (ref[1] - y)))


def _hv3(pts: np.ndarray, ref: np.ndarray) -> float:
    """HV3D sweep: slabs in f3 times the area of the 2-d front of the points below them."""
    order = np.argsort(pts[:, 2], kind="stable")
    front = _Front2(float(ref[0]), float(ref[1]))
    z = pts[order, 2]
    z_next = np.append(z[1:], ref[2])
    volume = 0.0
    for (x, y), lo, hi in zip(pts[order, :2].tolist(), z.tolist(), z_next.tolist(),
                              strict=True):
        front.add(x, y)
        volume += front.area * (hi - lo)
    return volume


class _Front2:
    """A 2-d non-dominated set (x increasing, y decreasing) and the area it dominates."""

    def __init__(self, rx: float, ry: float) -> None:
        self.rx, self.ry = rx, ry
        self.xs: list[float] = []
        self.ys: list[float] = []
        self.area = 0.0

    def add(self, x: float, y: float) -> None:
        xs, ys = self.xs, self.ys
        i = bisect.bisect_left(xs, x)
        if (i > 0 and ys[i - 1] <= y) or (i < len(xs) and xs[i] == x and ys[i] <= y):
            return  # dominated (or repeated): nothing changes
        j = i
        while j < len(xs) and ys[j] >= y:
            j += 1  # xs[i:j] are dominated by the new point
        right = xs[j] if j < len(xs) else self.rx
        left_height = self.ry - ys[i - 1] if i > 0 else 0.0
        # What was dominated on [x, right) before: the left neighbour's level up to the first
        # removed point, then each removed point's level up to the next.
        edges = [x, *xs[i:j], right]
        heights = [left_height, *(self.ry - v for v in ys[i:j])]
        before = sum((b - a) * h for a, b, h in zip(edges[:-1], edges[1:], heights, strict=True))
        self.area += (right - x) * (self.ry - y) - before
        xs[i:j] = [x]
        ys[i:j] = [y]


def _hv4(pts: np.ndarray, ref: np.ndarray) -> float:
    """4 objectives: slabs in f4 times the 3-d hypervolume of the points below them."""
    order = np.argsort(pts[:, 3], kind="stable")
    pts = pts[order]
    z_next = np.append(pts[1:, 3], ref[3])
    volume = 0.0
    for k in range(len(pts)):
        depth = float(z_next[k] - pts[k, 3])
        if depth > 0:
            volume += _hv3(pts[: k + 1, :3], ref[:3]) * depth
    return volume


def _wfg(pts: np.ndarray, ref: np.ndarray) -> float:
    """WFG: the sum over points of each one's exclusive hypervolume (While et al. 2012)."""
    m = pts.shape[1]
    if len(pts) == 0:
        return 0.0
    if m == 3:
        return _hv3(pts, ref)
    if m == 4:
        return _hv4(pts, ref)
    if len(pts) == 1:
        return float(np.prod(ref - pts[0]))
    # Worst first in the last objective: the limited sets after each point stay small.
    pts = pts[np.argsort(-pts[:, -1], kind="stable")]
    total = 0.0
    for i in range(len(pts)):
        p = pts[i]
        inclusive = float(np.prod(ref - p))
        rest = pts[i + 1:]
        if len(rest) == 0:
            total += inclusive
            continue
        limited = np.maximum(rest, p)  # what of each later point lies inside p's box
        limited = np.unique(limited, axis=0)
        limited = limited[non_dominated(limited)]
        total += inclusive - _wfg(limited, ref)
    return total


def hypervolume_subset(
    points: np.ndarray, k: int, reference: Sequence[float] | np.ndarray | None = None
) -> np.ndarray:
    """Indices of ``k`` rows of ``points`` (losses, ``(n, m)``) chosen greedily by hypervolume.

    Each step takes the row that adds the most hypervolume to the rows already taken (lazy
    greedy; ties to the lower index). The reference point defaults to the worst value of each
    column plus a tenth of its range (so the extremes count too). Returns the indices in the
    order taken; all rows when ``k >= n``.
    """
    pts = np.asarray(points, dtype=float)
    n = len(pts)
    if k >= n:
        return np.arange(n)
    if k <= 0:
        return np.zeros(0, dtype=int)
    if reference is None:
        worst, best = pts.max(axis=0), pts.min(axis=0)
        ref = worst + 0.1 * (worst - best) + 1e-12 * (1.0 + np.abs(worst))
    else:
        ref = np.asarray(reference, dtype=float)
    usable = np.all(np.isfinite(pts), axis=1) & np.all(pts < ref, axis=1)
    taken: list[int] = []
    base = 0.0
    # (-gain bound, index, size of the chosen set the bound was computed for)
    heap = [(-float(np.prod(ref - p)) if usable[i] else 0.0, i, 0) for i, p in enumerate(pts)]
    heapq.heapify(heap)
    while len(taken) < k and heap:
        bound, i, fresh_at = heapq.heappop(heap)
        if fresh_at == len(taken):
            taken.append(i)
            base -= bound
            continue
        gain = _volume(pts[[*taken, i]], ref) - base if usable[i] else 0.0
        heapq.heappush(heap, (-gain, i, len(taken)))
    return np.array(taken, dtype=int)
