from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dialed.errors import SpaceError
from dialed.space import (
    CategoricalDistribution,
    Distribution,
    FloatDistribution,
    IntDistribution,
    Space,
    distribution_from_dict,
)

# -- strategies -------------------------------------------------------------------------------
# Magnitudes stay within what a hyperparameter takes; ``float(high - low)`` must not overflow.
_bound = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)
_STEPS = [0.001, 0.01, 0.05, 0.1, 0.125, 0.2, 0.25, 0.5, 1.0, 2.0, 2.5, 10.0]


@st.composite
def float_linear(draw: st.DrawFn) -> FloatDistribution:
    low, high = sorted([draw(_bound), draw(_bound)])
    return FloatDistribution(low, high, name="x")


@st.composite
def float_log(draw: st.DrawFn) -> FloatDistribution:
    low = draw(st.floats(1e-10, 1e6))
    high = draw(st.just(low) | st.floats(low * (1 + 1e-9), 1e8))
    return FloatDistribution(low, high, log=True, name="x")


@st.composite
def float_step(draw: st.DrawFn) -> FloatDistribution:
    step = draw(st.sampled_from(_STEPS))
    low = round(draw(st.integers(-1000, 1000)) * step, 10)
    n = draw(st.integers(0, 200))
    return FloatDistribution(low, round(low + n * step, 10), step=step, name="x")


@st.composite
def int_linear(draw: st.DrawFn) -> IntDistribution:
    step = draw(st.integers(1, 50))
    low = draw(st.integers(-(10**6), 10**6))
    return IntDistribution(low, low + step * draw(st.integers(0, 300)), step=step, name="x")


@st.composite
def int_log(draw: st.DrawFn) -> IntDistribution:
    low = draw(st.integers(1, 10**4))
    return IntDistribution(low, draw(st.integers(low, 10**5)), log=True, name="x")


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


_json_scalar = (
    st.none()
    | st.booleans()
    | st.integers(-(10**9), 10**9)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8)
)
_json_value = st.recursive(
    _json_scalar,
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=6,
)


@st.composite
def categorical(draw: st.DrawFn) -> CategoricalDistribution:
    choices = draw(st.lists(_json_value, min_size=1, max_size=8, unique_by=_canonical))
    return CategoricalDistribution(tuple(choices), name="x")


CONTINUOUS: dict[str, st.SearchStrategy[FloatDistribution]] = {
    "float": float_linear(), "float_log": float_log(),
}
DISCRETE: dict[str, st.SearchStrategy[Distribution]] = {
    "float_step": float_step(),
    "int": int_linear(),
    "int_log": int_log(),
    "categorical": categorical(),
}
any_distribution = st.one_of(*CONTINUOUS.values(), *DISCRETE.values())
unit = st.floats(0.0, 1.0)


def _values(draw: Callable[[st.SearchStrategy[Any]], Any], dist: Distribution) -> Any:
    """A value of the distribution: any float in range for a continuous one, else a grid value."""
    if isinstance(dist, FloatDistribution) and dist.step is None:
        return draw(st.floats(dist.low, dist.high))
    return draw(st.sampled_from(dist.grid()))


def _close(dist: Distribution, a: Any, b: Any) -> bool:
    """Equal, or for a continuous float equal up to the rounding of its unit-cube transform."""
    if isinstance(dist, FloatDistribution) and dist.step is None and not dist.single:
        if dist.log:
            return math.isclose(a, b, rel_tol=1e-12)
        scale = max(abs(dist.low), abs(dist.high))
        return bool(abs(a - b) <= 4 * sys.float_info.epsilon * scale)
    return bool(a == b) and type(a) is type(b)


# -- one distribution -------------------------------------------------------------------------
@pytest.mark.parametrize("kind", sorted(DISCRETE))
@settings(max_examples=80, deadline=None)
@given(data=st.data())
def test_discrete_round_trip_is_exact(kind: str, data: st.DataObject) -> None:
    dist = data.draw(DISCRETE[kind])
    grid = dist.grid()
    some = data.draw(st.lists(st.sampled_from(grid), max_size=50))
    for value in [grid[0], grid[-1], *some]:
        assert dist.contains(value)
        u = dist.to_unit(value)
        assert 0.0 <= u <= 1.0
        back = dist.from_unit(u)
        assert back == value and type(back) is type(value), (value, u, back)


