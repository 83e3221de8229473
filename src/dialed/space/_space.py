"""The search space: an ordered mapping of names to distributions, and its unit-cube points.

:class:`Space` validates names, keeps the declaration order, encodes configurations to points of
the unit cube (one coordinate per parameter, ``NaN`` where a conditional parameter is absent),
decodes them back, and round-trips to plain dicts and YAML.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from dialed._util import check_name
from dialed.errors import SpaceError
from dialed.space._distributions import (
    CategoricalDistribution,
    Distribution,
    FloatDistribution,
    IntDistribution,
    _canonical,
    _check_grid_size,
    _native,
    _renamed,
    compatible,
    distribution_from_dict,
)

__all__ = ["Space"]


class Space(Mapping[str, Distribution]):
    """An ordered mapping of parameter names to distributions.

    ``encode`` turns a configuration into a point of the unit cube (``NaN`` where a conditional
    parameter is absent) and ``decode`` turns a point back into a configuration.
    """

    def __init__(self, params: Mapping[str, Any] | None = None) -> None:
        self._params: dict[str, Distribution] = {}
        for name, spec in (params or {}).items():
            self.add(name, spec)

    # -- building --------------------------------------------------------------------------
    def add(self, name: str, spec: Any) -> Distribution:
        """Add a parameter, or check that it matches the one already there."""
        check_name("parameter name", name, SpaceError)
        dist = distribution_from_dict(name, spec)
        if dist.name != name:
            dist = _renamed(dist, name)
        have = self._params.get(name)
        if have is None:
            self._params[name] = dist
            return dist
        if not compatible(have, dist):
            raise SpaceError(
                f"parameter {name!r} was already defined as {have.to_dict()} in this study; "
                f"it cannot now be {dist.to_dict()} (use a new name for a different range)"
            )
        if have.family is None and dist.family is not None:
            self._params[name] = dist
            return dist
        return have

    # -- mapping ---------------------------------------------------------------------------
    def __getitem__(self, name: str) -> Distribution:
        return self._params[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._params)

    def __len__(self) -> int:
        return len(self._params)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Space):
            return NotImplemented
        return _canonical(self.to_dict()) == _canonical(other.to_dict())

    def __hash__(self) -> int:
        return hash(_canonical(self.to_dict()))

    def __repr__(self) -> str:
        return f"Space({self.to_dict()!r})"

    # -- families --------------------------------------------------------------------------
    def families(self) -> dict[str, list[str]]:
        """Family name to the parameter names in it (parameters without one are under '')."""
        out: dict[str, list[str]] = {}
        for name, dist in self._params.items():
            out.setdefault(dist.family or "", []).append(name)
        return out

    def subset(self, names: Sequence[str]) -> Space:
        sub = Space()
        for n in names:
            sub._params[n] = self._params[n]
        return sub

    # -- checking values -------------------------------------------------------------------
    def validate(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """Check a configuration against the space; unknown names are an error."""
        out: dict[str, Any] = {}
        for name, value in params.items():
            dist = self._params.get(name)
            if dist is None:
                raise SpaceError(
                    f"parameter {name!r} is not in the space (known: {sorted(self._params)})"
                )
            if not dist.contains(value):
                raise SpaceError(f"parameter {name!r}: {value!r} is outside {dist.to_dict()}")
            out[name] = _native(dist, value)
        return out

    # -- unit cube -------------------------------------------------------------------------
    def encode(self, params: Mapping[str, Any]) -> np.ndarray:
        """A configuration as a point in ``[0, 1]^d`` (shape ``(d,)``); absent names are NaN."""
        x = np.full(len(self._params), np.nan)
        for i, (name, dist) in enumerate(self._params.items()):
            if name in params:
                x[i] = dist.to_unit(params[name])
        return x

    def coordinates(self, configs: Sequence[Mapping[str, Any]]) -> np.ndarray:
        """Many configurations as model coordinates, shape ``(len(configs), d)``.

        A float or an int is its point of the unit cube (:meth:`encode`'s; a discrete value the
        exact centre of its slice, a value outside the range clipped to it); a categorical is the
        index of its choice. NaN where a configuration lacks the parameter (or holds a value that
        is not a number, or not one of the choices). Samplers model trials in these coordinates;
        the engine's history computes them once per trial (:class:`dialed.history.History`).
        """
        out = np.full((len(configs), len(self._params)), np.nan)
        for j, (name, dist) in enumerate(self._params.items()):
            try:  # the common case: every configuration has the parameter
                kept = [c[name] for c in configs]
                present: Any = slice(None)
            except KeyError:
                values = [c.get(name, _MISSING) for c in configs]
                present = np.array([v is not _MISSING for v in values], dtype=bool)
                kept = [v for v in values if v is not _MISSING]
            if kept:
                out[present, j] = _coordinates(dist, kept)
        return out

    def decode(self, x: np.ndarray) -> dict[str, Any]:
        """A point of the unit cube (shape ``(d,)``) as a configuration; NaN entries left out."""
        x = np.asarray(x, dtype=float)
        if x.shape != (len(self._params),):
            raise SpaceError(f"expected a point of shape ({len(self._params)},), got {x.shape}")
        return {
            name: dist.from_unit(float(x[i]))
            for i, (name, dist) in enumerate(self._params.items())
            if not np.isnan(x[i])
        }

    def grid(self, values: Mapping[str, Sequence[Any]] | None = None) -> list[dict[str, Any]]:
        """Every cell of the grid, in a fixed order; ``values`` overrides a parameter's values."""
        axes: list[tuple[str, list[Any]]] = []
        size = 1
        for name, dist in self._params.items():
            vals = list(values[name]) if values and name in values else dist.grid()
            if not vals:
                raise SpaceError(f"parameter {name!r}: the grid has no values")
            axes.append((name, vals))
            size *= len(vals)
            _check_grid_size("(whole grid)", size)
        cells: list[dict[str, Any]] = [{}]
        for name, vals in axes:
            cells = [{**c, name: v} for c in cells for v in vals]
        return cells

    # -- plain forms -----------------------------------------------------------------------
    def to_dict(self) -> dict[str, dict[str, Any]]:
        return {name: dist.to_dict() for name, dist in self._params.items()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Space:
        if not isinstance(data, Mapping):
            raise SpaceError(f"a space is a mapping of parameter names to specs, got {data!r}")
        return cls(data)

    def to_yaml(self) -> str:
        import yaml

        return yaml.safe_dump(self.to_dict(), sort_keys=False)

    @classmethod
    def from_yaml(cls, text: str) -> Space:
        import yaml

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise SpaceError(f"the space is not valid YAML: {exc}".splitlines()[0]) from None
        return cls.from_dict(data or {})


_MISSING = object()


def _coordinates(dist: Distribution, values: list[Any]) -> np.ndarray:
    """:meth:`Space.coordinates` of one parameter's values, shape ``(len(values),)``."""
    if isinstance(dist, CategoricalDistribution):
        return _choice_indices(dist, values)
    v = _as_floats(values)
    if dist.single:
        return np.where(np.isnan(v), np.nan, 0.5)
    if isinstance(dist, IntDistribution) or dist.step is not None:
        if isinstance(dist, IntDistribution) and dist.log:
            lo, hi = math.log(dist.low - 0.5), math.log(dist.high + 0.5)
            r = _clip(np.round(v), dist.low, dist.high)
            return _clip((np.log(r) - lo) / (hi - lo), 0.0, 1.0)
        step = float(dist.step if dist.step is not None else 1)
        size = (round((dist.high - dist.low) / step) if isinstance(dist, FloatDistribution)
                else (dist.high - dist.low) // int(step)) + 1
        i = _clip(np.round((v - dist.low) / step), 0, size - 1)
        out: np.ndarray = (i + 0.5) / size
        return out
    if dist.log:
        lo, hi = math.log(dist.low), math.log(dist.high)
        with np.errstate(divide="ignore", invalid="ignore"):
            return _clip((np.log(v) - lo) / (hi - lo), 0.0, 1.0)
    return _clip((v - dist.low) / (dist.high - dist.low), 0.0, 1.0)


def _as_floats(values: list[Any]) -> np.ndarray:
    try:
        return np.asarray(values, dtype=float)
    except (TypeError, ValueError, OverflowError):
        out = np.full(len(values), np.nan)
        for i, v in enumerate(values):
            with contextlib.suppress(TypeError, ValueError, OverflowError):
                out[i] = float(v)
        return out


def _choice_indices(dist: CategoricalDistribution, values: list[Any]) -> np.ndarray:
    lookup: dict[tuple[type, Any], int] = {}
    for i, c in enumerate(dist.choices):
        with contextlib.suppress(TypeError):  # a list or a dict: found through dist.index
            lookup.setdefault((type(c), c), i)
    out = np.empty(len(values))
    for i, v in enumerate(values):
        try:
            out[i] = lookup[(type(v), v)]
        except (KeyError, TypeError):
            try:
                out[i] = dist.index(v)
            except (SpaceError, TypeError, ValueError):
                out[i] = np.nan
    return out


def _clip(x: Any, low: Any, high: Any) -> np.ndarray:
    """``np.clip`` without its per-call overhead (NaN stays NaN)."""
    out: np.ndarray = np.minimum(np.maximum(x, low), high)
    return out
