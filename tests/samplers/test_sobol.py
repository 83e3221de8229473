from __future__ import annotations

import pickle

import numpy as np
import pytest
from scipy.stats import qmc

from dialed.history import History, Memo
from dialed.metrics import MetricSet
from dialed.samplers import RandomSampler, SobolSampler
from dialed.space import FloatDistribution, Space
from dialed.testing.samplers import MakeSampler, SamplerSuite, mixed_space


class TestSobolSampler(SamplerSuite):
    @pytest.fixture
    def make_sampler(self) -> MakeSampler:
        return lambda seed: SobolSampler(seed=seed)


class TestUnscrambledSobolSampler(SamplerSuite):
    @pytest.fixture
    def make_sampler(self) -> MakeSampler:
        return lambda seed: SobolSampler(seed=seed, scramble=False)

    def test_different_seeds_differ(self, make_sampler: MakeSampler, space: Space) -> None:
        pytest.skip("an unscrambled Sobol' sequence is the same for every seed")


def _unit_space(d: int) -> Space:
    return Space({f"x{i}": FloatDistribution(0.0, 1.0, name=f"x{i}") for i in range(d)})


def _points(sampler: RandomSampler | SobolSampler, space: Space, n: int) -> np.ndarray:
    history = History(space, MetricSet())
    rows = [sampler.suggest(history, space, k) for k in range(n)]
    return np.array([[row[name] for name in space] for row in rows])


@pytest.mark.parametrize("d", [2, 5])
def test_better_spread_than_random(d: int) -> None:
    space = _unit_space(d)
    for seed in range(5):
        sobol = qmc.discrepancy(_points(SobolSampler(seed=seed), space, 64))
        random = qmc.discrepancy(_points(RandomSampler(seed=seed), space, 64))
        assert sobol < random


def test_points_are_the_sequence() -> None:
    space = _unit_space(3)
    points = _points(SobolSampler(seed=1), space, 16)
    # The first 2^k points of a (t, s)-sequence in base 2: every 1/16-wide slice of each axis
    # holds exactly one point.
    for j in range(3):
        assert sorted(np.floor(points[:, j] * 16).astype(int).tolist()) == list(range(16))


def test_same_point_in_any_order_and_instance() -> None:
    space = mixed_space()
    history = History(space, MetricSet())
    forward = SobolSampler(seed=9)
    want = [forward.suggest(history, space, n) for n in range(40)]
    order = np.random.default_rng(0).permutation(40)
    jumping = SobolSampler(seed=9)
    for n in order:
        assert jumping.suggest(history, space, int(n)) == want[n]
    clone = pickle.loads(pickle.dumps(forward))
    assert clone.suggest(history, space, 17) == want[17]


def test_one_engine_per_dimension_kept_in_the_history_memo() -> None:
    big, small = mixed_space(), mixed_space().subset(["lr", "layers"])
    memo = Memo()
    sampler = SobolSampler(seed=2)
    a = sampler.suggest(History(big, MetricSet(), memo=memo), big, 3)
    b = sampler.suggest(History(small, MetricSet(), memo=memo), small, 4)
    assert sampler.suggest(History(big, MetricSet(), memo=memo), big, 3) == a
    assert sampler.suggest(History(small, MetricSet(), memo=memo), small, 4) == b
    assert len(memo) == 2
    assert not vars(sampler).keys() - {"_seed", "_scramble"}  # the sampler keeps no state


def test_in_order_does_not_regenerate_the_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    space = _unit_space(2)
    history = History(space, MetricSet())
    sampler = SobolSampler(seed=4)
    sampler.suggest(history, space, 0)
    engine = history.memo.get(("sobol", 4, 2, True))
    resets: list[int] = []
    original = engine.reset

    def counting_reset() -> qmc.Sobol:
        resets.append(1)
        return original()

    monkeypatch.setattr(engine, "reset", counting_reset)
    for n in range(1, 50):
        sampler.suggest(history, space, n)
    assert not resets
    assert engine.num_generated == 50


def test_unseeded_sampler_is_repeatable() -> None:
    space = mixed_space()
    history = History(space, MetricSet())
    assert SobolSampler().suggest(history, space, 5) == SobolSampler().suggest(history, space, 5)


def test_bind_seed_changes_the_sequence() -> None:
    space = _unit_space(2)
    history = History(space, MetricSet())
    bound = SobolSampler()
    bound.bind_seed(123)
    assert bound.suggest(history, space, 3) == SobolSampler(seed=123).suggest(history, space, 3)


def test_empty_space() -> None:
    space = Space()
    assert SobolSampler(seed=0).suggest(History(space, MetricSet()), space, 0) == {}


def test_describe() -> None:
    assert SobolSampler(seed=5).describe() == {"name": "sobol", "seed": 5,
                                               "options": {"scramble": True}}
