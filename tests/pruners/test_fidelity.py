"""The BOHB-style view: the highest budget with enough observations feeds the sampler."""

from __future__ import annotations

from dialed.history import History
from dialed.metrics import MetricSet
from dialed.pruners import fidelity_history
from dialed.trial import TrialState

from ._helpers import SPACE, history, record, running

LEVELS = [1.0, 3.0, 9.0]


def _study() -> History:
    trials = []
    # 12 trials reached rung 1, 6 of them rung 3, 3 of them rung 9, 2 of those completed
    for i in range(12):
        curve = {1: 10.0 + i}
        if i < 6:
            curve[3] = 5.0 + i
        if i < 3:
            curve[9] = 1.0 + i
        if i < 2:
            curve[27] = 0.5 + i
            trials.append(record(i, curve, TrialState.COMPLETE, final=0.4 + i))
        elif i < 10:
            trials.append(record(i, curve, TrialState.PRUNED))
        else:
            trials.append(running(i, curve))
    return history(trials)


def test_picks_the_highest_rung_with_enough_observations() -> None:
    h = _study()  # d = 2, so d + 2 = 4 observations are needed
    view = fidelity_history(h, LEVELS)
    assert {t.number for t in view.complete} == set(range(6))
    assert all(t.metrics["value"] == 5.0 + t.number for t in view.complete)
    assert {t.system_attrs["fidelity"] for t in view.complete} == {3.0}
    # the two real completions are re-valued at rung 3: budgets are never mixed
    assert view.complete[0].metrics["value"] == 5.0
    # the rest keep their state: pruned below the rung, running ones running
    assert {t.number for t in view.pruned} == {6, 7, 8, 9}
    assert {t.number for t in view.running} == {10, 11}


def test_threshold_moves_the_choice() -> None:
    h = _study()
    assert {t.system_attrs["fidelity"] for t in
            fidelity_history(h, LEVELS, min_observations=3).complete} == {9.0}
    assert {t.system_attrs["fidelity"] for t in
            fidelity_history(h, LEVELS, min_observations=2).complete} == {"full"}
    full = fidelity_history(h, LEVELS, min_observations=2)
    assert sorted(t.metrics["value"] for t in full.complete) == [0.4, 1.4]
    assert len(fidelity_history(h, LEVELS, min_observations=7).complete) == 12


def test_too_few_anywhere_takes_the_level_with_most_and_empty_is_unchanged() -> None:
    h = history([record(0, {1: 3.0}, TrialState.PRUNED), running(1, {1: 2.0, 3: 1.0})])
    view = fidelity_history(h, LEVELS)
    assert len(view.complete) == 2 and view.complete[0].system_attrs["fidelity"] == 1.0
    empty = History(SPACE, MetricSet())
    assert fidelity_history(empty, LEVELS) is empty
    nothing = history([running(0, {})])
    assert fidelity_history(nothing, LEVELS) is nothing


def test_a_sampler_can_fit_on_the_view() -> None:
    view = fidelity_history(_study(), LEVELS)
    losses = view.losses()
    assert losses.shape == (6, 1)
    assert view.points(rows=view.complete_rows).shape == (6, 2)
