"""The parameter-importance figure: functional ANOVA over a random forest fitted to a study's
trials (:class:`~dialed.analysis.importance.FanovaForest`), each parameter's main effect and
each family's share with its interactions, and the marginal surface the contour draws."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from dialed.analysis.importance import FanovaForest
from dialed.dashboard._figures import COLORS, GRID, MUTED, Figure, _axis, _layout, text
from dialed.errors import ConfigError, NoTrialsError
from dialed.metrics import Metric
from dialed.space import Space
from dialed.trial import TrialRecord

__all__ = ["Importance", "contour_pair", "importance", "importance_bars"]


@dataclass(frozen=True)
class Importance:
    """What the importance fit gives the figures: the bars, the two most important
    parameters, and their marginal surface (a ``GRID`` x ``GRID`` array, or None)."""

    figure: Figure
    pair: list[str]
    surface: np.ndarray | None


def importance(records: Sequence[TrialRecord], space: Space, metric: Metric, *,
               n_trees: int = 32, max_trials: int = 1000, seed: int = 0,
               pair: Sequence[str] | None = None) -> Importance | None:
    """Functional ANOVA over a random forest (:class:`~dialed.analysis.importance.FanovaForest`)
    fitted to at most ``max_trials`` complete trials; None without scikit-learn or with fewer
    than 4 complete trials. The surface is over ``pair`` when given, else over the two most
    important parameters."""
    try:
        forest = FanovaForest.from_trials(records, space, metric.name, n_trees=n_trees,
                                          max_trials=max_trials, seed=seed)
    except (NoTrialsError, ConfigError):
        return None
    imp = forest.importance(space, metric.name)
    pair = list(pair) if pair is not None else [name for name, _ in imp.ranked()[:2]]
    fitted = len(pair) == 2 and all(n in forest.names for n in pair)
    surface = forest.marginal(pair, grid=GRID) if fitted else None
    note = (f"functional ANOVA over a random forest fitted to {imp.n_trials:,} complete "
            f"trials; a parameter's share is its main effect, a family's includes the "
            f"interactions among its parameters")
    if imp.skipped:
        note += f"; left out (constant or rarely set): {', '.join(imp.skipped)}"
    figure = importance_bars(imp.params, imp.params_std, imp.families, imp.families_std, note)
    return Importance(figure, pair, surface)


def importance_bars(params: Mapping[str, float], params_std: Mapping[str, float],
                    families: Mapping[str, float], families_std: Mapping[str, float],
                    note: str) -> Figure:
    ranked = sorted(params, key=lambda n: (params[n], n))[-20:]  # plotly draws bars bottom-up
    fams = sorted(families, key=lambda n: (families[n], n))
    two = bool(fams)
    data: list[dict[str, Any]] = [{
        "type": "bar", "orientation": "h", "name": "parameter",
        "y": [text(n) for n in ranked], "x": [params[n] for n in ranked],
        "error_x": {"type": "data", "array": [params_std.get(n, 0.0) for n in ranked],
                    "color": MUTED, "thickness": 1},
        "marker": {"color": COLORS["complete"]},
        "hovertemplate": "%{y}: %{x:.1%}<extra></extra>",
    }]
    layout = _layout(
        showlegend=False,
        height=max(380, 60 + 26 * max(len(ranked), len(fams))),  # as tall as the history
        xaxis=_axis("main effect", domain=[0, 0.44 if two else 1], tickformat=".0%",
                    range=[0, _bar_top(params, params_std)]),
        yaxis=_axis(),
        margin={"l": 60, "r": 20, "t": 30, "b": 50},
        annotations=[{"text": "<b>parameters</b>", "showarrow": False, "xref": "paper",
                      "yref": "paper", "x": 0.0, "y": 1.0, "xanchor": "left",
                      "yanchor": "bottom"}],
    )
    if two:
        data.append({
            "type": "bar", "orientation": "h", "name": "family", "xaxis": "x2", "yaxis": "y2",
            "y": [text(n) for n in fams], "x": [families[n] for n in fams],
            "error_x": {"type": "data", "array": [families_std.get(n, 0.0) for n in fams],
                        "color": MUTED, "thickness": 1},
            "marker": {"color": "#7c3aed"},
            "hovertemplate": "%{y}: %{x:.1%}<extra></extra>",
        })
        layout["xaxis2"] = _axis("family, with its interactions", domain=[0.6, 1],
                                 anchor="y2", tickformat=".0%",
                                 range=[0, _bar_top(families, families_std)])
        layout["yaxis2"] = _axis(anchor="x2")
        layout["annotations"].append({
            "text": "<b>families</b>", "showarrow": False, "xref": "paper", "yref": "paper",
            "x": 0.6, "y": 1.0, "xanchor": "left", "yanchor": "bottom",
        })
    return {"data": data, "layout": layout, "note": note}


def _bar_top(values: Mapping[str, float], std: Mapping[str, float]) -> float:
    top = max((v + std.get(k, 0.0) for k, v in values.items()), default=1.0)
    return min(1.0, max(0.05, top)) * 1.05


def contour_pair(pair: Sequence[str] | None, space: Space) -> list[str]:
    """The contour's two parameters: the importance fit's pair, else the first two that vary."""
    if pair:
        return list(pair)
    return [n for n, d in space.items() if not d.single][:2]
