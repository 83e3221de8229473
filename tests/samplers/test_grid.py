from __future__ import annotations

import json
from typing import Any, ClassVar

import pytest

from dialed.errors import SearchExhausted, SpaceError
from dialed.history import History
from dialed.metrics import MetricSet
from dialed.samplers import GridSampler
from dialed.space import FloatDistribution, Space
from dialed.testing.samplers import MakeSampler, SamplerSuite, random_history

# The suite's mixed space has two continuous floats; fewer widths and batches keep it small.
SUITE_VALUES: dict[str, list[Any]] = {
    "lr": [1e-4, 1e-3, 1e-2], "momentum": [0.0, 0.9], "width": [16, 64, 256], "batch": [32, 128],
}


class TestGridSampler(SamplerSuite):
    grid_like: ClassVar[bool] = True

    @pytest.fixture
    def make_sampler(self) -> MakeSampler:
        return lambda seed: GridSampler(SUITE_VALUES, seed=seed)


def small_space() -> Space:
    return Space({
        "lr": {"type": "float", "low": 1e-4, "high": 1e-1, "log": True},
        "layers": {"type": "int", "low": 1, "high": 3},
        "dropout": {"type": "float", "low": 0.0, "high": 0.2, "step": 0.1},
        "act": {"type": "categorical", "choices": ["relu", None, [1, 2]]},
    })


VALUES = {"lr": [1e-3, 1e-2]}


def _keys(cells: list[dict[str, Any]]) -> list[str]:
    return [json.dumps(c, sort_keys=True) for c in cells]


def test_queue_covers_every_cell_exactly_once() -> None:
    space = small_space()
    cells = GridSampler(VALUES, seed=0).queue(space)
    assert len(cells) == 2 * 3 * 3 * 3
    assert sorted(_keys(cells)) == sorted(_keys(space.grid(VALUES)))
    assert len(set(_keys(cells))) == len(cells)
    for cell in cells:
        assert space.validate(cell) == cell


def test_order_is_seeded() -> None:
    space = small_space()
    a = GridSampler(VALUES, seed=1).queue(space)
    assert GridSampler(VALUES, seed=1).queue(space) == a
    assert GridSampler(VALUES, seed=2).queue(space) != a
    assert a != space.grid(VALUES)


def test_no_shuffle_keeps_the_grid_order() -> None:
    space = small_space()
    assert GridSampler(VALUES, seed=1, shuffle=False).queue(space) == space.grid(VALUES)


def test_suggest_raises_search_exhausted() -> None:
    space = small_space()
    sampler = GridSampler(VALUES, seed=0)
    history = random_history(space, n=5)
    with pytest.raises(SearchExhausted, match="every one of the 54 grid cells has been evaluated"):
        sampler.suggest(history, space, 54)


def test_parameter_not_in_the_grid() -> None:
    space = small_space()
    sampler = GridSampler(VALUES, seed=0)
    history = History(space, MetricSet())
    dist = FloatDistribution(0.0, 1.0, name="momentum")
    with pytest.raises(SpaceError, match=r"does not cover parameter 'momentum'") as info:
        sampler.suggest_one(history, "momentum", dist, 0, {"lr": 1e-3})
    assert "GridSampler(values={'momentum': [...]})" in str(info.value)


def test_continuous_float_needs_values() -> None:
    with pytest.raises(SpaceError, match=r"parameter 'lr': a continuous float has no grid"):
        GridSampler(seed=0).queue(small_space())


def test_value_outside_the_distribution() -> None:
    sampler = GridSampler({"lr": [1e-3, 5.0]}, seed=0)
    with pytest.raises(SpaceError, match=r"parameter 'lr': grid value\(s\) \[5.0\] are outside"):
        sampler.queue(small_space())


def test_values_are_normalised_and_distinct() -> None:
    space = Space({"layers": {"type": "int", "low": 1, "high": 4}})
    cells = GridSampler({"layers": [2.0, 4]}, shuffle=False).queue(space)
    assert cells == [{"layers": 2}, {"layers": 4}]
    assert all(type(c["layers"]) is int for c in cells)
    with pytest.raises(SpaceError, match=r"parameter 'layers': grid value 2 is listed twice"):
        GridSampler({"layers": [2.0, 2]}).queue(space)


def test_a_name_only_in_values_is_an_axis() -> None:
    # A define-by-run objective: the study knows no parameter before its first trial.
    cells = GridSampler({"lr": [0.1, 0.01], "opt": ["sgd", "adam"]}, shuffle=False).queue(Space())
    assert cells == [
        {"lr": 0.1, "opt": "sgd"}, {"lr": 0.1, "opt": "adam"},
        {"lr": 0.01, "opt": "sgd"}, {"lr": 0.01, "opt": "adam"},
    ]


def test_an_empty_grid_is_an_error() -> None:
    with pytest.raises(SpaceError, match="the grid has no parameters"):
        GridSampler().queue(Space())


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ([0.1, 0.2], "grid values must map parameter names"),
        ({"lr": 0.1}, r"parameter 'lr': grid values must be a list"),
        ({"lr": "0.1"}, r"parameter 'lr': grid values must be a list"),
        ({"lr": []}, r"parameter 'lr': the grid has no values"),
        ({"lr": [0.1, 0.1]}, r"parameter 'lr': grid value 0.1 is listed twice"),
        ({"lr": [float("nan")]}, r"parameter 'lr': grid value nan is not a finite"),
        ({"f": [object]}, r"parameter 'f': grid value .* is not a finite, JSON-serialisable"),
        ({"": [1]}, "grid parameter names must be non-empty strings"),
    ],
)
def test_bad_values(values: Any, message: str) -> None:
    with pytest.raises(SpaceError, match=message):
        GridSampler(values)


def test_describe() -> None:
    described = GridSampler({"lr": (0.1, 0.01)}, seed=3).describe()
    assert described == {"name": "grid", "seed": 3,
                         "options": {"shuffle": True, "values": {"lr": [0.1, 0.01]}}}
    json.dumps(described)
