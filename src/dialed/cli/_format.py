"""Rich tables for the command line: studies, trials, the best trial, the Pareto front and
the recommended trade-off."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from rich import box
from rich.table import Table
from rich.text import Text

from dialed._util import short_value
from dialed.metrics import MetricSet
from dialed.storage import StudySummary
from dialed.trial import TrialRecord, TrialState

__all__ = [
    "best_table",
    "counts_line",
    "duration",
    "pareto_table",
    "studies_table",
    "timestamp",
    "tradeoff_table",
    "trials_lines",
    "trials_table",
    "value",
]

_STATE_ORDER = [s.value for s in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAILED,
                                  TrialState.RUNNING, TrialState.WAITING)]
_STATE_STYLE = {"complete": "green", "pruned": "yellow", "failed": "red", "running": "cyan",
                "waiting": "dim"}


# -- single values ----------------------------------------------------------------------------
def value(v: Any) -> str:
    """A metric or parameter value, short: floats to 6 significant digits, None as '-'."""
    return short_value(v)


def params_text(params: Mapping[str, Any]) -> str:
    """``lr=0.001234, layers=3``: four significant digits, to keep table rows short."""
    def short(v: Any) -> str:
        return f"{v:.4g}" if isinstance(v, float) and math.isfinite(v) else value(v)

    return ", ".join(f"{k}={short(v)}" for k, v in params.items()) or "-"


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.2f}s" if seconds < 10 else f"{seconds:.1f}s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


def timestamp(ts: float | None) -> str:
    """UNIX seconds as local time, to the second."""
    if ts is None:
        return "-"
    return dt.datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S")


def counts_line(counts: Mapping[str, int]) -> str:
    """``38 complete, 1 pruned, 2 failed`` (states with no trial left out)."""
    order = _STATE_ORDER + sorted(set(counts) - set(_STATE_ORDER))
    parts = [f"{counts[s]} {s}" for s in order if counts.get(s)]
    return ", ".join(parts) or "no trials"


def metrics_text(metrics: Mapping[str, str]) -> str:
    return ", ".join(f"{name} {spec}" for name, spec in metrics.items())


def _cell(text: str, style: str = "") -> Text:
    return Text(text, style=style)  # Text, not str: '[' in a value is not Rich markup


def _trial_note(t: TrialRecord) -> str:
    if t.state == TrialState.PRUNED:
        step = t.system_attrs.get("pruned_at", t.last_step)
        reason = t.system_attrs.get("prune_reason")
        at = f"pruned at step {step}" if step is not None else "pruned"
        return f"{at}: {reason}" if reason else at
    if t.state == TrialState.FAILED and t.error:
        return t.error.strip().splitlines()[0] if t.error.strip() else ""
    retry_of = t.system_attrs.get("retry_of")
    return f"retry of trial {retry_of}" if retry_of is not None else ""


def _metric_names(metrics: MetricSet, trials: Iterable[TrialRecord]) -> list[str]:
    names = list(metrics)
    for t in trials:
        names.extend(n for n in t.metrics if n not in names)
    return names


# -- tables -----------------------------------------------------------------------------------
def studies_table(summaries: Sequence[StudySummary]) -> Table:
    table = Table(title="studies", title_justify="left", box=box.SIMPLE_HEAD)
    table.add_column("name", no_wrap=True)
    table.add_column("metrics", overflow="fold")
    table.add_column("trials", overflow="fold")
    table.add_column("best", justify="right", no_wrap=True)
    table.add_column("last activity", no_wrap=True)
    for s in summaries:
        table.add_row(
            _cell(s.name, "bold"),
            _cell(metrics_text(s.metrics)),
            _cell(counts_line(s.counts)),
            _cell(value(s.best_value)),
            _cell(timestamp(s.last_activity or s.created_at)),
        )
    return table


def trials_table(metrics: MetricSet, trials: Sequence[TrialRecord], *,
                 caption: str | None = None) -> Table:
    """One row per trial; the primary metric's column in bold, a note column when needed."""
    names, rows = _trial_rows(metrics, trials)
    table = Table(caption=caption, caption_justify="left", box=box.SIMPLE_HEAD)
    table.add_column("#", justify="right")
    table.add_column("state")
    primary = metrics.primary.name
    for name in names:
        table.add_column(name, justify="right",
                         header_style="bold underline" if name == primary else "bold")
    table.add_column("params", overflow="fold", ratio=3)
    table.add_column("duration", justify="right")
    noted = len(rows[0]) > len(names) + 4 if rows else False
    if noted:
        table.add_column("note", overflow="fold", ratio=2)
    for row in rows:
        cells = [_cell(text) for text in row]
        cells[1] = _cell(row[1], _STATE_STYLE.get(row[1], ""))
        table.add_row(*cells)
    return table


