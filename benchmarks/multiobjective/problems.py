"""The problems of the multi-objective benchmark: known fronts, and a real ML trade-off.

Synthetic problems (every objective minimised, variables in ``[0, 1]``):

* ZDT1, ZDT2, ZDT3 (Zitzler, Deb, Thiele, "Comparison of Multiobjective Evolutionary
  Algorithms: Empirical Results", Evolutionary Computation 8(2), 2000) with ``n`` variables:
  ``f1 = x1``, ``g = 1 + 9 mean(x2..xn)``, ``f2 = g h(f1, g)`` with ``h = 1 - sqrt(f1 / g)``
  (ZDT1, convex front), ``1 - (f1 / g)^2`` (ZDT2, concave) and
  ``1 - sqrt(f1 / g) - (f1 / g) sin(10 pi f1)`` (ZDT3, five disconnected pieces). The front
  is ``g = 1`` (every ``x2..xn = 0``).
* DTLZ2 with 3 objectives (Deb, Thiele, Laumanns, Zitzler, "Scalable Test Problems for
  Evolutionary Multiobjective Optimization", 2005) with ``k = 10`` distance variables
  (12 in all): ``f = (1 + g) (cos a cos b, cos a sin b, sin a)``, ``a = x1 pi / 2``,
  ``b = x2 pi / 2``, ``g = sum (x_i - 1/2)^2`` over the last ``k``. The front is the unit
  sphere's positive octant (``g = 0``).

Reference points are fixed here, per problem, and stated in the report: worse than any point
of interest but close enough that the hypervolume of early, far-from-converged fronts still
tells methods apart. The hypervolume of the true front for that reference is given too.

A constrained problem: CONSTR (Deb et al. 2002, the NSGA-II paper, Sec. VI): minimise
``f1 = x1`` and ``f2 = (1 + x2) / x1`` over ``x1 in [0.1, 1]``, ``x2 in [0, 5]`` subject to
``x2 + 9 x1 >= 6`` and ``-x2 + 9 x1 >= 1``; only feasible trials count towards the hypervolume.

The ML problem: a random forest on scikit-learn's bundled digits (1,797 8x8 images), 70/30
split fixed by the seed; objectives are validation accuracy (maximised) and the measured
inference latency of predicting the validation set (ms per 1,000 images, minimised, the
median of 3 timed predictions after a warm-up, one thread).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Problem:
    name: str
    space: dict[str, dict[str, Any]]
    metrics: dict[str, str]
    reference: dict[str, float]  # in the metrics' own units
    make: Callable[[int], Callable[[dict[str, Any]], dict[str, float]]]  # seed -> evaluate
    front_hv: float | None  # hypervolume of the true front for `reference`, when known
    note: str


def _unit_space(n: int) -> dict[str, dict[str, Any]]:
    return {f"x{i}": {"type": "float", "low": 0.0, "high": 1.0} for i in range(n)}


def _zdt(kind: int, n: int) -> Callable[[int], Callable[[dict[str, Any]], dict[str, float]]]:
    def make(seed: int) -> Callable[[dict[str, Any]], dict[str, float]]:
        def evaluate(params: dict[str, Any]) -> dict[str, float]:
            x = np.array([params[f"x{i}"] for i in range(n)], dtype=float)
            f1 = float(x[0])
            g = 1.0 + 9.0 * float(np.mean(x[1:]))
            r = f1 / g
            if kind == 1:
                h = 1.0 - math.sqrt(r)
            elif kind == 2:
                h = 1.0 - r * r
            else:
                h = 1.0 - math.sqrt(r) - r * math.sin(10.0 * math.pi * f1)
            return {"f1": f1, "f2": g * h}

        return evaluate

    return make


def _dtlz2(k: int) -> Callable[[int], Callable[[dict[str, Any]], dict[str, float]]]:
    n = 2 + k

    def make(seed: int) -> Callable[[dict[str, Any]], dict[str, float]]:
        def evaluate(params: dict[str, Any]) -> dict[str, float]:
            x = np.array([params[f"x{i}"] for i in range(n)], dtype=float)
            g = float(np.sum((x[2:] - 0.5) ** 2))
            a, b = x[0] * math.pi / 2, x[1] * math.pi / 2
            return {
                "f1": (1 + g) * math.cos(a) * math.cos(b),
                "f2": (1 + g) * math.cos(a) * math.sin(b),
                "f3": (1 + g) * math.sin(a),
            }

        return evaluate

    return make


def _constr(seed: int) -> Callable[[dict[str, Any]], dict[str, float]]:
    def evaluate(params: dict[str, Any]) -> dict[str, float]:
        x1, x2 = float(params["x1"]), float(params["x2"])
        return {"f1": x1, "f2": (1.0 + x2) / x1, "c1": x2 + 9.0 * x1, "c2": -x2 + 9.0 * x1}

    return evaluate


def _constr_front_hv(ref: tuple[float, float], samples: int = 200_001) -> float:
    """Hypervolume of CONSTR's front: f2 = (7 - 9 f1) / f1 on [7/18, 2/3], 1 / f1 above."""
    f1 = np.linspace(7.0 / 18.0, 1.0, samples)
    f2 = np.where(f1 <= 2.0 / 3.0, (7.0 - 9.0 * f1) / f1, 1.0 / f1)
    height = np.clip(ref[1] - f2, 0.0, None)
    return float(np.sum(height[:-1] * np.diff(f1)) + (ref[0] - 1.0) * (ref[1] - 1.0))


