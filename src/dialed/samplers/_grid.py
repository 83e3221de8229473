"""Grid search: every combination of the listed values, each evaluated exactly once.

The grid is the product of each parameter's values: a categorical's choices, an int's (or a
stepped float's) every step, or the values given for a parameter in ``values`` (required for a
continuous float). The grid sampler proposes nothing by itself: :meth:`GridSampler.queue` hands
the engine every cell once per study, the engine enqueues them in one transaction and workers
claim them atomically, so each cell runs exactly once even across processes and machines. When
the engine asks for more, the grid is used up and :meth:`GridSampler.suggest` says so.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from dialed.errors import SearchExhausted, SpaceError
from dialed.history import History
from dialed.samplers._base import Sampler
from dialed.space import CategoricalDistribution, Distribution, Space

__all__ = ["GridSampler"]


class GridSampler(Sampler):
    """Every cell of ``space.grid(values)`` once, in an order shuffled by the seed.

    ``values`` maps a parameter name to the values to try; it overrides the parameter's own grid
    and is the only grid a continuous float has. A name in ``values`` that the space does not
    (yet) hold becomes a grid axis of its own, so a grid can be given before an objective that
    defines its parameters as it runs has ever been called. Shuffling spreads early results over
    the grid instead of sweeping its first axis first.
    """

    name = "grid"
    finite = True

    def __init__(
        self,
        values: Mapping[str, Sequence[Any]] | None = None,
        seed: int | None = None,
        shuffle: bool = True,
    ) -> None:
        super().__init__(seed)
        self._values = _checked_values(values)
        self._shuffle = bool(shuffle)

    @property
    def values(self) -> dict[str, list[Any]]:
        return {name: list(vals) for name, vals in self._values.items()}

    @property
    def shuffle(self) -> bool:
        return self._shuffle

    def queue(self, space: Space) -> list[dict[str, Any]]:
        cells = self._cells(space)
        if self._shuffle:
            order = self.rng(0, "grid-order").permutation(len(cells))
            cells = [cells[int(i)] for i in order]
        return cells

    def suggest(self, history: History, space: Space, number: int) -> dict[str, Any]:
        try:
            what = f"every one of the {len(self._cells(space))} grid cells has"
        except SpaceError:
            what = "every grid cell has"
        raise SearchExhausted(
            f"{what} been evaluated (or is being evaluated); the grid sampler has nothing "
            "left to propose (add values to the grid, or continue with another sampler)"
        )

    def suggest_one(
        self,
        history: History,
        name: str,
        distribution: Distribution,
        number: int,
        params: Mapping[str, Any],
    ) -> Any:
        covered = sorted({*history.space, *self._values})
        raise SpaceError(
            f"the grid does not cover parameter {name!r} (the grid has {covered}); every grid "
            f"trial takes its parameters from the grid, so add {name!r} to the study's space "
            f"before it starts, or give its values: GridSampler(values={{{name!r}: [...]}})"
        )

    def describe(self) -> dict[str, Any]:
        return {**super().describe(),
                "options": {"shuffle": self._shuffle, "values": self.values}}

    def _cells(self, space: Space) -> list[dict[str, Any]]:
        """Every cell, in the fixed order of :meth:`Space.grid` (the last parameter fastest)."""
        full = Space(space)
        axes: dict[str, list[Any]] = {}
        for name, vals in self._values.items():
            dist = full.get(name)
            if dist is None:  # not in the space: an axis of its own, its values as choices
                full.add(name, CategoricalDistribution(tuple(vals), name=name))
                axes[name] = list(vals)
                continue
            outside = [v for v in vals if not dist.contains(v)]
            if outside:
                raise SpaceError(
                    f"parameter {name!r}: grid value(s) {outside} are outside its "
                    f"distribution {dist.to_dict()}"
                )
            native = [full.validate({name: v})[name] for v in vals]
            _check_distinct(name, native)
            axes[name] = native
        if not full:
            raise SpaceError(
                "the grid has no parameters: define the space before the study starts, or "
                "give the values to try, such as GridSampler(values={'lr': [0.1, 0.01]})"
            )
        return full.grid(axes)


def _checked_values(values: Mapping[str, Sequence[Any]] | None) -> dict[str, tuple[Any, ...]]:
    if values is None:
        return {}
    if not isinstance(values, Mapping):
        raise SpaceError(
            "grid values must map parameter names to lists of values, such as "
            f"{{'lr': [0.1, 0.01]}}, got {values!r}"
        )
    out: dict[str, tuple[Any, ...]] = {}
    for name, vals in values.items():
        if not isinstance(name, str) or not name:
            raise SpaceError(f"grid parameter names must be non-empty strings, got {name!r}")
        if isinstance(vals, (str, bytes, Mapping)) or not isinstance(vals, Sequence):
            raise SpaceError(
                f"parameter {name!r}: grid values must be a list, such as [0.1, 0.01], "
                f"got {vals!r}"
            )
        if not vals:
            raise SpaceError(f"parameter {name!r}: the grid has no values (give at least one)")
        _check_distinct(name, vals)
        out[name] = tuple(vals)
    return out


def _check_distinct(name: str, vals: Sequence[Any]) -> None:
    """Each value once (a value listed twice would run its cells twice), each JSON-serialisable."""
    seen: set[str] = set()
    for v in vals:
        try:
            key = json.dumps(v, sort_keys=True, allow_nan=False)
        except (TypeError, ValueError):
            raise SpaceError(
                f"parameter {name!r}: grid value {v!r} is not a finite, JSON-serialisable value "
                "(use None, bool, int, float, str, or lists/dicts of them)"
            ) from None
        if key in seen:
            raise SpaceError(f"parameter {name!r}: grid value {v!r} is listed twice")
        seen.add(key)
