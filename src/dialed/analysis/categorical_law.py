"""A categorical parameter against scale: the winner of each rung and whether it holds.

A choice has no power law; what carries upward is the winner, and only when the rungs agree.
The winner is stable when every rung chose it; otherwise the largest rungs' choice is the best
guess (the one nearest the target), and the prediction says the winner changed with scale.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from dialed.errors import ConfigError

__all__ = ["CategoricalWinner", "categorical_winner"]


@dataclass(frozen=True)
class CategoricalWinner:
    """Each rung's winner (scales ascending), the predicted choice, and whether it is stable."""

    param: str
    rungs: tuple[str, ...]
    scales: tuple[float, ...]
    winners: tuple[Any, ...]
    choice: Any
    stable: bool
    warnings: tuple[str, ...] = ()

    @property
    def trusted(self) -> bool:
        return not self.warnings

    def to_dict(self) -> dict[str, Any]:
        return {"param": self.param, "rungs": list(self.rungs), "scales": list(self.scales),
                "winners": list(self.winners), "choice": self.choice, "stable": self.stable,
                "warnings": list(self.warnings)}


def categorical_winner(param: str, scales: Sequence[float], winners: Sequence[Any], *,
                       rungs: Sequence[str] | None = None) -> CategoricalWinner:
    """The choice to carry to larger scale: the largest rung's winner; stable when all agree."""
    if len(scales) != len(winners) or not scales:
        raise ConfigError(f"{param}: one winner per rung is needed")
    names = tuple(rungs) if rungs is not None else tuple(f"N={s:g}" for s in scales)
    order = sorted(range(len(scales)), key=lambda i: float(scales[i]))
    ws = tuple(winners[i] for i in order)
    stable = len({repr(w) for w in ws}) == 1
    notes: list[str] = []
    if not stable:
        notes.append(f"the winner changes with scale ({', '.join(repr(w) for w in ws)}): the "
                     "largest rung's is carried, and it may change again")
    if len(ws) < 3:
        notes.append(f"only {len(ws)} rungs: too few to call the winner stable")
    return CategoricalWinner(param, tuple(names[i] for i in order),
                             tuple(float(scales[i]) for i in order), ws, ws[-1], stable,
                             tuple(notes))
