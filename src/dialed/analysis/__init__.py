"""Analysis: pure functions over trial records and repeated evaluations.

Intervals and tests (:func:`mean_interval`, :func:`welch`) and the attribution of a staged
run's gain to the families tuned (:func:`attribute`).
"""

from __future__ import annotations

from dialed.analysis._attribution import (
    Attribution,
    Gain,
    StageAttribution,
    StageInput,
    attribute,
    gain,
)
from dialed.analysis._stats import Comparison, Interval, mean_interval, welch

__all__ = [
    "Attribution",
    "Comparison",
    "Gain",
    "Interval",
    "StageAttribution",
    "StageInput",
    "attribute",
    "gain",
    "mean_interval",
    "welch",
]
