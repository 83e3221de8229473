"""The study page's plots as plotly figures (plain dicts), built from trial records.

Every figure is aggregated and downsampled here, on the server, so that a page draws at most a
few thousand points whatever the size of the study:

- *history*: at most ``MAX_POINTS`` trials (every trial that improved the best, plus a stable
  hash sample of the rest) and the best-so-far line, computed over **all** trials and sent as
  its change points only;
- *parallel coordinates*: the ``TOP`` best trials and a sample up to ``MAX_LINES``;
- *slices* and *contour*: a sample of ``MAX_POINTS``; the contour surface is the random
  forest's marginal of the two most important parameters (or binned means without
  scikit-learn);
- *intermediate curves*: at most ``MAX_CURVES`` trials of ``MAX_STEPS`` points each;
- *timeline*: the latest ``MAX_BARS`` trials.

The sample is a hash of the trial number below a threshold, so a trial shown stays shown while
the study grows (until the threshold drops), and polls do not make points jump about.

Plotly reads a small set of HTML tags and entities in text; every user-supplied string (names,
categorical values, workers) goes through :func:`text`, which escapes it, so plotly shows it
literally. The one exception is parcoords' tick labels, which plotly writes as plain text:
those get the raw :func:`label` (escaping them would show the entities).

A figure is ``{"data": [...], "layout": {...}, "note": str}``.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from dialed.history import History
from dialed.metrics import Metric, MetricSet
from dialed.space import CategoricalDistribution, Distribution, FloatDistribution, Space
from dialed.trial import TrialRecord, TrialState

__all__ = [
    "MAX_POINTS",
    "Values",
    "contour",
    "history",
    "label",
    "parallel",
    "pareto",
    "slices",
    "text",
]

MAX_POINTS = 2000
MAX_LINES = 1000
TOP = 100
MAX_CURVES = 300
MAX_STEPS = 200
MAX_BARS = 1000
MAX_SLICES = 24
GRID = 30

Figure = dict[str, Any]

COLORS = {
    "complete": "#2563eb",
    "pruned": "#d97706",
    "failed": "#dc2626",
    "running": "#059669",
    "waiting": "#9ca3af",
}
BEST = "#e11d48"
MUTED = "#9ca3af"
_FONT = {"family": "system-ui, -apple-system, 'Segoe UI', sans-serif", "size": 12,
         "color": "#1f2937"}
_AXIS = {"gridcolor": "#e5e7eb", "zerolinecolor": "#d1d5db", "linecolor": "#d1d5db",
         "automargin": True}


# -- text and numbers --------------------------------------------------------------------------
def text(value: Any) -> str:
    """A user-supplied string made safe for plotly text: shown literally, never as markup."""
    return html.escape(value if isinstance(value, str) else label(value), quote=False)


def label(value: Any) -> str:
    """A parameter value as text: strings as they are, anything else as JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, float):
        return f"{value:.6g}"
    try:
        return json.dumps(value, sort_keys=True)
    except (TypeError, ValueError):
        return str(value)


def num(x: Any) -> float | None:
    """A finite float for JSON, or None."""
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _kept(numbers: np.ndarray, share: float) -> np.ndarray:
    """A stable sample: trial numbers whose hash falls below ``share`` of the range."""
    if share >= 1.0:
        return np.ones(numbers.shape, dtype=bool)
    h = (numbers.astype(np.uint64) * np.uint64(2654435761)) % np.uint64(2**32)
    return np.asarray(h < np.uint64(int(share * 2**32)))


def _sample(numbers: np.ndarray, limit: int, forced: np.ndarray | None = None) -> np.ndarray:
    """A mask of at most about ``limit`` entries (plus ``forced`` ones)."""
    mask = _kept(numbers, limit / max(1, numbers.size))
    if forced is not None:
        mask |= forced
    return mask


def _layout(**extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "margin": {"l": 60, "r": 20, "t": 30, "b": 50},
        "paper_bgcolor": "#ffffff",
        "plot_bgcolor": "#ffffff",
        "font": _FONT,
        "hovermode": "closest",
        "legend": {"orientation": "h", "x": 1, "xanchor": "right", "y": 1.0,
                   "yanchor": "bottom"},
        "height": 380,
    }
    out.update(extra)
    return out


