"""Pruners: whether a running trial continues, from its intermediate reports and its peers'."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from dialed.errors import ConfigError
from dialed.pruners._base import NopPruner, Pruner
from dialed.pruners._resource import Resource

__all__ = [
    "PRUNERS",
    "NopPruner",
    "Pruner",
    "Resource",
    "make_pruner",
]

#: Name -> pruner class; one line per pruner.
PRUNERS: dict[str, Callable[..., Pruner]] = {
    "none": NopPruner,
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
