"""The distributions of a search space: float, int and categorical, each in a family.

Every distribution maps its values to ``[0, 1]`` and back, so that a sampler can work on the unit
cube and ignore scales: a float or an int on a log scale is linear in ``log(value)`` there; an int
(or a float with a step) covers ``[low - step/2, high + step/2]`` so that each value owns an equal
slice of the cube; a categorical with ``n`` choices gives choice ``i`` the slice
``[i/n, (i+1)/n)``. ``from_unit(to_unit(v)) == v`` exactly for ints, stepped floats and
categoricals; for a continuous float up to floating-point rounding (the last bit).
"""

from __future__ import annotations

import json
import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from dialed.errors import SpaceError

__all__ = [
    "KNOWN_FAMILIES",
    "CategoricalDistribution",
    "Distribution",
    "FloatDistribution",
    "IntDistribution",
    "compatible",
    "distribution_from_dict",
]

#: The families named in the design; any other name is accepted too (a user's own grouping).
KNOWN_FAMILIES = (
    "optimizer",
    "batch",
    "architecture",
    "regularization",
    "schedule",
    "inference",
    "data",
)

_MAX_GRID = 1_000_000
_REL_TOL = 1e-9


def _real(value: Any) -> bool:
    """A real number and not a bool. NumPy's scalars register as ``numbers.Real``, so they
    pass without this module importing NumPy; Python's int and float are matched first."""
    return not isinstance(value, bool) and isinstance(value, (int, float, numbers.Real))


def _finite(name: str, what: str, value: Any) -> float:
    if not _real(value):
        try:
            value = float(value)  # YAML 1.1 reads 1e-5 as a string; accept numeric strings
        except (TypeError, ValueError):
            raise SpaceError(
                f"parameter {name!r}: {what} must be a number, got {value!r}"
            ) from None
    out = float(value)
    if not math.isfinite(out):
        raise SpaceError(f"parameter {name!r}: {what} must be finite, got {value!r}")
    return out


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)


@dataclass(frozen=True)
class FloatDistribution:
    """A real number in ``[low, high]``; ``log`` samples on a log scale; ``step`` quantises."""

    low: float
    high: float
    log: bool = False
    step: float | None = None
    family: str | None = None
    name: str = field(default="?", compare=False)

    def __post_init__(self) -> None:
        low, high = _finite(self.name, "low", self.low), _finite(self.name, "high", self.high)
        object.__setattr__(self, "low", low)
        object.__setattr__(self, "high", high)
        if low > high:
            raise SpaceError(f"parameter {self.name!r}: low={low} is greater than high={high}")
        if self.log and low <= 0:
            raise SpaceError(
                f"parameter {self.name!r}: a log scale needs low > 0, got low={low} "
                "(use log=False, or a positive low such as 1e-8)"
            )
        if self.step is not None:
            step = _finite(self.name, "step", self.step)
            if step <= 0:
                raise SpaceError(f"parameter {self.name!r}: step must be > 0, got {step}")
            if self.log:
                raise SpaceError(
                    f"parameter {self.name!r}: step and log=True cannot be combined "
                    "(use one or the other)"
                )
            n = (high - low) / step
            if abs(n - round(n)) > 1e-8 * max(1.0, abs(n)):
                raise SpaceError(
                    f"parameter {self.name!r}: step={step} does not divide the range "
                    f"[{low}, {high}] (high - low must be a multiple of step)"
                )
            object.__setattr__(self, "step", step)
        _check_family(self.name, self.family)

    kind = "float"

    @property
    def single(self) -> bool:
        # adjacent floats on a log scale have the same log: nothing to choose between
        return self.low == self.high or (self.log and math.log(self.low) == math.log(self.high))

    def contains(self, value: Any) -> bool:
        if not _real(value):
            return False
        v = float(value)
        if not (self.low - _tol(self.low) <= v <= self.high + _tol(self.high)):
            return False
        if self.step is not None:
            k = (v - self.low) / self.step
            return abs(k - round(k)) < 1e-6
        return True

    def to_unit(self, value: Any) -> float:
        v = float(value)
        if self.single:
            return 0.5
        if self.step is not None:
            n = _n_steps(self.low, self.high, self.step)
            idx = (v - self.low) / self.step
            return _clamp((idx + 0.5) / (n + 1), 0.0, 1.0)
        if self.log:
            lo, hi = math.log(self.low), math.log(self.high)
            return _clamp((math.log(v) - lo) / (hi - lo), 0.0, 1.0)
        return _clamp((v - self.low) / (self.high - self.low), 0.0, 1.0)

    def from_unit(self, u: float) -> float:
        u = _clamp(u, 0.0, 1.0)
        if self.single:
            return self.low
        if self.step is not None:
            n = _n_steps(self.low, self.high, self.step)
            idx = min(int(u * (n + 1)), n)
            return _step_value(self.low, self.step, idx, self.high)
        if self.log:
            lo, hi = math.log(self.low), math.log(self.high)
            return _clamp(math.exp(lo + u * (hi - lo)), self.low, self.high)
        return _clamp(self.low + u * (self.high - self.low), self.low, self.high)

    def grid(self) -> list[Any]:
        if self.single:
            return [self.low]
        if self.step is None:
            raise SpaceError(
                f"parameter {self.name!r}: a continuous float has no grid; give it a step "
                "or list the values to try in the grid"
            )
        n = _n_steps(self.low, self.high, self.step)
        _check_grid_size(self.name, n + 1)
        return [_step_value(self.low, self.step, i, self.high) for i in range(n + 1)]

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "float", "low": self.low, "high": self.high}
        if self.log:
            out["log"] = True
        if self.step is not None:
            out["step"] = self.step
        if self.family is not None:
            out["family"] = self.family
        return out