def _axis(title: str | None = None, **extra: Any) -> dict[str, Any]:
    out = dict(_AXIS)
    if title is not None:
        out["title"] = {"text": title}
    out.update(extra)
    return out


def _colorscale(metric: Metric) -> dict[str, Any]:
    """Viridis with the best values dark, whichever the direction."""
    return {"colorscale": "Viridis", "reversescale": metric.direction == "maximize"}


# -- the values of one objective ---------------------------------------------------------------
class Values:
    """The complete trials with a finite value of ``metric``, as arrays by trial number.

    Built once per study version and shared by the figures that plot ``metric``.
    """

    def __init__(self, records: Sequence[TrialRecord], metric: Metric, metrics: MetricSet) -> None:
        self.metric = metric
        name, constrained = metric.name, bool(metrics.constraints)
        trials, values, feasible = [], [], []
        for t in records:
            if t.state is not TrialState.COMPLETE:
                continue
            v = t.metrics.get(name)
            if v is None or not math.isfinite(v):
                continue
            trials.append(t)
            values.append(float(v))
            feasible.append(metrics.feasible(t.metrics) if constrained else True)
        self.trials = trials
        self.numbers = np.array([t.number for t in trials], dtype=np.int64)
        self.values = np.array(values, dtype=float)
        self.feasible = np.array(feasible, dtype=bool)
        self.loss = -self.values if metric.direction == "maximize" else self.values.copy()

    def __len__(self) -> int:
        return len(self.trials)

    def top(self, k: int) -> np.ndarray:
        """A mask of the ``k`` best feasible trials."""
        mask = np.zeros(len(self), dtype=bool)
        if len(self):
            loss = np.where(self.feasible, self.loss, np.inf)
            order = np.argsort(loss, kind="stable")[:k]
            mask[order[np.isfinite(loss[order])]] = True
        return mask


# -- history -----------------------------------------------------------------------------------
def history(vals: Values) -> Figure | None:
    metric = vals.metric
    if not len(vals):
        return None
    loss = np.where(vals.feasible, vals.loss, np.inf)
    best = np.minimum.accumulate(loss)
    prev = np.concatenate([[np.inf], best[:-1]])
    improved = best < prev
    mask = _sample(vals.numbers, MAX_POINTS, improved)
    data: list[dict[str, Any]] = []
    for name, sel, color in (("trial", mask & vals.feasible, COLORS["complete"]),
                             ("infeasible", mask & ~vals.feasible, MUTED)):
        if sel.any():
            data.append({
                "type": "scatter", "mode": "markers", "name": name,
                "x": vals.numbers[sel].tolist(), "y": vals.values[sel].tolist(),
                "customdata": vals.numbers[sel].tolist(),
                "marker": {"color": color, "size": 5, "opacity": 0.7},
                "hovertemplate": "trial %{x}<br>%{y:.6g}<extra></extra>",
            })
    if improved.any():
        xs = vals.numbers[improved].tolist()
        ys = vals.values[improved].tolist()
        xs.append(int(vals.numbers[-1]))
        ys.append(ys[-1])
        data.append({
            "type": "scatter", "mode": "lines", "name": "best so far", "x": xs, "y": ys,
            "line": {"color": BEST, "width": 2, "shape": "hv"}, "hoverinfo": "skip",
        })
    shown = int(mask.sum())
    note = (f"{shown:,} of {len(vals):,} complete trials shown (every improvement kept); "
            "the best-so-far line uses all of them" if shown < len(vals) else "")
    layout = _layout(xaxis=_axis("trial"), yaxis=_axis(text(metric.name)))
    return {"data": data, "layout": layout, "note": note}


