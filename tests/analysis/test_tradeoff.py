from __future__ import annotations

from typing import Any

import pytest

import dialed
from dialed.analysis import TradeoffRule, choose_tradeoff, recommend
from dialed.analysis.tradeoff import TRADEOFF_ATTR, recorded_rule
from dialed.errors import ConfigError, NoTrialsError
from dialed.metrics import MetricSet
from dialed.trial import TrialRecord, TrialState

_METRICS = MetricSet({"val_acc": "maximize", "latency_ms": "minimize", "memory_mb": "<= 512"})


def _trial(number: int, acc: float, ms: float, mb: float = 100.0, wall: float = 1.0,
           state: TrialState = TrialState.COMPLETE) -> TrialRecord:
    return TrialRecord(trial_id=number + 1, study_id=1, number=number, state=state,
                       seed=number, params={"n": number}, wall_seconds=wall,
                       metrics={"val_acc": acc, "latency_ms": ms, "memory_mb": mb})


_TRIALS = [
    _trial(0, 0.90, 5.0),
    _trial(1, 0.95, 15.0, wall=9.0),
    _trial(2, 0.97, 40.0),
    _trial(3, 0.99, 1.0, mb=800.0),  # infeasible: breaks the memory bound
    _trial(4, 0.94, 18.0),  # dominated by 1
    _trial(5, 0.95, 15.0),  # ties trial 1
    _trial(6, 0.99, 2.0, state=TrialState.FAILED),
]


# -- rules ------------------------------------------------------------------------------------
@pytest.mark.parametrize("text, expected", [
    ("weighted", {"rule": "weighted"}),
    ("weighted val_acc=2 latency_ms=1", {"rule": "weighted",
                                         "weights": {"val_acc": 2.0, "latency_ms": 1.0}}),
    ("weighted val_acc = 2, latency_ms = 0", {"rule": "weighted",
                                              "weights": {"val_acc": 2.0, "latency_ms": 0.0}}),
    ("best val_acc", {"rule": "best", "metric": "val_acc"}),
    ("best val_acc latency_ms<=20", {"rule": "best", "metric": "val_acc",
                                     "bounds": {"latency_ms": "<= 20"}}),
    ("best val_acc, latency_ms <= 20, memory_mb < 300",
     {"rule": "best", "metric": "val_acc",
      "bounds": {"latency_ms": "<= 20", "memory_mb": "< 300"}}),
    ("{rule: best, metric: val_acc, bounds: {latency_ms: '<= 20'}}",
     {"rule": "best", "metric": "val_acc", "bounds": {"latency_ms": "<= 20"}}),
])
def test_rules_from_text_and_mappings(text: str, expected: dict[str, Any]) -> None:
    rule = TradeoffRule.parse(text, _METRICS)
    assert rule.to_dict() == expected
    assert TradeoffRule.parse(rule.to_dict(), _METRICS) == rule


