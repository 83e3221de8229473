"""Which objective vectors are best: the Pareto front, front by front, and its spread.

Rows are losses (smaller is better on every column). :func:`non_dominated` is the Pareto front;
:func:`fronts` sorts rows front by front and :func:`crowding_distance` spreads a front (K. Deb,
A. Pratap, S. Agarwal, T. Meyarivan, "A fast and elitist multiobjective genetic algorithm:
NSGA-II", IEEE TEC 6(2), 2002). These are the one implementation of the idea, shared by the
history, the samplers, the study, the analysis and the dashboard.
"""

from __future__ import annotations

import numpy as np

__all__ = ["crowding_distance", "fronts", "non_dominated"]


def non_dominated(losses: np.ndarray) -> np.ndarray:
    """Which rows of ``losses`` (shape ``(n, m)``, smaller is better) no other row dominates.

    Row ``a`` dominates row ``b`` when it is no worse on every column and better on one; equal
    rows do not dominate each other (both stay). NaN counts as the worst value. Returns a
    boolean mask of shape ``(n,)``. Rows are taken in lexicographic order, so a row can only be
    dominated by an earlier one: with two columns a running minimum decides (``O(n log n)``);
    with more, each block of rows is compared with the front found so far and with itself.
    """
    pts = np.nan_to_num(np.asarray(losses, dtype=float), nan=np.inf)
    if pts.ndim != 2:
        raise ValueError(f"losses must have shape (n, m), got {pts.shape}")
    n, m = pts.shape
    mask = np.zeros(n, dtype=bool)
    if n == 0:
        return mask
    if m == 1:
        return np.asarray(pts[:, 0] == pts[:, 0].min(), dtype=bool)
    unique, inverse = np.unique(pts, axis=0, return_inverse=True)  # sorted lexicographically
    inverse = inverse.reshape(-1)
    if m == 2:
        # A later unique row is dominated exactly when an earlier one is no worse on column 2.
        prev_min = np.minimum.accumulate(np.concatenate([[np.inf], unique[:-1, 1]]))
        keep = unique[:, 1] < prev_min
        keep[0] = True  # the first row is never dominated (even with an infinite column)
    else:
        keep = np.zeros(len(unique), dtype=bool)
        rows = np.arange(len(unique))
        if len(unique) > 512:
            # Points of least sum are on the front; drop what they dominate first, cheaply.
            pivots = unique[np.argsort(unique.sum(axis=1), kind="stable")[:32]]
            rows = rows[~_dominated_by(pivots, unique)]
        front = np.zeros((0, m))
        block = 256
        for start in range(0, len(rows), block):
            idx = rows[start:start + block]
            pts_b = unique[idx]
            ok = ~_dominated_by(front, pts_b) & ~_dominated_by(pts_b, pts_b)
            keep[idx] = ok
            front = np.concatenate([front, pts_b[ok]])
    mask[:] = keep[inverse]
    return mask


def fronts(losses: np.ndarray, enough: int | None = None) -> list[np.ndarray]:
    """Non-dominated sorting: the row indices of front 0, front 1, ... (each ascending).

    Front ``k`` holds the rows that only rows of fronts ``< k`` dominate (Deb et al. 2002,
    NSGA-II, Sec. III-A). With ``enough``, sorting stops once the fronts found hold at least
    that many rows. ``losses`` has shape ``(n, m)``, smaller is better, NaN the worst.
    """
    remaining = np.arange(len(losses))
    out: list[np.ndarray] = []
    held = 0
    while len(remaining) and (enough is None or held < enough):
        mask = non_dominated(losses[remaining])
        out.append(remaining[mask])
        held += int(mask.sum())
        remaining = remaining[~mask]
    return out


def crowding_distance(losses: np.ndarray) -> np.ndarray:
    """Crowding distance of each row of one front, shape ``(n,)``; the extremes are inf.

    Deb et al. 2002, NSGA-II, Sec. III-B: per objective, the rows sorted by it; an inner row
    adds the gap between its neighbours divided by the objective's range on the front. An
    objective with no range adds nothing; with two rows or fewer every row is an extreme.
    """
    n, m = losses.shape
    dist = np.zeros(n)
    if n <= 2:
        dist[:] = np.inf
        return dist
    for k in range(m):
        order = np.argsort(losses[:, k], kind="stable")
        v = losses[order, k]
        span = v[-1] - v[0]
        dist[order[0]] = dist[order[-1]] = np.inf
        if np.isfinite(span) and span > 0:
            dist[order[1:-1]] += (v[2:] - v[:-2]) / span
    return dist


def _dominated_by(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Whether some row of ``a`` dominates each row of ``b``, shape ``(len(b),)``."""
    if len(a) == 0:
        return np.zeros(len(b), dtype=bool)
    x, y = a[:, None, :], b[None, :, :]
    dominates = np.all(x <= y, axis=2) & np.any(x < y, axis=2)
    return np.asarray(dominates.any(axis=0), dtype=bool)