def trials_lines(metrics: MetricSet, trials: Sequence[TrialRecord]) -> Iterator[str]:
    """The rows of :func:`trials_table` as plain text, one line per trial (params and notes
    unwrapped), for listings too long to lay out as one Rich table (``--limit 0``)."""
    names, rows = _trial_rows(metrics, trials)
    header = ["#", "state", *names, "params", "duration"]
    if rows and len(rows[0]) > len(header):
        header.append("note")
    right = {0, *range(2, 2 + len(names)), 3 + len(names)}
    widths = [max([len(header[i])] + [len(r[i]) for r in rows]) for i in range(len(header))]
    last = len(header) - 1

    def line(cells: Sequence[str]) -> str:
        out = [c.rjust(widths[i]) if i in right else
               (c if i == last else c.ljust(widths[i])) for i, c in enumerate(cells)]
        return "  ".join(out).rstrip()

    yield line(header)
    yield "  ".join("-" * w for w in widths)
    for row in rows:
        yield line(row)


def _trial_rows(metrics: MetricSet, trials: Sequence[TrialRecord]
                ) -> tuple[list[str], list[list[str]]]:
    """The metric columns and each trial's cells: number, state, metrics, params, duration
    and (when any trial has one) a note."""
    names = _metric_names(metrics, trials)
    notes = [_trial_note(t) for t in trials]
    noted = any(notes)
    rows = []
    for t, note in zip(trials, notes, strict=True):
        cells = [str(t.number), t.state.value, *(value(t.metrics.get(n)) for n in names),
                 params_text(t.params), duration(t.wall_seconds)]
        if noted:
            cells.append(note)
        rows.append(cells)
    return names, rows


def best_table(metrics: MetricSet, trial: TrialRecord, *, title: str) -> Table:
    """The best trial as key / value rows: its number, value, other metrics, params, seed."""
    table = Table(title=title, title_justify="left", show_header=False)
    table.add_column("key", style="bold")
    table.add_column("value", overflow="fold")
    primary = metrics.primary.name
    table.add_row(_cell("trial"), _cell(str(trial.number)))
    table.add_row(_cell(f"{primary} ({metrics.primary.spec()})"),
                  _cell(value(trial.metrics.get(primary)), "bold green"))
    for name in _metric_names(metrics, [trial]):
        if name != primary:
            table.add_row(_cell(name), _cell(value(trial.metrics.get(name))))
    for name, v in trial.params.items():
        table.add_row(_cell(f"params.{name}"), _cell(value(v)))
    table.add_row(_cell("seed"), _cell(str(trial.seed)))
    table.add_row(_cell("duration"), _cell(duration(trial.wall_seconds)))
    return table


def pareto_table(metrics: MetricSet, front: Sequence[TrialRecord], *, title: str,
                 recommended: int | None = None) -> Table:
    """The trials no other complete trial beats on every objective.

    The row of trial ``recommended`` (the recommended trade-off) is marked with a star.
    """
    objectives = [m.name for m in metrics.objectives]
    caption = "* the recommended trade-off" if recommended is not None else None
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, caption=caption,
                  caption_justify="left")
    table.add_column("#", justify="right")
    for name in objectives:
        table.add_column(f"{name} ({metrics[name].spec()})", justify="right")
    table.add_column("params", overflow="fold")
    table.add_column("seed", justify="right")
    first = metrics.objectives[0]
    for t in sorted(front, key=lambda r: (first.loss(r.metrics[first.name]), r.number)):
        star = t.number == recommended
        table.add_row(
            _cell(f"*{t.number}" if star else str(t.number), "bold" if star else ""),
            *(_cell(value(t.metrics.get(n)), "bold" if star else "") for n in objectives),
            _cell(params_text(t.params)),
            _cell(str(t.seed)),
        )
    return table


def tradeoff_table(metrics: MetricSet, trial: TrialRecord, *, rule: str, reason: str,
                   title: str) -> Table:
    """The recommended trade-off as key / value rows: the rule, why, the trial's values."""
    table = Table(title=title, title_justify="left", show_header=False)
    table.add_column("key", style="bold")
    table.add_column("value", overflow="fold")
    table.add_row(_cell("rule"), _cell(rule))
    table.add_row(_cell("why"), _cell(reason))
    table.add_row(_cell("trial"), _cell(str(trial.number), "bold green"))
    for name in _metric_names(metrics, [trial]):
        spec = f" ({metrics[name].spec()})" if name in metrics else ""
        table.add_row(_cell(f"{name}{spec}"), _cell(value(trial.metrics.get(name))))
    for name, v in trial.params.items():
        table.add_row(_cell(f"params.{name}"), _cell(value(v)))
    table.add_row(_cell("seed"), _cell(str(trial.seed)))
    table.add_row(_cell("duration"), _cell(duration(trial.wall_seconds)))
    return table
