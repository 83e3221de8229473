"""Asynchronous successive halving: rungs, the top 1/eta rule, one verdict per rung."""

from __future__ import annotations

import pytest

from dialed.errors import ConfigError
from dialed.metrics import MetricSet
from dialed.pruners import ASHAPruner, Resource, make_pruner
from dialed.trial import TrialState

from ._helpers import history, record, running

RES = Resource("epochs", min=1, max=27, reduction_factor=3)


def _bound(**options: object) -> ASHAPruner:
    p = ASHAPruner(**options)  # type: ignore[arg-type]
    p.bind(RES, MetricSet("minimize"))
    return p


@pytest.mark.parametrize("n", [3, 9, 10, 27])
def test_promotes_exactly_the_top_third_at_a_rung(n: int) -> None:
    # n trials reached rung 3 with distinct values; each is judged against the other n - 1
    values = [float((7 * i) % n) for i in range(n)]  # a permutation of 0..n-1
    trials = [record(i, {1: 100.0, 3: v}, TrialState.RUNNING) for i, v in enumerate(values)]
    promoted = []
    for i, me in enumerate(trials):
        others = trials[:i] + trials[i + 1:]
        if _bound().should_prune(history(others), me) is None:
            promoted.append(values[i])
    assert sorted(promoted) == [float(k) for k in range(n // 3)]


def test_first_rung_is_judged_at_the_minimum_resource_and_the_top_is_no_rung() -> None:
    peers = [record(i, {s: 1.0 for s in range(1, 28)}) for i in range(8)]
    pruner = _bound()
    assert pruner.should_prune(history(peers), running(20, {0: 5.0})) is None  # below r=1
    reason = pruner.should_prune(history(peers), running(21, {0: 5.0, 1: 5.0}))
    assert reason is not None and "rung 1 epochs" in reason and "top 1/3" in reason
    # at 27 (the full budget) there is nothing to promote to: the trial finishes
    long = {s: 1.0 for s in range(1, 27)}
    long[27] = 50.0
    assert _bound().should_prune(history(peers), running(22, long)) is None


def test_fewer_than_eta_trials_only_the_best_continues() -> None:
    one = [record(0, {1: 1.0, 3: 1.0})]
    assert _bound().should_prune(history([]), running(5, {1: 9.0})) is None  # alone
    assert _bound().should_prune(history(one), running(5, {1: 0.5})) is None  # best so far
    assert _bound().should_prune(history(one), running(5, {1: 2.0})) is not None


def test_one_verdict_per_rung_and_a_later_rung_is_judged_again() -> None:
    pruner = _bound()
    peers = [record(i, {1: float(i), 3: float(i), 9: float(i)}) for i in range(9)]
    h = history(peers)
    curve = {1: 0.5}
    assert pruner.should_prune(h, running(30, curve)) is None  # top at rung 1
    # between rungs the rung-1 verdict stands, whatever arrives meanwhile
    better = history([*peers, *[record(40 + i, {1: -1.0 - i}) for i in range(9)]])
    assert pruner.should_prune(better, running(30, {1: 0.5, 2: 0.5})) is None
    # at rung 3 it is judged against the rung-3 values
    assert pruner.should_prune(h, running(30, {1: 0.5, 2: 0.5, 3: 7.0})) is not None


def test_values_are_taken_where_a_peer_crossed_the_rung() -> None:
    # peers report every 2 steps: at rung 3 their value is the one reported at step 4
    peers = [record(i, {2: 50.0, 4: float(i), 6: 0.0}) for i in range(9)]
    pruner = _bound()
    assert pruner.should_prune(history(peers), running(30, {3: 2.5})) is not None
    assert _bound().should_prune(history(peers), running(31, {3: 1.5})) is None


def test_maximize_and_own_budgets() -> None:
    peers = [record(i, {2: float(i)}) for i in range(9)]
    h = history(peers, "maximize")
    p = ASHAPruner(min_resource=2, reduction_factor=3)
    p.bind(None, MetricSet("maximize"))
    assert p.should_prune(h, running(30, {2: 7.5})) is None
    assert p.should_prune(h, running(31, {2: 5.5})) is not None
    assert p.budgets() == (2.0, None, 3.0)


def test_min_early_stopping_rate_moves_the_first_rung() -> None:
    peers = [record(i, {1: 0.0, 3: 0.0}) for i in range(9)]
    p = _bound(min_early_stopping_rate=1)
    assert p.should_prune(history(peers), running(30, {1: 5.0})) is None  # no rung at 1
    assert p.should_prune(history(peers), running(30, {1: 5.0, 3: 5.0})) is not None


def test_options_are_checked_and_recorded() -> None:
    with pytest.raises(ConfigError, match="reduction_factor"):
        ASHAPruner(reduction_factor=1)
    with pytest.raises(ConfigError, match="sampler_view"):
        ASHAPruner(sampler_view="bracket")
    with pytest.raises(ConfigError, match="max_resource"):
        ASHAPruner(min_resource=10, max_resource=5).bind(None, MetricSet())
    desc = ASHAPruner(min_resource=2).describe()
    assert make_pruner(desc).describe() == desc
    with pytest.raises(ConfigError, match="'asha' pruner ranks trials by a single objective"):
        ASHAPruner().bind(RES, MetricSet({"a": "minimize", "b": "maximize"}))