@pytest.mark.parametrize("spec, message", [
    ("fastest", "start with 'weighted' or 'best'"),
    ("best", "name the metric"),
    ("best val_acc latency_ms", "not a bound"),
    ("weighted val_acc", "name=weight"),
    ({"rule": "pareto"}, "'rule' must be 'weighted' or 'best'"),
    ({"rule": "weighted", "weights": {"val_acc": -1}}, "must be a number >= 0"),
    ({"rule": "weighted", "weights": {"val_acc": 0}}, "at least one weight"),
    ({"rule": "weighted", "weights": {"memory_mb": 1}}, "not an objective"),
    ({"rule": "best", "metric": "val_acc", "bounds": {"latency_ms": "about 20"}}, "'<= 20'"),
    ({"rule": "best", "metric": "val_acc", "limit": 3}, "unknown key"),
    ({"rule": "best", "metric": "memory_mb"}, "needs a direction"),
    ({"rule": "best"}, "needs metric"),
    (3, "a trade-off rule is a mapping"),
])
def test_bad_rules_say_what_is_wrong(spec: Any, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        TradeoffRule.parse(spec, _METRICS)


# -- choosing ---------------------------------------------------------------------------------
def test_best_subject_to_bounds() -> None:
    chosen = choose_tradeoff(_TRIALS, _METRICS, "best val_acc latency_ms<=20")
    assert chosen.trial.number == 1  # 0.95 at 15 ms; ties with 5, the earlier wins
    assert chosen.candidates == 4
    assert "best val_acc (0.95)" in chosen.reason and "4 trials meeting the bounds" in chosen.reason
    # unbounded: the best feasible accuracy (trial 3 breaks the study's memory constraint)
    assert choose_tradeoff(_TRIALS, _METRICS, "best val_acc").trial.number == 2


def test_ties_go_to_the_trial_better_on_the_other_objectives() -> None:
    trials = [_trial(0, 0.95, 20.0), _trial(1, 0.95, 10.0), _trial(2, 0.95, 10.0)]
    assert choose_tradeoff(trials, _METRICS, "best val_acc").trial.number == 1


def test_bounds_on_measured_costs() -> None:
    chosen = choose_tradeoff(_TRIALS, _METRICS, "best val_acc wall_seconds<=5")
    assert chosen.trial.number == 2
    chosen = choose_tradeoff(_TRIALS, _METRICS, "best val_acc latency_ms<=20 wall_seconds<5")
    assert chosen.trial.number == 5  # trial 1 took 9 s
    cheapest = choose_tradeoff(
        _TRIALS, _METRICS, {"rule": "best", "metric": "wall_seconds", "direction": "minimize"})
    assert cheapest.trial.wall_seconds == 1.0


def test_no_trial_meets_the_bounds_names_the_closest() -> None:
    with pytest.raises(NoTrialsError, match=r"latency_ms <= 1 .*closest is trial 0: "
                                             r"latency_ms = 5"):
        choose_tradeoff(_TRIALS, _METRICS, "best val_acc latency_ms<=1")


def test_weighted_on_the_normalised_front() -> None:
    # the feasible front: 0 (0.90, 5), 1 and 5 (0.95, 15), 2 (0.97, 40)
    # normalised acc loss: 0 -> 1, 1 -> 2/7, 2 -> 0; latency: 0 -> 0, 1 -> 10/35, 2 -> 1
    equal = choose_tradeoff(_TRIALS, _METRICS, "weighted")
    assert equal.trial.number == 1 and equal.candidates == 4
    assert choose_tradeoff(_TRIALS, _METRICS, "weighted val_acc=1").trial.number == 2
    assert choose_tradeoff(_TRIALS, _METRICS, "weighted latency_ms=1").trial.number == 0
    assert choose_tradeoff(_TRIALS, _METRICS, "weighted val_acc=1 latency_ms=4"
                           ).trial.number == 0
    assert "Pareto front" in TradeoffRule.parse("weighted").describe(_METRICS)


def test_nothing_to_choose_from() -> None:
    with pytest.raises(NoTrialsError):
        choose_tradeoff([_TRIALS[3], _TRIALS[6]], _METRICS, "weighted")
    with pytest.raises(NoTrialsError):
        choose_tradeoff([], _METRICS, "best val_acc")


# -- the study ---------------------------------------------------------------------------------
def _study() -> dialed.Study:
    study = dialed.create_study(metrics=_METRICS.to_dict(), seed=0)
    for t in _TRIALS:
        if t.state != TrialState.COMPLETE:
            continue
        trial = study.ask()
        trial.suggest_int("n", 0, 10)
        study.tell(trial, dict(t.metrics))
    return study


def test_recommend_records_the_rule_and_the_trial() -> None:
    study = _study()
    chosen = dialed.recommend(study, {"rule": "best", "metric": "val_acc",
                                      "bounds": {"latency_ms": "<= 20"}})
    assert chosen.trial.number == 1
    stored = study.attrs[TRADEOFF_ATTR]
    assert stored["trial"] == 1
    assert stored["rule"] == {"rule": "best", "metric": "val_acc",
                              "bounds": {"latency_ms": "<= 20"}}
    # without a rule, the recorded one is used again
    assert recorded_rule(study) == TradeoffRule.parse(stored["rule"])
    assert recommend(study).trial.number == 1


def test_recommend_without_any_rule_weighs_objectives_equally() -> None:
    study = _study()
    chosen = recommend(study, record=False)
    assert chosen.rule.to_dict() == {"rule": "weighted"}
    assert TRADEOFF_ATTR not in study.attrs


def test_a_rule_that_nothing_meets_is_still_recorded() -> None:
    study = _study()
    with pytest.raises(NoTrialsError):
        recommend(study, "best val_acc latency_ms<=0.5")
    assert study.attrs[TRADEOFF_ATTR]["trial"] is None
    assert study.attrs[TRADEOFF_ATTR]["rule"]["bounds"] == {"latency_ms": "<= 0.5"}
