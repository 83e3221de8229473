"""Analysis: pure functions over trial records and repeated evaluations.

Intervals and tests (:func:`mean_interval`, :func:`welch`) and the attribution of a staged
run's gain to the families tuned (:func:`attribute`); parameter and family importance by
functional ANOVA over a random forest (:func:`param_importance`).
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
from dialed.analysis.importance import FanovaForest, Importance, param_importance

__all__ = [
    "Attribution",
    "Comparison",
    "FanovaForest",
    "Gain",
    "Importance",
    "Interval",
    "StageAttribution",
    "StageInput",
    "attribute",
    "gain",
    "mean_interval",
    "param_importance",
    "welch",
]
