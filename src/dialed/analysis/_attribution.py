"""Attribution of a tuning run's gain to the families tuned one stage at a time.

A staged run starts from the baseline, evaluated with ``R`` seeds. Stage ``k`` tunes only its
families, then its best configuration (the candidate) is evaluated with ``R`` fresh seeds and
compared with the incumbent it started from:

    gain_k = loss(mean(incumbent_{k-1})) - loss(mean(candidate_k))    (positive = better)

with Welch's interval (:func:`dialed.analysis.welch`). The candidate becomes the incumbent when
its mean is better; a stage whose candidate was not adopted is credited nothing. Because each
stage reuses the previous incumbent's evaluations, the credited gains telescope: their sum is
exactly the improvement of the final incumbent's mean over the baseline's mean. A stage that
changed several families at once (an unstaged search) is marked not attributable.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from dialed.analysis._stats import Comparison, welch
from dialed.errors import ConfigError

__all__ = ["Attribution", "Gain", "StageAttribution", "attribute", "gain"]


@dataclass(frozen=True)
class Gain:
    """An improvement (positive = better in the objective's direction) with its interval."""

    value: float
    low: float
    high: float
    p_value: float
    confidence: float = 0.95

    @property
    def significant(self) -> bool:
        """Whether the interval excludes 0 (a real change, at this confidence)."""
        return self.low > 0.0 or self.high < 0.0

    def contains(self, value: float) -> bool:
        return self.low <= value <= self.high

    def to_dict(self) -> dict[str, Any]:
        return {"value": self.value,
                "low": self.low if math.isfinite(self.low) else None,
                "high": self.high if math.isfinite(self.high) else None,
                "p_value": self.p_value if math.isfinite(self.p_value) else None,
                "confidence": self.confidence}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Gain:
        def num(key: str, default: float) -> float:
            v = data.get(key)
            return default if v is None else float(v)

        return cls(float(data["value"]), num("low", -math.inf), num("high", math.inf),
                   num("p_value", math.nan), float(data.get("confidence", 0.95)))

    @classmethod
    def from_comparison(cls, comparison: Comparison) -> Gain:
        return cls(comparison.diff, comparison.low, comparison.high, comparison.p_value,
                   comparison.confidence)


def _check_direction(direction: str) -> None:
    if direction not in ("minimize", "maximize"):
        raise ConfigError(f"direction must be 'minimize' or 'maximize', got {direction!r}")


def gain(
    previous: Sequence[float],
    candidate: Sequence[float],
    direction: str,
    confidence: float = 0.95,
) -> Gain:
    """How much better ``candidate``'s values are than ``previous``'s, with Welch's interval."""
    _check_direction(direction)
    if direction == "minimize":
        return Gain.from_comparison(welch(previous, candidate, confidence))
    return Gain.from_comparison(welch(candidate, previous, confidence))


@dataclass(frozen=True)
class StageAttribution:
    """One stage: what it tuned, its measured gain, and whether its candidate was adopted."""

    stage: str
    families: tuple[str, ...]
    gain: Gain
    adopted: bool
    attributable: bool = True

    @property
    def credited(self) -> float:
        """The gain credited to the stage's families: the measured gain when adopted, else 0."""
        return self.gain.value if self.adopted else 0.0


@dataclass(frozen=True)
class StageInput:
    """What :func:`attribute` needs of one stage (values of the primary metric)."""

    stage: str
    families: Sequence[str]
    previous: Sequence[float]
    candidate: Sequence[float]
    adopted: bool
    attributable: bool = True


@dataclass(frozen=True)
class Attribution:
    """Every stage's credited gain and the total, baseline to final incumbent."""

    stages: tuple[StageAttribution, ...]
    total: Gain | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def attributable(self) -> bool:
        return bool(self.stages) and all(s.attributable for s in self.stages)

    @property
    def credited(self) -> float:
        return float(sum(s.credited for s in self.stages))

    @property
    def residual(self) -> float:
        """Total gain minus the credited gains: 0 up to rounding when evaluations are reused."""
        return math.nan if self.total is None else self.total.value - self.credited

    def by_family(self) -> dict[str, float]:
        """Credited gain per family; a stage of several families credits their group."""
        out: dict[str, float] = {}
        for s in self.stages:
            if s.attributable:
                key = "+".join(s.families)
                out[key] = out.get(key, 0.0) + s.credited
        return out


def attribute(
    baseline: Sequence[float],
    stages: Sequence[StageInput],
    final: Sequence[float],
    direction: str,
    confidence: float = 0.95,
) -> Attribution:
    """Each stage's gain over its previous incumbent and the total gain over the baseline.

    ``baseline`` and ``final`` are the baseline's and the final incumbent's values; each stage
    gives its previous incumbent's values and its candidate's (shape ``(R,)`` each).
    """
    _check_direction(direction)
    rows = tuple(
        StageAttribution(
            stage=s.stage,
            families=tuple(s.families),
            gain=gain(s.previous, s.candidate, direction, confidence),
            adopted=s.adopted,
            attributable=s.attributable,
        )
        for s in stages
    )
    notes: list[str] = []
    if any(not s.attributable for s in rows):
        notes.append("a stage changed several families at once: its gain cannot be attributed "
                     "to any one of them")
    total = gain(baseline, final, direction, confidence) if len(final) >= 2 else None
    return Attribution(rows, total, tuple(notes))