@dataclass(frozen=True)
class IntDistribution:
    """An integer in ``[low, high]`` on a grid of ``step``; ``log`` samples on a log scale."""

    low: int
    high: int
    log: bool = False
    step: int = 1
    family: str | None = None
    name: str = field(default="?", compare=False)

    def __post_init__(self) -> None:
        for what in ("low", "high", "step"):
            raw = getattr(self, what)
            v = _finite(self.name, what, raw)
            if v != int(v):
                raise SpaceError(f"parameter {self.name!r}: {what} must be an integer, got {raw!r}")
            object.__setattr__(self, what, int(v))
        if self.low > self.high:
            raise SpaceError(
                f"parameter {self.name!r}: low={self.low} is greater than high={self.high}"
            )
        if self.step <= 0:
            raise SpaceError(f"parameter {self.name!r}: step must be >= 1, got {self.step}")
        if self.log and self.low <= 0:
            raise SpaceError(
                f"parameter {self.name!r}: a log scale needs low >= 1, got low={self.low}"
            )
        if self.log and self.step != 1:
            raise SpaceError(
                f"parameter {self.name!r}: log=True needs step=1, got step={self.step}"
            )
        if (self.high - self.low) % self.step:
            raise SpaceError(
                f"parameter {self.name!r}: step={self.step} does not divide the range "
                f"[{self.low}, {self.high}] (high - low must be a multiple of step)"
            )
        _check_family(self.name, self.family)

    kind = "int"

    @property
    def single(self) -> bool:
        return self.low == self.high

    def contains(self, value: Any) -> bool:
        if not _real(value):
            return False
        if float(value) != int(value):
            return False
        v = int(value)
        return self.low <= v <= self.high and (v - self.low) % self.step == 0

    def to_unit(self, value: Any) -> float:
        v = int(value)
        if self.single:
            return 0.5
        if self.log:
            lo, hi = math.log(self.low - 0.5), math.log(self.high + 0.5)
            return _clamp((math.log(v) - lo) / (hi - lo), 0.0, 1.0)
        n = (self.high - self.low) // self.step
        return _clamp(((v - self.low) / self.step + 0.5) / (n + 1), 0.0, 1.0)

    def from_unit(self, u: float) -> int:
        u = _clamp(u, 0.0, 1.0)
        if self.single:
            return self.low
        if self.log:
            lo, hi = math.log(self.low - 0.5), math.log(self.high + 0.5)
            v = round(math.exp(lo + u * (hi - lo)))
            return int(_clamp(v, self.low, self.high))
        n = (self.high - self.low) // self.step
        idx = min(int(u * (n + 1)), n)
        return self.low + idx * self.step

    def grid(self) -> list[Any]:
        n = (self.high - self.low) // self.step + 1
        _check_grid_size(self.name, n)
        return list(range(self.low, self.high + 1, self.step))

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "int", "low": self.low, "high": self.high}
        if self.log:
            out["log"] = True
        if self.step != 1:
            out["step"] = self.step
        if self.family is not None:
            out["family"] = self.family
        return out


