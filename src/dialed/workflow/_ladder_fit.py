"""A ladder's fit: the rungs read from their studies, checked, and each parameter's law fitted.

A *rung* is one study at one size of a scale variable (``scale={"width": 64}``). Its optimum
is the configuration its latest confirm round recommended (else its best trial), its loss the
confirmed mean with its standard error, and each numeric parameter's uncertainty the local
quadratic fit of :mod:`dialed.analysis.rung_optimum`; where that parabola has its vertex among
the trials, the vertex is the parameter's optimum (the fit of all the best trials, less noisy
than the one best configuration). The laws come from
:mod:`dialed.analysis.scaling_law` (numeric parameters), :mod:`dialed.analysis.loss_law` (the
best loss) and :mod:`dialed.analysis.categorical_law` (choices).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from dialed.analysis.categorical_law import CategoricalWinner, categorical_winner
from dialed.analysis.loss_law import LossLaw, fit_loss_law
from dialed.analysis.rung_optimum import OptimumSpread, optimum_spread
from dialed.analysis.scaling_law import PowerLaw, fit_power_law
from dialed.errors import ConfigError
from dialed.metrics import Metric
from dialed.space import (
    CategoricalDistribution,
    Distribution,
    FloatDistribution,
    IntDistribution,
    Space,
)
from dialed.study import Study
from dialed.trial import TrialState
from dialed.workflow._evaluate import ROLE
from dialed.workflow._workflow import Workflow

__all__ = ["LadderFit", "Prediction", "Rung", "fit_ladder", "ladder_scale", "move_config"]

#: Points of the fitted curve stored for the figures (from the smallest rung to the target).
CURVE_POINTS = 24
#: The inner interval of a prediction (the bootstrap's quartiles): where the target study's
#: search tries first after the prediction itself (:func:`~dialed.workflow.enqueue_prediction`;
#: benchmarks/results/notes.md, "workflow/_ladder.py: the target study's first trials").
INNER = 0.5


@dataclass(frozen=True)
class Rung:
    """One study of the ladder: its scale, its confirmed best, and how well it is pinned down."""

    study: str
    scale: float
    params: dict[str, Any]
    value: float  # the objective's confirmed mean, in its own units
    loss: float  # the same as a loss (smaller is better)
    loss_error: float  # standard error of the mean (NaN from a single trial)
    source: str  # "confirm N" or "best trial N"
    spreads: dict[str, OptimumSpread] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"study": self.study, "scale": self.scale, "params": self.params,
                "value": self.value, "loss": self.loss,
                "loss_error": None if not math.isfinite(self.loss_error) else self.loss_error,
                "source": self.source,
                "sigma": {k: v.sigma for k, v in self.spreads.items()},
                "at_edge": sorted(k for k, v in self.spreads.items() if v.at_edge)}


@dataclass(frozen=True)
class Prediction:
    """The configuration predicted at ``scale``, each numeric parameter with its interval."""

    scale_name: str
    scale: float
    params: dict[str, Any]
    intervals: dict[str, tuple[float, float]]
    value: tuple[float, float, float] | None  # the objective predicted (value, low, high)
    warnings: tuple[str, ...]
    #: Each numeric parameter's interval at the confidence INNER (inside ``intervals``).
    inner: dict[str, tuple[float, float]] = field(default_factory=dict)

    def corners(self, limit: int = 8) -> list[dict[str, Any]]:
        """The interval's corners: every low/high combination when there are at most
        ``limit``, else each parameter moved to its low and its high alone."""
        names = list(self.intervals)
        out: list[dict[str, Any]] = []
        if 2 ** len(names) <= limit:
            for combo in itertools.product((0, 1), repeat=len(names)):
                out.append({**self.params, **{n: self.intervals[n][c]
                                              for n, c in zip(names, combo, strict=True)}})
        else:
            for n in names:
                out.extend({**self.params, n: self.intervals[n][c]} for c in (0, 1))
        return out

    def steps(self) -> list[dict[str, Any]]:
        """Each parameter moved alone to either end of its inner interval."""
        return [{**self.params, n: ends[c]} for n, ends in self.inner.items() for c in (0, 1)]

    def to_dict(self) -> dict[str, Any]:
        return {"scale_name": self.scale_name, "scale": self.scale, "params": self.params,
                "intervals": {k: list(v) for k, v in self.intervals.items()},
                "inner": {k: list(v) for k, v in self.inner.items()},
                "value": None if self.value is None else list(self.value),
                "warnings": list(self.warnings)}


@dataclass(frozen=True)
class LadderFit:
    """Every parameter's law over the rungs, the loss law, and the prediction at any scale."""

    scale_name: str
    metric: Metric
    rungs: tuple[Rung, ...]
    space: Space
    laws: dict[str, PowerLaw]
    categorical: dict[str, CategoricalWinner]
    fixed: dict[str, Any]
    loss: LossLaw
    seed: int

    @property
    def warnings(self) -> tuple[str, ...]:
        out = [f"{n}: {w}" for n, law in self.laws.items() for w in law.warnings]
        out += [f"{n}: {w}" for n, c in self.categorical.items() for w in c.warnings]
        out += [f"loss: {w}" for w in self.loss.warnings]
        return tuple(out)

    def predict(self, scale: float) -> Prediction:
        """The configuration at ``scale``: each law's value (ints rounded), the categorical
        winners, the fixed values; the objective from the loss law."""
        if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not (
                math.isfinite(scale) and scale > 0):
            raise ConfigError(f"the target {self.scale_name} must be a number > 0, got {scale!r}")
        params: dict[str, Any] = {}
        intervals: dict[str, tuple[float, float]] = {}
        inner: dict[str, tuple[float, float]] = {}
        notes: list[str] = []
        for name in self.space:
            dist = self.space[name]
            if name in self.laws:
                law = self.laws[name]
                v, lo, hi = law.predict(scale)
                params[name], intervals[name] = _native(dist, v), (_native(dist, lo),
                                                                    _native(dist, hi))
                _, ilo, ihi = law.predict(scale, min(INNER, law.confidence))
                inner[name] = (_native(dist, ilo), _native(dist, ihi))
                if not dist.contains(params[name]):
                    notes.append(f"{name} = {params[name]:.4g} lies outside the rungs' range "
                                 f"[{dist.low:g}, {dist.high:g}]"  # type: ignore[union-attr]
                                 ": widen it in the target study")
            elif name in self.categorical:
                params[name] = self.categorical[name].choice
            elif name in self.fixed:
                params[name] = self.fixed[name]
        largest = max(r.scale for r in self.rungs)
        if scale > largest * 16:
            notes.append(f"{self.scale_name}={scale:g} is more than 16x the largest rung "
                         f"({largest:g}): far extrapolation")
        got = self.loss.predict(scale)
        value = None
        if got is not None:
            sign = -1.0 if self.metric.direction == "maximize" else 1.0
            v, lo, hi = (sign * x for x in got)
            value = (v, min(lo, hi), max(lo, hi))
        return Prediction(self.scale_name, float(scale), params, intervals, value,
                          tuple(notes) + self.warnings, inner)

    def curves(self, upto: float | None = None) -> dict[str, dict[str, list[float]]]:
        """Each law's curve and band on a log grid from the smallest rung to ``upto``."""
        lo = min(r.scale for r in self.rungs)
        hi = max(upto or 0.0, max(r.scale for r in self.rungs))
        grid = np.exp(np.linspace(math.log(lo), math.log(hi), CURVE_POINTS)).tolist()
        out = {}
        for name, law in self.laws.items():
            pts = [law.predict(s) for s in grid]
            out[name] = {"scales": grid, "value": [p[0] for p in pts],
                         "low": [p[1] for p in pts], "high": [p[2] for p in pts]}
        return out

    def to_dict(self, target: Prediction | None = None) -> dict[str, Any]:
        return {
            "scale": self.scale_name, "metric": self.metric.name,
            "direction": str(self.metric.direction), "seed": self.seed,
            "rungs": [r.to_dict() for r in self.rungs],
            "laws": {k: v.to_dict() for k, v in self.laws.items()},
            "categorical": {k: v.to_dict() for k, v in self.categorical.items()},
            "fixed": self.fixed, "loss": self.loss.to_dict(),
            "curves": self.curves(None if target is None else target.scale),
            "prediction": None if target is None else target.to_dict(),
            "warnings": list(self.warnings),
        }

    def describe(self) -> str:
        """The fit as text: one line per law, its interval, its leave-one-out and warnings."""
        pct = f"{self.laws[next(iter(self.laws))].confidence:.0%}" if self.laws else "95%"
        lines = [f"ladder over {self.scale_name}: " + ", ".join(
            f"{r.study} ({self.scale_name}={r.scale:g}, {self.metric.name}={r.value:.4g}, "
            f"{r.source})" for r in self.rungs)]
        for law in self.laws.values():
            loo = [z for z in law.loo if z is not None]
            worst = f", worst leave-one-out |z|={max(abs(z) for z in loo):.2f}" if loo else ""
            lines.append(f"  {law.formula}   b in [{law.b_interval[0]:.3g}, "
                         f"{law.b_interval[1]:.3g}] ({pct}){worst}")
        for name, cat in self.categorical.items():
            lines.append(f"  {name}: winners {list(cat.winners)} -> {cat.choice!r}"
                         f" ({'stable' if cat.stable else 'changes with scale'})")
        lines.append(f"  {self.loss.formula}")
        for w in self.warnings:
            lines.append(f"  warning: {w}")
        return "\n".join(lines)


