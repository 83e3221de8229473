"""The resource a study declares: what a trial spends (epochs, data fraction ...) and its range.

A study that screens cheaply first says what it screens with::

    create_study(..., resource={"name": "epochs", "min": 1, "max": 81, "reduction_factor": 3})

``report(value, step)`` then counts ``step`` in the resource's units (epochs completed, say),
and multi-fidelity pruners place their rungs at ``min * reduction_factor**k``. A fractional
resource is best declared in whole units (``data_percent`` from 10 to 100) because steps are
whole numbers.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dialed.errors import ConfigError

__all__ = ["Resource"]

_FIELDS = ("name", "min", "max", "reduction_factor")


@dataclass(frozen=True)
class Resource:
    """What a trial spends, from ``min`` (the cheapest useful screening) to ``max`` (full)."""

    name: str
    max: float
    min: float = 1
    reduction_factor: float = 3

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise ConfigError(
                f"resource name must be a non-empty string such as 'epochs', got {self.name!r}"
            )
        for key in ("min", "max", "reduction_factor"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not (
                math.isfinite(value)
            ):
                raise ConfigError(f"resource {key} must be a finite number, got {value!r}")
        if self.min <= 0:
            raise ConfigError(f"resource min must be > 0, got {self.min!r}")
        if self.max < self.min:
            raise ConfigError(
                f"resource max must be >= min ({self.min!r}), got {self.max!r}"
            )
        if self.reduction_factor <= 1:
            raise ConfigError(
                "resource reduction_factor must be > 1 (2, 3 or 4 are usual), got "
                f"{self.reduction_factor!r}"
            )

    @classmethod
    def from_spec(cls, spec: Resource | Mapping[str, Any]) -> Resource:
        """A resource from itself or a mapping with keys name, min, max, reduction_factor."""
        if isinstance(spec, Resource):
            return spec
        if not isinstance(spec, Mapping):
            raise ConfigError(
                "resource must be a mapping such as {'name': 'epochs', 'min': 1, 'max': 81, "
                f"'reduction_factor': 3}}, got {spec!r}"
            )
        unknown = sorted(str(k) for k in spec if k not in _FIELDS)
        if unknown:
            raise ConfigError(
                f"resource has unknown field(s) {unknown}; its fields are {', '.join(_FIELDS)}"
            )
        missing = [k for k in ("name", "max") if k not in spec]
        if missing:
            raise ConfigError(
                f"resource needs {' and '.join(missing)} (for example {{'name': 'epochs', "
                "'min': 1, 'max': 81, 'reduction_factor': 3}})"
            )
        return cls(**{str(k): v for k, v in spec.items()})

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "min": self.min, "max": self.max,
                "reduction_factor": self.reduction_factor}

    @property
    def n_levels(self) -> int:
        """How many budgets ``min * eta**k`` fit in ``[min, max]`` (at least 1)."""
        return n_levels(self.min, self.max, self.reduction_factor)


def n_levels(low: float, high: float, eta: float) -> int:
    """``floor(log_eta(high / low)) + 1``, robust to rounding (81 / 1 with eta 3 gives 5)."""
    return math.floor(math.log(high / low) / math.log(eta) + 1e-9) + 1