@pytest.mark.parametrize("kind", sorted(CONTINUOUS))
@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_continuous_round_trip(kind: str, data: st.DataObject) -> None:
    dist = data.draw(CONTINUOUS[kind])
    value = _values(data.draw, dist)
    assert dist.contains(value)
    u = dist.to_unit(value)
    assert 0.0 <= u <= 1.0
    back = dist.from_unit(u)
    assert dist.contains(back)
    assert _close(dist, back, value), (value, u, back)


def test_stepped_float_keeps_an_irrational_low() -> None:
    dist = FloatDistribution(math.pi, math.pi + 1, step=0.5, name="x")
    assert dist.contains(math.pi)
    assert dist.from_unit(dist.to_unit(math.pi)) == math.pi
    assert dist.grid()[0] == math.pi


def test_tiny_step_keeps_distinct_values() -> None:
    dist = FloatDistribution(0.0, 1e-12, step=1e-13, name="x")
    assert len(set(dist.grid())) == 11


def test_log_float_with_adjacent_bounds() -> None:
    dist = FloatDistribution(409388.76147599897, 409388.761475999, log=True, name="x")
    assert 0.0 <= dist.to_unit(409388.76147599897) <= 1.0


@settings(max_examples=200, deadline=None)
@given(dist=any_distribution, u=unit)
def test_from_unit_is_always_inside(dist: Distribution, u: float) -> None:
    value = dist.from_unit(u)
    assert dist.contains(value), (dist, u, value)
    assert 0.0 <= dist.to_unit(value) <= 1.0


@settings(max_examples=200, deadline=None)
@given(dist=any_distribution, u=unit)
def test_from_unit_values_are_fixed_points(dist: Distribution, u: float) -> None:
    value = dist.from_unit(u)
    assert _close(dist, dist.from_unit(dist.to_unit(value)), value)


@settings(max_examples=100, deadline=None)
@given(dist=any_distribution)
def test_unit_cube_ends(dist: Distribution) -> None:
    for u in (0.0, 1.0, -0.5, 1.5):  # out of range clips
        assert dist.contains(dist.from_unit(u))


def test_int_values_own_equal_slices() -> None:
    dist = IntDistribution(0, 3, name="x")
    us = np.linspace(0, 1, 4001)
    counts = np.bincount([dist.from_unit(float(u)) for u in us])
    assert counts.max() - counts.min() <= 2
    assert [dist.to_unit(v) for v in range(4)] == [0.125, 0.375, 0.625, 0.875]


def test_categorical_slices() -> None:
    dist = CategoricalDistribution((None, "a", [1, 2]), name="x")
    assert [dist.from_unit(u) for u in (0.0, 0.34, 0.99, 1.0)] == [None, "a", [1, 2], [1, 2]]
    assert dist.to_unit([1, 2]) == pytest.approx(5 / 6)


def test_single_valued() -> None:
    for dist, value in (
        (FloatDistribution(2.5, 2.5, name="x"), 2.5),
        (FloatDistribution(0.1, 0.1, log=True, name="x"), 0.1),
        (IntDistribution(4, 4, name="x"), 4),
        (CategoricalDistribution(("only",), name="x"), "only"),
    ):
        assert dist.single
        assert dist.grid() == [value]
        assert all(dist.from_unit(u) == value for u in (0.0, 0.5, 1.0))
        assert 0.0 <= dist.to_unit(value) <= 1.0


def test_contains_rejects_other_kinds() -> None:
    f = FloatDistribution(0.0, 1.0, name="x")
    i = IntDistribution(0, 10, step=2, name="x")
    assert not f.contains(True) and not f.contains("0.5") and not f.contains(1.5)
    assert not i.contains(3) and not i.contains(2.5) and not i.contains(None)
    assert i.contains(4.0) and i.contains(np.int64(4))
    assert not CategoricalDistribution(("a",), name="x").contains("b")