def ladder_scale(studies: Sequence[Study], scale: str | None = None) -> str:
    """The scale variable the studies form a ladder over (checked), or one ConfigError line."""
    if len(studies) < 2:
        names = ", ".join(repr(s.name) for s in studies) or "none"
        raise ConfigError(f"a ladder needs at least two rungs (studies at different scales), "
                          f"got {len(studies)}: {names}")
    for s in studies:
        if not s.scale:
            raise ConfigError(f"study {s.name!r} records no scale: create it with "
                              "scale={'width': 64} (or 'scale:' in its study file)")
    if scale is None:
        common = set.intersection(*(set(s.scale) for s in studies))
        varying = sorted(k for k in common if len({s.scale[k] for s in studies}) > 1)
        if not varying and len(common) == 1:
            varying = sorted(common)
        if len(varying) != 1:
            raise ConfigError(f"study {studies[0].name!r}: cannot tell which scale the ladder "
                              f"is over (varying: {', '.join(varying) or 'none'}); name it")
        scale = varying[0]
    seen: dict[float, str] = {}
    for s in studies:
        if scale not in s.scale:
            raise ConfigError(f"study {s.name!r} has scale {s.scale}, without {scale!r}")
        v = float(s.scale[scale])
        if v in seen:
            raise ConfigError(f"study {s.name!r} is at {scale}={v:g} like study {seen[v]!r}: a "
                              "ladder needs one study per scale")
        seen[v] = s.name
    return scale


