"""One recommended trade-off from a study's trials, chosen by a stated rule, and recorded.

A study with several objectives answers with a Pareto front; someone still has to pick one
configuration to ship. A :class:`TradeoffRule` says how, in the user's words, and
:func:`choose_tradeoff` applies it to the trials:

* ``{"rule": "weighted", "weights": {"val_acc": 2, "latency_ms": 1}}``: each objective is
  normalised to ``[0, 1]`` over the Pareto front (0 at the front's best value, 1 at its worst),
  and the front's trial with the lowest weighted sum wins. Objectives left out weigh 0; no
  weights at all weigh every objective the same.
* ``{"rule": "best", "metric": "val_acc", "bounds": {"latency_ms": "<= 20"}}``: the best trial
  on one metric among the complete, feasible trials that also meet the bounds. A bound may name
  any metric a trial recorded and the costs the engine measures (``wall_seconds``,
  ``cpu_seconds``, ``peak_memory_mb``). Ties go to the trial better on the other objectives
  (in order), then to the earlier trial.

The same rules in short text (the command line's ``--rule``): ``weighted``,
``weighted val_acc=2 latency_ms=1``, ``best val_acc``, ``best val_acc latency_ms<=20``.

:func:`recommend` applies a rule to a study and records the rule and the chosen trial in the
study attribute ``tradeoff``, where ``dialed best`` and the reports find them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import yaml

from dialed.analysis.pareto import losses, pareto_front
from dialed.errors import ConfigError, NoTrialsError
from dialed.metrics import COST_METRICS, Metric, MetricSet
from dialed.trial import TrialRecord, TrialState

if TYPE_CHECKING:
    from dialed.study import Study

__all__ = [
    "TRADEOFF_ATTR",
    "Recommendation",
    "TradeoffRule",
    "choose_tradeoff",
    "recommend",
    "record_rule",
    "recorded_rule",
]

#: The study attribute holding the rule and the recommended trial.
TRADEOFF_ATTR = "tradeoff"

_RULES = ("weighted", "best")
_BOUND = re.compile(r"^\s*([A-Za-z_][\w.\-]*)\s*(<=|>=|<|>)\s*([-+0-9.eE]+|inf|-inf)\s*$")
_OP = re.compile(r"^\s*(<=|>=|<|>)\s*([-+0-9.eE]+|inf|-inf)\s*$")
_TIGHTEN = re.compile(r"\s*(<=|>=|=|<|>)\s*")
_WEIGHT = re.compile(r"^\s*([A-Za-z_][\w.\-]*)\s*=\s*([-+0-9.eE]+)\s*$")
_EXAMPLES = ("{rule: weighted, weights: {val_acc: 1, latency_ms: 1}} or "
             "{rule: best, metric: val_acc, bounds: {latency_ms: '<= 20'}}")


@dataclass(frozen=True)
class TradeoffRule:
    """How to pick one trial: ``weighted`` (weights on normalised objectives) or ``best``
    (one metric, subject to bounds on others). Build it with :meth:`parse`."""

    rule: str
    weights: Mapping[str, float] = field(default_factory=dict)
    metric: str | None = None
    direction: str | None = None  # for a ``best`` metric that is not an objective
    bounds: Mapping[str, str] = field(default_factory=dict)  # name -> "<= 20"

    @classmethod
    def parse(cls, spec: Any, metrics: MetricSet | None = None) -> TradeoffRule:
        """A rule from a mapping, its short text, or a rule; checked against ``metrics``."""
        if isinstance(spec, TradeoffRule):
            rule = spec
        elif isinstance(spec, str):
            rule = _from_text(spec)
        elif isinstance(spec, Mapping):
            rule = _from_mapping(spec)
        else:
            raise ConfigError(f"a trade-off rule is a mapping such as {_EXAMPLES}, or text "
                              f"such as 'best val_acc latency_ms<=20'; got {spec!r}")
        if metrics is not None:
            rule.check(metrics)
        return rule

    def check(self, metrics: MetricSet) -> None:
        """Raise ConfigError when the rule names what the study does not have."""
        objectives = [m.name for m in metrics.objectives]
        if self.rule == "weighted":
            unknown = [n for n in self.weights if n not in objectives]
            if unknown:
                raise ConfigError(
                    f"trade-off rule: weights name {', '.join(map(repr, unknown))}, not an "
                    f"objective of this study (its objectives are {', '.join(objectives)})"
                )
            return
        name = str(self.metric)
        if name not in objectives and self.direction is None:
            raise ConfigError(
                f"trade-off rule: 'best' on {name!r} needs a direction (it is not an objective "
                f"of this study: {', '.join(objectives)}); add direction: maximize or minimize"
            )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"rule": self.rule}
        if self.rule == "weighted":
            if self.weights:
                out["weights"] = dict(self.weights)
            return out
        out["metric"] = self.metric
        if self.direction is not None:
            out["direction"] = self.direction
        if self.bounds:
            out["bounds"] = dict(self.bounds)
        return out

    def describe(self, metrics: MetricSet | None = None) -> str:
        """The rule in one line of words."""
        if self.rule == "weighted":
            names = [m.name for m in metrics.objectives] if metrics is not None else list(
                self.weights)
            weights = _weights(self, metrics) if metrics is not None else dict(self.weights)
            what = ", ".join(f"{n} {_num(weights.get(n, 0.0))}" for n in names) or "equal"
            return ("lowest weighted sum of the objectives normalised to [0, 1] over the "
                    f"Pareto front (weights: {what})")
        direction = self._direction(metrics)
        text = f"best {self.metric} ({direction})"
        if self.bounds:
            text += " subject to " + ", ".join(f"{n} {b}" for n, b in self.bounds.items())
        return text

    def __str__(self) -> str:
        return self.describe()

    def _direction(self, metrics: MetricSet | None) -> str:
        if self.direction is not None:
            return self.direction
        if metrics is not None and self.metric in metrics:
            return str(metrics[str(self.metric)].direction or "minimize")
        return "as the study says"


@dataclass(frozen=True)
class Recommendation:
    """The trial a rule picks, with the rule and why (``reason``, one sentence)."""

    rule: TradeoffRule
    trial: TrialRecord
    reason: str
    candidates: int  # how many trials the rule chose among

    def to_dict(self) -> dict[str, Any]:
        return {"rule": self.rule.to_dict(), "trial": self.trial.number, "reason": self.reason}


# -- choosing ---------------------------------------------------------------------------------
def choose_tradeoff(
    trials: Sequence[TrialRecord], metrics: MetricSet, rule: TradeoffRule | Mapping[str, Any] | str
) -> Recommendation:
    """The trial ``rule`` picks among ``trials``; NoTrialsError when none qualifies."""
    parsed = TradeoffRule.parse(rule, metrics)
    if parsed.rule == "weighted":
        return _weighted(trials, metrics, parsed)
    return _best(trials, metrics, parsed)


def _weighted(trials: Sequence[TrialRecord], metrics: MetricSet, rule: TradeoffRule
              ) -> Recommendation:
    front = pareto_front(trials, metrics)
    if not front:
        raise NoTrialsError("no complete, feasible trial yet: nothing to recommend")
    weights = _weights(rule, metrics)
    w = np.array([weights[m.name] for m in metrics.objectives])
    points = losses(front, metrics)
    low, high = points.min(axis=0), points.max(axis=0)
    span = np.where(high > low, high - low, 1.0)
    score = ((points - low) / span) @ w / w.sum()
    order = np.lexsort((np.array([t.number for t in front]), score))
    chosen = front[int(order[0])]
    reason = (f"trial {chosen.number} has the lowest weighted normalised sum ("
              f"{_num(float(score[order[0]]))}; 0 = best on every objective) of the "
              f"{len(front)} trials on the Pareto front")
    return Recommendation(rule, chosen, reason, len(front))


def _best(trials: Sequence[TrialRecord], metrics: MetricSet, rule: TradeoffRule
          ) -> Recommendation:
    name = str(rule.metric)
    direction = rule.direction or str(metrics[name].direction)
    target = Metric(name, "objective", direction="maximize" if direction == "maximize"
                    else "minimize")
    bounds = [_bound_metric(n, b) for n, b in rule.bounds.items()]
    complete = [t for t in trials if t.state == TrialState.COMPLETE
                and metrics.feasible(t.metrics) and _value(t, name) is not None]
    if not complete:
        raise NoTrialsError(f"no complete, feasible trial with {name!r} yet: nothing to "
                            "recommend")
    eligible = [t for t in complete if _broken(t, bounds) == 0.0]
    if not eligible:
        closest = min(complete, key=lambda t: (_broken(t, bounds), t.number))
        met = ", ".join(f"{b.name} = {_num(_value(closest, b.name))}" for b in bounds)
        wanted = ", ".join(f"{n} {b}" for n, b in rule.bounds.items())
        raise NoTrialsError(
            f"no complete, feasible trial meets {wanted} (of {len(complete)}; the closest is "
            f"trial {closest.number}: {met})"
        )
    others = [m for m in metrics.objectives if m.name != name]

    def key(t: TrialRecord) -> tuple[float, ...]:
        rest = [m.loss(float(t.metrics[m.name])) if m.name in t.metrics else math.inf
                for m in others]
        return (target.loss(float(_value(t, name) or 0.0)), *rest, float(t.number))

    chosen = min(eligible, key=key)
    subject = f" of the {len(eligible)} trials meeting the bounds" if bounds else (
        f" of the {len(eligible)} complete, feasible trials")
    reason = (f"trial {chosen.number} has the best {name} ({_num(_value(chosen, name))})"
              f"{subject}")
    return Recommendation(rule, chosen, reason, len(eligible))


def _value(t: TrialRecord, name: str) -> float | None:
    """A metric of the trial, or a cost the engine measured; None when it has neither."""
    if name in t.metrics:
        return float(t.metrics[name])
    if name in COST_METRICS:
        v = getattr(t, name)
        return None if v is None else float(v)
    return None


def _broken(t: TrialRecord, bounds: Sequence[Metric]) -> float:
    """How far the trial is from meeting the bounds: 0 when it meets them all."""
    total = 0.0
    for b in bounds:
        v = _value(t, b.name)
        total += b.violation(math.nan if v is None else v)
    return total


def _weights(rule: TradeoffRule, metrics: MetricSet) -> dict[str, float]:
    names = [m.name for m in metrics.objectives]
    if not rule.weights:
        return dict.fromkeys(names, 1.0)
    return {n: float(rule.weights.get(n, 0.0)) for n in names}


def _bound_metric(name: str, text: str) -> Metric:
    m = _OP.match(text)
    if m is None:
        raise ConfigError(f"trade-off rule: bound {name}: {text!r} is not of the form "
                          "'<= 20' (or >=, <, >)")
    return Metric(name, "constraint", bound=float(m.group(2)), op=m.group(1))


def _num(x: float | None) -> str:
    return "-" if x is None else f"{x:.6g}"


# -- reading rules -----------------------------------------------------------------------------
def _from_mapping(spec: Mapping[str, Any]) -> TradeoffRule:
    data = dict(spec)
    kind = data.pop("rule", None)
    if kind not in _RULES:
        raise ConfigError(f"trade-off rule: 'rule' must be 'weighted' or 'best', got {kind!r} "
                          f"(for example {_EXAMPLES})")
    allowed = {"weighted": {"weights"}, "best": {"metric", "direction", "bounds"}}[kind]
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ConfigError(f"trade-off rule {kind!r}: unknown key(s) {unknown}; its keys are "
                          f"{sorted(allowed)}")
    if kind == "weighted":
        raw = data.get("weights") or {}
        if not isinstance(raw, Mapping):
            raise ConfigError(f"trade-off rule: weights must map objectives to numbers, got "
                              f"{raw!r}")
        weights: dict[str, float] = {}
        for n, v in raw.items():
            ok = not isinstance(v, bool) and isinstance(v, (int, float))
            if not ok or not math.isfinite(float(v)) or float(v) < 0:
                raise ConfigError(f"trade-off rule: weight of {n!r} must be a number >= 0, "
                                  f"got {v!r}")
            weights[str(n)] = float(v)
        if weights and not any(v > 0 for v in weights.values()):
            raise ConfigError("trade-off rule: at least one weight must be > 0")
        return TradeoffRule("weighted", weights=weights)
    metric = data.get("metric")
    if not isinstance(metric, str) or not metric.strip():
        raise ConfigError(f"trade-off rule 'best' needs metric: the metric to optimise, got "
                          f"{metric!r}")
    direction = data.get("direction")
    if direction is not None and direction not in ("minimize", "maximize"):
        raise ConfigError(f"trade-off rule: direction must be minimize or maximize, got "
                          f"{direction!r}")
    raw_bounds = data.get("bounds") or {}
    if not isinstance(raw_bounds, Mapping):
        raise ConfigError(f"trade-off rule: bounds must map metrics to bounds such as "
                          f"{{latency_ms: '<= 20'}}, got {raw_bounds!r}")
    bounds = {str(n): str(b).strip() for n, b in raw_bounds.items()}
    for n, b in bounds.items():
        _bound_metric(n, b)
    return TradeoffRule("best", metric=metric.strip(), direction=direction, bounds=bounds)


def _from_text(text: str) -> TradeoffRule:
    stripped = text.strip()
    if stripped.startswith("{"):
        try:
            data = yaml.safe_load(stripped)
        except yaml.YAMLError:
            raise ConfigError(f"trade-off rule {text!r} is not a valid mapping") from None
        return TradeoffRule.parse(data)
    # "latency_ms <= 20" and "val_acc = 2" as one word each
    words = _TIGHTEN.sub(r"\1", stripped).replace(",", " ").split()
    if not words or words[0] not in _RULES:
        raise ConfigError(f"trade-off rule {text!r}: start with 'weighted' or 'best' (for "
                          "example 'weighted val_acc=2 latency_ms=1' or "
                          "'best val_acc latency_ms<=20')")
    if words[0] == "weighted":
        weights: dict[str, Any] = {}
        for w in words[1:]:
            m = _WEIGHT.match(w)
            if m is None:
                raise ConfigError(f"trade-off rule {text!r}: {w!r} is not of the form "
                                  "name=weight")
            weights[m.group(1)] = float(m.group(2))
        return _from_mapping({"rule": "weighted", "weights": weights})
    if len(words) < 2:
        raise ConfigError(f"trade-off rule {text!r}: name the metric, as in 'best val_acc'")
    bounds: dict[str, str] = {}
    for w in words[2:]:
        m = _BOUND.match(w)
        if m is None:
            raise ConfigError(f"trade-off rule {text!r}: {w!r} is not a bound such as "
                              "latency_ms<=20")
        bounds[m.group(1)] = f"{m.group(2)} {m.group(3)}"
    return _from_mapping({"rule": "best", "metric": words[1], "bounds": bounds})


# -- the study ---------------------------------------------------------------------------------
def recorded_rule(study: Study) -> TradeoffRule | None:
    """The rule recorded with the study (by a study file or an earlier recommend), if any."""
    stored = study.attrs.get(TRADEOFF_ATTR)
    if isinstance(stored, Mapping) and isinstance(stored.get("rule"), Mapping):
        return TradeoffRule.parse(stored["rule"], study.metrics)
    return None


def record_rule(study: Study, rule: TradeoffRule | Mapping[str, Any] | str) -> TradeoffRule:
    """Record ``rule`` as the study's trade-off rule (no trial chosen yet)."""
    parsed = TradeoffRule.parse(rule, study.metrics)
    study.storage.set_study_attr(study.study_id, TRADEOFF_ATTR,
                                 {"rule": parsed.to_dict(), "trial": None, "reason": None})
    return parsed


def recommend(
    study: Study,
    rule: TradeoffRule | Mapping[str, Any] | str | None = None,
    *,
    record: bool = True,
) -> Recommendation:
    """The trial ``rule`` picks among the study's trials, recorded in the study by default.

    Without a rule: the one recorded with the study (a study file's ``tradeoff:``), else equal
    weights on the normalised objectives. Raises NoTrialsError when no trial qualifies (the
    rule is still recorded).
    """
    parsed = (recorded_rule(study) if rule is None else None) or TradeoffRule.parse(
        rule if rule is not None else {"rule": "weighted"}, study.metrics)
    try:
        chosen = choose_tradeoff(study.trials, study.metrics, parsed)
    except NoTrialsError:
        if record:
            record_rule(study, parsed)
        raise
    if record:
        study.storage.set_study_attr(study.study_id, TRADEOFF_ATTR, chosen.to_dict())
    return chosen
