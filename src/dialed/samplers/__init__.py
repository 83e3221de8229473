"""Samplers: what to try next, from a narrow read-only view of history."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from dialed.errors import ConfigError
from dialed.history import History
from dialed.samplers._auto import AutoSampler
from dialed.samplers._base import Sampler
from dialed.samplers._cmaes import CMAESSampler
from dialed.samplers._gp import GPSampler
from dialed.samplers._grid import GridSampler
from dialed.samplers._nsga2 import NSGAIISampler
from dialed.samplers._portfolio import PortfolioSampler
from dialed.samplers._random import RandomSampler
from dialed.samplers._sobol import SobolSampler
from dialed.samplers._tpe import TPESampler

__all__ = [
    "AutoSampler",
    "CMAESSampler",
    "GPSampler",
    "GridSampler",
    "History",
    "NSGAIISampler",
    "PortfolioSampler",
    "RandomSampler",
    "Sampler",
    "SobolSampler",
    "TPESampler",
    "make_sampler",
]

#: Every sampler a study file or the CLI can name: one line per sampler.
_SAMPLERS: dict[str, Callable[..., Sampler]] = {
    "random": RandomSampler,
    "sobol": SobolSampler,
    "grid": GridSampler,
    "tpe": TPESampler,
    "gp": GPSampler,
    "cmaes": CMAESSampler,
    "nsga2": NSGAIISampler,
    "portfolio": PortfolioSampler,
    "auto": AutoSampler,
}


def make_sampler(name: str, seed: int | None = None, **options: Any) -> Sampler:
    """The sampler called ``name`` (as in a study file), built with ``seed`` and ``options``."""
    key = str(name).strip().lower()
    factory = _SAMPLERS.get(key)
    if factory is None:
        raise ConfigError(
            f"unknown sampler {name!r}; valid samplers are {', '.join(sorted(_SAMPLERS))}"
        )
    try:
        inspect.signature(factory).bind(seed=seed, **options)
    except TypeError:
        valid = [p for p in inspect.signature(factory).parameters if p != "seed"]
        unknown = sorted(set(options) - set(valid))
        raise ConfigError(
            f"sampler {key!r} has no option(s) {unknown}; "
            f"its options are {valid if valid else 'none besides seed'}"
        ) from None
    return factory(seed=seed, **options)
