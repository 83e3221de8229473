"""The dashboard without HTTP: what each page and API route answers, cached per study version.

A study's trials live in a :class:`~dialed.dashboard._source.LiveTrials`; its ``version``
changes only when a trial does. Everything derived from the trials is cached per
``(study, version)``: the counts and the best trial, the sorted and filtered table (a few
orderings), and the plots. The plots of a big study take a moment to build, so while a study
runs they are rebuilt at most every ``max(PLOT_INTERVAL, 3 × the last build's time)`` seconds
and the previous ones are served (marked with their own version) in between. Parameter
importance is refitted when the number of complete trials has grown by 5 % (or 30 seconds
after any change), on a sample of at most ``IMPORTANCE_TRIALS`` trials.

The first read of a big study takes seconds (the storage decodes every record). The overview,
which a study page asks for first, does not wait for it longer than ``QUICK_WAIT``: it answers
from the storage's aggregates (counts, last activity, the indexed best trial) while the read
goes on in a background thread; the plots and the table wait for it.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from dialed.dashboard import _views as views
from dialed.dashboard import figures as fig
from dialed.dashboard._source import LiveTrials, ReadOnlyStorage
from dialed.errors import ConfigError, DialedError, StorageError
from dialed.history import pareto_front
from dialed.metrics import MetricSet
from dialed.space import Space
from dialed.trial import TrialRecord, TrialState

__all__ = ["Dashboard", "NotFound"]

PLOT_INTERVAL = 2.0
#: How long the overview waits for a study's first read before answering from aggregates.
QUICK_WAIT = 0.5
IMPORTANCE_TRIALS = 1000
IMPORTANCE_TREES = 32
PER_PAGE = 50
MAX_PER_PAGE = 500
_TABLE_CACHE = 8
#: How many trials a report embeds (rows and details).
REPORT_ROWS = 2000


class NotFound(DialedError):
    """No such study or trial (the HTTP layer answers 404)."""


@dataclass
class _Importance:
    n_complete: int
    at: float
    figure: dict[str, Any] | None
    pair: list[str]
    surface: Any  # np.ndarray of the pair's marginal, or None


@dataclass
class _Study:
    study_id: int
    name: str
    metrics: MetricSet
    created_at: float
    trials: LiveTrials
    lock: threading.Lock = field(default_factory=threading.Lock)
    space: Space = field(default_factory=Space)
    space_version: int = -1
    summary: tuple[int, dict[str, Any]] | None = None
    tables: OrderedDict[tuple[Any, ...], list[TrialRecord]] = field(default_factory=OrderedDict)
    plots: dict[str, Any] | None = None
    plots_at: float = 0.0
    plots_seconds: float = 0.0
    importance: _Importance | None = None
    loading: bool = False
    workflow_text: tuple[int, str | None] | None = None
    loaded: threading.Event = field(default_factory=threading.Event)


class Dashboard:
    """Answers for the pages and the JSON API, read from ``storage`` (read-only)."""

    def __init__(self, storage: ReadOnlyStorage, *, min_interval: float = 0.5,
                 importance: bool = True) -> None:
        self.storage = storage
        self._min_interval = min_interval
        self._importance = importance
        self._studies: dict[str, _Study] = {}
        self._lock = threading.Lock()
        if importance:  # importing scikit-learn takes a second: not on a page's request
            threading.Thread(target=_import_sklearn, daemon=True,
                             name="dialed-dashboard-import").start()

    # -- the studies list ------------------------------------------------------------------
    def studies(self) -> dict[str, Any]:
        rows = [views.study_row(s) for s in self.storage.list_studies()]
        return {"storage": self.storage.shown_url, "studies": rows, "now": time.time()}

    # -- one study ---------------------------------------------------------------------------
    def _study(self, name: str, *, wait: bool = True) -> tuple[_Study, dict[str, Any]]:
        """The study's cache (refreshed) and its attributes; NotFound if there is none.

        With ``wait=False`` a study whose trials were never read is not read now: its first
        read starts in the background (see :meth:`overview`) and ``st.trials.version`` is 0.
        """
        try:
            record = self.storage.get_study(name)
        except StorageError as exc:
            raise NotFound(str(exc)) from None
        with self._lock:
            st = self._studies.get(name)
            if st is None or st.study_id != record.study_id:  # new, or deleted and re-created
                st = _Study(record.study_id, record.name, MetricSet(record.metrics),
                            record.created_at,
                            LiveTrials(self.storage, record.study_id,
                                       min_interval=self._min_interval))
                self._studies[name] = st
            first = st.trials.version == 0
            if first and not wait and not st.loading:
                st.loading = True
                threading.Thread(target=self._load, args=(name, st), daemon=True,
                                 name=f"dialed-dashboard-load-{st.study_id}").start()
        if first and not wait and not st.loaded.wait(QUICK_WAIT):
            if st.space_version < 0:
                st.space = Space(self.storage.get_space(st.study_id))
            return st, dict(record.attrs)
        try:
            version = st.trials.refresh()
        except StorageError as exc:
            with self._lock:
                self._studies.pop(name, None)
            raise NotFound(str(exc)) from None
        if st.space_version != version:
            st.space = Space(self.storage.get_space(st.study_id))
            st.space_version = version
        return st, dict(record.attrs)

    def _load(self, name: str, st: _Study) -> None:
        """The first read of a study's trials, in the background."""
        try:
            st.trials.refresh(force=True)
        except StorageError:
            with self._lock:
                if self._studies.get(name) is st:
                    self._studies.pop(name, None)
        finally:
            st.loading = False
            st.loaded.set()

    def _quick_summary(self, st: _Study) -> dict[str, Any]:
        """The summary from the storage's own aggregates, while the trials are being read."""
        summary = next((s for s in self.storage.list_studies() if s.study_id == st.study_id),
                       None)
        counts = {k: int((summary.counts if summary else {}).get(k, 0)) for k in views.STATES}
        best = None
        primary = st.metrics.primary
        if not st.metrics.constraints and not st.metrics.multi_objective:
            rec = self.storage.best_trial(st.study_id, primary.name, str(primary.direction))
            if rec is not None:
                best = {"number": rec.number,
                        "metrics": {k: fig.num(v) for k, v in rec.metrics.items()},
                        "params": dict(rec.params)}
        return {"version": 0, "loading": True, "counts": counts,
                "n_trials": sum(counts.values()),
                "last_activity": None if summary is None else summary.last_activity,
                "best": best}

    def _summary(self, st: _Study) -> dict[str, Any]:
        """Counts, best and last activity at the study's current version (cached)."""
        version = st.trials.version
        cached = st.summary
        if cached is not None and cached[0] == version:
            return cached[1]
        records = st.trials.records
        best = views.best_trial(records, st.metrics)
        out = {
            "version": version,
            "counts": views.counts(records),
            "n_trials": len(records),
            "last_activity": views.last_activity(records),
            "best": None if best is None else {
                "number": best.number,
                "metrics": {k: fig.num(v) for k, v in best.metrics.items()},
                "params": dict(best.params),
            },
        }
        if st.metrics.multi_objective:
            out["front_size"] = _front_size(records, st.metrics)
        st.summary = (version, out)
        return out

    def overview(self, name: str) -> dict[str, Any]:
        """The study page's header and facts. It never waits for a big study's first read:
        until its trials are in memory the numbers come from the storage's aggregates
        (``"loading": true``) and the read goes on in the background."""
        st, attrs = self._study(name, wait=False)
        summary = self._quick_summary(st) if st.trials.version == 0 else self._summary(st)
        return {
            "name": st.name,
            "storage": self.storage.shown_url,
            "created_at": st.created_at,
            "metrics": views.metric_rows(st.metrics),
            "primary": st.metrics.primary.name,
            "multi_objective": st.metrics.multi_objective,
            "space": views.space_rows(st.space),
            "notes": views.user_rows(attrs),
            "settings": views.attr_rows(attrs, views.SETTINGS_KEYS),
            "workflow": views.workflow_sections(attrs),
            "workflow_summary": self._workflow_summary(st, attrs),
            "registry": self._registry(st),
            "load_seconds": st.trials.load_seconds,
            **summary,
        }

    def _workflow_summary(self, st: _Study, attrs: Mapping[str, Any]) -> str | None:
        """What ``dialed summary`` prints (baseline, best and targets, stages with attributed
        gains, confirm intervals, the locked test's gap), for a study the workflow ran.

        Computed through the read-only storage, once per version; None when the study has
        no workflow records or the summary cannot be made without writing."""
        if not any(k.startswith(views.WORKFLOW_PREFIX) for k in attrs):
            return None
        version = st.trials.version
        if st.workflow_text is not None and st.workflow_text[0] == version:
            return st.workflow_text[1]
        text: str | None = None
        try:
            from dialed.study import load_study
            from dialed.workflow import summarize

            text = summarize(load_study(st.name, storage=self.storage)).to_text()
        except Exception:  # the workflow's own error, or a write refused: show the records only
            text = None
        st.workflow_text = (version, text)
        return text

    def _registry(self, st: _Study) -> list[dict[str, Any]]:
        """The registry's versions of the configurations promoted from this study (all of
        them on the registry's own page), each with the parameters it changed."""
        try:
            from dialed.workflow import REGISTRY_STUDY, diff_params
        except ImportError:
            return []
        try:
            record = self.storage.get_study(REGISTRY_STUDY)
        except StorageError:
            return []
        mine = None if st.name == REGISTRY_STUDY else st.name
        return views.registry_history(record.attrs, mine, diff_params)

    def since(self, name: str, version: int) -> dict[str, Any]:
        """What changed after ``version``: the summary and the changed trials' table rows
        (``changed`` is None when ``version`` is too old to tell: reload everything)."""
        st, _ = self._study(name)
        changed = st.trials.changes_since(version)
        out = dict(self._summary(st))
        if changed is None:
            out["changed"] = None
        else:
            cols = views.columns(st.metrics, st.space, st.trials.records)
            now = time.time()
            out["changed"] = [views.row(t, cols, now) for t in changed[-MAX_PER_PAGE:]]
            out["n_changed"] = len(changed)
        return out

    # -- the trial table ---------------------------------------------------------------------
    def table(self, name: str, *, sort: str = "number", order: str = "desc",
              state: str | None = None, query: str = "", page: int = 0,
              per_page: int = PER_PAGE) -> dict[str, Any]:
        if order not in ("asc", "desc"):
            raise ConfigError(f"order must be asc or desc, got {order!r}")
        if not 1 <= per_page <= MAX_PER_PAGE:
            raise ConfigError(f"per_page must be between 1 and {MAX_PER_PAGE}, got {per_page}")
        if page < 0:
            raise ConfigError(f"page must be >= 0, got {page}")
        st, _ = self._study(name)
        records = st.trials.records
        cols = views.columns(st.metrics, st.space, records)
        filters = views.parse_filter(query, cols)
        key = (st.trials.version, sort, order, state or "", query.strip())
        now = time.time()
        with st.lock:
            rows = st.tables.get(key)
            if rows is None:
                rows = views.table_rows(records, cols, sort=sort, descending=order == "desc",
                                        state=state or None, filters=filters, now=now)
                st.tables[key] = rows
                while len(st.tables) > _TABLE_CACHE:
                    st.tables.popitem(last=False)
            else:
                st.tables.move_to_end(key)
        pages = max(1, math.ceil(len(rows) / per_page))
        shown = rows[page * per_page:(page + 1) * per_page]
        return {
            "version": st.trials.version,
            "columns": [c.to_dict() for c in cols],
            "rows": [views.row(t, cols, now) for t in shown],
            "total": len(rows),
            "n_trials": len(records),
            "page": page,
            "pages": pages,
            "per_page": per_page,
            "sort": sort,
            "order": order,
        }

    # -- one trial ---------------------------------------------------------------------------
    def trial(self, name: str, number: int) -> dict[str, Any]:
        st, attrs = self._study(name)
        t = st.trials.get(number)
        if t is None:
            raise NotFound(f"study {name!r} has no trial number {number} "
                           f"(it has {len(st.trials.records)} trials)")
        out = views.trial_detail(t, st.metrics, st.space, time.time())
        out["study"] = st.name
        out["curve"] = fig.trial_curve(t, _step_name(attrs))
        out["version"] = st.trials.version
        out["n_trials"] = len(st.trials.records)
        return out

    # -- everything at once (the report) -------------------------------------------------------
    def snapshot_rows(self, name: str, limit: int = REPORT_ROWS) -> dict[str, Any]:
        """The table rows and trial details a report embeds: every trial when there are at
        most ``limit``, else the ``limit // 2`` best (by the primary objective) and the
        latest others."""
        st, attrs = self._study(name)
        records = st.trials.records
        cols = views.columns(st.metrics, st.space, records)
        chosen = records
        note = ""
        if len(records) > limit:
            primary = st.metrics.primary
            ranked = views.table_rows(records, cols, sort=f"m:{primary.name}",
                                      descending=primary.direction == "maximize", state=None,
                                      filters=[], now=time.time())
            keep = {t.number: t for t in ranked[:limit // 2]}
            for t in reversed(records):
                if len(keep) >= limit:
                    break
                keep.setdefault(t.number, t)
            chosen = [keep[n] for n in sorted(keep)]
            note = (f"{len(chosen):,} of {len(records):,} trials: the {limit // 2:,} best by "
                    f"{primary.name} and the latest others (the dashboard shows them all)")
        now = time.time()
        step_name = _step_name(attrs)
        details = {}
        for t in chosen:
            d = views.trial_detail(t, st.metrics, st.space, now)
            curve = fig.trial_curve(t, step_name) if t.intermediate else None
            if curve is not None and len(t.intermediate) > 100:
                curve = fig.trial_curve(_thinned(t, 100), step_name)
            d["curve"] = curve
            details[str(t.number)] = d
        return {
            "columns": [c.to_dict() for c in cols],
            "rows": [views.row(t, cols, now) for t in reversed(chosen)],
            "details": details,
            "total": len(records),
            "note": note,
        }

    # -- the plots ---------------------------------------------------------------------------
    def plots(self, name: str) -> dict[str, Any]:
        st, attrs = self._study(name)
        with st.lock:
            version = st.trials.version
            cached = st.plots
            if cached is not None and cached["version"] == version:
                return cached
            wait = max(PLOT_INTERVAL, 3 * st.plots_seconds)
            if cached is not None and time.monotonic() - st.plots_at < wait:
                return {**cached, "stale": True}
            start = time.monotonic()
            out = self._build_plots(st, attrs)
            st.plots_at = time.monotonic()
            st.plots_seconds = st.plots_at - start
            out["seconds"] = round(st.plots_seconds, 3)
            st.plots = out
            return out

    def _build_plots(self, st: _Study, attrs: Mapping[str, Any]) -> dict[str, Any]:
        records = st.trials.records
        metrics, space = st.metrics, st.space
        primary = metrics.primary
        figures: dict[str, dict[str, Any] | None] = {}
        titles: dict[str, str] = {}
        values = {m.name: fig.Values(records, m, metrics) for m in metrics.objectives}
        for i, m in enumerate(metrics.objectives):
            key = "history" if i == 0 else f"history:{m.name}"
            figures[key] = fig.history(values[m.name])
            several = metrics.multi_objective
            titles[key] = "optimization history" + (f": {m.name}" if several else "")
        vals = values[primary.name]
        figures["pareto"] = fig.pareto(records, metrics)
        titles["pareto"] = "Pareto front"
        imp = self._importance_for(st, records) if self._importance else None
        figures["importance"] = None if imp is None else imp.figure
        titles["importance"] = f"parameter importance for {primary.name}"
        pair = fig.contour_pair(None if imp is None else imp.pair, space)
        figures["contour"] = fig.contour(vals, space, pair,
                                         None if imp is None else imp.surface)
        titles["contour"] = "contour of the two most important parameters"
        figures["intermediate"] = fig.intermediate(records, primary, _step_name(attrs))
        titles["intermediate"] = "intermediate values (pruned runs marked)"
        figures["parallel"] = fig.parallel(vals, space)
        titles["parallel"] = "parallel coordinates"
        figures["slices"] = fig.slices(vals, space)
        titles["slices"] = f"slices: {primary.name} against each parameter"
        figures["timeline"] = fig.timeline(records, time.time())
        titles["timeline"] = "timeline of trials by worker"
        fit = attrs.get("ladder:fit")
        if isinstance(fit, Mapping):  # a ladder's study: each optimum against scale
            for key, figure in fig.scaling_figures(fit).items():
                figures[key] = figure
                titles[key] = f"optimum of {key.split(':', 1)[1]} against {fit.get('scale')}"
        order = [k for k, v in figures.items() if v is not None]
        empty = [titles[k] for k, v in figures.items() if v is None and k != "pareto"
                 and (records or not isinstance(fit, Mapping))]  # a ladder's study: no trials
        return {
            "version": st.trials.version,
            "order": order,
            "titles": {k: titles[k] for k in order},
            "figures": {k: figures[k] for k in order},
            "empty": empty,
            "importance_note": None if imp is not None else self._importance_missing(st),
        }

    def _importance_missing(self, st: _Study) -> str:
        if not self._importance:
            return "parameter importance is off"
        return "parameter importance needs scikit-learn and at least 4 complete trials"

    def _importance_for(self, st: _Study, records: list[TrialRecord]) -> _Importance | None:
        n = sum(1 for t in records if t.state is TrialState.COMPLETE)
        cached = st.importance
        now = time.monotonic()
        if cached is not None and (
            n == cached.n_complete
            or (n - cached.n_complete < 0.05 * cached.n_complete and now - cached.at < 30.0)
        ):
            return cached
        found = fig.importance(records, st.space, st.metrics.primary, n_trees=IMPORTANCE_TREES,
                               max_trials=IMPORTANCE_TRIALS, seed=0)
        if found is None:
            st.importance = None
            return None
        st.importance = _Importance(n, now, found.figure, found.pair, found.surface)
        return st.importance


def _import_sklearn() -> None:
    with contextlib.suppress(ImportError):  # without it importance is left out, with a note
        import sklearn.ensemble  # noqa: F401


def _thinned(t: TrialRecord, limit: int) -> TrialRecord:
    """The trial with at most ``limit`` of its intermediate values (evenly spaced steps)."""
    steps = sorted(t.intermediate)
    stride = max(1, math.ceil(len(steps) / limit))
    kept = {s: t.intermediate[s] for s in steps[::stride]}
    kept[steps[-1]] = t.intermediate[steps[-1]]
    pruned_at = t.system_attrs.get("pruned_at")
    if isinstance(pruned_at, int) and pruned_at in t.intermediate:
        kept[pruned_at] = t.intermediate[pruned_at]
    return replace(t, intermediate=kept)


def _step_name(attrs: Mapping[str, Any]) -> str | None:
    resource = attrs.get("resource")
    if isinstance(resource, Mapping) and isinstance(resource.get("name"), str):
        return str(resource["name"])
    return None


def _front_size(records: list[TrialRecord], metrics: MetricSet) -> int:
    return len(pareto_front(records, metrics))
