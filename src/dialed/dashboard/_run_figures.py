"""How trials ran, as figures: each trial's reported curve (all trials' at once, downsampled
as :mod:`dialed.dashboard._figures` tells, or one trial's in full) and the timeline of trials
by worker. A figure is ``{"data", "layout", "note"}``, user text escaped by ``text``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import numpy as np

from dialed.dashboard._figures import (
    COLORS,
    MAX_BARS,
    MAX_CURVES,
    MAX_STEPS,
    Figure,
    _axis,
    _layout,
    num,
    text,
)
from dialed.metrics import Metric
from dialed.trial import TrialRecord, TrialState

__all__ = ["intermediate", "timeline", "trial_curve"]


# -- intermediate values -----------------------------------------------------------------------
def intermediate(records: Sequence[TrialRecord], metric: Metric,
                 step_name: str | None) -> Figure | None:
    curves = [t for t in records if t.intermediate]
    if not curves:
        return None
    chosen = _choose_curves(curves, metric)
    data: list[dict[str, Any]] = []
    for state in ("complete", "running", "failed", "pruned"):
        group = [t for t in chosen if t.state.value == state]
        if not group:
            continue
        xs: list[Any] = []
        ys: list[Any] = []
        numbers: list[Any] = []
        for t in group:
            steps = _decimate(sorted(t.intermediate), MAX_STEPS)
            xs.extend([*steps, None])
            ys.extend([*(num(t.intermediate[s]) for s in steps), None])
            numbers.extend([t.number] * len(steps) + [None])
        data.append({
            "type": "scatter", "mode": "lines", "name": state, "x": xs, "y": ys,
            "customdata": numbers, "connectgaps": False,
            "line": {"color": COLORS[state], "width": 1}, "opacity": 0.6,
            "hovertemplate": "trial %{customdata}<br>step %{x}<br>%{y:.6g}<extra></extra>",
        })
    stops: list[tuple[TrialRecord, int]] = []
    for t in chosen:
        step = _pruned_step(t) if t.state is TrialState.PRUNED else None
        if step is not None:
            stops.append((t, step))
    if stops:
        data.append({
            "type": "scatter", "mode": "markers", "name": "pruned here",
            "x": [s for _, s in stops], "y": [num(t.intermediate[s]) for t, s in stops],
            "customdata": [t.number for t, _ in stops],
            "marker": {"symbol": "x", "size": 8, "color": COLORS["pruned"]},
            "hovertemplate": "trial %{customdata} pruned at step %{x}<extra></extra>",
        })
    note = (f"{len(chosen):,} of {len(curves):,} curves shown: the best complete, the running "
            "and the latest others" if len(chosen) < len(curves) else "")
    layout = _layout(xaxis=_axis(text(step_name or "step")), yaxis=_axis("intermediate value"))
    return {"data": data, "layout": layout, "note": note}


def _choose_curves(curves: Sequence[TrialRecord], metric: Metric) -> list[TrialRecord]:
    if len(curves) <= MAX_CURVES:
        return list(curves)
    complete = [t for t in curves if t.state is TrialState.COMPLETE
                and num(t.metrics.get(metric.name)) is not None]
    complete.sort(key=lambda t: (metric.loss(float(t.metrics[metric.name])), t.number))
    chosen = {t.number: t for t in complete[:MAX_CURVES // 3]}
    for t in (t for t in curves if t.state is TrialState.RUNNING):
        if len(chosen) < MAX_CURVES * 2 // 3:
            chosen.setdefault(t.number, t)
    for t in reversed(curves):
        if len(chosen) >= MAX_CURVES:
            break
        chosen.setdefault(t.number, t)
    return [chosen[n] for n in sorted(chosen)]


def _decimate(steps: list[int], limit: int) -> list[int]:
    if len(steps) <= limit:
        return steps
    idx = np.unique(np.linspace(0, len(steps) - 1, limit).round().astype(int))
    return [steps[i] for i in idx]


def _pruned_step(t: TrialRecord) -> int | None:
    step = t.system_attrs.get("pruned_at", t.last_step)
    if isinstance(step, int) and step in t.intermediate:
        return step
    return t.last_step


def trial_curve(t: TrialRecord, step_name: str | None) -> Figure | None:
    if not t.intermediate:
        return None
    steps = _decimate(sorted(t.intermediate), 5000)
    data: list[dict[str, Any]] = [{
        "type": "scatter", "mode": "lines+markers" if len(steps) <= 100 else "lines",
        "name": f"trial {t.number}", "x": steps, "y": [num(t.intermediate[s]) for s in steps],
        "line": {"color": COLORS.get(t.state.value, COLORS["complete"])},
        "hovertemplate": "step %{x}<br>%{y:.6g}<extra></extra>",
    }]
    stop = _pruned_step(t) if t.state is TrialState.PRUNED else None
    if stop is not None:
        data.append({
            "type": "scatter", "mode": "markers", "name": "pruned here", "x": [stop],
            "y": [num(t.intermediate[stop])],
            "marker": {"symbol": "x", "size": 11, "color": COLORS["pruned"]},
        })
    layout = _layout(xaxis=_axis(text(step_name or "step")), yaxis=_axis("intermediate value"),
                     height=320)
    return {"data": data, "layout": layout, "note": ""}


# -- timeline ----------------------------------------------------------------------------------
def timeline(records: Sequence[TrialRecord], now: float) -> Figure | None:
    started = [t for t in records if t.started_at is not None][-MAX_BARS:]
    if not started:
        return None
    workers = sorted({_worker(t) for t in started})
    data: list[dict[str, Any]] = []
    for state in ("complete", "pruned", "failed", "running"):
        group = [t for t in started if t.state.value == state]
        if not group:
            continue
        data.append({
            "type": "bar", "orientation": "h", "name": state,
            "base": [_utc(t.started_at) for t in group],
            "x": [max(1.0, ((t.finished_at or now) - (t.started_at or now)) * 1000.0)
                  for t in group],
            "y": [text(_worker(t)) for t in group],
            "customdata": [t.number for t in group],
            "marker": {"color": COLORS[state]},
            "hovertemplate": "trial %{customdata}<br>%{base} (UTC)<extra></extra>",
        })
    layout = _layout(
        barmode="overlay", bargap=0.3,
        height=min(800, max(220, 90 + 28 * len(workers))),
        xaxis=_axis("time (UTC)", type="date"),
        yaxis=_axis(type="category", categoryorder="array",
                    categoryarray=[text(w) for w in workers]),
    )
    note = (f"the latest {len(started):,} trials that started" if len(started) == MAX_BARS
            else "")
    return {"data": data, "layout": layout, "note": note}


def _worker(t: TrialRecord) -> str:
    return t.worker or "(no worker recorded)"


def _utc(ts: float | None) -> str:
    d = dt.datetime.fromtimestamp(ts or 0.0, tz=dt.timezone.utc)
    return d.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
