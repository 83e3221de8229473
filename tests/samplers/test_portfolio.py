from __future__ import annotations

import pickle

import pytest

from dialed.errors import ConfigError
from dialed.metrics import MetricSet
from dialed.samplers import (
    CMAESSampler,
    GPSampler,
    PortfolioSampler,
    RandomSampler,
    TPESampler,
    make_sampler,
)
from dialed.space import Space
from dialed.testing.samplers import MakeSampler, SamplerSuite, random_history


class TestPortfolioSampler(SamplerSuite):
    @pytest.fixture
    def make_sampler(self) -> MakeSampler:
        return lambda seed: PortfolioSampler(seed=seed)


class TestThreeMemberPortfolio(SamplerSuite):
    @pytest.fixture
    def make_sampler(self) -> MakeSampler:
        return lambda seed: PortfolioSampler(seed=seed, members=["tpe", "random", "cmaes"])


def _floats(n: int) -> Space:
    return Space({f"x{i}": {"type": "float", "low": -1.0, "high": 1.0} for i in range(n)})


def test_members_take_turns_by_trial_number() -> None:
    space = _floats(3)
    history = random_history(space, n=20)
    sampler = PortfolioSampler(seed=4, members=["gp", "tpe", "random"])
    assert [sampler.member_for(n) for n in range(20, 26)] == ["random", "gp", "tpe"] * 2
    # each turn is the member's own proposal, from the whole history
    assert sampler.suggest(history, space, 20) == RandomSampler(seed=4).suggest(history, space, 20)
    assert sampler.suggest(history, space, 21) == GPSampler(seed=4).suggest(history, space, 21)
    assert sampler.suggest(history, space, 22) == TPESampler(seed=4).suggest(history, space, 22)


def test_the_first_member_leads_alone_then_members_take_turns() -> None:
    space = _floats(2)
    history = random_history(space, n=12)
    sampler = PortfolioSampler(seed=5, members=["gp", "tpe"], lead=16)
    assert [sampler.member_for(n) for n in (0, 1, 14, 15, 16, 17, 18)] == \
        ["gp"] * 5 + ["tpe", "gp"]
    assert sampler.suggest(history, space, 13) == GPSampler(seed=5).suggest(history, space, 13)
    assert sampler.suggest(history, space, 17) == TPESampler(seed=5).suggest(history, space, 17)
    assert make_sampler("portfolio", seed=5, lead=16).describe()["options"]["lead"] == 16


@pytest.mark.parametrize("lead", [-1, 2.5, True, "8"])
def test_a_lead_that_is_not_a_count_of_trials_is_refused(lead: object) -> None:
    with pytest.raises(ConfigError, match="portfolio lead must be a whole number of trials"):
        PortfolioSampler(members=["gp", "tpe"], lead=lead)  # type: ignore[arg-type]


def test_plan_reaches_every_member() -> None:
    space = _floats(2)
    sampler = PortfolioSampler(seed=1, members=["tpe", "cmaes"])
    sampler.plan(space, MetricSet(), n_trials=40, n_jobs=4)
    cmaes = sampler._built()[1]
    assert isinstance(cmaes, CMAESSampler)
    history = random_history(space, n=12)
    alone = CMAESSampler(seed=1)
    alone.plan(space, MetricSet(), n_trials=40, n_jobs=4)
    assert sampler.suggest(history, space, 13) == alone.suggest(history, space, 13)


def test_registry_and_describe() -> None:
    sampler = make_sampler("portfolio", seed=2, members=["TPE", " random "])
    assert isinstance(sampler, PortfolioSampler)
    assert sampler.members == ("tpe", "random")
    assert sampler.describe() == {"name": "portfolio", "seed": 2,
                                  "options": {"members": ["tpe", "random"], "lead": 0}}


def test_pickles_after_its_members_are_built() -> None:
    space = _floats(2)
    history = random_history(space, n=10)
    sampler = PortfolioSampler(seed=3)
    want = sampler.suggest(history, space, 11)
    clone = pickle.loads(pickle.dumps(sampler))
    assert clone.suggest(history, space, 11) == want


@pytest.mark.parametrize(
    ("members", "message"),
    [
        ([], r"portfolio members must be a non-empty list of sampler names, got \[\]"),
        ("gp", r"portfolio members must be a non-empty list of sampler names, got 'gp'"),
        (["gp", "grid"], r"portfolio members cannot include 'grid'; give samplers that propose"),
        (["auto"], r"portfolio members cannot include 'auto'"),
        (["gp", "bogus"], r"unknown sampler 'bogus'; valid samplers are"),
    ],
)
def test_bad_members(members: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        PortfolioSampler(seed=0, members=members)  # type: ignore[arg-type]


def test_a_repeated_member_is_one_sampler_and_the_study_seed_reaches_the_members() -> None:
    space = _floats(2)
    history = random_history(space, n=15)
    sampler = PortfolioSampler(members=["tpe", "random", "tpe"])
    sampler.bind_seed(21)
    built = sampler._built()
    assert built[0] is built[2] and built[0].seed == 21 and built[1].seed == 21
    assert sampler.suggest(history, space, 15) == TPESampler(seed=21).suggest(history, space, 15)
    assert sampler.suggest(history, space, 16) == RandomSampler(seed=21).suggest(history, space,
                                                                                16)