# -- the space --------------------------------------------------------------------------------
@st.composite
def spaces(draw: st.DrawFn) -> Space:
    dists = draw(st.lists(any_distribution, min_size=0, max_size=6))
    families = st.none() | st.sampled_from(["optimizer", "batch", "my-own"])
    space = Space()
    for i, dist in enumerate(dists):
        spec = dict(dist.to_dict())
        family = draw(families)
        if family is not None:
            spec["family"] = family
        space.add(f"p{i}", spec)
    return space


@settings(max_examples=80, deadline=None)
@given(space=spaces(), data=st.data())
def test_encode_decode_round_trip(space: Space, data: st.DataObject) -> None:
    x = np.array([data.draw(unit) for _ in space])
    params = space.decode(x)
    assert space.validate(params) == params
    encoded = space.encode(params)
    assert encoded.shape == (len(space),)
    assert np.all((encoded >= 0) & (encoded <= 1))
    back = space.decode(encoded)
    assert set(back) == set(params)
    for name, value in params.items():
        assert _close(space[name], back[name], value)


@settings(max_examples=100, deadline=None)
@given(space=spaces(), data=st.data())
def test_absent_parameters_are_nan(space: Space, data: st.DataObject) -> None:
    params = space.decode(np.full(len(space), 0.5))
    kept = {k: v for k, v in params.items() if data.draw(st.booleans())}
    encoded = space.encode(kept)
    for i, name in enumerate(space):
        assert np.isnan(encoded[i]) == (name not in kept)
    assert set(space.decode(encoded)) == set(kept)


@settings(max_examples=80, deadline=None)
@given(space=spaces())
def test_dict_round_trip(space: Space) -> None:
    data = space.to_dict()
    again = Space.from_dict(data)
    assert again == space
    assert again.to_dict() == data
    assert list(again) == list(space)
    assert Space.from_dict(json.loads(json.dumps(data))) == space


@settings(max_examples=80, deadline=None)
@given(space=spaces())
def test_yaml_round_trip(space: Space) -> None:
    again = Space.from_yaml(space.to_yaml())
    assert again == space
    assert again.to_dict() == space.to_dict()
    assert again.families() == space.families()


def test_yaml_as_written_by_hand() -> None:
    space = Space.from_yaml(
        """
        lr: {type: float, low: 1e-5, high: 1e-1, log: true, family: optimizer}
        batch: {type: int, low: 16, high: 256, step: 16, family: batch}
        act: [relu, gelu, null]
        norm: {choices: [batch, layer]}
        """
    )
    assert space["lr"] == FloatDistribution(1e-5, 0.1, log=True, family="optimizer")
    assert space["batch"].grid()[:3] == [16, 32, 48]
    assert space["act"] == CategoricalDistribution(("relu", "gelu", None))
    assert space.families() == {"optimizer": ["lr"], "batch": ["batch"], "": ["act", "norm"]}


def test_tuple_choices_survive_a_json_round_trip() -> None:
    space = Space({"kernel": CategoricalDistribution(((3, 3), (5, 5)))})
    stored = Space.from_dict(json.loads(json.dumps(space.to_dict())))
    assert stored == space
    stored.add("kernel", CategoricalDistribution(((3, 3), (5, 5)), name="kernel"))


def test_add_same_parameter_again() -> None:
    space = Space({"lr": {"type": "float", "low": 1e-4, "high": 1e-1, "log": True}})
    again = space.add("lr", FloatDistribution(1e-4, 0.1, log=True, family="optimizer"))
    assert again.family == "optimizer" and space["lr"].family == "optimizer"
    assert space.add("lr", FloatDistribution(1e-4, 0.1, log=True)).family == "optimizer"
    assert space["lr"].name == "lr"


