"""The dashboard's data as plain JSON-able dicts: the studies list, a study's overview, the trial
table (sorted, filtered, one page at a time), one trial, and the workflow's records.

Pure functions of trial records and study attributes; the HTTP layer and the report only
serialise what these return. Strings are returned as they are: HTML escaping is the job of
whoever puts them in a page (the templates autoescape; the scripts use ``textContent``).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from dialed.dashboard._figures import label, num
from dialed.errors import ConfigError
from dialed.metrics import Metric, MetricSet
from dialed.space import CategoricalDistribution, Distribution, Space
from dialed.storage import StudySummary
from dialed.trial import TrialRecord, TrialState

__all__ = [
    "STATES",
    "Column",
    "Filter",
    "best_trial",
    "columns",
    "counts",
    "parse_filter",
    "registry_history",
    "study_row",
    "study_state",
    "table_rows",
    "trial_detail",
    "workflow_sections",
]

STATES = tuple(s.value for s in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAILED,
                                 TrialState.RUNNING, TrialState.WAITING))
USER_PREFIX = "user:"
WORKFLOW_PREFIX = "workflow:"
QUEUED_PREFIX = "workflow:queued:"
#: Where a recommended trade-off is recorded (dialed.analysis.tradeoff).
TRADEOFF_KEY = "tradeoff"
#: Study attributes shown as the study's settings (written by create_study).
#: The study attributes shown as its settings; ``*_decision``: what ``auto`` chose and why.
SETTINGS_KEYS = ("sampler", "sampler_decision", "pruner", "pruner_decision", "resource",
                 "settings")
_MAX_ROWS_PER_SECTION = 300


# -- the studies list ----------------------------------------------------------------------------
def study_state(counts: Mapping[str, int]) -> str:
    """``running`` (a trial runs), ``queued`` (trials wait), ``empty`` or ``idle``."""
    if counts.get("running"):
        return "running"
    if counts.get("waiting"):
        return "queued"
    return "idle" if sum(counts.values()) else "empty"


def study_row(s: StudySummary) -> dict[str, Any]:
    metrics = MetricSet(s.metrics)
    return {
        "name": s.name,
        "metrics": [{"name": m.name, "spec": m.spec()} for m in metrics.values()],
        "primary": metrics.primary.name,
        "direction": metrics.primary.direction,
        "state": study_state(s.counts),
        "counts": {k: int(s.counts.get(k, 0)) for k in STATES},
        "n_trials": s.n_trials,
        "best": num(s.best_value),
        "last_activity": s.last_activity,
        "created_at": s.created_at,
    }


# -- a study's overview --------------------------------------------------------------------------
def counts(records: Iterable[TrialRecord]) -> dict[str, int]:
    c = Counter(t.state.value for t in records)
    return {k: int(c.get(k, 0)) for k in STATES}


def last_activity(records: Iterable[TrialRecord]) -> float | None:
    times = [x for t in records for x in (t.started_at, t.finished_at) if x is not None]
    return max(times) if times else None


def best_trial(records: Sequence[TrialRecord], metrics: MetricSet) -> TrialRecord | None:
    """The complete, feasible trial with the best primary objective (ties: lower number)."""
    primary = metrics.primary
    best: TrialRecord | None = None
    best_loss = math.inf
    for t in records:
        if t.state is not TrialState.COMPLETE:
            continue
        v = num(t.metrics.get(primary.name))
        if v is None or (metrics.constraints and not metrics.feasible(t.metrics)):
            continue
        loss = primary.loss(v)
        if loss < best_loss:
            best, best_loss = t, loss
    return best


def metric_rows(metrics: MetricSet) -> list[dict[str, Any]]:
    return [{"name": m.name, "spec": m.spec(), "role": m.role} for m in metrics.values()]


def space_rows(space: Space) -> list[dict[str, Any]]:
    return [
        {"name": name, "family": dist.family or "", "kind": dist.kind,
         "range": describe(dist)}
        for name, dist in space.items()
    ]


def describe(dist: Distribution) -> str:
    """``float [0.0001, 0.1] log``, ``int [1, 8] step 2``, ``categorical: relu, tanh``."""
    if isinstance(dist, CategoricalDistribution):
        return "one of: " + ", ".join(label(c) for c in dist.choices)
    out = f"{dist.kind} [{label(dist.low)}, {label(dist.high)}]"
    if dist.log:
        out += " log"
    if dist.step is not None and not (dist.kind == "int" and dist.step == 1):
        out += f" step {label(dist.step)}"
    return out


def attr_rows(attrs: Mapping[str, Any], keys: Iterable[str]) -> list[dict[str, str]]:
    rows = []
    for key in keys:
        if key in attrs:
            rows.extend(_flatten(attrs[key], key))
    return rows


def user_rows(attrs: Mapping[str, Any]) -> list[dict[str, str]]:
    """The study's user attributes (notes, tags ...) as key/value text rows."""
    rows = []
    for key in sorted(k for k in attrs if k.startswith(USER_PREFIX)):
        rows.extend(_flatten(attrs[key], key[len(USER_PREFIX):]))
    return rows