@dataclass(frozen=True)
class CategoricalDistribution:
    """One of a list of JSON-serialisable choices, unordered."""

    choices: tuple[Any, ...]
    family: str | None = None
    name: str = field(default="?", compare=False)

    def __post_init__(self) -> None:
        if isinstance(self.choices, (str, bytes)) or not isinstance(self.choices, Sequence):
            raise SpaceError(
                f"parameter {self.name!r}: choices must be a list, got {self.choices!r}"
            )
        choices = tuple(self.choices)
        if not choices:
            raise SpaceError(f"parameter {self.name!r}: choices is empty (give at least one)")
        seen: dict[str, Any] = {}
        for c in choices:
            if isinstance(c, float) and not math.isfinite(c):
                raise SpaceError(f"parameter {self.name!r}: choice {c!r} is not finite")
            try:
                key = _canonical(c)
            except (TypeError, ValueError):
                raise SpaceError(
                    f"parameter {self.name!r}: choice {c!r} is not JSON-serialisable with "
                    "finite numbers (use None, bool, int, float, str, or lists/dicts of them)"
                ) from None
            if key in seen:
                raise SpaceError(f"parameter {self.name!r}: choice {c!r} is listed twice")
            seen[key] = c
        object.__setattr__(self, "choices", choices)
        _check_family(self.name, self.family)

    kind = "categorical"

    @property
    def single(self) -> bool:
        return len(self.choices) == 1

    def index(self, value: Any) -> int:
        key = _canonical(value)
        for i, c in enumerate(self.choices):
            if _canonical(c) == key:
                return i
        raise SpaceError(
            f"parameter {self.name!r}: {value!r} is not one of the choices {list(self.choices)}"
        )

    def contains(self, value: Any) -> bool:
        try:
            self.index(value)
        except (SpaceError, TypeError, ValueError):
            return False
        return True

    def to_unit(self, value: Any) -> float:
        return (self.index(value) + 0.5) / len(self.choices)

    def from_unit(self, u: float) -> Any:
        n = len(self.choices)
        return self.choices[min(int(_clamp(u, 0.0, 1.0) * n), n - 1)]

    def grid(self) -> list[Any]:
        return list(self.choices)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "categorical", "choices": list(self.choices)}
        if self.family is not None:
            out["family"] = self.family
        return out


Distribution = FloatDistribution | IntDistribution | CategoricalDistribution


def _tol(x: float) -> float:
    return _REL_TOL * max(1.0, abs(x))


def _clamp(x: float, low: float, high: float) -> float:
    """``x`` within [low, high] (NaN stays NaN), for one number: ``np.clip`` costs 5 us."""
    return float(min(max(x, low), high))


def _n_steps(low: float, high: float, step: float) -> int:
    return round((high - low) / step)


def _step_value(low: float, step: float, idx: int, high: float) -> float:
    """``low + idx * step`` in decimal, so 0.1 + 2 * 0.1 reads 0.3 (not 0.30000000000000004)."""
    v = float(Decimal(repr(low)) + idx * Decimal(repr(step)))
    return min(max(v, low), high)


