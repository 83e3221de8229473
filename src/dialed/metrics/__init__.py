"""What a study measures, and which measurements are best.

:class:`MetricSet` names each metric's direction, role, bound and target (``_metric``); the
Pareto front of loss vectors (``_pareto``) and their exact hypervolume (``_hypervolume``) are
the vocabulary the history, the samplers, the study and the analysis share.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dialed._util import lazy_attributes
from dialed.metrics._metric import COST_METRICS, Metric, MetricSet, Target, parse_target

if TYPE_CHECKING:
    from dialed.metrics._hypervolume import hypervolume, hypervolume_subset, inside
    from dialed.metrics._pareto import crowding_distance, fronts, non_dominated

# The front and the hypervolume are NumPy's: imported when first named, so that reading a
# study's records (the command line's listings) does not load NumPy.
__getattr__, __dir__ = lazy_attributes(__name__, globals(), {
    **{name: ("dialed.metrics._hypervolume", name)
       for name in ("hypervolume", "hypervolume_subset", "inside")},
    **{name: ("dialed.metrics._pareto", name)
       for name in ("crowding_distance", "fronts", "non_dominated")},
})

__all__ = [
    "COST_METRICS",
    "Metric",
    "MetricSet",
    "Target",
    "crowding_distance",
    "fronts",
    "hypervolume",
    "hypervolume_subset",
    "inside",
    "non_dominated",
    "parse_target",
]
