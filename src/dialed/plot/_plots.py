"""Each ``plot_*`` function: the dashboard's figure for a study, as a plotly ``Figure``.

The figures themselves are built by :mod:`dialed.dashboard.figures` (one implementation for the
dashboard, the report and notebooks) as plain dicts; this module reads the study, picks the
parameters and the metric the caller names, and hands the dict to ``plotly.graph_objects``.
A figure with nothing to draw (no complete trial yet, one objective for a Pareto front) comes
back empty with the reason as its title, as ``optuna.visualization`` does.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from dialed._util import install_hint
from dialed.dashboard import figures as fig
from dialed.errors import ConfigError
from dialed.metrics import Metric
from dialed.space import Space
from dialed.study import Study

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


def plot_optimization_history(study: Any, *, metric: str | None = None) -> Any:
    """Each complete trial's value of ``metric`` (the first objective by default) and the best
    so far."""
    s = _native(study, "plot_optimization_history")
    m = _metric(s, metric, "plot_optimization_history")
    spec = fig.history(fig.Values(s.trials, m, s.metrics))
    return _figure(spec, f"optimization history: {m.name}", s, "no complete trial")


def plot_param_importances(study: Any, *, metric: str | None = None) -> Any:
    """Each parameter's share of the variance of ``metric`` (main effect) and, when the space
    has families, each family's share with the interactions among its parameters."""
    s = _native(study, "plot_param_importances")
    m = _metric(s, metric, "plot_param_importances")
    found = fig.importance(s.trials, s.space, m)
    if found is None:
        _needs_sklearn("plot_param_importances")
    return _figure(None if found is None else found.figure,
                   f"parameter importance for {m.name}", s, "fewer than 4 complete trials")


def plot_contour(study: Any, params: Sequence[str] | None = None, *,
                 metric: str | None = None) -> Any:
    """``metric`` over two parameters (the two most important by default): the random forest's
    marginal surface (binned means without scikit-learn) and the trials as markers."""
    s = _native(study, "plot_contour")
    m = _metric(s, metric, "plot_contour")
    space = s.space
    pair = None if params is None else _params(s, space, params, "plot_contour")
    if pair is not None and len(pair) != 2:
        raise ConfigError(f"plot_contour draws two parameters, got {len(pair)}: {pair} "
                          "(call it once per pair)")
    records = s.trials
    found = fig.importance(records, space, m, pair=pair)
    chosen = pair or fig.contour_pair(None if found is None else found.pair, space)
    spec = fig.contour(fig.Values(records, m, s.metrics), space, chosen,
                       None if found is None else found.surface)
    return _figure(spec, f"contour of {m.name}: {' × '.join(chosen)}", s,
                   "fewer than 2 complete trials with two varying parameters")


def plot_slice(study: Any, params: Sequence[str] | None = None, *,
               metric: str | None = None) -> Any:
    """``metric`` against each parameter (those named, or every varying one)."""
    s = _native(study, "plot_slice")
    m = _metric(s, metric, "plot_slice")
    space = _subspace(s, params, "plot_slice")
    spec = fig.slices(fig.Values(s.trials, m, s.metrics), space)
    return _figure(spec, f"slices: {m.name} against each parameter", s, "no complete trial")


def plot_parallel_coordinate(study: Any, params: Sequence[str] | None = None, *,
                             metric: str | None = None) -> Any:
    """One line per complete trial across its parameters (those named, or every one set in at
    least half of the trials), coloured by ``metric``."""
    s = _native(study, "plot_parallel_coordinate")
    m = _metric(s, metric, "plot_parallel_coordinate")
    space = _subspace(s, params, "plot_parallel_coordinate")
    spec = fig.parallel(fig.Values(s.trials, m, s.metrics), space)
    return _figure(spec, "parallel coordinates", s, "fewer than 2 complete trials")


def plot_intermediate_values(study: Any) -> Any:
    """Each trial's reported values by step (pruned trials marked where they stopped)."""
    s = _native(study, "plot_intermediate_values")
    resource = s.resource
    spec = fig.intermediate(s.trials, s.metrics.primary,
                            None if resource is None else resource.name)
    return _figure(spec, "intermediate values", s, "no trial reported a value")


def plot_pareto_front(study: Any) -> Any:
    """The complete trials over the first two objectives, the Pareto front joined."""
    s = _native(study, "plot_pareto_front")
    if not s.metrics.multi_objective:
        raise ConfigError(f"plot_pareto_front needs a study with several objectives; study "
                          f"{s.name!r} has one ({s.metrics.primary.name}): use "
                          "plot_optimization_history")
    spec = fig.pareto(s.trials, s.metrics)
    return _figure(spec, "Pareto front", s, "no complete trial")