def _check_grid_size(name: str, n: int) -> None:
    if n > _MAX_GRID:
        raise SpaceError(
            f"parameter {name!r}: {n} grid values is too many (at most {_MAX_GRID}); "
            "use a larger step or a non-grid sampler"
        )


def _check_family(name: str, family: Any) -> None:
    if family is not None and (not isinstance(family, str) or not family.strip()):
        raise SpaceError(
            f"parameter {name!r}: family must be a non-empty name such as "
            f"{', '.join(KNOWN_FAMILIES[:3])}, got {family!r}"
        )


def compatible(a: Distribution, b: Distribution) -> bool:
    """Whether two distributions describe the same parameter (a missing family matches any)."""
    if a == b:  # the same fields, family included: the common case, without building dicts
        return True
    if type(a) is not type(b):
        return False
    fields_a, fields_b = a.to_dict(), b.to_dict()
    fam_a, fam_b = fields_a.pop("family", None), fields_b.pop("family", None)
    if fam_a is not None and fam_b is not None and fam_a != fam_b:
        return False
    return _canonical(fields_a) == _canonical(fields_b)  # (3, 3) and [3, 3] are one choice


def distribution_from_dict(name: str, spec: Any) -> Distribution:
    """Build a distribution from its plain-dict form, as written in a study file."""
    if isinstance(spec, (FloatDistribution, IntDistribution, CategoricalDistribution)):
        return spec
    if isinstance(spec, list):
        return CategoricalDistribution(tuple(spec), name=name)
    if not isinstance(spec, Mapping):
        raise SpaceError(
            f"parameter {name!r}: expected a mapping such as "
            "{type: float, low: 0.001, high: 0.1, log: true} or a list of choices, "
            f"got {spec!r}"
        )
    spec = dict(spec)
    kind = spec.pop("type", None)
    if kind is None:
        kind = "categorical" if "choices" in spec else None
    allowed = {
        "float": {"low", "high", "log", "step", "family"},
        "int": {"low", "high", "log", "step", "family"},
        "categorical": {"choices", "family"},
    }
    if kind not in allowed:
        raise SpaceError(
            f"parameter {name!r}: type must be one of float, int, categorical, got {kind!r}"
        )
    unknown = set(spec) - allowed[kind]
    if unknown:
        raise SpaceError(
            f"parameter {name!r}: unknown key(s) {sorted(unknown)} for type {kind}; "
            f"valid keys are {sorted(allowed[kind] | {'type'})}"
        )
    if kind == "categorical":
        if "choices" not in spec:
            raise SpaceError(f"parameter {name!r}: a categorical needs 'choices'")
        return CategoricalDistribution(spec["choices"], family=spec.get("family"), name=name)
    missing = {"low", "high"} - set(spec)
    if missing:
        raise SpaceError(f"parameter {name!r}: type {kind} needs {sorted(missing)}")
    log = spec.get("log", False)
    if not isinstance(log, bool):
        raise SpaceError(f"parameter {name!r}: log must be true or false, got {log!r}")
    if kind == "float":
        return FloatDistribution(
            spec["low"], spec["high"], log=log, step=spec.get("step"),
            family=spec.get("family"), name=name,
        )
    return IntDistribution(
        spec["low"], spec["high"], log=log, step=spec.get("step", 1),
        family=spec.get("family"), name=name,
    )


def _renamed(dist: Distribution, name: str) -> Distribution:
    if isinstance(dist, CategoricalDistribution):
        return CategoricalDistribution(dist.choices, dist.family, name=name)
    if isinstance(dist, IntDistribution):
        return IntDistribution(dist.low, dist.high, dist.log, dist.step, dist.family, name=name)
    return FloatDistribution(dist.low, dist.high, dist.log, dist.step, dist.family, name=name)


def _native(dist: Distribution, value: Any) -> Any:
    """The value as a plain Python object of the distribution's type."""
    if isinstance(dist, IntDistribution):
        return int(value)
    if isinstance(dist, FloatDistribution):
        return float(value)
    return dist.choices[dist.index(value)]