def _check_spaces(studies: Sequence[Study]) -> Space:
    first = studies[0]
    ref = first.space
    if not len(ref):
        raise ConfigError(f"study {first.name!r} has no parameters yet: run its search first")
    for s in studies[1:]:
        space = s.space
        for name in sorted(set(ref) & set(space)):
            if ref[name].single != space[name].single:
                fixed, searched = (s, first) if space[name].single else (first, s)
                raise ConfigError(
                    f"study {fixed.name!r}: parameter {name!r} is fixed there but searched in "
                    f"study {searched.name!r}; a ladder tunes the same parameters at every scale")
        only = sorted(set(ref) ^ set(space))
        if only:
            raise ConfigError(f"study {s.name!r}: its space differs from study {first.name!r}'s "
                              f"({', '.join(only)} in one only); a ladder's rungs share a space")
        for name in ref:
            if ref[name].to_dict() != space[name].to_dict():
                raise ConfigError(
                    f"study {s.name!r}: its space differs from study {first.name!r}'s "
                    f"({name}: {space[name].to_dict()} there, {ref[name].to_dict()} in "
                    f"{first.name!r}); a ladder's rungs share a space")
    return ref


def _coord(dist: Distribution, value: Any) -> float:
    v = float(value)
    return math.log(v) if getattr(dist, "log", False) else v


def read_rung(study: Study, scale: float, space: Space, confidence: float = 0.95) -> Rung:
    """One rung: its confirmed best (else best trial), loss, and each parameter's spread."""
    if study.metrics.multi_objective:
        raise ConfigError(f"study {study.name!r} has several objectives; a ladder fits one: "
                          "make the others 'track'")
    metric = study.metrics.primary
    trials = [t for t in study.get_trials([TrialState.COMPLETE])
              if metric.name in t.metrics and study.metrics.feasible(t.metrics)]
    if not trials:
        raise ConfigError(f"study {study.name!r} has no complete trial: run its search first")
    rounds = Workflow(study).confirmations()
    tolerance = float("nan")
    if rounds:
        best = rounds[-1].recommended.evaluation
        params, vals = dict(best.params), best.values[metric.name]
        value = float(np.mean(vals))
        err = float(np.std(vals, ddof=1) / math.sqrt(len(vals))) if len(vals) > 1 else math.nan
        if len(vals) > 1:  # the normal quantile: with two seeds, t's would be 12.7
            tolerance = _z(confidence) * err
        source = f"confirm {rounds[-1].round}"
    else:
        top = min(trials, key=lambda t: (metric.loss(t.metrics[metric.name]), t.number))
        params, value, err = dict(top.params), float(top.metrics[metric.name]), math.nan
        source = f"best trial {top.number}"
    search = [t for t in trials if not t.system_attrs.get(ROLE)] or trials
    spreads = {}
    for name, dist in space.items():
        if isinstance(dist, CategoricalDistribution) or dist.single or name not in params:
            continue
        pts = [(t.params[name], metric.loss(t.metrics[metric.name])) for t in search
               if name in t.params]
        spreads[name] = optimum_spread(
            [_coord(dist, p) for p, _ in pts], [loss for _, loss in pts],
            _coord(dist, params[name]), tolerance,
            _coord(dist, dist.low), _coord(dist, dist.high))
    return Rung(study.name, float(scale), params, value, metric.loss(value), err, source,
                spreads)


