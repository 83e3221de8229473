"""The search space: named distributions, each in a family, with a unit-cube encoding.

Every distribution maps its values to ``[0, 1]`` and back, so that a sampler can work on the unit
cube and ignore scales: a float or an int on a log scale is linear in ``log(value)`` there; an int
(or a float with a step) covers ``[low - step/2, high + step/2]`` so that each value owns an equal
slice of the cube; a categorical with ``n`` choices gives choice ``i`` the slice
``[i/n, (i+1)/n)``. ``from_unit(to_unit(v)) == v`` exactly for ints, stepped floats and
categoricals; for a continuous float up to floating-point rounding (the last bit). The
distributions are in ``_distributions``, the :class:`Space` that names them in ``_space``.
"""

from __future__ import annotations

from dialed.space._distributions import (
    KNOWN_FAMILIES,
    CategoricalDistribution,
    Distribution,
    FloatDistribution,
    IntDistribution,
    distribution_from_dict,
)
from dialed.space._distributions import compatible as compatible
from dialed.space._space import Space

__all__ = [
    "KNOWN_FAMILIES",
    "CategoricalDistribution",
    "Distribution",
    "FloatDistribution",
    "IntDistribution",
    "Space",
    "distribution_from_dict",
]