def plot_timeline(study: Any) -> Any:
    """When each trial ran, by worker, coloured by its state."""
    s = _native(study, "plot_timeline")
    spec = fig.timeline(s.trials, time.time())
    return _figure(spec, "timeline of trials by worker", s, "no trial has started")


def plot_scaling(study: Any, param: str | None = None) -> Any:
    """For a ladder's study (``dialed ladder``): ``param``'s optimum at each rung against the
    scale on log-log axes, the fitted law with its bootstrap band, and the prediction (the
    first fitted parameter by default)."""
    s = _native(study, "plot_scaling")
    fit = s.attrs.get("ladder:fit")
    if not isinstance(fit, Mapping):
        raise ConfigError(f"plot_scaling: study {s.name!r} is not a ladder's study (it has no "
                          "fit: run dialed ladder, then open the ladder's study)")
    figures = fig.scaling_figures(fit)
    names = [key.split(":", 1)[1] for key in figures]
    if not names:
        raise ConfigError(f"plot_scaling: the ladder {s.name!r} fitted no numeric parameter")
    chosen = names[0] if param is None else param
    if chosen not in names:
        raise ConfigError(f"plot_scaling: the ladder {s.name!r} fitted no parameter "
                          f"{chosen!r}; its fitted parameters: {', '.join(names)}")
    return _figure(figures[f"scaling:{chosen}"],
                   f"optimum of {chosen} against {fit.get('scale')}", s, "no fit")


# -- helpers -----------------------------------------------------------------------------------
def _native(study: Any, what: str) -> Study:
    """The dialed study behind ``study`` (dialed's own, or :mod:`dialed.compat.optuna`'s)."""
    if isinstance(study, Study):
        return study
    native = getattr(study, "native", None)
    if isinstance(native, Study):
        return native
    raise ConfigError(f"{what} takes a dialed Study (or dialed.compat.optuna's), got "
                      f"{type(study).__name__}: open one with dialed.load_study(name, "
                      "storage=...)")


def _metric(s: Study, name: str | None, what: str) -> Metric:
    if name is None:
        return s.metrics.primary
    names = list(s.metrics)
    if name not in names:
        raise ConfigError(f"{what}: study {s.name!r} has no metric {name!r}; its metrics: "
                          f"{', '.join(names)}")
    return s.metrics[name]


def _params(s: Study, space: Space, params: Sequence[str], what: str) -> list[str]:
    if isinstance(params, str):
        raise ConfigError(f"{what}: params is a list of names, got the string {params!r} "
                          f"(write params=[{params!r}])")
    chosen = list(params)
    unknown = [p for p in chosen if p not in space]
    if unknown or not chosen:
        raise ConfigError(f"{what}: study {s.name!r} has no parameter "
                          f"{', '.join(map(repr, unknown)) or '(none named)'}; its parameters: "
                          f"{', '.join(space) or '(none yet)'}")
    return chosen


def _subspace(s: Study, params: Sequence[str] | None, what: str) -> Space:
    space = s.space
    if params is None:
        return space
    chosen = _params(s, space, params, what)
    return Space({n: space[n].to_dict() for n in chosen})


def _needs_sklearn(what: str) -> None:
    try:
        import sklearn  # noqa: F401
    except ImportError:
        raise ConfigError(f"{what} fits a random forest: {install_hint('sklearn')}") from None


def _figure(spec: fig.Figure | None, title: str, s: Study, empty: str) -> Any:
    go = _plotly()
    if spec is None:
        return go.Figure(layout={"title": {"text": f"{title}: {empty} in study {s.name!r}"}})
    layout = dict(spec["layout"])
    title_spec: dict[str, Any] = {"text": fig.text(title)}
    if spec.get("note"):
        title_spec["subtitle"] = {"text": fig.text(spec["note"])}
        layout["margin"] = {**layout.get("margin", {}), "t": max(80, layout.get(
            "margin", {}).get("t", 0))}
    layout["title"] = title_spec
    return go.Figure(data=spec["data"], layout=layout)


def _plotly() -> Any:
    try:
        import plotly.graph_objects as go
    except ImportError:
        raise ConfigError(f"dialed.plot needs plotly: {install_hint('plot')}") from None
    return go
