"""The search space: named distributions, each in a family, with a unit-cube encoding.

The distributions and their encoding (every value maps to ``[0, 1]`` and back, so that a sampler
can work on the unit cube and ignore scales) are in ``_distributions``; the :class:`Space` that
names them is in ``_space``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dialed._util import lazy_attributes
from dialed.space._distributions import (
    KNOWN_FAMILIES,
    CategoricalDistribution,
    Distribution,
    FloatDistribution,
    IntDistribution,
    compatible,
    distribution_from_dict,
)

if TYPE_CHECKING:
    from dialed.space._space import Space

# Space's encoding is NumPy's: it is imported when first named, so that reading a study's
# records (the command line's listings) does not load NumPy.
__getattr__, __dir__ = lazy_attributes(
    __name__, globals(), {"Space": ("dialed.space._space", "Space")})

__all__ = [
    "KNOWN_FAMILIES",
    "CategoricalDistribution",
    "Distribution",
    "FloatDistribution",
    "IntDistribution",
    "Space",
    "compatible",
    "distribution_from_dict",
]
