"""Small helpers over learning curves shared by the pruners (no algorithm lives here)."""

from __future__ import annotations

import math
from collections.abc import Mapping

from dialed.errors import ConfigError
from dialed.trial import TrialRecord, TrialState

__all__ = ["at_rung", "check_int", "check_number", "peers"]


def at_rung(curve: Mapping[int, float], rung: float) -> tuple[int, float] | None:
    """``(step, value)`` of the first report at or past ``rung``; None if it never got there.

    A trial *reached* a rung when it reported at a step >= the rung's resource; its value there
    is the one it reported when it crossed it, so trials reporting every step and trials
    reporting every few steps are compared at the same point of their run.
    """
    best: int | None = None
    for step in curve:
        if step >= rung and (best is None or step < best):
            best = step
    return None if best is None else (best, float(curve[best]))


def peers(trials: tuple[TrialRecord, ...], trial: TrialRecord) -> list[TrialRecord]:
    """Every other trial with a curve: running, complete, pruned or failed (not waiting)."""
    return [
        t for t in trials
        if t.trial_id != trial.trial_id and t.state != TrialState.WAITING and t.intermediate
    ]


def check_int(owner: str, key: str, value: object, low: int) -> int:
    """``value`` as an int >= ``low``, or a ConfigError naming the pruner and the option."""
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ConfigError(f"{owner} pruner: {key} must be a whole number >= {low}, got {value!r}")
    return value


def check_number(
    owner: str, key: str, value: object, *, above: float | None = None,
    at_least: float | None = None, at_most: float | None = None,
) -> float:
    """``value`` as a finite float within bounds, or a ConfigError naming the option."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ConfigError(f"{owner} pruner: {key} must be a finite number, got {value!r}")
    v = float(value)
    if above is not None and not v > above:
        raise ConfigError(f"{owner} pruner: {key} must be > {above:g}, got {value!r}")
    if at_least is not None and v < at_least:
        raise ConfigError(f"{owner} pruner: {key} must be >= {at_least:g}, got {value!r}")
    if at_most is not None and v > at_most:
        raise ConfigError(f"{owner} pruner: {key} must be <= {at_most:g}, got {value!r}")
    return v