def fit_ladder(studies: Sequence[Study], *, scale: str | None = None, seed: int = 0,
               confidence: float = 0.95, n_boot: int = 2000) -> LadderFit:
    """Check that ``studies`` form a ladder and fit every parameter's law over them."""
    name = ladder_scale(studies, scale)
    space = _check_spaces(studies)
    metrics = studies[0].metrics
    for s in studies[1:]:
        if s.metrics != metrics:
            raise ConfigError(f"study {s.name!r} measures {s.metrics.to_dict()}, not "
                              f"{metrics.to_dict()} like study {studies[0].name!r}")
    ordered = sorted(studies, key=lambda s: float(s.scale[name]))
    rungs = tuple(read_rung(s, float(s.scale[name]), space, confidence) for s in ordered)
    scales = [r.scale for r in rungs]
    names = [r.study for r in rungs]
    laws: dict[str, PowerLaw] = {}
    cats: dict[str, CategoricalWinner] = {}
    fixed: dict[str, Any] = {}
    for i, (pname, dist) in enumerate(space.items()):
        if dist.single:
            fixed[pname] = rungs[-1].params.get(pname, dist.grid()[0])
        elif isinstance(dist, CategoricalDistribution):
            cats[pname] = categorical_winner(pname, scales, [r.params[pname] for r in rungs],
                                             rungs=names)
        else:
            laws[pname] = fit_power_law(
                pname, scales, [_optimum(dist, r, pname) for r in rungs],
                [r.spreads[pname].sigma for r in rungs], log=bool(getattr(dist, "log", False)),
                rungs=names, at_edge=[r.spreads[pname].at_edge for r in rungs],
                confidence=confidence, seed=seed + i, n_boot=n_boot)
    loss = fit_loss_law(scales, [r.loss for r in rungs], [r.loss_error for r in rungs],
                        rungs=names, confidence=confidence, seed=seed)
    return LadderFit(name, metrics.primary, rungs, space, laws, cats, fixed, loss, seed)


def _optimum(dist: Distribution, rung: Rung, name: str) -> float:
    """The rung's optimum of ``name``: the vertex of its local quadratic fit where there is one
    (:mod:`dialed.analysis.rung_optimum`), else the confirmed best's value."""
    vertex = rung.spreads[name].vertex
    if vertex is None:
        return float(rung.params[name])
    return math.exp(vertex) if getattr(dist, "log", False) else vertex


def move_config(params: Mapping[str, Any], fit: LadderFit, source: float, target: float,
                space: Space) -> dict[str, Any]:
    """``params`` (best at scale ``source``) moved along each fitted law to ``target``,
    clipped into ``space``."""
    out = dict(params)
    for name, law in fit.laws.items():
        if name not in out or name not in space:
            continue
        v = float(out[name])
        shift = law.b * math.log(target / source)
        moved = v * math.exp(shift) if law.log else v + shift
        out[name] = clip(space[name], moved)
    return out


def clip(dist: Distribution, value: float) -> Any:
    """``value`` inside the distribution's range (ints rounded)."""
    if isinstance(dist, CategoricalDistribution):
        return value
    v = min(max(float(value), float(dist.low)), float(dist.high))
    if isinstance(dist, FloatDistribution) and dist.step is None:
        return v
    return dist.from_unit(dist.to_unit(v))


def _z(confidence: float) -> float:
    from scipy.stats import norm

    return float(norm.ppf(0.5 + confidence / 2.0))


def _native(dist: Distribution, value: float) -> Any:
    if isinstance(dist, IntDistribution):
        return round(value)
    return float(value)
