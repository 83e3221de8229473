"""What one evaluation measures: accuracy with its 95% interval, latency percentiles, tokens,
cost from a price table, and the error rate.

The accuracy interval treats the *item* as the unit (its samples are not independent of each
other): over the items' scores, a Wilson score interval when every score is 0 or 1, else the
Student-t interval of the mean; both clipped to [0, 1].
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from dialed.errors import ConfigError

__all__ = ["Prices", "accuracy_interval", "percentile"]

_Z95 = 1.959963984540054


@dataclass(frozen=True)
class Prices:
    """Dollars per million tokens for one model: ``input`` (prompt) and ``output``."""

    input: float
    output: float

    @classmethod
    def for_model(cls, table: Mapping[str, Any] | None, model: str) -> Prices | None:
        """The model's prices from ``{model: {input: $/M, output: $/M}}`` (None: no table)."""
        if table is None:
            return None
        if not isinstance(table, Mapping):
            raise ConfigError("prices must map each model to {input: dollars per million "
                              "tokens, output: ...}")
        if model not in table:
            listed = ", ".join(map(str, table)) or "none"
            raise ConfigError(f"prices: no entry for model {model!r} (the table has: {listed}); "
                              f"add {model}: {{input: ..., output: ...}} in dollars per million "
                              "tokens")
        row = table[model]
        if not isinstance(row, Mapping) or set(row) != {"input", "output"}:
            raise ConfigError(f"prices[{model!r}] must be {{input: ..., output: ...}} (dollars "
                              f"per million tokens), got {row!r}")
        values = []
        for key in ("input", "output"):
            v = row[key]
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not v >= 0 \
                    or not math.isfinite(v):
                raise ConfigError(f"prices[{model!r}].{key} must be a number >= 0 (dollars per "
                                  f"million tokens), got {v!r}")
            values.append(float(v))
        return cls(values[0], values[1])

    def cost(self, prompt_tokens: float, completion_tokens: float) -> float:
        return (prompt_tokens * self.input + completion_tokens * self.output) / 1e6


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (linear interpolation); NaN for no values."""
    if not values:
        return math.nan
    return float(np.percentile(np.asarray(values, dtype=float), q))


def accuracy_interval(scores: Sequence[float]) -> tuple[float, float, float]:
    """``(mean, low, high)`` of per-item scores, 95% (see the module's docstring)."""
    n = len(scores)
    if n == 0:
        return math.nan, math.nan, math.nan
    arr = np.asarray(scores, dtype=float)
    mean = float(arr.mean())
    if np.all((arr == 0.0) | (arr == 1.0)):
        z2 = _Z95 * _Z95
        centre = (mean + z2 / (2 * n)) / (1 + z2 / n)
        half = _Z95 * math.sqrt(mean * (1 - mean) / n + z2 / (4 * n * n)) / (1 + z2 / n)
        return mean, max(0.0, centre - half), min(1.0, centre + half)
    if n < 2:
        return mean, 0.0, 1.0
    from scipy import stats

    t = float(stats.t.ppf(0.975, n - 1))
    half = t * float(arr.std(ddof=1)) / math.sqrt(n)
    return mean, max(0.0, mean - half), min(1.0, mean + half)
