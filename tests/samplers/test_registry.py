from __future__ import annotations

import pytest

import dialed.samplers
from dialed.errors import ConfigError
from dialed.samplers import GridSampler, RandomSampler, SobolSampler, make_sampler


def test_all_is_exported() -> None:
    assert set(dialed.samplers.__all__) == {
        "AutoSampler", "CMAESSampler", "GPSampler", "History", "NSGAIISampler", "Sampler",
        "PortfolioSampler",
        "RandomSampler",
        "SobolSampler",
        "GridSampler", "TPESampler",
        "make_sampler",
    }
    for name in dialed.samplers.__all__:
        assert hasattr(dialed.samplers, name)


def test_known_names() -> None:
    assert isinstance(make_sampler("random", seed=1), RandomSampler)
    sobol = make_sampler("Sobol", seed=2, scramble=False)
    assert isinstance(sobol, SobolSampler)
    assert sobol.seed == 2 and not sobol.scramble
    grid = make_sampler("grid", values={"lr": [0.1]}, shuffle=False)
    assert isinstance(grid, GridSampler)
    assert grid.values == {"lr": [0.1]} and grid.seed is None


def test_unknown_name() -> None:
    with pytest.raises(ConfigError, match=r"unknown sampler 'bogus'; valid samplers are .*grid"):
        make_sampler("bogus")


def test_unknown_option() -> None:
    with pytest.raises(ConfigError, match=r"sampler 'random' has no option\(s\) \['scramble'\]"):
        make_sampler("random", scramble=True)
