"""Pruners: whether a running trial continues, from its intermediate reports and its peers'."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from dialed.errors import ConfigError
from dialed.pruners._asha import ASHAPruner
from dialed.pruners._auto import AutoPruner
from dialed.pruners._base import PAUSED, NopPruner, Promotion, Pruner
from dialed.pruners._fidelity import fidelity_history
from dialed.pruners._hyperband import HyperbandPruner
from dialed.pruners._median import MedianPruner, PercentilePruner
from dialed.pruners._patience import PatiencePruner
from dialed.pruners._pbt import PBTPruner
from dialed.pruners._resource import Resource

__all__ = [
    "PAUSED",
    "PRUNERS",
    "ASHAPruner",
    "AutoPruner",
    "HyperbandPruner",
    "MedianPruner",
    "NopPruner",
    "PBTPruner",
    "PatiencePruner",
    "PercentilePruner",
    "Promotion",
    "Pruner",
    "Resource",
    "fidelity_history",
    "make_pruner",
]

#: Name -> pruner class; one line per pruner.
PRUNERS: dict[str, Callable[..., Pruner]] = {
    "none": NopPruner,
    "auto": AutoPruner,
    "median": MedianPruner,
    "percentile": PercentilePruner,
    "asha": ASHAPruner,
    "hyperband": HyperbandPruner,
    "patience": PatiencePruner,
    "pbt": PBTPruner,
}


def make_pruner(spec: str | Mapping[str, Any]) -> Pruner:
    """A pruner from its name or its recorded description ``{"name": ..., **options}``."""
    options: dict[str, Any] = {}
    if isinstance(spec, Mapping):
        options = {k: v for k, v in spec.items() if k != "name"}
        spec = str(spec.get("name", ""))
    factory = PRUNERS.get(spec)
    if factory is None:
        raise ConfigError(f"unknown pruner {spec!r}: valid pruners are {', '.join(PRUNERS)}")
    try:
        return factory(**options)
    except TypeError as exc:
        raise ConfigError(f"pruner {spec!r}: {exc}") from None
