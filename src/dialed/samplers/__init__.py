"""Samplers: what to try next, from a narrow read-only view of history.

Each sampler's module is imported when it is first named (the GP's and TPE's bring in SciPy):
``import dialed`` stays light.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from dialed._util import lazy_attributes
from dialed.errors import ConfigError
from dialed.history import History
from dialed.samplers._base import Sampler

if TYPE_CHECKING:
    from dialed.samplers._auto import AutoSampler
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

#: Every sampler a study file or the CLI can name, and the class (module, name) that is it: the
#: one registry, one line per sampler.
_SAMPLERS: dict[str, tuple[str, str]] = {
    "random": ("dialed.samplers._random", "RandomSampler"),
    "sobol": ("dialed.samplers._sobol", "SobolSampler"),
    "grid": ("dialed.samplers._grid", "GridSampler"),
    "tpe": ("dialed.samplers._tpe", "TPESampler"),
    "gp": ("dialed.samplers._gp", "GPSampler"),
    "cmaes": ("dialed.samplers._cmaes", "CMAESSampler"),
    "nsga2": ("dialed.samplers._nsga2", "NSGAIISampler"),
    "portfolio": ("dialed.samplers._portfolio", "PortfolioSampler"),
    "auto": ("dialed.samplers._auto", "AutoSampler"),
}
_CLASS_NAMES = {cls: (module, cls) for module, cls in _SAMPLERS.values()}


# the classes are imported when first asked for
__getattr__, __dir__ = lazy_attributes(__name__, globals(), _CLASS_NAMES)


def _factory(key: str) -> Callable[..., Sampler]:
    module, cls = _SAMPLERS[key]
    factory: Callable[..., Sampler] = getattr(importlib.import_module(module), cls)
    return factory


def make_sampler(name: str, seed: int | None = None, **options: Any) -> Sampler:
    """The sampler called ``name`` (as in a study file), built with ``seed`` and ``options``."""
    key = str(name).strip().lower()
    if key not in _SAMPLERS:
        raise ConfigError(
            f"unknown sampler {name!r}; valid samplers are {', '.join(sorted(_SAMPLERS))}"
        )
    factory = _factory(key)
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
