"""The study page's figures as plain plotly dicts (``{"data", "layout", "note"}``), built from
trial records: one implementation for the dashboard, the report and :mod:`dialed.plot`.

How each figure aggregates and downsamples a big study, and how user text is escaped for plotly,
is told in :mod:`dialed.dashboard._figures`; importance in
:mod:`dialed.dashboard._importance_figure`; curves and the timeline in
:mod:`dialed.dashboard._run_figures`; a ladder's fits in :mod:`dialed.dashboard._scaling`.
"""

from __future__ import annotations

from dialed.dashboard._figures import (
    GRID,
    MAX_LINES,
    MAX_POINTS,
    Figure,
    Values,
    contour,
    history,
    label,
    num,
    parallel,
    pareto,
    slices,
    text,
)
from dialed.dashboard._importance_figure import (
    Importance,
    contour_pair,
    importance,
    importance_bars,
)
from dialed.dashboard._run_figures import intermediate, timeline, trial_curve
from dialed.dashboard._scaling import scaling_figures

__all__ = [
    "GRID",
    "MAX_LINES",
    "MAX_POINTS",
    "Figure",
    "Importance",
    "Values",
    "contour",
    "contour_pair",
    "history",
    "importance",
    "importance_bars",
    "intermediate",
    "label",
    "num",
    "parallel",
    "pareto",
    "scaling_figures",
    "slices",
    "text",
    "timeline",
    "trial_curve",
]
