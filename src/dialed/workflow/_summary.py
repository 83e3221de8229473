"""The summary of a study's workflow: baseline, best so far, targets, stages, confirm, verify.

:func:`summarize` reads everything from the storage; :meth:`Summary.to_text` renders it as
plain text (the command line and the example print it), :meth:`Summary.to_dict` as JSON.
A study run without the workflow gets a summary too: the best trial, and a note that its
gains cannot be attributed to any family.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from dialed._util import preformatted
from dialed.analysis import Attribution, Interval, StageInput, attribute
from dialed.errors import ConfigError, NoTrialsError
from dialed.study import Study
from dialed.trial import TrialState
from dialed.workflow._evaluate import ROLE
from dialed.workflow._records import ConfirmResult, Evaluation, StageResult, VerifyResult
from dialed.workflow._workflow import DATA_KEY, Workflow

__all__ = ["Summary", "TargetRow", "summarize"]


@dataclass(frozen=True)
class TargetRow:
    target: str
    metric: str
    baseline: float | None
    best: float | None
    distance: float | None  # 0 when met; None when the best reports no such metric
    met: bool | None


@dataclass(frozen=True)
class Summary:
    """Everything the workflow stored about one study, ready to print."""

    study: str
    metric: str
    direction: str
    counts: dict[str, int]
    repeats: int
    baseline: Evaluation | None
    best: dict[str, Any] | None  # {"label", "params", "metrics", "interval", "trial"}
    targets: list[TargetRow]
    stages: list[StageResult]
    attribution: Attribution | None
    unstaged_note: str | None
    confirm: ConfirmResult | None
    verifications: list[VerifyResult]
    data: dict[str, Any] | None
    confidence: float = 0.95
    notes: list[str] = field(default_factory=list)

    # -- JSON ------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "study": self.study,
            "metric": {"name": self.metric, "direction": self.direction},
            "trials": self.counts,
            "repeats": self.repeats,
            "baseline": None if self.baseline is None else self.baseline.to_dict(),
            "best": self.best,
            "targets": [t.__dict__ for t in self.targets],
            "stages": [_stage_dict(s) for s in self.stages],
            "total_gain": (None if self.attribution is None or self.attribution.total is None
                           else self.attribution.total.to_dict()),
            "unstaged": self.unstaged_note,
            "confirm": None if self.confirm is None else self.confirm.to_dict(),
            "verify": [v.to_dict() for v in self.verifications],
            "data": None if self.data is None else {
                k: self.data.get(k) for k in ("exact", "rows", "n_rows", "n_features", "source")
            },
            "notes": self.notes,
        }

    # -- text ------------------------------------------------------------------------------
    def to_text(self) -> str:
        m = self.metric
        pct = f"{self.confidence:.0%}"
        seeds = (f" · {self.repeats} seeds per evaluation"
                 if self.baseline is not None or self.stages or self.confirm is not None else "")
        lines = [f"study {self.study} · {m} ({self.direction}) · {_counts(self.counts)}{seeds}",
                 ""]
        if self.baseline is not None:
            lines.append(f"baseline     {_evaluation_line(self.baseline, m, self.confidence)}")
            lines.append(f"             {_params(self.baseline.params)}")
        else:
            lines.append("baseline     none named (gains cannot be measured against one)")
        if self.best is not None:
            lines.append(f"best so far  {self.best['text']}  [{self.best['label']}]")
            lines.append(f"             {_params(self.best['params'])}")
        else:
            lines.append("best so far  no complete trial yet")
        if self.targets:
            lines += ["", "targets"]
            rows = [[t.target, _num(t.baseline), _num(t.best),
                     "-" if t.met is None else ("met" if t.met else f"{_num(t.distance)} to go")]
                    for t in self.targets]
            lines += _table(["target", "baseline", "best", "distance"], rows, "lrrl")
        lines.append("")
        if self.stages:
            lines.append(f"stages (gain: improvement of the mean {m} over the previous "
                         f"incumbent, {pct} interval, {self.repeats} seeds each)")
            rows = []
            for s in self.stages:
                inc = s.incumbent.interval(m, self.confidence) if s.incumbent.n >= 2 else None
                rows.append([
                    str(s.index), s.name, "all (unstaged)" if s.families is None
                    else ", ".join(s.families), str(s.n_search),
                    _interval_short(inc) if inc is not None else _num(s.incumbent.mean(m)),
                    _gain(s.gain),
                    "-" if s.gain is None else ("yes" if s.adopted else "no"),
                ])
            lines += _table(["#", "stage", "families", "trials", f"incumbent {m} (± CI)",
                             f"gain ({pct} CI)", "adopted"], rows, "rllrrrl")
            att = self.attribution
            if att is not None and att.total is not None:
                lines.append(f"  total gain over the baseline {_gain(att.total)}; credited to "
                             f"stages {_signed(att.credited)}")
            for s in self.stages:
                if s.note:
                    lines.append(f"  stage {s.index}: {s.note}")
        if self.unstaged_note:
            lines.append(self.unstaged_note)
        if self.confirm is not None:
            c = self.confirm
            lines += ["", f"confirm round {c.round}: top {len(c.candidates)} configurations × "
                          f"{c.repeats} fresh seeds, ranked by confirmed mean"]
            rows = []
            for i, cand in enumerate(c.candidates, start=1):
                iv = cand.evaluation.interval(m, self.confidence)
                vs = cand.vs_baseline
                rows.append([
                    f"{i}{'*' if i == 1 else ''}", _num_or_dash(cand.source_trial),
                    f"{_num(iv.mean)} ± {_num(iv.std)}", _bracket(iv.low, iv.high),
                    "-" if vs is None else f"{_signed(vs.value)} (p={_p(vs.p_value)})",
                ])
            lines += _table(["rank", "trial", f"{m} mean ± sd", f"{pct} CI",
                             "gain vs baseline"], rows, "rrrrl")
            state = "UNSTABLE" if c.unstable else "stable"
            lines.append(f"  recommended: rank 1 ({state}: {c.reason})")
            lines.append(f"  {_params(c.recommended.evaluation.params)}")
        if self.verifications:
            lines += ["", f"locked test ({len(self.verifications)} evaluation"
                          f"{'s' if len(self.verifications) > 1 else ''} of the test data)"]
            for v in self.verifications:
                lines += _verify_lines(v, m)
        if self.data is not None:
            lines += ["", f"data         {self.data.get('n_rows')} rows × "
                          f"{self.data.get('n_features')} features, content "
                          f"{str(self.data.get('exact', ''))[:12]}, rows "
                          f"{str(self.data.get('rows', ''))[:12]}"]
        for note in self.notes:
            lines.append(f"note: {note}")
        return "\n".join(lines).rstrip() + "\n"

    def __str__(self) -> str:
        return self.to_text()

    def _repr_html_(self) -> str:
        """In a notebook: the text of :meth:`to_text`, its tables kept aligned."""
        return preformatted(f"workflow summary of study {self.study!r}", self.to_text())


def summarize(study: Study, confidence: float = 0.95) -> Summary:
    """Read the study's workflow records (if any) and its trials into a :class:`Summary`."""
    if study.metrics.multi_objective:
        raise ConfigError(
            f"study {study.name!r} has several objectives; the workflow summary measures one "
            "(dialed best shows its Pareto front)"
        )
    wf = Workflow(study, confidence=confidence)
    plan = wf.plan
    metric = study.metrics.primary
    m = metric.name
    counts: dict[str, int] = {}
    for t in study.trials:
        counts[t.state.value] = counts.get(t.state.value, 0) + 1
    base = wf.baseline()
    stages = wf.stages()
    rounds = wf.confirmations()
    confirm = rounds[-1] if rounds else None
    notes: list[str] = []

    best: dict[str, Any] | None = None
    best_values: Mapping[str, float] = {}
    if confirm is not None:
        ev = confirm.recommended.evaluation
        best = _best_from(ev, m, confidence, f"confirmed, round {confirm.round}",
                          confirm.recommended.source_trial)
        best_values = ev.means()
    elif stages:
        ev = stages[-1].incumbent
        best = _best_from(ev, m, confidence, f"incumbent after stage {stages[-1].index}", None)
        best_values = ev.means()
    else:
        try:
            trial = study.best_trial
        except NoTrialsError:
            trial = None
        if trial is not None:
            best_values = dict(trial.metrics)
            best = {"label": f"best single trial #{trial.number}, not confirmed",
                    "params": dict(trial.params), "metrics": dict(trial.metrics),
                    "trial": trial.number,
                    "text": f"{m} {_num(trial.metrics.get(m))} (one run)"}

    targets = []
    base_values = base.means() if base is not None else {}
    for goal in plan.targets:
        b = base_values.get(goal.metric)
        v = best_values.get(goal.metric)
        targets.append(TargetRow(str(goal), goal.metric, b, v,
                                 None if v is None else goal.distance(v),
                                 None if v is None else goal.met(v)))

    attribution = None
    if stages and base is not None:
        direction = str(metric.direction)
        inputs = [StageInput(s.name, s.families or ("all",), s.start.values[m],
                             s.candidate.values[m], s.adopted, s.attributable)
                  for s in stages if s.candidate is not None and s.gain is not None]
        final = stages[-1].incumbent
        if base.n >= 2 and final.n >= 2:
            attribution = attribute(base.values[m], inputs, final.values[m], direction,
                                    confidence)
    unstaged = _unstaged_note(study, stages)
    if stages:
        untuned = sorted(set(study.space) - {p for s in stages for p in s.tuned})
        if untuned:
            notes.append(f"never tuned (kept at the baseline): {', '.join(untuned)}")
    return Summary(
        study=study.name, metric=m, direction=str(metric.direction), counts=counts,
        repeats=plan.repeats, baseline=base, best=best, targets=targets, stages=stages,
        attribution=attribution, unstaged_note=unstaged, confirm=confirm,
        verifications=wf.verifications(), data=study.attrs.get(DATA_KEY),
        confidence=confidence, notes=notes,
    )