# -- parallel coordinates ----------------------------------------------------------------------
def parallel(vals: Values, space: Space) -> Figure | None:
    metric = vals.metric
    names = _covered(space, vals.trials)
    if len(vals) < 2 or not names:
        return None
    mask = _sample(vals.numbers, MAX_LINES - TOP, vals.top(TOP))
    rows = [i for i in np.flatnonzero(mask) if all(n in vals.trials[i].params for n in names)]
    dims = [_dimension(n, space[n], [vals.trials[i].params[n] for i in rows]) for n in names]
    values = vals.values[rows]
    dims.append({"label": text(metric.name), "values": values.tolist()})
    data = [{
        "type": "parcoords",
        "line": {"color": values.tolist(), "showscale": True, **_colorscale(metric),
                 "colorbar": {"title": {"text": text(metric.name)}, "thickness": 12}},
        "dimensions": dims,
        "labelangle": -20 if len(dims) > 6 else 0,
    }]
    note = (f"{len(rows):,} of {len(vals):,} complete trials: the {TOP} best and a sample"
            if len(rows) < len(vals) else "")
    return {"data": data, "layout": _layout(margin={"l": 70, "r": 70, "t": 60, "b": 30}),
            "note": note}


def _covered(space: Space, trials: Sequence[TrialRecord], share: float = 0.5) -> list[str]:
    """The varying parameters set in at least ``share`` of ``trials``."""
    names = []
    for name, dist in space.items():
        if dist.single:
            continue
        n = sum(1 for t in trials[-MAX_POINTS:] if name in t.params)
        if n and n >= share * min(len(trials), MAX_POINTS):
            names.append(name)
    return names


