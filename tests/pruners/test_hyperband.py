"""Hyperband: brackets by trial number, rungs per bracket, the sampler's view of its bracket."""

from __future__ import annotations

from collections import Counter

import pytest

from dialed.errors import ConfigError
from dialed.metrics import MetricSet
from dialed.pruners import HyperbandPruner, Resource, make_pruner
from dialed.trial import TrialState

from ._helpers import history, record, running

RES = Resource("epochs", min=1, max=81, reduction_factor=3)


def _bound(**options: object) -> HyperbandPruner:
    p = HyperbandPruner(**options)  # type: ignore[arg-type]
    p.bind(RES, MetricSet("minimize"))
    return p


def test_brackets_follow_the_paper() -> None:
    p = _bound()
    assert p.n_brackets == 5  # s_max = log_3(81) = 4
    # n_s = ceil((s_max + 1) / (s + 1) * eta**s), s = s_max - bracket
    assert p.bracket_sizes() == [81, 34, 15, 8, 5]


def test_assignment_is_deterministic_weighted_and_covers_every_bracket() -> None:
    p = _bound()
    cycle = sum(p.bracket_sizes())
    got = [p.bracket(n) for n in range(cycle)]
    assert Counter(got) == dict(enumerate(p.bracket_sizes()))
    assert got == [_bound().bracket(n) for n in range(cycle)]  # any process, same answer
    assert [p.bracket(n + cycle) for n in range(cycle)] == got  # it cycles
    # interleaved: every bracket appears within the first 30 trials
    assert set(got[:30]) == set(range(5))
    attrs = p.on_trial_start(7, history([]))
    assert attrs == {"bracket": p.bracket(7), "bracket_min_resource": 3 ** p.bracket(7)}


def _numbers_in(p: HyperbandPruner, bracket: int, k: int, start: int = 0) -> list[int]:
    out, n = [], start
    while len(out) < k:
        if p.bracket(n) == bracket:
            out.append(n)
        n += 1
    return out


def test_each_bracket_has_its_own_rungs_and_peers() -> None:
    p = _bound()
    b0 = _numbers_in(p, 0, 10)
    b1 = _numbers_in(p, 1, 10)
    # bracket 0 peers are good at rung 1; bracket 1 peers are bad everywhere
    peers = [record(n, {1: 0.0, 3: 0.0}) for n in b0[:9]]
    peers += [record(n, {1: 99.0, 3: 99.0}) for n in b1[:9]]
    h = history(peers)
    # a bracket-0 trial at rung 1 with 5.0 ranks behind its own bracket: pruned
    reason = p.should_prune(h, running(b0[9], {1: 5.0}))
    assert reason is not None and "bracket 0" in reason
    # a bracket-1 trial has no rung at 1 (its first is at 3), and at 3 it beats its bracket
    q = _bound()
    assert q.should_prune(h, running(b1[9], {1: 5.0})) is None
    assert q.should_prune(h, running(b1[9], {1: 5.0, 3: 5.0})) is None
    # the last bracket never stops anything: its first rung is the full budget
    last = _numbers_in(p, 4, 1)[0]
    curve = {s: 1e6 for s in range(1, 82)}
    assert p.should_prune(h, running(last, curve)) is None


def test_sampler_sees_its_bracket() -> None:
    p = _bound(sampler_view="bracket")
    b0, b2 = _numbers_in(p, 0, 3), _numbers_in(p, 2, 3)
    h = history([record(n, {1: 1.0}) for n in b0 + b2])
    view = p.sampler_history(h, p.on_trial_start(_numbers_in(p, 2, 4)[3], h))
    assert sorted(t.number for t in view.trials) == b2
    assert p.sampler_history(h, {}) is h  # no bracket recorded: the whole history


def test_budget_view_is_the_default() -> None:
    p = _bound()
    h = history([record(n, {1: float(n), 3: float(n)}, TrialState.PRUNED) for n in range(6)])
    view = p.sampler_history(h, {"bracket": 0})
    # d = 2 parameters, so 4 observations suffice: rung 3 (the highest with 6 of them)
    assert len(view.complete) == 6
    assert {t.system_attrs["fidelity"] for t in view.complete} == {3.0}


def test_needs_a_maximum_and_checks_options() -> None:
    with pytest.raises(ConfigError, match="maximum resource"):
        HyperbandPruner().bind(None, MetricSet())
    p = HyperbandPruner(max_resource=9, reduction_factor=3)
    p.bind(None, MetricSet())
    assert p.n_brackets == 3 and p.bracket_sizes() == [9, 5, 3]
    with pytest.raises(ConfigError, match="sampler_view"):
        HyperbandPruner(sampler_view="mine")
    desc = HyperbandPruner(max_resource=9).describe()
    assert make_pruner(desc).describe() == desc
    with pytest.raises(ConfigError, match="'hyperband' pruner"):
        HyperbandPruner().bind(RES, MetricSet({"a": "minimize", "b": "minimize"}))
