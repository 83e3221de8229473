from __future__ import annotations

import numpy as np
import pytest

from dialed.history import History
from dialed.metrics import MetricSet
from dialed.samplers import RandomSampler
from dialed.space import FloatDistribution, Space
from dialed.testing.samplers import MakeSampler, SamplerSuite, mixed_space


class TestRandomSampler(SamplerSuite):
    @pytest.fixture
    def make_sampler(self) -> MakeSampler:
        return lambda seed: RandomSampler(seed=seed)


def test_joint_proposal_agrees_with_suggest_one() -> None:
    space = mixed_space()
    history = History(space, MetricSet())
    sampler = RandomSampler(seed=3)
    joint = sampler.suggest(history, space, 4)
    for name, dist in space.items():
        assert sampler.suggest_one(history, name, dist, 4, {}) == joint[name]


def test_a_parameter_does_not_depend_on_the_others() -> None:
    space = mixed_space()
    small = space.subset(["lr", "layers"])
    sampler = RandomSampler(seed=3)
    for number in range(5):
        full = sampler.suggest(History(space, MetricSet()), space, number)
        part = sampler.suggest(History(small, MetricSet()), small, number)
        assert part == {"lr": full["lr"], "layers": full["layers"]}


def test_uniform_on_the_unit_cube() -> None:
    space = Space({"x": FloatDistribution(0.0, 1.0, name="x")})
    sampler = RandomSampler(seed=0)
    history = History(space, MetricSet())
    xs = np.array([sampler.suggest(history, space, n)["x"] for n in range(2000)])
    assert abs(xs.mean() - 0.5) < 0.03
    counts, _ = np.histogram(xs, bins=10, range=(0.0, 1.0))
    assert counts.min() > 150


def test_describe() -> None:
    assert RandomSampler(seed=5).describe() == {"name": "random", "seed": 5}