def test_grid() -> None:
    space = Space({
        "a": {"type": "int", "low": 1, "high": 2},
        "b": ["x", "y"],
        "c": {"type": "float", "low": 0.0, "high": 1.0},
    })
    cells = space.grid({"c": [0.5]})
    assert cells == [
        {"a": 1, "b": "x", "c": 0.5}, {"a": 1, "b": "y", "c": 0.5},
        {"a": 2, "b": "x", "c": 0.5}, {"a": 2, "b": "y", "c": 0.5},
    ]


# -- errors -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "spec", "message"),
    [
        ("lr", {"type": "float", "low": 1.0, "high": 0.1}, "low=1.0 is greater than high=0.1"),
        ("depth", {"type": "int", "low": 5, "high": 2}, "low=5 is greater than high=2"),
        ("lr", {"type": "float", "low": 0.0, "high": 1.0, "log": True},
         "a log scale needs low > 0"),
        ("lr", {"type": "float", "low": -1.0, "high": 1.0, "log": True},
         "a log scale needs low > 0"),
        ("width", {"type": "int", "low": 0, "high": 64, "log": True},
         "a log scale needs low >= 1"),
        ("act", {"type": "categorical", "choices": []}, "choices is empty"),
        ("act", [], "choices is empty"),
        ("act", ["relu", "gelu", "relu"], "choice 'relu' is listed twice"),
        ("act", [[1, 2], [1, 2]], r"choice \[1, 2\] is listed twice"),
        ("act", [{"a": 1, "b": 2}, {"b": 2, "a": 1}], "is listed twice"),
        ("drop", {"type": "float", "low": 0.0, "high": 1.0, "step": 0.3},
         r"step=0.3 does not divide the range \[0.0, 1.0\]"),
        ("batch", {"type": "int", "low": 16, "high": 100, "step": 16},
         r"step=16 does not divide the range \[16, 100\]"),
        ("lr", {"type": "bool"}, "type must be one of float, int, categorical, got 'bool'"),
        ("lr", {"type": "float", "low": 0, "high": 1, "lgo": True},
         r"unknown key\(s\) \['lgo'\] for type float"),
        ("act", {"type": "categorical", "choices": [1], "low": 0},
         r"unknown key\(s\) \['low'\] for type categorical"),
        ("lr", {"low": 0, "high": 1}, "type must be one of float, int, categorical, got None"),
        ("lr", {"type": "float", "low": 0}, r"type float needs \['high'\]"),
        ("lr", {"type": "float", "low": "small", "high": 1}, "low must be a number"),
        ("lr", {"type": "float", "low": 0, "high": float("inf")}, "high must be finite"),
        ("lr", {"type": "float", "low": 0, "high": 1, "log": "yes"}, "log must be true or false"),
        ("lr", {"type": "float", "low": 0, "high": 1, "step": 0}, "step must be > 0"),
        ("lr", {"type": "float", "low": 1, "high": 2, "step": 0.5, "log": True},
         "step and log=True cannot be combined"),
        ("depth", {"type": "int", "low": 1.5, "high": 4}, "low must be an integer"),
        ("depth", {"type": "int", "low": 1, "high": 8, "step": 0}, "step must be >= 1"),
        ("depth", {"type": "int", "low": 1, "high": 8, "step": 2, "log": True},
         "log=True needs step=1"),
        ("depth", {"type": "int", "low": 1, "high": 8, "family": ""}, "family must be"),
        ("act", {"type": "categorical"}, "a categorical needs 'choices'"),
        ("act", {"type": "categorical", "choices": "relu"}, "choices must be a list"),
        ("act", [object()], "is not JSON-serialisable"),
        ("act", [float("nan")], "is not finite"),
        ("lr", 0.1, "expected a mapping"),
    ],
)
def test_space_errors_name_the_parameter(name: str, spec: Any, message: str) -> None:
    with pytest.raises(SpaceError, match=message) as info:
        Space({name: spec})
    assert repr(name) in str(info.value)