def _flatten(value: Any, prefix: str, limit: int = _MAX_ROWS_PER_SECTION) -> list[dict[str, str]]:
    out: list[dict[str, str]] = []

    def walk(v: Any, path: str) -> None:
        if len(out) >= limit:
            return
        if isinstance(v, Mapping) and v:
            for k, sub in v.items():
                walk(sub, f"{path}.{k}" if path else str(k))
        elif isinstance(v, list) and v and not _short_list(v):
            for i, sub in enumerate(v):
                walk(sub, f"{path}[{i}]")
        else:
            out.append({"key": path, "value": label(v)})

    if isinstance(value, Mapping) and not value:
        return out  # nothing recorded: no rows
    walk(value, prefix)
    if len(out) >= limit:
        out.append({"key": "…", "value": f"(more than {limit} entries: see dialed export)"})
    return out


def _short_list(v: list[Any]) -> bool:
    return len(v) <= 16 and all(not isinstance(x, (Mapping, list)) for x in v)


# -- the workflow's records ----------------------------------------------------------------------
def workflow_sections(attrs: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One section per ``workflow:*`` attribute, in the order of the procedure.

    Each section is ``{"key", "title", "rows": [{"key", "value"}]}``: the attribute flattened
    to text rows, so that any record the workflow stores (now or later) is shown, field by field.
    """
    keys = [k for k in attrs if k.startswith(WORKFLOW_PREFIX)
            and not k.startswith(QUEUED_PREFIX)]  # the workflow's own bookkeeping
    sections = []
    for key in sorted(keys, key=_workflow_order):
        rest = key[len(WORKFLOW_PREFIX):]
        sections.append({"key": key, "title": _workflow_title(rest),
                         "rows": _flatten(attrs[key], "")})
    if TRADEOFF_KEY in attrs:
        sections.append({"key": TRADEOFF_KEY, "title": "trade-off: the recommended trial",
                         "rows": _flatten(attrs[TRADEOFF_KEY], "")})
    return sections


def registry_history(attrs: Mapping[str, Any], study: str | None,
                     diff: Callable[[Mapping[str, Any], Mapping[str, Any]],
                                    Mapping[str, tuple[Any, Any]]]) -> list[dict[str, Any]]:
    """The registry's versions (``registry:NAME:000001`` ...), each with what it changed.

    ``attrs`` are the registry study's attributes; with ``study``, only the names with a
    version promoted from that study are listed (all their versions, for the diffs).
    """
    versions: dict[str, list[tuple[int, Mapping[str, Any]]]] = {}
    for key, value in attrs.items():
        parts = key.split(":")
        if (len(parts) == 3 and parts[0] == "registry" and parts[2].isdigit()
                and isinstance(value, Mapping)):
            versions.setdefault(parts[1], []).append((int(parts[2]), value))
    out = []
    for name in sorted(versions):
        history = sorted(versions[name], key=lambda v: v[0])
        if study is not None and not any(v.get("study") == study for _, v in history):
            continue
        previous: Mapping[str, Any] = {}
        for number, v in history:
            raw = v.get("params")
            params: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
            changes = [{"param": k, "old": label(a) if k in previous else "–", "new": label(b)}
                       for k, (a, b) in diff(previous, params).items()]
            origin = v.get("source") or ""
            if v.get("study") is not None:
                origin = f"{v.get('study')} trial {v.get('trial')} ({origin})"
            if v.get("rollback_to") is not None:
                origin = f"rollback to version {v.get('rollback_to')}"
            test = v.get("test") if isinstance(v.get("test"), Mapping) else None
            out.append({
                "name": name, "version": number, "kind": str(v.get("kind") or ""),
                "created_at": v.get("created_at"), "origin": origin,
                "metrics": ", ".join(f"{k} {label(x)}" for k, x in
                                     (v.get("metrics") or {}).items()),
                "test": "" if test is None else ", ".join(
                    f"{k} gap {label(x)}" for k, x in (test.get("gap") or {}).items()),
                "note": str(v.get("note") or ""),
                "changes": changes,
            })
            previous = params
    return out


_WORKFLOW_STEPS = ("plan", "data", "baseline", "stage", "incumbent", "confirm", "verify",
                   "retune")


def _workflow_order(key: str) -> tuple[int, int, str]:
    rest = key[len(WORKFLOW_PREFIX):]
    head, _, tail = rest.partition(":")
    step = _WORKFLOW_STEPS.index(head) if head in _WORKFLOW_STEPS else len(_WORKFLOW_STEPS)
    return step, int(tail) if tail.isdigit() else -1, rest


def _workflow_title(rest: str) -> str:
    head, _, tail = rest.partition(":")
    titles = {"plan": "plan", "data": "data fingerprint", "baseline": "baseline",
              "stage": "stage", "incumbent": "incumbent (the configuration carried forward)",
              "confirm": "confirm round", "verify": "verification on the test data",
              "retune": "re-tune"}
    title = titles.get(head, head)
    return f"{title} {tail}" if tail else title


# -- the trial table -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Column:
    """One column of the trial table: ``key`` as sent in ``?sort=``, its heading and kind."""

    key: str
    label: str
    kind: str  # number, state, metric, param, duration, worker, time

    def to_dict(self) -> dict[str, str]:
        return {"key": self.key, "label": self.label, "kind": self.kind}


def columns(metrics: MetricSet, space: Space, records: Sequence[TrialRecord]) -> list[Column]:
    """number, state, every metric (declared, then others seen), every parameter, duration,
    worker, start time."""
    names = list(metrics)
    seen = {n for t in records[-1000:] for n in t.metrics}
    names += sorted(seen - set(names))
    params = list(space)
    extra = {n for t in records[-1000:] for n in t.params} - set(params)
    params += sorted(extra)
    return [
        Column("number", "#", "number"),
        Column("state", "state", "state"),
        *(Column(f"m:{n}", n, "metric") for n in names),
        *(Column(f"p:{n}", n, "param") for n in params),
        Column("duration", "duration", "duration"),
        Column("worker", "worker", "worker"),
        Column("started", "started", "time"),
    ]


def cell(t: TrialRecord, col: Column, now: float) -> Any:
    if col.kind == "number":
        return t.number
    if col.kind == "state":
        return t.state.value
    if col.kind == "metric":
        return num(t.metrics.get(col.key[2:]))
    if col.kind == "param":
        v = t.params.get(col.key[2:])
        return num(v) if isinstance(v, float) else v
    if col.kind == "duration":
        return duration(t, now)
    if col.kind == "worker":
        return t.worker
    return t.started_at


def duration(t: TrialRecord, now: float) -> float | None:
    if t.started_at is None:
        return None
    return max(0.0, (t.finished_at or now) - t.started_at)


def row(t: TrialRecord, cols: Sequence[Column], now: float) -> list[Any]:
    return [cell(t, c, now) for c in cols]


@dataclass(frozen=True)
class Filter:
    """``column op value``: ops ``= != < <= > >=`` and ``~`` (contains, any case)."""

    column: Column
    op: str
    value: str

    def test(self, t: TrialRecord, now: float) -> bool:
        have = cell(t, self.column, now)
        if have is None:
            return self.op == "!="
        if self.op == "~":
            return self.value.lower() in label(have).lower()
        want = _number(self.value)
        if isinstance(have, (int, float)) and not isinstance(have, bool) and want is not None:
            a: Any = float(have)
            b: Any = want
        else:
            a, b = label(have), self.value
        ops: dict[str, Callable[[Any, Any], bool]] = {
            "=": lambda x, y: bool(x == y), "!=": lambda x, y: bool(x != y),
            "<": lambda x, y: bool(x < y), "<=": lambda x, y: bool(x <= y),
            ">": lambda x, y: bool(x > y), ">=": lambda x, y: bool(x >= y),
        }
        return ops[self.op](a, b)


_CLAUSE = re.compile(r"^\s*(.+?)\s*(<=|>=|!=|==|=|<|>|~)\s*(.*?)\s*$")


def parse_filter(query: str, cols: Sequence[Column]) -> list[Filter]:
    """``lr < 0.01, optimizer = adam, loss <= 0.3``: clauses separated by commas or ``and``.

    A name is a column heading (``#`` or ``number``, ``state``, a metric, a parameter,
    ``duration``, ``worker``); ConfigError names what is wrong.
    """
    by_name: dict[str, Column] = {}
    for c in cols:
        by_name.setdefault(c.label, c)
        by_name.setdefault(c.key, c)
    by_name["number"] = cols[0]
    out = []
    for clause in re.split(r",|\s+and\s+", query):
        if not clause.strip():
            continue
        m = _CLAUSE.match(clause)
        if m is None:
            raise ConfigError(
                f"cannot read the filter {clause.strip()!r}: write name, an operator "
                "(=, !=, <, <=, >, >=, ~ for contains) and a value, e.g. 'lr < 0.01'"
            )
        name, op, value = m.group(1), m.group(2), m.group(3).strip("'\"")
        if name not in by_name:
            known = ", ".join(c.label for c in cols if c.kind not in ("time",))
            raise ConfigError(f"no column named {name!r} in the filter (columns: {known})")
        out.append(Filter(by_name[name], "=" if op == "==" else op, value))
    return out


def _number(text: str) -> float | None:
    try:
        v = float(text)
    except ValueError:
        return None
    return v if math.isfinite(v) else None


def table_rows(records: Sequence[TrialRecord], cols: Sequence[Column], *, sort: str,
               descending: bool, state: str | None, filters: Sequence[Filter],
               now: float) -> list[TrialRecord]:
    """The records the table shows, in order (all pages)."""
    col = next((c for c in cols if c.key == sort), None)
    if col is None:
        raise ConfigError(f"cannot sort by {sort!r}: sort by one of "
                          f"{', '.join(c.key for c in cols)}")
    if state is not None and state not in STATES:
        raise ConfigError(f"state must be one of {', '.join(STATES)}, got {state!r}")
    picked = [
        t for t in records
        if (state is None or t.state.value == state) and all(f.test(t, now) for f in filters)
    ]
    if col.kind == "number":
        return picked[::-1] if descending else picked
    values = {t.number: cell(t, col, now) for t in picked}
    present = [t for t in picked if values[t.number] is not None]
    missing = [t for t in picked if values[t.number] is None]  # last, whatever the order
    if all(_is_number(values[t.number]) for t in present):
        present.sort(key=lambda t: (float(values[t.number]), t.number), reverse=descending)
    else:
        present.sort(key=lambda t: (label(values[t.number]), t.number), reverse=descending)
    return present + missing


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


# -- one trial -----------------------------------------------------------------------------------
def trial_detail(t: TrialRecord, metrics: MetricSet, space: Space, now: float) -> dict[str, Any]:
    roles = {m.name: _role(m) for m in metrics.values()}
    pruned = None
    if t.state is TrialState.PRUNED:
        pruned = {"step": t.system_attrs.get("pruned_at", t.last_step),
                  "reason": label(t.system_attrs.get("prune_reason") or "")}
    return {
        "number": t.number,
        "state": t.state.value,
        "seed": t.seed,
        "worker": t.worker,
        "created_at": t.created_at,
        "started_at": t.started_at,
        "finished_at": t.finished_at,
        "duration": duration(t, now),
        "params": [
            {"name": k, "value": v, "text": label(v),
             "family": (space[k].family or "") if k in space else "",
             "range": describe(space[k]) if k in space else ""}
            for k, v in t.params.items()
        ],
        "metrics": [{"name": k, "value": num(v), "role": roles.get(k, "tracked")}
                    for k, v in t.metrics.items()],
        "costs": [{"key": k, "value": label(v)} for k, v in (
            ("wall seconds", t.wall_seconds), ("CPU seconds", t.cpu_seconds),
            ("peak memory (MB)", t.peak_memory_mb)) if v is not None],
        "n_steps": len(t.intermediate),
        "environment": _flatten(dict(t.environment), ""),
        "user_attrs": _flatten(dict(t.user_attrs), ""),
        "system_attrs": _flatten(dict(t.system_attrs), ""),
        "error": t.error,
        "pruned": pruned,
        "artifacts": artifacts(t),
    }


def artifacts(t: TrialRecord) -> list[dict[str, Any]]:
    """The trial's stored files and checkpoint (``trial.save_artifact`` /
    ``save_checkpoint``), by name, each with its size or step."""
    files = t.system_attrs.get("artifacts")
    out: list[dict[str, Any]] = []
    if isinstance(files, dict):
        for name, size in sorted(files.items()):
            out.append({"name": str(name), "text": f"{size} bytes" if _is_number(size) else ""})
    ck = t.system_attrs.get("checkpoint")
    if isinstance(ck, dict) and ck.get("trial") == t.number:
        step = ck.get("step")
        out.append({"name": "checkpoint",
                    "text": "saved" if step is None else f"saved at step {step}"})
    return out


def _role(m: Metric) -> str:
    if m.role == "objective":
        return f"objective ({m.direction})"
    return "constraint " + m.spec() if m.role == "constraint" else "tracked"