def _unstaged_note(study: Study, stages: Sequence[StageResult]) -> str | None:
    unstaged = [s for s in stages if not s.attributable]
    if stages and not unstaged:
        return None
    if unstaged:
        fams = sorted({d.family or "(none)" for n, d in study.space.items()
                       if n in unstaged[0].tuned})
        return (f"stage {unstaged[0].index} searched {len(fams)} families at once "
                f"({', '.join(fams)}): its gain cannot be attributed to any one of them")
    search = [t for t in study.trials if not t.system_attrs.get(ROLE)
              and t.state == TrialState.COMPLETE]
    fams = sorted({d.family or "(none)" for d in study.space.values()})
    if not search:
        return "no search yet"
    return (f"no stages: the {len(search)} search trials changed {len(fams)} "
            f"famil{'y' if len(fams) == 1 else 'ies'} together ({', '.join(fams)}), so their "
            "gains cannot be attributed to any one family")


def _best_from(ev: Evaluation, metric: str, confidence: float, label: str,
               trial: int | None) -> dict[str, Any]:
    return {"label": label, "params": ev.params, "metrics": ev.means(), "trial": trial,
            "text": _evaluation_line(ev, metric, confidence)}


def _stage_dict(s: StageResult) -> dict[str, Any]:
    return {"index": s.index, "name": s.name, "families": s.families, "trials": s.n_search,
            "tuned": list(s.tuned), "candidate_trial": s.candidate_trial,
            "gain": None if s.gain is None else s.gain.to_dict(), "adopted": s.adopted,
            "incumbent": s.incumbent.to_dict(), "note": s.note}


