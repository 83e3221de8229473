"""The Pareto front of a study and the hypervolume it dominates.

A trial is on the **Pareto front** when it is complete, feasible (every constraint met) and no
other such trial is at least as good on every objective and better on one. The front is the
answer of a study with several objectives; the **hypervolume** measures it in one number: the
volume of objective space that the front dominates, up to a reference point worse than every
point of interest (Zitzler and Thiele, "Multiobjective Optimization Using Evolutionary
Algorithms - A Comparative Case Study", PPSN V, 1998). Larger is better, and a front that
dominates another has a larger hypervolume.

:func:`hypervolume` is exact:

* 2 objectives: sort by the first objective and sweep (``O(n log n)``);
* 3 objectives: the HV3D sweep (Fonseca, Paquete, Lopez-Ibanez, "An improved dimension-sweep
  algorithm for the hypervolume indicator", IEEE CEC 2006): points in increasing order of the
  third objective, the 2-d front of those seen so far kept sorted, its area updated as each
  point enters, and the volume summed slab by slab (``O(n log n)`` amortised);
* 4 objectives: slabs in the fourth objective, each the 3-d sweep of the points below it;
* 5 or more: WFG (While, Bradstreet, Barone, "A Fast Way of Calculating Exact Hypervolumes",
  IEEE TEC 16(1), 2012): the sum of each point's exclusive hypervolume, each computed from
  the front of the points after it limited by it, down to 4 objectives. Exact, and fast for
  the fronts of a tuning study (tens to a few hundred points); its cost grows quickly with the
  number of objectives and points, where :func:`hypervolume_estimate` (Monte Carlo, with its
  standard error) is the fast alternative.

Points here are losses (smaller is better on every column), as :func:`losses` gives them; a
reference point given per metric is in the metric's own units and converted the same way. The
exact algorithms live in :mod:`dialed.metrics`, the vocabulary below the samplers that use them
too.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from dialed.errors import ConfigError
from dialed.history import History
from dialed.history import pareto_front as _pareto_front
from dialed.metrics import MetricSet, inside, non_dominated
from dialed.metrics import hypervolume as _exact_hypervolume
from dialed.space import Space
from dialed.trial import TrialRecord

__all__ = [
    "HypervolumeEstimate",
    "hypervolume",
    "hypervolume_estimate",
    "hypervolume_history",
    "losses",
    "non_dominated",
    "pareto_front",
    "reference_losses",
]


# -- the front ------------------------------------------------------------------------------
def losses(trials: Sequence[TrialRecord], metrics: MetricSet) -> np.ndarray:
    """The objectives of ``trials`` as losses, shape ``(len(trials), n_objectives)``.

    A maximised objective is negated; a trial lacking an objective has NaN there (the rows the
    history derives, :class:`dialed.history.Rows`).
    """
    return History(Space(), metrics, trials).rows.losses


def pareto_front(trials: Sequence[TrialRecord], metrics: MetricSet) -> list[TrialRecord]:
    """The complete, feasible trials no other such trial dominates, in order of number.

    The same front as :attr:`dialed.Study.best_trials`, from any list of records (an export, a
    subset of the trials, several studies' trials together): :func:`dialed.history.pareto_front`.
    """
    return _pareto_front(trials, metrics)


def reference_losses(
    reference: Mapping[str, float] | Sequence[float], metrics: MetricSet
) -> np.ndarray:
    """A reference point given in the metrics' own units, as losses (shape ``(n_objectives,)``).

    ``reference`` maps each objective to a value no better than any point of interest (a low
    accuracy, a high latency), or lists them in the objectives' order.
    """
    objs = metrics.objectives
    if isinstance(reference, Mapping):
        missing = [m.name for m in objs if m.name not in reference]
        if missing:
            raise ConfigError(f"reference point: no value for {', '.join(missing)} (the "
                              f"objectives are {', '.join(m.name for m in objs)})")
        values = [float(reference[m.name]) for m in objs]
    else:
        values = [float(v) for v in reference]
        if len(values) != len(objs):
            raise ConfigError(f"reference point: {len(values)} values for {len(objs)} "
                              f"objectives ({', '.join(m.name for m in objs)})")
    return np.array([m.loss(v) for m, v in zip(objs, values, strict=True)])


def hypervolume_history(
    trials: Sequence[TrialRecord],
    metrics: MetricSet,
    reference: Mapping[str, float] | Sequence[float],
    at: Sequence[int] | None = None,
) -> np.ndarray:
    """The hypervolume of the feasible front after the first ``k`` trials, for each ``k``.

    Trials are taken in order of number; ``at`` lists the counts (every count from 1 to
    ``len(trials)`` when None). A count beyond the trials gives the hypervolume of them all.
    Returns shape ``(len(at),)``.
    """
    ordered = sorted(trials, key=lambda t: t.number)
    ref = reference_losses(reference, metrics)
    counts = list(range(1, len(ordered) + 1)) if at is None else [int(k) for k in at]
    rows = History(Space(), metrics, ordered).rows
    points = rows.losses
    usable = rows.complete & (rows.violation <= 0.0)  # complete and feasible
    out = np.zeros(len(counts))
    for i, k in enumerate(counts):
        kept = usable[:k]
        out[i] = hypervolume(points[:k][kept], ref) if kept.any() else 0.0
    return out


# -- hypervolume --------------------------------------------------------------------------------
def hypervolume(points: np.ndarray, reference: Sequence[float] | np.ndarray) -> float:
    """The exact volume that ``points`` (losses, shape ``(n, m)``) dominate up to ``reference``.

    Points not strictly better than the reference on every objective add nothing. Exact for
    any ``m``: sweeps for 2 to 4 objectives, WFG above (see the module's notes on cost).
    """
    return _exact_hypervolume(points, reference)


# -- Monte Carlo ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class HypervolumeEstimate:
    """A Monte Carlo estimate of a hypervolume: ``value`` with its ``stderr`` (one standard
    error; ``value +- 2 stderr`` covers the exact value about 95% of the time)."""

    value: float
    stderr: float
    samples: int


def hypervolume_estimate(
    points: np.ndarray,
    reference: Sequence[float] | np.ndarray,
    samples: int = 100_000,
    seed: int = 0,
) -> HypervolumeEstimate:
    """Estimate the hypervolume by uniform samples in the box from the ideal point to the
    reference: the box's volume times the fraction of samples some point dominates.

    The standard error is ``V sqrt(p (1 - p) / samples)`` (``V`` the box, ``p`` the fraction);
    the cost is ``O(samples * n * m)``, whatever the number of objectives ``m``.
    """
    if isinstance(samples, bool) or not isinstance(samples, int) or samples < 1:
        raise ConfigError(f"samples must be a whole number >= 1, got {samples!r}")
    ref = np.asarray(reference, dtype=float).reshape(-1)
    pts = inside(points, ref)
    if len(pts) == 0:
        return HypervolumeEstimate(0.0, 0.0, samples)
    ideal = pts.min(axis=0)
    box = float(np.prod(ref - ideal))
    rng = np.random.default_rng(seed)
    hits = 0
    chunk = max(1, min(samples, 2_000_000 // max(1, len(pts) * len(ref))))
    done = 0
    while done < samples:
        k = min(chunk, samples - done)
        u = ideal + rng.random((k, len(ref))) * (ref - ideal)
        dominated = np.zeros(k, dtype=bool)
        for p in pts:
            dominated |= np.all(p <= u, axis=1)
        hits += int(dominated.sum())
        done += k
    p_hat = hits / samples
    return HypervolumeEstimate(box * p_hat, box * math.sqrt(p_hat * (1 - p_hat) / samples),
                               samples)
