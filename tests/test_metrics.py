from __future__ import annotations

import math
from collections import OrderedDict
from typing import Any

import numpy as np
import pytest

from dialed.errors import ConfigError
from dialed.metrics import Metric, MetricSet, Target, parse_target

# -- parsing ----------------------------------------------------------------------------------


def test_default_is_one_minimized_value() -> None:
    metrics = MetricSet()
    assert metrics.to_dict() == {"value": "minimize"}
    assert metrics.primary == Metric("value", "objective", direction="minimize")
    assert not metrics.multi_objective


def test_a_direction_or_a_list_of_directions() -> None:
    assert MetricSet("maximize").to_dict() == {"value": "maximize"}
    assert MetricSet(["minimize"]).to_dict() == {"value": "minimize"}
    both = MetricSet(["minimize", "maximize"])
    assert both.to_dict() == {"value_0": "minimize", "value_1": "maximize"}
    assert both.multi_objective


def test_every_role() -> None:
    metrics = MetricSet(OrderedDict([
        ("val_loss", "minimize"),
        ("val_acc", "MAX"),
        ("latency_ms", "<= 512"),
        ("recall", ">=0.9"),
        ("errors", "< 3"),
        ("margin", "> -1e-3"),
        ("epochs", "track"),
        ("lr_now", "tracked"),
        ("loss2", " Min "),
    ]))
    assert [m.name for m in metrics.objectives] == ["val_loss", "val_acc", "loss2"]
    assert metrics.primary.name == "val_loss"
    assert metrics["val_acc"].direction == "maximize"
    assert [(m.name, m.op, m.bound) for m in metrics.constraints] == [
        ("latency_ms", "<=", 512.0), ("recall", ">=", 0.9), ("errors", "<", 3.0),
        ("margin", ">", -1e-3),
    ]
    assert metrics["epochs"].role == "tracked" and metrics["lr_now"].role == "tracked"
    assert list(metrics) == list(metrics.to_dict())
    assert metrics.to_dict()["latency_ms"] == "<= 512"
    assert metrics.to_dict()["epochs"] == "track"
    assert MetricSet(metrics.to_dict()) == metrics
    assert hash(MetricSet(metrics.to_dict())) == hash(metrics)
    assert MetricSet({"m": metrics["val_acc"]})["m"] is metrics["val_acc"]


def test_infinite_bound() -> None:
    assert MetricSet({"loss": "min", "x": "<= inf"})["x"].bound == math.inf
    assert MetricSet({"loss": "min", "x": ">= -inf"})["x"].bound == -math.inf


def test_loss_turns_maximize_around() -> None:
    metrics = MetricSet({"loss": "minimize", "acc": "maximize"})
    assert metrics["loss"].loss(0.3) == 0.3
    assert metrics["acc"].loss(0.9) == -0.9


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"loss": "smallest"}, r"metric 'loss': expected 'minimize', 'maximize', 'track'"),
        ({"loss": 3}, r"metric 'loss': expected .* got 3"),
        ({"loss": "minimize", "mem": "<= lots"}, r"metric 'mem': expected"),
        ({"loss": "minimize", "mem": "== 5"}, r"metric 'mem': expected"),
        ({"": "minimize"}, "metric name must be a non-empty string"),
        ({"mem": "<= 512", "epochs": "track"}, "metrics name no objective"),
        ({}, "metrics name no objective"),
        (["track"], "metrics name no objective"),
        (5, "metrics must map names to"),
    ],
)
def test_bad_specs(spec: Any, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        MetricSet(spec)


def test_malformed_number_in_a_bound() -> None:
    with pytest.raises(ConfigError, match="metric 'mem'"):
        MetricSet({"loss": "minimize", "mem": "<= 1e"})


def test_bound_survives_to_dict() -> None:
    metrics = MetricSet({"loss": "minimize", "mem": "<= 1048576"})
    assert MetricSet(metrics.to_dict())["mem"].bound == 1048576.0
    assert MetricSet({"loss": "min", "m": "<= 0.1234567"}) != MetricSet(
        {"loss": "min", "m": "<= 0.1234568"}
    )


# -- values an objective returns ----------------------------------------------------------------
def test_values_from_a_number() -> None:
    metrics = MetricSet({"loss": "minimize", "epochs": "track"})
    assert metrics.values_from(0.25) == {"loss": 0.25}
    assert metrics.values_from(3) == {"loss": 3.0}
    assert metrics.values_from(np.float32(0.5)) == {"loss": 0.5}
    assert metrics.values_from(np.int64(2)) == {"loss": 2.0}
    out = metrics.values_from(np.float64(0.125))
    assert out == {"loss": 0.125} and type(out["loss"]) is float


def test_values_from_a_mapping() -> None:
    metrics = MetricSet({"loss": "minimize", "acc": "maximize", "mem": "<= 512"})
    got = metrics.values_from({"acc": 0.9, "loss": 1, "mem": np.float64(300), "extra": 7})
    assert got == {"acc": 0.9, "loss": 1.0, "mem": 300.0, "extra": 7.0}
    assert all(type(v) is float for v in got.values())


def test_values_from_a_sequence() -> None:
    metrics = MetricSet({"loss": "minimize", "mem": "<= 512", "acc": "maximize"})
    with pytest.raises(ValueError, match="did not return 'mem'"):
        metrics.values_from((0.1, 0.9))
    two = MetricSet({"loss": "minimize", "acc": "maximize"})
    assert two.values_from([0.1, 0.9]) == {"loss": 0.1, "acc": 0.9}
    assert two.values_from((0.1, 0.9)) == {"loss": 0.1, "acc": 0.9}
    with pytest.raises(ValueError, match=r"returned 3 values; this study has 2 objectives "
                                         r"\(loss, acc\)"):
        two.values_from([0.1, 0.9, 3])


@pytest.mark.parametrize(
    ("returned", "message"),
    [
        (float("nan"), r"metric 'loss' is nan \(NaN or infinite values are failures\)"),
        (float("inf"), r"metric 'loss' is inf"),
        (np.float64("-inf"), r"metric 'loss' is -inf"),
        ({"loss": float("nan")}, r"metric 'loss' is nan"),
        ({"loss": 0.1, "acc": float("inf")}, r"metric 'acc' is inf"),
        ({"acc": 0.9}, r"the objective did not return 'loss' \(it returned \['acc'\]\)"),
        ({}, r"did not return 'loss'"),
        ({"loss": "0.1"}, r"metric 'loss' is not a number: '0.1'"),
        ({"loss": None}, r"metric 'loss' is not a number: None"),
        ({"loss": True}, r"metric 'loss' is not a number: True"),
        ({"loss": [0.1]}, r"metric 'loss' is not a number"),
        ({1: 0.5}, "metric name must be a non-empty string, got 1"),
        ("0.1", r"must return a number or a mapping .*\{'loss': 0.12\}.*got str"),
        (None, "must return a number or a mapping .* got NoneType"),
        (True, "got bool"),
    ],
)
def test_values_from_errors(returned: Any, message: str) -> None:
    metrics = MetricSet({"loss": "minimize"})
    with pytest.raises(ValueError, match=message):
        metrics.values_from(returned)


def test_missing_constraint_is_named() -> None:
    metrics = MetricSet({"loss": "minimize", "mem": "<= 512"})
    with pytest.raises(ValueError, match="did not return 'mem'"):
        metrics.values_from({"loss": 0.1})
    with pytest.raises(ValueError, match="did not return 'mem'"):
        metrics.values_from(0.1)


# -- constraints ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("spec", "value", "violation"),
    [
        ("<= 512", 500.0, 0.0),
        ("<= 512", 512.0, 0.0),
        ("<= 512", 600.0, 88.0),
        (">= 0.9", 0.95, 0.0),
        (">= 0.9", 0.8, pytest.approx(0.1)),
        ("< 3", 2.0, 0.0),
        ("> -1", 0.0, 0.0),
        ("> -1", -3.0, pytest.approx(2.0)),  # a strict bound adds a hair
    ],
)
def test_violation(spec: str, value: float, violation: Any) -> None:
    metric = MetricSet({"loss": "minimize", "c": spec})["c"]
    assert metric.violation(value) == violation