def test_same_name_different_distribution() -> None:
    space = Space({"lr": {"type": "float", "low": 1e-4, "high": 1e-1, "log": True}})
    with pytest.raises(SpaceError, match="parameter 'lr' was already defined as") as info:
        space.add("lr", {"type": "float", "low": 1e-3, "high": 1e-1, "log": True})
    assert "use a new name" in str(info.value)
    with pytest.raises(SpaceError, match="parameter 'lr' was already defined"):
        space.add("lr", {"type": "int", "low": 1, "high": 10})
    # A missing family matches any; the first family given sticks.
    space.add("lr", {"type": "float", "low": 1e-4, "high": 1e-1, "log": True,
                     "family": "optimizer"})
    with pytest.raises(SpaceError, match="parameter 'lr' was already defined"):
        space.add("lr", {"type": "float", "low": 1e-4, "high": 1e-1, "log": True,
                         "family": "schedule"})


def test_nested_non_finite_choice() -> None:
    with pytest.raises(SpaceError, match="parameter 'act'"):
        Space({"act": [[float("nan")], [1.0]]})


def test_validate_errors() -> None:
    space = Space({"lr": {"type": "float", "low": 0.0, "high": 1.0}, "act": ["a", "b"]})
    assert space.validate({"lr": 1, "act": "a"}) == {"lr": 1.0, "act": "a"}
    with pytest.raises(SpaceError, match=r"parameter 'lr': 2 is outside"):
        space.validate({"lr": 2})
    with pytest.raises(SpaceError, match=r"parameter 'act': 'c' is outside"):
        space.validate({"act": "c"})
    with pytest.raises(SpaceError, match=r"parameter 'depth' is not in the space"):
        space.validate({"depth": 3})


def test_other_errors() -> None:
    space = Space({"lr": {"type": "float", "low": 0.0, "high": 1.0}})
    with pytest.raises(SpaceError, match=r"expected a point of shape \(1,\)"):
        space.decode(np.zeros(2))
    with pytest.raises(SpaceError, match="parameter 'lr': a continuous float has no grid"):
        space.grid()
    with pytest.raises(SpaceError, match="parameter 'lr': the grid has no values"):
        space.grid({"lr": []})
    with pytest.raises(SpaceError, match="parameter name must be a non-empty string"):
        space.add("", [1])
    with pytest.raises(SpaceError, match="a space is a mapping"):
        Space.from_dict([1, 2])  # type: ignore[arg-type]
    with pytest.raises(SpaceError, match="the space is not valid YAML"):
        Space.from_yaml("lr: {type: float, low: [")
    with pytest.raises(SpaceError, match="parameter 'n': 2000001 grid values is too many"):
        IntDistribution(0, 2_000_000, name="n").grid()
    with pytest.raises(SpaceError, match=r"parameter 'act': 'c' is not one of the choices"):
        CategoricalDistribution(("a",), name="act").to_unit("c")
    assert distribution_from_dict("x", space["lr"]) is space["lr"]


def test_coordinates_agree_with_encode() -> None:
    """Space.coordinates (many configurations at once, what the history derives per trial) is
    encode() for floats and ints, the choice's index for a categorical, NaN where absent."""
    from dialed.testing.samplers import mixed_space

    space = mixed_space()
    rng = np.random.default_rng(0)
    configs = [space.decode(rng.random(len(space))) for _ in range(50)]
    configs.append({"lr": 0.01})  # a conditional trial
    configs.append({"lr": "fast", "activation": "unknown"})  # values it cannot read
    got = space.coordinates(configs)
    want = np.array([space.encode(c) for c in configs[:-1]])
    cat = list(space).index("activation")
    k = len(space["activation"].choices)  # type: ignore[union-attr]
    np.testing.assert_allclose(got[:-1, cat], want[:, cat] * k - 0.5, atol=1e-9)
    got[:-1, cat] = (got[:-1, cat] + 0.5) / k
    np.testing.assert_allclose(got[:-1], want, atol=1e-12)
    assert np.isnan(got[-1]).all()
    assert np.isnan(got[-2]).sum() == len(space) - 1
