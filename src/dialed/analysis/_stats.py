"""Confidence intervals and two-sample tests for repeated evaluations of a configuration.

A configuration evaluated with ``n`` seeds gives ``n`` values of a metric. Its interval is the
Student-t interval of the mean (``mean ± t_{n-1} · s / √n``, ``s`` with ``ddof=1``). Two
configurations are compared with Welch's unequal-variance t-test (Welch 1947, "The
generalization of Student's problem when several different population variances are
involved", Biometrika 34); the interval of the difference of means uses the
Welch–Satterthwaite degrees of freedom

    ν = (s_a²/n_a + s_b²/n_b)² / ((s_a²/n_a)²/(n_a-1) + (s_b²/n_b)²/(n_b-1)).

``scipy.stats`` is imported inside the functions: it takes seconds to import.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from dialed.errors import ConfigError

__all__ = ["Comparison", "Interval", "mean_interval", "welch"]


def _finite_or_none(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def _float_or(x: Any, default: float) -> float:
    return default if x is None else float(x)


@dataclass(frozen=True)
class Interval:
    """The mean of ``n`` values with its ``confidence`` interval ``[low, high]``.

    With one value the standard deviation is NaN and the interval unbounded (``±inf``).
    """

    mean: float
    std: float
    n: int
    low: float
    high: float
    confidence: float = 0.95

    @property
    def half_width(self) -> float:
        return (self.high - self.low) / 2.0

    def overlaps(self, other: Interval) -> bool:
        """Whether the two intervals share a point."""
        return self.low <= other.high and other.low <= self.high

    def contains(self, value: float) -> bool:
        return self.low <= value <= self.high

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe form: non-finite numbers become None."""
        return {"mean": self.mean, "std": _finite_or_none(self.std), "n": self.n,
                "low": _finite_or_none(self.low), "high": _finite_or_none(self.high),
                "confidence": self.confidence}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Interval:
        return cls(float(data["mean"]), _float_or(data.get("std"), math.nan), int(data["n"]),
                   _float_or(data.get("low"), -math.inf), _float_or(data.get("high"), math.inf),
                   float(data.get("confidence", 0.95)))


@dataclass(frozen=True)
class Comparison:
    """``mean(a) - mean(b)`` with its interval and Welch's t-test of ``mean(a) == mean(b)``."""

    diff: float
    low: float
    high: float
    t: float
    dof: float
    p_value: float
    confidence: float = 0.95

    @property
    def significant(self) -> bool:
        """Whether the interval of the difference excludes 0."""
        return self.low > 0.0 or self.high < 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"diff": self.diff, "low": _finite_or_none(self.low),
                "high": _finite_or_none(self.high), "t": _finite_or_none(self.t),
                "dof": _finite_or_none(self.dof), "p_value": _finite_or_none(self.p_value),
                "confidence": self.confidence}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Comparison:
        return cls(float(data["diff"]), _float_or(data.get("low"), -math.inf),
                   _float_or(data.get("high"), math.inf), _float_or(data.get("t"), math.nan),
                   _float_or(data.get("dof"), math.nan),
                   _float_or(data.get("p_value"), math.nan),
                   float(data.get("confidence", 0.95)))


def _values(values: Sequence[float], what: str) -> np.ndarray:
    arr = np.asarray(list(values), dtype=float)
    if arr.ndim != 1 or arr.size == 0:
        raise ConfigError(f"{what}: need at least one value, got {list(values)!r}")
    if not np.all(np.isfinite(arr)):
        raise ConfigError(f"{what}: values must be finite numbers, got {arr.tolist()!r}")
    return arr


def _check_confidence(confidence: float) -> None:
    if not 0.0 < confidence < 1.0:
        raise ConfigError(f"confidence must be between 0 and 1 (such as 0.95), got {confidence!r}")


def mean_interval(values: Sequence[float], confidence: float = 0.95) -> Interval:
    """The t-based interval of the mean of ``values`` (shape ``(n,)``)."""
    from scipy import stats

    _check_confidence(confidence)
    arr = _values(values, "mean_interval")
    n = int(arr.size)
    mean = float(arr.mean())
    if n == 1:
        return Interval(mean, math.nan, 1, -math.inf, math.inf, confidence)
    std = float(arr.std(ddof=1))
    half = float(stats.t.ppf((1.0 + confidence) / 2.0, n - 1)) * std / math.sqrt(n)
    return Interval(mean, std, n, mean - half, mean + half, confidence)


def welch(a: Sequence[float], b: Sequence[float], confidence: float = 0.95) -> Comparison:
    """Welch's t-test of ``mean(a) == mean(b)`` and the interval of ``mean(a) - mean(b)``.

    Needs two values on each side. When both samples have no spread the difference is exact:
    its interval is the point and the p-value is 0 (different means) or 1 (equal ones).
    """
    from scipy import stats

    _check_confidence(confidence)
    xa, xb = _values(a, "welch: first sample"), _values(b, "welch: second sample")
    if xa.size < 2 or xb.size < 2:
        raise ConfigError(
            f"welch: each sample needs at least 2 values (got {xa.size} and {xb.size}); "
            "evaluate with repeats >= 2"
        )
    na, nb = xa.size, xb.size
    diff = float(xa.mean() - xb.mean())
    va, vb = float(xa.var(ddof=1)) / na, float(xb.var(ddof=1)) / nb
    se2 = va + vb
    if se2 == 0.0:
        same = diff == 0.0
        return Comparison(diff, diff, diff, 0.0 if same else math.copysign(math.inf, diff),
                          float(na + nb - 2), 1.0 if same else 0.0, confidence)
    se = math.sqrt(se2)
    dof = se2 ** 2 / ((va ** 2 / (na - 1) if va else 0.0) + (vb ** 2 / (nb - 1) if vb else 0.0))
    test = stats.ttest_ind(xa, xb, equal_var=False)
    t, p = float(test.statistic), float(test.pvalue)
    half = float(stats.t.ppf((1.0 + confidence) / 2.0, dof)) * se
    return Comparison(diff, diff - half, diff + half, t, float(dof), p, confidence)
