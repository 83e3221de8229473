"""How a setting's optimum moves with scale: a weighted power law with bootstrap intervals.

Labs tune small models and carry the settings up along fitted power laws: DeepSeek-AI (Bi et
al.), "DeepSeek LLM: Scaling Open-Source Language Models with Longtermism", 2024, §3.1, fit
the best learning rate and batch size as ``η_opt = 0.3118 · C^-0.125``, ``B_opt = 0.292 ·
C^0.3271`` to small-compute runs; Kaplan et al., "Scaling Laws for Neural Language Models",
2020, the same form for loss. Here, for each numeric parameter, the rungs' confirmed optima
``p_i`` at scales ``N_i`` give

    p*(N) = a · N^b,   fitted as the line   y = log p* = log a + b · log N          (1)

by weighted least squares, weights ``w_i = 1 / σ_i²`` with ``σ_i`` the uncertainty of rung
``i``'s optimum in the same (log) units. A parameter on a linear scale is fitted as
``p*(N) = a + b · log N`` (the line in ``y = p``).

Intervals for ``a``, ``b`` and any prediction come from a parametric bootstrap (Efron and
Tibshirani, "An Introduction to the Bootstrap", 1993, ch. 6): ``y*_i = ŷ_i + s · σ_i · z_i``,
``z_i ~ N(0, 1)`` seeded, refitted ``n_boot`` times, percentile intervals; ``s =
√max(1, χ²/(n-2))`` widens them when the rungs scatter more than their ``σ_i`` say (the law
holds less well than the optima are known).

The check that the law holds: each rung left out, predicted by the law of the others, and its
residual standardised, ``z_i = (y_i - ŷ_{-i}) / √(s²_{-i}σ_i² + Var ŷ_{-i})`` (leave-one-out;
``s_{-i}`` the inflation of the law without rung ``i``); a ``|z_i| > LOO_LIMIT`` is a poor fit.
A fit warns (and is not to be trusted) with fewer than three rungs, a poor leave-one-out, or
an optimum at the edge of its rung's range (the search may have been cut off there).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from dialed.errors import ConfigError

__all__ = ["LOO_LIMIT", "MIN_RUNGS", "PowerLaw", "fit_power_law"]

#: A standardised leave-one-out residual beyond this is a poor fit.
LOO_LIMIT = 3.0
#: Fewer rungs than this leave nothing to check the law with.
MIN_RUNGS = 3


@dataclass(frozen=True)
class PowerLaw:
    """The fitted law of one parameter's optimum against scale (see the module's eq. 1).

    ``log``: ``p* = a · N^b``; else ``p* = a + b · log N``. Intervals are at ``confidence``.
    ``loo`` holds each rung's standardised leave-one-out residual (None below three rungs).
    """

    param: str
    log: bool
    a: float
    b: float
    a_interval: tuple[float, float]
    b_interval: tuple[float, float]
    rungs: tuple[str, ...]
    scales: tuple[float, ...]
    optima: tuple[float, ...]
    sigmas: tuple[float, ...]  # in fit units: log p for a power law, p on a linear scale
    loo: tuple[float | None, ...]
    inflation: float
    confidence: float
    seed: int
    n_boot: int
    warnings: tuple[str, ...] = ()
    _boot: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)), repr=False,
                              compare=False)
    _centre: float = 0.0

    @property
    def trusted(self) -> bool:
        """Whether nothing speaks against the law (no warnings)."""
        return not self.warnings

    @property
    def formula(self) -> str:
        if self.log:
            return f"{self.param}*(N) = {self.a:.4g} · N^{self.b:.4g}"
        return f"{self.param}*(N) = {self.a:.4g} + {self.b:.4g} · log N"

    def predict(self, scale: float,
                confidence: float | None = None) -> tuple[float, float, float]:
        """The optimum at ``scale`` and its bootstrap interval ``(value, low, high)`` at
        ``confidence`` (the law's own when not given)."""
        if not (math.isfinite(scale) and scale > 0):
            raise ConfigError(f"a scale must be a number > 0, got {scale!r}")
        level = self.confidence if confidence is None else confidence
        if not 0.0 < level < 1.0:
            raise ConfigError(f"a confidence must lie between 0 and 1, got {confidence!r}")
        x = math.log(scale) - self._centre
        alpha = self._alpha()
        y = alpha + self.b * x
        ys = self._boot[:, 0] + self._boot[:, 1] * x
        tail = (1.0 - level) / 2.0 * 100.0
        lo, hi = (np.percentile(ys, [tail, 100.0 - tail]) if ys.size else (y, y))
        back = math.exp if self.log else float
        return back(y), back(float(lo)), back(float(hi))

    def _alpha(self) -> float:
        intercept = math.log(self.a) if self.log else self.a
        return intercept + self.b * self._centre

    def to_dict(self) -> dict[str, Any]:
        return {
            "param": self.param, "law": "power" if self.log else "linear-in-log",
            "a": self.a, "b": self.b, "a_interval": list(self.a_interval),
            "b_interval": list(self.b_interval), "rungs": list(self.rungs),
            "scales": list(self.scales), "optima": list(self.optima),
            "sigmas": list(self.sigmas), "loo": list(self.loo), "inflation": self.inflation,
            "confidence": self.confidence, "seed": self.seed, "n_boot": self.n_boot,
            "warnings": list(self.warnings), "formula": self.formula,
        }


def fit_power_law(
    param: str,
    scales: Sequence[float],
    optima: Sequence[float],
    sigmas: Sequence[float],
    *,
    log: bool = True,
    rungs: Sequence[str] | None = None,
    at_edge: Sequence[bool] | None = None,
    confidence: float = 0.95,
    seed: int = 0,
    n_boot: int = 2000,
) -> PowerLaw:
    """Fit eq. (1) to ``optima`` at ``scales`` with uncertainties ``sigmas`` (fit units).

    ``sigmas`` are in log units for ``log=True`` (the standard deviation of ``log p*``), in the
    parameter's units otherwise. ``at_edge[i]`` marks a rung whose optimum lies at the edge of
    its searched range. Needs at least two rungs at two different scales.
    """
    n = len(scales)
    names = tuple(rungs) if rungs is not None else tuple(f"N={s:g}" for s in scales)
    if not (n == len(optima) == len(sigmas) == len(names)):
        raise ConfigError(f"{param}: scales, optima, sigmas and rungs differ in length")
    if n < 2:
        raise ConfigError(f"{param}: a law needs at least two rungs, got {n}")
    x_raw = np.array([float(s) for s in scales])
    p = np.array([float(v) for v in optima])
    sig = np.array([float(v) for v in sigmas])
    if not np.all(np.isfinite(x_raw)) or np.any(x_raw <= 0):
        raise ConfigError(f"{param}: every scale must be a number > 0, got {list(scales)}")
    if len(set(x_raw.tolist())) < 2:
        raise ConfigError(f"{param}: the rungs need at least two different scales")
    if log and np.any(p <= 0):
        raise ConfigError(f"{param}: a power law needs optima > 0 (a log-scale parameter)")
    if not np.all(np.isfinite(sig)) or np.any(sig <= 0):
        raise ConfigError(f"{param}: every rung's uncertainty must be a number > 0")
    lx = np.log(x_raw)
    centre = float(lx.mean())
    x = lx - centre
    y = np.log(p) if log else p
    w = 1.0 / sig**2
    alpha, b, _ = _wls(x, y, w)
    resid = y - (alpha + b * x)
    chi2 = float(np.sum(w * resid**2))
    inflation = math.sqrt(max(1.0, chi2 / (n - 2))) if n > 2 else 1.0
    rng = np.random.default_rng(seed)
    fitted = alpha + b * x
    draws = fitted[None, :] + inflation * sig[None, :] * rng.standard_normal((n_boot, n))
    boot = np.array([_wls(x, d, w)[:2] for d in draws]).reshape(-1, 2)
    tail = (1.0 - confidence) / 2.0 * 100.0
    b_lo, b_hi = (float(v) for v in np.percentile(boot[:, 1], [tail, 100.0 - tail]))
    intercepts = boot[:, 0] - boot[:, 1] * centre
    a_lo, a_hi = (float(v) for v in np.percentile(intercepts, [tail, 100.0 - tail]))
    intercept = alpha - b * centre
    a = math.exp(intercept) if log else intercept
    a_interval = (math.exp(a_lo), math.exp(a_hi)) if log else (a_lo, a_hi)
    loo = _leave_one_out(x, y, sig)
    warnings = _warnings(n, loo, names, at_edge)
    return PowerLaw(
        param=param, log=log, a=float(a), b=float(b), a_interval=a_interval,
        b_interval=(b_lo, b_hi), rungs=names, scales=tuple(float(v) for v in x_raw),
        optima=tuple(float(v) for v in p), sigmas=tuple(float(v) for v in sig), loo=loo,
        inflation=inflation, confidence=confidence, seed=seed, n_boot=n_boot,
        warnings=warnings, _boot=boot, _centre=centre,
    )


def _wls(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[float, float, np.ndarray]:
    """Weighted least squares of ``y = α + b x``; returns α, b and their covariance (2×2)."""
    sw = float(w.sum())
    xm = float((w * x).sum() / sw)
    sxx = float((w * (x - xm) ** 2).sum())
    if sxx <= 0:
        raise ConfigError("the rungs need at least two different scales")
    b = float((w * (x - xm) * y).sum() / sxx)
    alpha = float((w * y).sum() / sw) - b * xm
    var_b = 1.0 / sxx
    cov = np.array([[1.0 / sw + xm**2 * var_b, -xm * var_b], [-xm * var_b, var_b]])
    return alpha, b, cov


def _leave_one_out(x: np.ndarray, y: np.ndarray,
                   sig: np.ndarray) -> tuple[float | None, ...]:
    """Each rung's standardised residual against the law of the others (their own scatter
    widening the law's uncertainty, as in the full fit; the rung left out plays no part)."""
    n = x.size
    if n < MIN_RUNGS:
        return tuple(None for _ in range(n))
    out: list[float | None] = []
    for i in range(n):
        mask = np.arange(n) != i
        if len(set(x[mask].tolist())) < 2:
            out.append(None)
            continue
        w = 1.0 / sig[mask] ** 2
        alpha, b, cov = _wls(x[mask], y[mask], w)
        m = int(mask.sum())
        chi2 = float(np.sum(w * (y[mask] - alpha - b * x[mask]) ** 2))
        s2 = max(1.0, chi2 / (m - 2)) if m > 2 else 1.0
        pred = alpha + b * x[i]
        var = s2 * float(cov[0, 0] + 2 * x[i] * cov[0, 1] + x[i] ** 2 * cov[1, 1])
        out.append(float((y[i] - pred) / math.sqrt(s2 * sig[i] ** 2 + var)))
    return tuple(out)


def _warnings(n: int, loo: tuple[float | None, ...], names: tuple[str, ...],
              at_edge: Sequence[bool] | None) -> tuple[str, ...]:
    out = []
    if n < MIN_RUNGS:
        out.append(f"only {n} rungs: nothing is left to check the law with (use {MIN_RUNGS} "
                   "or more)")
    poor = [f"{names[i]} (z={z:+.1f})" for i, z in enumerate(loo)
            if z is not None and abs(z) > LOO_LIMIT]
    if poor:
        out.append(f"poor leave-one-out: {', '.join(poor)} lie off the law fitted to the "
                   f"other rungs (|z| > {LOO_LIMIT:g})")
    if at_edge is not None:
        edges = [names[i] for i, e in enumerate(at_edge) if e]
        if edges:
            out.append(f"optimum at the edge of the searched range in {', '.join(edges)}: "
                       "widen the range there")
    return tuple(out)
