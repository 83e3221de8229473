"""Random search: every parameter uniform on its slice of the unit cube.

Bergstra and Bengio, "Random Search for Hyper-Parameter Optimization", JMLR 13 (2012) 281-305:
with a few parameters that matter, independent uniform draws cover each of them more densely than
a grid of the same budget.
"""

from __future__ import annotations

from typing import Any

from dialed.history import History
from dialed.samplers._base import Sampler
from dialed.space import Space

__all__ = ["RandomSampler"]


class RandomSampler(Sampler):
    """Each parameter drawn uniformly in the unit cube, then decoded by its distribution.

    Each parameter has its own stream (salted with its name), so a parameter's value for a trial
    does not depend on which other parameters the space holds, and the joint proposal agrees
    with :meth:`Sampler.suggest_one` for the same trial, unless that configuration is one a
    trial has already: then it is drawn again (:meth:`Sampler.unseen`).
    """

    name = "random"

    def suggest(self, history: History, space: Space, number: int) -> dict[str, Any]:
        params = {
            name: dist.from_unit(self.uniform(number, name))
            for name, dist in space.items()
        }
        return self.unseen(history, space, number, params)
