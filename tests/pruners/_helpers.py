"""Histories of hand-made learning curves for the pruner tests."""

from __future__ import annotations

from collections.abc import Mapping

from dialed.history import History
from dialed.metrics import MetricSet
from dialed.space import Space
from dialed.trial import TrialRecord, TrialState

SPACE = Space({"x": {"type": "float", "low": 0.0, "high": 1.0},
               "y": {"type": "float", "low": 0.0, "high": 1.0}})


def record(
    number: int,
    curve: Mapping[int, float],
    state: TrialState = TrialState.COMPLETE,
    *,
    final: float | None = None,
    params: Mapping[str, float] | None = None,
    metric: str = "value",
) -> TrialRecord:
    metrics = {}
    if state == TrialState.COMPLETE:
        metrics = {metric: final if final is not None else curve[max(curve)]}
    return TrialRecord(
        trial_id=number + 1, study_id=1, number=number, state=state, seed=number,
        params=dict(params or {"x": number / 100, "y": 0.5}), metrics=metrics,
        intermediate=dict(curve),
    )


def history(trials: list[TrialRecord], direction: str = "minimize") -> History:
    return History(SPACE, MetricSet(direction), tuple(trials))


def running(number: int, curve: Mapping[int, float]) -> TrialRecord:
    return record(number, curve, TrialState.RUNNING)
