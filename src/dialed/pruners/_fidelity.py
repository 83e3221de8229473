"""The BOHB-style view of a multi-fidelity study for a model-based sampler.

Falkner, Klein and Hutter, "BOHB: Robust and Efficient Hyperparameter Optimization at Scale",
ICML 2018, section 3.2 (Algorithm 2): the model is fitted on the observations of the *largest
budget that has enough of them*, ``|D_b| >= N_min`` with ``N_min = d + 2`` for a
``d``-dimensional space, so that the cheap screening of many configurations feeds the model
early and the few full runs take over once there are enough of them.

Here the "observations at budget b" are the values trials reported when they crossed ``b``
(:func:`~dialed.pruners._curve.at_rung`), and, at the full budget, the complete trials' final
objective. :func:`fidelity_history` turns them into a :class:`~dialed.samplers.History` whose
``complete`` trials carry those values as the primary objective, so any sampler that models
complete trials (TPE, GP) fits on the right budget without knowing about fidelities.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from dialed.history import History
from dialed.pruners._curve import at_rung
from dialed.trial import TrialRecord, TrialState

__all__ = ["fidelity_history", "fidelity_observations"]

#: The level meaning "the full budget": complete trials' final objective.
FULL = float("inf")


def fidelity_observations(
    history: History, levels: Sequence[float], *, full: bool = True
) -> dict[float, dict[int, float]]:
    """Per budget level, ``{trial_id: value}`` of every trial that reached it.

    ``levels`` are the rung resources (any order); with ``full`` the level :data:`FULL` holds
    the complete trials' final value of the primary objective.
    """
    primary = history.metrics.primary.name
    levels = sorted(float(level) for level in levels)
    out: dict[float, dict[int, float]] = {level: {} for level in levels}
    if full:
        out[FULL] = {}
    for t in history.trials:
        if t.state == TrialState.WAITING:
            continue
        if full and t.state == TrialState.COMPLETE and primary in t.metrics:
            out[FULL][t.trial_id] = float(t.metrics[primary])
        if not t.intermediate:
            continue
        for level in levels:
            hit = at_rung(t.intermediate, level)
            if hit is None:
                break  # levels ascend: a trial that missed this one missed the rest
            out[level][t.trial_id] = hit[1]
    return out


def fidelity_history(
    history: History,
    levels: Sequence[float],
    *,
    min_observations: int | None = None,
    full: bool = True,
) -> History:
    """The history as a model-based sampler should see it in a multi-fidelity study.

    Picks the highest budget in ``levels`` (ascending rung resources, plus the full budget when
    ``full``) with at least ``min_observations`` values (default ``d + 2``, ``d`` the number of
    parameters in the space); if none has enough, the budget with the most. Every trial that
    reached it becomes a COMPLETE record whose primary objective is its value there (its other
    metrics are kept); running trials stay as they are (for samplers that avoid duplicating
    them) and so do pruned and failed ones; complete trials without a value at that budget are
    left out, so values of different budgets are never mixed. The chosen budget is recorded on
    each synthetic record as system attribute ``fidelity`` (``"full"`` or the resource).
    """
    obs = fidelity_observations(history, levels, full=full)
    need = len(history.space) + 2 if min_observations is None else int(min_observations)
    order = sorted(obs)  # ascending budgets, FULL last
    chosen: float | None = None
    for level in reversed(order):
        if len(obs[level]) >= need:
            chosen = level
            break
    if chosen is None:
        most = max((len(v) for v in obs.values()), default=0)
        if most == 0:
            return history
        chosen = max(level for level in order if len(obs[level]) == most)
    values = obs[chosen]
    primary = history.metrics.primary.name
    tag = "full" if chosen == FULL else chosen
    trials: list[TrialRecord] = []
    for t in history.trials:
        if t.trial_id in values:
            trials.append(replace(
                t,
                state=TrialState.COMPLETE,
                metrics={**t.metrics, primary: values[t.trial_id]},
                system_attrs={**t.system_attrs, "fidelity": tag},
            ))
        elif t.state != TrialState.COMPLETE:
            trials.append(t)
    return history.view(trials)