def test_strict_bound_is_broken_at_equality() -> None:
    metrics = MetricSet({"loss": "minimize", "lt": "< 3", "gt": "> 1"})
    assert metrics["lt"].violation(3.0) > 0
    assert metrics["gt"].violation(1.0) > 0
    assert not metrics.feasible({"loss": 0.0, "lt": 3.0, "gt": 2.0})


def test_feasible_and_total_violation() -> None:
    metrics = MetricSet({"loss": "minimize", "mem": "<= 512", "acc": ">= 0.9", "t": "track"})
    assert metrics.feasible({"loss": 1.0, "mem": 100.0, "acc": 0.95, "t": 1e9})
    assert metrics.violation({"loss": 1.0, "mem": 100.0, "acc": 0.95}) == 0.0
    assert not metrics.feasible({"loss": 1.0, "mem": 600.0, "acc": 0.95})
    assert metrics.violation({"mem": 600.0, "acc": 0.8}) == pytest.approx(88.1)
    # A constraint not reported (or NaN) is broken without measure.
    assert metrics.violation({"loss": 1.0, "acc": 0.95}) == math.inf
    assert not metrics.feasible({"loss": 1.0, "acc": 0.95})
    assert metrics["mem"].violation(math.nan) == math.inf
    assert metrics["loss"].violation(1e9) == 0.0  # objectives are never violated
    assert MetricSet("minimize").feasible({})


# -- targets ----------------------------------------------------------------------------------
def test_parse_target() -> None:
    target = parse_target("val_acc >= 0.97")
    assert target == Target("val_acc", ">=", 0.97)
    assert str(target) == "val_acc >= 0.97"
    assert target.met(0.97) and target.met(0.99) and not target.met(0.96)
    assert target.distance(0.99) == 0.0
    assert target.distance(0.95) == pytest.approx(0.02)
    assert parse_target("  val.loss<-0.5 ") == Target("val.loss", "<", -0.5)
    assert parse_target("p99-latency <= 1e3") == Target("p99-latency", "<=", 1000.0)
    strict = parse_target("loss < 1")
    assert not strict.met(1.0) and strict.distance(1.0) == 0.0
    assert parse_target("x > 2").met(3) and not parse_target("x > 2").met(2)


@pytest.mark.parametrize("text", ["val_acc", "val_acc = 0.97", ">= 0.97", "acc >= high", ""])
def test_bad_target(text: str) -> None:
    with pytest.raises(ConfigError, match=r"is not of the form 'metric >= value'") as info:
        parse_target(text)
    assert repr(text) in str(info.value)


def test_target_not_a_string() -> None:
    with pytest.raises(ConfigError, match="is not of the form"):
        parse_target(0.97)  # type: ignore[arg-type]


@pytest.mark.parametrize("text", ["acc >= 1e", "acc >= -", "acc >= ."])
def test_target_with_a_malformed_number(text: str) -> None:
    with pytest.raises(ConfigError):
        parse_target(text)
