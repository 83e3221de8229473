"""The median stopping rule (Vizier) and the percentile rule."""

from __future__ import annotations

import pytest

from dialed.errors import ConfigError
from dialed.pruners import MedianPruner, PercentilePruner, make_pruner
from dialed.trial import TrialState

from ._helpers import history, record, running


def _peers(n: int = 5, steps: int = 10) -> list:
    # complete trials whose losses sit at 1.0, 2.0, ... 5.0 at every step
    return [record(i, {s: float(i + 1) for s in range(steps)}) for i in range(n)]


def test_prunes_a_trial_clearly_worse_than_the_median_and_keeps_a_better_one() -> None:
    pruner = MedianPruner(n_startup_trials=5)
    h = history(_peers())
    bad = pruner.should_prune(h, running(9, {0: 9.0, 1: 8.5, 2: 8.0}))
    assert bad is not None and "median" in bad and "(3)" in bad
    assert pruner.should_prune(h, running(9, {0: 1.5, 1: 1.4, 2: 1.2})) is None


def test_compares_at_the_same_step_with_running_averages() -> None:
    # peers improve from 10 to 1: their running average up to step 1 is far above step 9's
    peers = [record(i, {s: 10.0 - s + i for s in range(10)}) for i in range(5)]
    h = history(peers)
    pruner = MedianPruner()
    # at step 1 the median running average is (10+9)/2 + 2 = 11.5: a 11.0 stays
    assert pruner.should_prune(h, running(9, {0: 12.0, 1: 11.0})) is None
    # ... with the "value" statistic the median at step 1 is 11: 11.2 is worse
    strict = MedianPruner(statistic="value")
    assert strict.should_prune(h, running(9, {0: 12.0, 1: 11.2})) is not None
    # its best value so far counts, not its last
    assert pruner.should_prune(h, running(9, {0: 1.0, 1: 30.0})) is None


def test_startup_trials_are_respected() -> None:
    bad = running(9, {0: 99.0})
    assert MedianPruner(n_startup_trials=6).should_prune(history(_peers(5)), bad) is None
    assert MedianPruner(n_startup_trials=5).should_prune(history(_peers(5)), bad) is not None
    # pruned and running peers do not count as complete ones
    others = [record(10 + i, {0: 1.0}, TrialState.PRUNED) for i in range(4)]
    others.append(running(20, {0: 0.5}))
    assert MedianPruner(n_startup_trials=2).should_prune(history(others), bad) is None


def test_warmup_and_interval_are_respected() -> None:
    h = history(_peers())
    pruner = MedianPruner(n_warmup_steps=3, interval_steps=2)
    curve: dict[int, float] = {}
    verdicts = []
    for step in range(8):
        curve[step] = 50.0
        verdicts.append(pruner.should_prune(h, running(9, curve)))
    assert verdicts[:3] == [None, None, None]  # warm-up
    assert verdicts[3] is not None  # first check: step 3
    assert [v is None for v in verdicts[4:]] == [True, False, True, False]  # every 2 steps


def test_maximize_flips_the_rule() -> None:
    peers = [record(i, {s: float(i + 1) for s in range(5)}) for i in range(5)]
    h = history(peers, "maximize")
    pruner = MedianPruner()
    assert pruner.should_prune(h, running(9, {0: 4.5})) is None
    reason = pruner.should_prune(h, running(9, {0: 0.5}))
    assert reason is not None and "0.5" in reason


def test_percentile_is_stricter_below_50() -> None:
    h = history(_peers())
    trial = running(9, {0: 2.5})
    assert PercentilePruner(50.0).should_prune(h, trial) is None
    assert PercentilePruner(25.0).should_prune(h, trial) is not None
    assert PercentilePruner(75.0).should_prune(h, running(9, {0: 3.5})) is None


def test_min_trials_at_the_step() -> None:
    # peers reported only from step 5 on: nobody to compare with at step 0
    peers = [record(i, {s: 1.0 for s in range(5, 10)}) for i in range(5)]
    assert MedianPruner().should_prune(history(peers), running(9, {0: 9.0})) is None
    assert MedianPruner(n_min_trials=6).should_prune(history(_peers()), running(9, {0: 9.0})) \
        is None


def test_options_are_checked_and_recorded() -> None:
    with pytest.raises(ConfigError, match="percentile"):
        PercentilePruner(120.0)
    with pytest.raises(ConfigError, match="interval_steps"):
        MedianPruner(interval_steps=0)
    with pytest.raises(ConfigError, match="statistic"):
        MedianPruner(statistic="mode")
    with pytest.raises(ConfigError, match="n_startup_trials"):
        make_pruner({"name": "median", "n_startup_trials": -1})
    desc = MedianPruner(n_warmup_steps=4).describe()
    assert desc["name"] == "median" and desc["n_warmup_steps"] == 4
    assert make_pruner(desc).describe() == desc
    p = make_pruner({"name": "percentile", "percentile": 10})
    assert p.describe()["percentile"] == 10.0
