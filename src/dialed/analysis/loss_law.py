"""What a larger model should reach: the saturating power law of the best loss against scale.

    L(N) = E + A · N^(-α)                                                           (1)

the form of Kaplan et al., "Scaling Laws for Neural Language Models", 2020, and Hoffmann et
al., "Training Compute-Optimal Large Language Models" (Chinchilla), 2022, eq. (2) with one
scale variable: ``E`` the irreducible loss, ``A · N^(-α)`` what more scale removes. Fitted by
weighted non-linear least squares (``scipy.optimize.curve_fit``, imported when first fitted)
to each rung's confirmed mean loss, weighted by its standard error, with ``A ≥ 0`` and ``0 <
α ≤ 5``; the scale is divided by the largest rung's, so the numbers stay well conditioned.
Intervals for a prediction: a parametric bootstrap of the rungs' means (seeded), as in
:mod:`dialed.analysis.scaling_law`.

Three parameters need three rungs; with exactly three the curve passes through them all and
nothing checks it (a warning says so).
"""

from __future__ import annotations

import math
import warnings as _warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from dialed.errors import ConfigError

__all__ = ["LossLaw", "fit_loss_law"]

_ALPHA_MAX = 5.0
_ALPHA_MIN = 1e-3


@dataclass(frozen=True)
class LossLaw:
    """Eq. (1) fitted to the rungs; ``E``, ``A``, ``alpha`` are None when it could not be."""

    E: float | None
    A: float | None
    alpha: float | None
    rungs: tuple[str, ...]
    scales: tuple[float, ...]
    losses: tuple[float, ...]
    errors: tuple[float, ...]
    confidence: float
    seed: int
    warnings: tuple[str, ...] = ()
    _boot: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)), repr=False,
                              compare=False)
    _ref: float = 1.0

    @property
    def fitted(self) -> bool:
        return self.E is not None

    @property
    def formula(self) -> str:
        if self.E is None or self.A is None or self.alpha is None:
            return "L(N): no fit"
        return f"L(N) = {self.E:.4g} + {self.A:.4g} · N^(-{self.alpha:.4g})"

    def predict(self, scale: float) -> tuple[float, float, float] | None:
        """The loss at ``scale`` with its bootstrap interval, or None without a fit."""
        if self.E is None or self.A is None or self.alpha is None:
            return None
        value = self.E + self.A * scale ** (-self.alpha)
        r = scale / self._ref
        if not self._boot.size:
            return value, value, value
        ys = self._boot[:, 0] + self._boot[:, 1] * r ** (-self._boot[:, 2])
        tail = (1.0 - self.confidence) / 2.0 * 100.0
        lo, hi = np.percentile(ys, [tail, 100.0 - tail])
        return float(value), float(lo), float(hi)

    def to_dict(self) -> dict[str, Any]:
        return {"E": self.E, "A": self.A, "alpha": self.alpha, "rungs": list(self.rungs),
                "scales": list(self.scales), "losses": list(self.losses),
                "errors": list(self.errors), "confidence": self.confidence, "seed": self.seed,
                "warnings": list(self.warnings), "formula": self.formula}


def fit_loss_law(
    scales: Sequence[float],
    losses: Sequence[float],
    errors: Sequence[float],
    *,
    rungs: Sequence[str] | None = None,
    confidence: float = 0.95,
    seed: int = 0,
    n_boot: int = 200,
) -> LossLaw:
    """Fit eq. (1) to the rungs' best ``losses`` (smaller is better) with standard ``errors``."""
    n = len(scales)
    names = tuple(rungs) if rungs is not None else tuple(f"N={s:g}" for s in scales)
    if not (n == len(losses) == len(errors) == len(names)):
        raise ConfigError("loss law: scales, losses, errors and rungs differ in length")
    x = np.array([float(s) for s in scales])
    y = np.array([float(v) for v in losses])
    err = np.array([float(v) for v in errors])
    if np.any(x <= 0) or not np.all(np.isfinite(x)) or not np.all(np.isfinite(y)):
        raise ConfigError("loss law: scales must be > 0 and losses finite")
    spread = float(np.ptp(y)) if n else 0.0
    floor = max(1e-12, 1e-3 * (spread or (abs(float(y.mean())) if n else 1.0)))
    err = np.where(np.isfinite(err) & (err > 0), err, floor)
    err = np.maximum(err, floor)

    def law(e: float | None, a: float | None, alpha: float | None, notes: tuple[str, ...],
            boot: np.ndarray | None = None, ref: float = 1.0) -> LossLaw:
        return LossLaw(e, a, alpha, names, tuple(x.tolist()), tuple(y.tolist()),
                       tuple(err.tolist()), confidence, seed, notes,
                       np.zeros((0, 3)) if boot is None else boot, ref)

    if len(set(x.tolist())) < 3:
        return law(None, None, None, (
            "fewer than three scales: L(N) = E + A·N^(-α) has three numbers to fit",))
    ref = float(x.max())
    r = x / ref
    params = _curve_fit(r, y, err)
    if params is None:
        return law(None, None, None, ("the fit did not converge",))
    e, a_ref, alpha = params
    rng = np.random.default_rng(seed)
    boots = []
    for _ in range(n_boot):
        draw = y + err * rng.standard_normal(n)
        got = _curve_fit(r, draw, err, start=params)
        if got is not None:
            boots.append(got)
    notes = []
    if len(set(x.tolist())) == 3:
        notes.append("exactly three scales: the curve passes through every rung and nothing "
                     "checks it")
    if a_ref <= 1e-9 * max(1.0, abs(e)):
        notes.append("the loss does not fall with scale over these rungs")
    elif alpha <= _ALPHA_MIN * 1.001:
        notes.append("alpha at its lower bound: the rungs do not show the loss levelling off, "
                     "so E (the floor) is not pinned down; trust the prediction only near the "
                     "rungs")
    if alpha >= _ALPHA_MAX * 0.999:
        notes.append(f"alpha at its bound {_ALPHA_MAX:g}: the loss flattens faster than a "
                     "power law")
    return law(float(e), float(a_ref * ref**alpha), float(alpha), tuple(notes),
               np.array(boots).reshape(-1, 3), ref)


def _curve_fit(r: np.ndarray, y: np.ndarray, err: np.ndarray,
               start: tuple[float, float, float] | None = None
               ) -> tuple[float, float, float] | None:
    from scipy.optimize import curve_fit

    def law(rr: np.ndarray, e: float, a: float, alpha: float) -> np.ndarray:
        return e + a * rr ** (-alpha)

    p0 = start or (float(y.min()) - 0.1 * float(np.ptp(y) or 1.0),
                   max(float(np.ptp(y)), 1e-6), 0.5)
    p0 = (p0[0], max(p0[1], 1e-9), min(max(p0[2], _ALPHA_MIN), _ALPHA_MAX))
    try:
        with _warnings.catch_warnings():
            _warnings.simplefilter("ignore")
            popt, _ = curve_fit(law, r, y, p0=p0, sigma=err, absolute_sigma=True,
                                bounds=([-np.inf, 0.0, _ALPHA_MIN], [np.inf, np.inf, _ALPHA_MAX]),
                                maxfev=4000)
    except (RuntimeError, ValueError):
        return None
    out = tuple(float(v) for v in popt)
    if not all(math.isfinite(v) for v in out):
        return None
    return out[0], out[1], out[2]