def _dimension(name: str, dist: Distribution, values: Sequence[Any]) -> dict[str, Any]:
    if isinstance(dist, CategoricalDistribution):
        idx = [dist.index(v) if dist.contains(v) else -1 for v in values]
        ticks = list(range(len(dist.choices)))
        step = max(1, len(ticks) // 20)
        return {
            "label": text(name), "values": idx, "range": [0, max(1, len(ticks) - 1)],
            # parcoords writes tick labels as plain text (its titles go through the markup
            # reader like every other plotly text, hence text() there and label() here)
            "tickvals": ticks[::step], "ticktext": [label(c) for c in dist.choices][::step],
        }
    if dist.log:
        logs = [math.log10(float(v)) for v in values]
        lo, hi = math.log10(dist.low), math.log10(dist.high)
        round_values = _log_ticks(float(dist.low), float(dist.high))
        return {"label": f"{text(name)} (log)", "values": logs, "range": [lo, hi],
                "tickvals": [math.log10(t) for t in round_values],
                "ticktext": [f"{t:g}" for t in round_values]}
    return {"label": text(name), "values": [float(v) for v in values],
            "range": [float(dist.low), float(dist.high)]}


def _log_ticks(low: float, high: float) -> list[float]:
    """Round values (1, 2, 5 times a power of ten; only the powers over many decades)."""
    first, last = math.floor(math.log10(low)), math.ceil(math.log10(high))
    steps = (1.0,) if last - first > 2 else (1.0, 2.0, 5.0)
    ticks = [m * 10.0**e for e in range(first, last + 1) for m in steps]
    inside = [t for t in ticks if low * (1 - 1e-9) <= t <= high * (1 + 1e-9)]
    return inside if len(inside) >= 2 else [low, high]


# -- slices ------------------------------------------------------------------------------------
def slices(vals: Values, space: Space) -> Figure | None:
    metric = vals.metric
    names = _covered(space, vals.trials)[:MAX_SLICES]
    if not len(vals) or not names:
        return None
    mask = _sample(vals.numbers, MAX_POINTS, vals.top(TOP))
    idx = np.flatnonzero(mask)
    cols = min(3, len(names))
    nrows = math.ceil(len(names) / cols)
    gap_x = 0.08
    gap_y = 70 / (60 + 260 * nrows)  # about 70 pixels between rows
    width = (1 - gap_x * (cols - 1)) / cols
    height = (1 - gap_y * (nrows - 1)) / nrows
    data: list[dict[str, Any]] = []
    layout = _layout(height=60 + 260 * nrows, showlegend=False,
                     margin={"l": 60, "r": 20, "t": 30, "b": 40})
    annotations = []
    for k, name in enumerate(names):
        r, c = divmod(k, cols)
        x0 = c * (width + gap_x)
        y1 = 1 - r * (height + gap_y)
        suffix = "" if k == 0 else str(k + 1)
        dist = space[name]
        pick = [i for i in idx if name in vals.trials[i].params]
        xs: list[Any] = [vals.trials[i].params[name] for i in pick]
        xaxis = _axis(domain=[x0, x0 + width], anchor=f"y{suffix}")
        if isinstance(dist, CategoricalDistribution):
            xs = [text(v) for v in xs]
            xaxis.update(type="category", categoryorder="array",
                         categoryarray=[text(c) for c in dist.choices])
        elif dist.log:
            ticks = _log_ticks(float(dist.low), float(dist.high))
            xaxis.update(type="log", tickvals=ticks, ticktext=[f"{t:g}" for t in ticks])
        data.append({
            "type": "scatter", "mode": "markers", "xaxis": f"x{suffix}", "yaxis": f"y{suffix}",
            "x": xs, "y": vals.values[pick].tolist(), "customdata": vals.numbers[pick].tolist(),
            "marker": {"size": 5, "opacity": 0.75, "color": vals.numbers[pick].tolist(),
                       "colorscale": "Blues", "showscale": k == 0,
                       "colorbar": {"title": {"text": "trial"}, "thickness": 10}},
            "hovertemplate": "trial %{customdata}<br>%{x}<br>%{y:.6g}<extra></extra>",
        })
        layout[f"xaxis{suffix}"] = xaxis
        layout[f"yaxis{suffix}"] = _axis(text(metric.name) if c == 0 else None,
                                         domain=[y1 - height, y1], anchor=f"x{suffix}")
        annotations.append({
            "text": f"<b>{text(name)}</b>", "showarrow": False, "xref": "paper",
            "yref": "paper", "x": x0 + width / 2, "y": y1, "yanchor": "bottom",
            "xanchor": "center", "font": {"size": 12},
        })
    layout["annotations"] = annotations
    note = (f"{len(idx):,} of {len(vals):,} complete trials shown; colour is the trial number"
            if len(idx) < len(vals) else "colour is the trial number")
    return {"data": data, "layout": layout, "note": note}


# -- contour -----------------------------------------------------------------------------------
def contour(vals: Values, space: Space, pair: Sequence[str],
            surface: np.ndarray | None) -> Figure | None:
    """The objective over two parameters: ``surface`` (shape ``(GRID, GRID)``, indexed by the
    first and second parameter's cell in the unit square) or, without one, binned means of
    (a sample of at most ``10 × MAX_POINTS``) trials."""
    if len(pair) != 2:
        return None
    a, b = pair
    metric = vals.metric
    rows = [i for i, t in enumerate(vals.trials) if a in t.params and b in t.params]
    if len(rows) < 2:
        return None
    numbers = vals.numbers[rows]
    sample = _sample(numbers, MAX_POINTS * 10 if surface is None else MAX_POINTS // 2)
    rows = [r for r, keep in zip(rows, sample, strict=True) if keep]
    da, db = space[a], space[b]
    ua = np.array([da.to_unit(vals.trials[i].params[a]) for i in rows])
    ub = np.array([db.to_unit(vals.trials[i].params[b]) for i in rows])
    centres = (np.arange(GRID) + 0.5) / GRID
    if surface is None:
        z = _binned_means(ua, ub, vals.values[rows])
        how = "mean of the trials in each cell (install scikit-learn for the forest's surface)"
    else:
        z = surface.T  # plotly: z[row = y][column = x]
        how = "the random forest's marginal prediction over the other parameters"
    keep = np.flatnonzero(_sample(vals.numbers[rows], MAX_POINTS // 2))  # the markers
    data = [
        {
            "type": "contour", "x": centres.tolist(), "y": centres.tolist(),
            "z": [[num(v) for v in row] for row in z], "connectgaps": True,
            "contours": {"coloring": "heatmap"}, "line": {"width": 0.5},
            **_colorscale(metric),
            "colorbar": {"title": {"text": text(metric.name)}, "thickness": 12},
            "hovertemplate": "%{z:.4g}<extra></extra>",
        },
        {
            "type": "scatter", "mode": "markers", "name": "trials",
            "x": ua[keep].tolist(), "y": ub[keep].tolist(),
            "customdata": vals.numbers[rows][keep].tolist(),
            "marker": {"size": 5, "color": "#ffffff", "line": {"color": "#111827", "width": 1}},
            "hovertemplate": "trial %{customdata}<extra></extra>",
        },
    ]
    layout = _layout(
        xaxis=_axis(text(a), range=[0, 1], **_unit_ticks(da)),
        yaxis=_axis(text(b), range=[0, 1], **_unit_ticks(db)),
        showlegend=False, height=440,
    )
    return {"data": data, "layout": layout,
            "note": f"{a} × {b}: {how}"}  # notes are shown as text: not escaped


def _binned_means(ua: np.ndarray, ub: np.ndarray, v: np.ndarray) -> np.ndarray:
    ia = np.minimum((ua * GRID).astype(int), GRID - 1)
    ib = np.minimum((ub * GRID).astype(int), GRID - 1)
    total = np.zeros((GRID, GRID))
    count = np.zeros((GRID, GRID))
    np.add.at(total, (ib, ia), v)
    np.add.at(count, (ib, ia), 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        out: np.ndarray = total / count
    return out


def _unit_ticks(dist: Distribution) -> dict[str, Any]:
    """Tick positions in the unit cube labelled with the parameter's own values."""
    if isinstance(dist, CategoricalDistribution):
        step = max(1, len(dist.choices) // 12)
        choices = list(dist.choices)[::step]
        return {"tickvals": [dist.to_unit(c) for c in choices],
                "ticktext": [text(c) for c in choices]}
    if dist.log:
        values: list[float] = _log_ticks(float(dist.low), float(dist.high))
        if not isinstance(dist, FloatDistribution):
            values = sorted({float(round(v)) for v in values})
    elif isinstance(dist, FloatDistribution) and dist.step is None:
        values = list(np.linspace(dist.low, dist.high, 5))
    else:
        us = np.linspace(0.0, 1.0, 6)
        values = sorted({dist.from_unit(float(u)) for u in us})
    return {"tickvals": [dist.to_unit(v) for v in values],
            "ticktext": [f"{v:.3g}" for v in values]}


# -- Pareto front ------------------------------------------------------------------------------
def pareto(records: Sequence[TrialRecord], metrics: MetricSet) -> Figure | None:
    objs = metrics.objectives
    if len(objs) < 2:
        return None
    history = History(Space(), metrics, records)  # complete, feasible, losses, front: its own
    rows = history.complete
    if not rows:
        return None
    feasible, losses = history.feasible, history.losses()
    numbers = np.array([t.number for t in rows], dtype=np.int64)
    front_ids = {id(t) for t in history.front}
    on_front = np.array([id(t) in front_ids for t in rows], dtype=bool)

    def x_of(idx: Sequence[int]) -> list[float]:
        return [float(rows[i].metrics[objs[0].name]) for i in idx]

    def y_of(idx: Sequence[int]) -> list[float]:
        return [float(rows[i].metrics[objs[1].name]) for i in idx]

    shown = _sample(numbers, MAX_POINTS)
    data = []
    for name, sel, color in (("trial", shown & feasible & ~on_front, COLORS["complete"]),
                             ("infeasible", shown & ~feasible, MUTED)):
        idx = np.flatnonzero(sel).tolist()
        if idx:
            data.append({"type": "scatter", "mode": "markers", "name": name,
                         "x": x_of(idx), "y": y_of(idx), "customdata": numbers[idx].tolist(),
                         "marker": {"color": color, "size": 5, "opacity": 0.5},
                         "hovertemplate": "trial %{customdata}<extra></extra>"})
    front = sorted(np.flatnonzero(on_front).tolist(), key=lambda i: (losses[i, 0], losses[i, 1]))
    data.append({"type": "scatter", "mode": "lines+markers", "name": "Pareto front",
                 "x": x_of(front), "y": y_of(front), "customdata": numbers[front].tolist(),
                 "line": {"color": BEST, "shape": "hv" if objs[0].direction == objs[1].direction
                          else "linear", "width": 1},
                 "marker": {"color": BEST, "size": 8},
                 "hovertemplate": "trial %{customdata}<extra></extra>"})
    parts = [f"{len(front):,} trials on the front of {len(rows):,} complete"]
    if len(objs) > 2:
        parts.append(f"the front is over all {len(objs)} objectives; the plot shows the first two")
    layout = _layout(xaxis=_axis(f"{text(objs[0].name)} ({objs[0].direction})"),
                     yaxis=_axis(f"{text(objs[1].name)} ({objs[1].direction})"))
    return {"data": data, "layout": layout, "note": "; ".join(parts)}
