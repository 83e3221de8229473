"""Analysis: pure functions over trial records and repeated evaluations.

Intervals and tests (:func:`mean_interval`, :func:`welch`) and the attribution of a staged
run's gain to the families tuned (:func:`attribute`); parameter and family importance by
functional ANOVA over a random forest (:func:`param_importance`); the Pareto front and its
hypervolume (:func:`pareto_front`, :func:`hypervolume`); one recommended trade-off chosen by a
stated rule (:func:`recommend`).
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
from dialed.analysis.pareto import (
    HypervolumeEstimate,
    hypervolume,
    hypervolume_estimate,
    hypervolume_history,
    pareto_front,
)
from dialed.analysis.tradeoff import Recommendation, TradeoffRule, choose_tradeoff, recommend

__all__ = [
    "Attribution",
    "Comparison",
    "FanovaForest",
    "Gain",
    "HypervolumeEstimate",
    "Importance",
    "Interval",
    "Recommendation",
    "StageAttribution",
    "StageInput",
    "TradeoffRule",
    "attribute",
    "choose_tradeoff",
    "gain",
    "hypervolume",
    "hypervolume_estimate",
    "hypervolume_history",
    "mean_interval",
    "param_importance",
    "pareto_front",
    "recommend",
    "welch",
]