def _zdt_front_hv(kind: int, ref: tuple[float, float], samples: int = 200_001) -> float:
    """Hypervolume of the ZDT front for ``ref``, by integrating along the front."""
    f1 = np.linspace(0.0, 1.0, samples)
    if kind == 1:
        f2 = 1 - np.sqrt(f1)
    elif kind == 2:
        f2 = 1 - f1 ** 2
    else:
        f2 = 1 - np.sqrt(f1) - f1 * np.sin(10 * np.pi * f1)
    # the front is the non-dominated part of the curve: a running minimum from the left
    best = np.minimum.accumulate(f2)
    height = np.clip(ref[1] - best, 0.0, None)
    dx = np.diff(f1)
    return float(np.sum(height[:-1] * dx) + (ref[0] - 1.0) * max(ref[1] - best[-1], 0.0))


def _dtlz2_front_hv(r: float) -> float:
    """Hypervolume of the unit sphere's octant for reference (r, r, r): the box minus the
    octant of the ball (r >= 1)."""
    return r ** 3 - math.pi / 6


def _forest(seed: int) -> Callable[[dict[str, Any]], dict[str, float]]:
    from sklearn.datasets import load_digits
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.model_selection import train_test_split

    x, y = load_digits(return_X_y=True)
    x_tr, x_va, y_tr, y_va = train_test_split(x, y, test_size=0.3, random_state=seed,
                                              stratify=y)

    def evaluate(params: dict[str, Any]) -> dict[str, float]:
        model = RandomForestClassifier(
            n_estimators=int(params["n_estimators"]),
            max_depth=int(params["max_depth"]),
            max_features=float(params["max_features"]),
            min_samples_leaf=int(params["min_samples_leaf"]),
            criterion=str(params["criterion"]),
            n_jobs=1, random_state=seed,
        ).fit(x_tr, y_tr)
        model.predict(x_va)  # warm-up
        times = []
        for _ in range(3):
            t0 = time.perf_counter()
            pred = model.predict(x_va)
            times.append(time.perf_counter() - t0)
        latency = float(np.median(times)) * 1000.0 * 1000.0 / len(x_va)
        return {"accuracy": float(np.mean(pred == y_va)), "latency_ms": latency}

    return evaluate


_FOREST_SPACE: dict[str, dict[str, Any]] = {
    "n_estimators": {"type": "int", "low": 1, "high": 100, "log": True},
    "max_depth": {"type": "int", "low": 1, "high": 30, "log": True},
    "max_features": {"type": "float", "low": 0.02, "high": 1.0, "log": True},
    "min_samples_leaf": {"type": "int", "low": 1, "high": 20, "log": True},
    "criterion": {"type": "categorical", "choices": ["gini", "entropy"]},
}

ZDT_N = 30
DTLZ2_K = 10
ZDT_REF = (1.1, 11.0)
DTLZ2_REF = 2.5
CONSTR_REF = (1.1, 10.0)


def problems() -> list[Problem]:
    zdt_note = (f"{ZDT_N} variables in [0, 1]; reference point (f1, f2) = {ZDT_REF}")
    out = [
        Problem(f"ZDT{k}", _unit_space(ZDT_N), {"f1": "minimize", "f2": "minimize"},
                {"f1": ZDT_REF[0], "f2": ZDT_REF[1]}, _zdt(k, ZDT_N), _zdt_front_hv(k, ZDT_REF),
                zdt_note)
        for k in (1, 2, 3)
    ]
    out.append(Problem(
        "DTLZ2", _unit_space(2 + DTLZ2_K), {"f1": "minimize", "f2": "minimize", "f3": "minimize"},
        {"f1": DTLZ2_REF, "f2": DTLZ2_REF, "f3": DTLZ2_REF}, _dtlz2(DTLZ2_K),
        _dtlz2_front_hv(DTLZ2_REF),
        f"3 objectives, {2 + DTLZ2_K} variables in [0, 1] (k = {DTLZ2_K}); reference point "
        f"({DTLZ2_REF}, {DTLZ2_REF}, {DTLZ2_REF})",
    ))
    out.append(Problem(
        "CONSTR",
        {"x1": {"type": "float", "low": 0.1, "high": 1.0},
         "x2": {"type": "float", "low": 0.0, "high": 5.0}},
        {"f1": "minimize", "f2": "minimize", "c1": ">= 6", "c2": ">= 1"},
        {"f1": CONSTR_REF[0], "f2": CONSTR_REF[1]}, _constr, _constr_front_hv(CONSTR_REF),
        "2 objectives, 2 variables, 2 constraints (x2 + 9 x1 >= 6, -x2 + 9 x1 >= 1); "
        f"reference point (f1, f2) = {CONSTR_REF}",
    ))
    out.append(Problem(
        "RF-digits", _FOREST_SPACE, {"accuracy": "maximize", "latency_ms": "minimize"},
        {"accuracy": 0.8, "latency_ms": 100.0}, _forest, None,
        "RandomForestClassifier on digits (70/30 split by seed): validation accuracy "
        "(maximised) vs inference latency in ms per 1,000 images (minimised, median of 3 "
        "timed predictions, one thread); 5 dials (n_estimators, max_depth, max_features, "
        "min_samples_leaf, criterion); reference point (accuracy 0.8, latency 100 ms)",
    ))
    return out
