"""The figures of ``optuna.visualization`` for dialed studies, as plotly figures.

>>> import dialed.plot
>>> dialed.plot.plot_optimization_history(study).show()

Each function takes a :class:`dialed.Study` (or a :mod:`dialed.compat.optuna` study) and returns
a ``plotly.graph_objects.Figure`` drawn by the same code as the dashboard's study page
(:mod:`dialed.dashboard.figures`): optimization history, parameter importances (per parameter
and per family), contour, slice, parallel coordinates, intermediate values, Pareto front and
timeline; and a ladder's fits (``plot_scaling``). Big studies are downsampled the way the
dashboard does it (each figure's subtitle says how). plotly is the ``plot`` extra; importance
and the contour's surface need scikit-learn.
"""

from __future__ import annotations

from dialed.plot._plots import (
    plot_contour,
    plot_intermediate_values,
    plot_optimization_history,
    plot_parallel_coordinate,
    plot_param_importances,
    plot_pareto_front,
    plot_scaling,
    plot_slice,
    plot_timeline,
)

__all__ = [
    "plot_contour",
    "plot_intermediate_values",
    "plot_optimization_history",
    "plot_parallel_coordinate",
    "plot_param_importances",
    "plot_pareto_front",
    "plot_scaling",
    "plot_slice",
    "plot_timeline",
]