# -- formatting -------------------------------------------------------------------------------
def _num(v: float | int | None) -> str:
    if v is None:
        return "-"
    if isinstance(v, float) and not math.isfinite(v):
        return str(v)
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def _num_or_dash(v: int | None) -> str:
    return "-" if v is None else str(v)


def _signed(v: float) -> str:
    return f"{v:+.4g}"


def _p(p: float) -> str:
    if math.isnan(p):
        return "-"
    return f"{p:.2g}"


def _bracket(low: float, high: float) -> str:
    return f"[{_num(low)}, {_num(high)}]"


def _gain(g: Any) -> str:
    if g is None:
        return "-"
    return f"{_signed(g.value)} [{_signed(g.low)}, {_signed(g.high)}]"


def _interval_short(iv: Interval) -> str:
    return f"{_num(iv.mean)} ± {_num(iv.half_width)}"


def _evaluation_line(ev: Evaluation, metric: str, confidence: float) -> str:
    others = ", ".join(f"{k} {_num(v)}" for k, v in ev.means().items() if k != metric)
    if ev.n >= 2:
        iv = ev.interval(metric, confidence)
        head = (f"{metric} {_num(iv.mean)} ± {_num(iv.std)} sd ({confidence:.0%} CI "
                f"{_num(iv.low)} to {_num(iv.high)}, n={ev.n})")
    else:
        head = f"{metric} {_num(ev.mean(metric))} (n=1)"
    return head + (f"; {others}" if others else "")


def _params(params: Mapping[str, Any]) -> str:
    def short(v: Any) -> str:
        return f"{v:.4g}" if isinstance(v, float) else str(v)

    return ", ".join(f"{k}={short(v)}" for k, v in params.items()) or "-"


def _counts(counts: Mapping[str, int]) -> str:
    total = sum(counts.values())
    parts = [f"{counts[s.value]} {s.value}" for s in TrialState if counts.get(s.value)]
    return f"{total} trials ({', '.join(parts)})" if parts else "no trials"


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], align: str) -> list[str]:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h)
              for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        out = [c.rjust(w) if a == "r" else c.ljust(w)
               for c, w, a in zip(cells, widths, align, strict=True)]
        return ("  " + "  ".join(out)).rstrip()

    return [line(headers), *(line(r) for r in rows)]


def _verify_lines(v: VerifyResult, metric: str) -> list[str]:
    tag = f"#{v.number}{' (forced)' if v.forced else ''}"
    if v.status != "done":
        why = f": {v.error}" if v.error else ""
        return [f"  {tag} {v.status}{why}"]
    out = []
    for name, val in v.validation.items():
        if name not in v.test:
            continue
        out.append(f"{name} validation {_num(val)}, test {_num(v.test[name])}, gap "
                   f"{_signed(v.gap.get(name, math.nan))}")
    verdict = ("POSSIBLE VALIDATION OVERFIT" if v.flagged
               else "no sign of validation overfit")
    lines = [f"  {tag} {out[0] if out else ''}"]
    lines += [f"     {o}" for o in out[1:]]
    lines.append(f"     {metric} gap as a loss {_signed(v.loss_gap or 0.0)} vs threshold "
                 f"{_num(v.threshold)}: {verdict}")
    return lines
