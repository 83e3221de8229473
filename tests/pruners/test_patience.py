"""Patience and thresholds; NaN / inf stop a trial at once with the reason recorded."""

from __future__ import annotations

import math

import pytest

import dialed
from dialed.errors import ConfigError
from dialed.metrics import MetricSet
from dialed.pruners import PatiencePruner, make_pruner
from dialed.trial import TrialState

from ._helpers import history, running


def _ask(p: PatiencePruner, values: list[float]) -> list[str | None]:
    out, curve = [], {}
    for step, v in enumerate(values):
        curve[step] = v
        out.append(p.should_prune(history([]), running(0, curve)))
    return out


def test_stops_a_stalled_curve_and_not_an_improving_one() -> None:
    p = PatiencePruner(patience=3)
    stalled = [5.0, 4.0, 3.0, 3.0, 3.0, 3.0, 3.0]
    got = _ask(p, stalled)
    assert got[:5] == [None] * 5
    assert got[5] is not None and "no improvement" in got[5] and "3 steps" in got[5]
    improving = [1.0 / (s + 1) for s in range(30)]
    assert all(v is None for v in _ask(p, improving))


def test_min_delta_and_maximize() -> None:
    slow = [1.0 - 0.001 * s for s in range(10)]  # improves by 0.003 per 3 steps
    assert all(v is None for v in _ask(PatiencePruner(patience=3), slow))
    assert _ask(PatiencePruner(patience=3, min_delta=0.01), slow)[3] is not None
    acc = [0.5, 0.6, 0.7, 0.7, 0.7, 0.7]
    up = PatiencePruner(patience=3, direction="maximize")
    assert _ask(up, acc)[-1] is not None
    assert _ask(up, [0.5, 0.6, 0.7, 0.8, 0.9, 0.95])[-1] is None
    bound = PatiencePruner(patience=3)
    bound.bind(None, MetricSet("maximize"))
    assert _ask(bound, [0.5, 0.6, 0.7, 0.8, 0.9, 0.95])[-1] is None


def test_thresholds_stop_at_once() -> None:
    p = PatiencePruner(upper=10.0, lower=0.0)
    got = _ask(p, [5.0, 11.0])
    assert got[0] is None and got[1] is not None and "upper threshold 10" in got[1]
    assert "lower" in (_ask(p, [-1.0])[0] or "")


def test_warmup() -> None:
    p = PatiencePruner(patience=2, n_warmup_steps=6)
    assert all(v is None for v in _ask(p, [1.0] * 6))
    assert _ask(p, [1.0] * 7)[6] is not None


def test_options_are_checked() -> None:
    with pytest.raises(ConfigError, match="patience="):
        PatiencePruner()
    with pytest.raises(ConfigError, match="lower"):
        PatiencePruner(lower=2.0, upper=1.0)
    with pytest.raises(ConfigError, match="direction"):
        PatiencePruner(patience=2, direction="up")
    desc = PatiencePruner(patience=4, upper=1e3).describe()
    assert make_pruner(desc).describe() == desc


def test_multi_objective_needs_a_stated_direction_for_patience() -> None:
    two = MetricSet({"loss": "minimize", "ms": "minimize"})
    with pytest.raises(ConfigError, match="direction="):
        PatiencePruner(patience=3).bind(None, two)
    PatiencePruner(patience=3, direction="minimize").bind(None, two)
    PatiencePruner(upper=5.0).bind(None, two)  # thresholds need no direction


def _diverging(trial: dialed.Trial) -> float:
    x = trial.suggest_float("x", 0.0, 1.0)
    for step in range(5):
        trial.report(math.inf if step == 3 else x + step, step)
        if trial.should_prune():
            raise dialed.Pruned()
    return x


def test_a_diverged_run_stops_with_its_reason_in_a_multi_objective_study() -> None:
    study = dialed.create_study(
        "mo-patience", metrics={"loss": "minimize", "ms": "minimize"}, seed=0,
        pruner=PatiencePruner(upper=2.5),
    )

    def obj(trial: dialed.Trial) -> tuple[float, float]:
        return _diverging(trial), 1.0

    study.optimize(obj, n_trials=6)
    kinds = set()
    for t in study.trials:
        assert t.state == TrialState.PRUNED
        reason = t.system_attrs["prune_reason"]
        assert t.system_attrs["pruned_at"] == 2  # the inf at step 3 is not stored
        if t.params["x"] > 0.5:  # x + 2 > 2.5: the threshold stops it at step 2
            assert "above the upper threshold 2.5" in reason
            kinds.add("threshold")
        else:
            assert "diverged" in reason and t.system_attrs["diverged_at"] == 3
            kinds.add("diverged")
    assert kinds == {"threshold", "diverged"}


def test_diverged_reason_recorded_with_the_default_pruner() -> None:
    study = dialed.create_study("div-default", seed=1)
    study.optimize(_diverging, n_trials=1)
    (t,) = study.trials
    assert t.state == TrialState.PRUNED
    assert "step 3 is inf" in t.system_attrs["prune_reason"]
    assert t.system_attrs["diverged_at"] == 3
