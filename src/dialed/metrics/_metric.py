"""What a study measures: each metric's name, direction, role, bound and target.

A metric is an **objective** (minimize / maximize), a **constraint** (a bound such as
``<= 512`` that a feasible trial must meet) or **tracked** (recorded, never optimised).
A **target** (``val_acc >= 0.97``) is a goal the summaries measure distance to; it does not
change the search. Samplers see losses: every objective turned into "smaller is better".

The engine measures the cost of every trial (:data:`COST_METRICS`: wall seconds, CPU seconds,
peak memory of the trial's process). A study may name them as metrics like any other
(``metrics={"val_acc": "maximize", "wall_seconds": "minimize", "peak_memory_mb": "<= 512"}``);
an objective that does not return one gets the measured value.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from dialed._util import check_name
from dialed.errors import ConfigError

__all__ = ["COST_METRICS", "Metric", "MetricSet", "Target", "parse_target"]

#: What the engine measures for every trial, under these names (the ``TrialRecord`` fields):
#: wall-clock seconds and CPU seconds of the objective, and the peak resident memory (MiB) of
#: the process that ran it.
COST_METRICS = ("wall_seconds", "cpu_seconds", "peak_memory_mb")

Direction = Literal["minimize", "maximize"]
Role = Literal["objective", "constraint", "tracked"]

_BOUND = re.compile(r"^\s*(<=|>=|<|>)\s*([-+0-9.eE]+|inf|-inf)\s*$")
_TARGET = re.compile(r"^\s*([A-Za-z_][\w.\-]*)\s*(<=|>=|<|>)\s*([-+0-9.eE]+)\s*$")
_VALID = "'minimize', 'maximize', 'track', or a bound such as '<= 512'"


@dataclass(frozen=True)
class Metric:
    name: str
    role: Role
    direction: Direction | None = None  # objectives only
    bound: float | None = None  # constraints only
    op: str | None = None  # constraints only: one of <=, >=, <, >

    def loss(self, value: float) -> float:
        """The value as a loss (smaller is better) for an objective."""
        return -value if self.direction == "maximize" else value

    def violation(self, value: float) -> float:
        """How far a constraint is broken: 0 when met, positive otherwise."""
        if self.bound is None or self.op is None:
            return 0.0
        if math.isnan(value):
            return math.inf
        gap = value - self.bound if self.op in ("<=", "<") else self.bound - value
        if self.op in ("<=", ">="):
            return max(gap, 0.0)
        return gap + 1e-12 if gap >= 0 else 0.0  # a strict bound is broken at equality

    def spec(self) -> str:
        if self.role == "objective":
            return str(self.direction)
        if self.role == "constraint":
            return f"{self.op} {_number(float(self.bound or 0.0))}"
        return "track"


@dataclass(frozen=True)
class Target:
    """A goal for a metric, such as ``val_acc >= 0.97``."""

    metric: str
    op: str
    value: float

    def met(self, value: float) -> bool:
        return bool(
            {"<=": value <= self.value, "<": value < self.value,
             ">=": value >= self.value, ">": value > self.value}[self.op]
        )

    def distance(self, value: float) -> float:
        """How far ``value`` is from the target: 0 when met, positive otherwise."""
        if self.met(value):
            return 0.0
        return abs(value - self.value)

    def __str__(self) -> str:
        return f"{self.metric} {self.op} {_number(self.value)}"


def _number(x: float) -> str:
    """A number as written by a person, exactly: 512 not 512.0, 1048576 not 1.04858e+06."""
    return str(int(x)) if x.is_integer() and abs(x) < 1e15 else repr(x)


def _float(text: str, what: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ConfigError(f"{what}: {text!r} is not a number") from None


def parse_target(text: str) -> Target:
    m = _TARGET.match(text) if isinstance(text, str) else None
    if m is None:
        raise ConfigError(
            f"target {text!r} is not of the form 'metric >= value' (or <=, <, >), "
            "for example 'val_acc >= 0.97'"
        )
    return Target(m.group(1), m.group(2), _float(m.group(3), f"target {text!r}"))


def _parse_one(name: str, spec: Any) -> Metric:
    check_name("metric name", name)
    if isinstance(spec, Metric):
        return spec
    if not isinstance(spec, str):
        raise ConfigError(f"metric {name!r}: expected {_VALID}, got {spec!r}")
    s = spec.strip().lower()
    if s in ("minimize", "min"):
        return Metric(name, "objective", direction="minimize")
    if s in ("maximize", "max"):
        return Metric(name, "objective", direction="maximize")
    if s in ("track", "tracked"):
        return Metric(name, "tracked")
    m = _BOUND.match(s)
    if m is not None:
        bound = _float(m.group(2), f"metric {name!r}: the bound in {spec!r}")
        return Metric(name, "constraint", bound=bound, op=m.group(1))
    raise ConfigError(f"metric {name!r}: expected {_VALID}, got {spec!r}")


class MetricSet(Mapping[str, Metric]):
    """The metrics of one study, in order; the first objective is the primary one."""

    def __init__(self, spec: Mapping[str, Any] | Sequence[str] | str | None = None) -> None:
        if spec is None:
            spec = {"value": "minimize"}
        elif isinstance(spec, str):
            spec = {"value": spec}
        elif isinstance(spec, Sequence):
            spec = {f"value_{i}" if len(spec) > 1 else "value": d for i, d in enumerate(spec)}
        if not isinstance(spec, Mapping):
            raise ConfigError(
                "metrics must map names to " + _VALID + f", got {spec!r}"
            )
        self._metrics: dict[str, Metric] = {n: _parse_one(n, s) for n, s in spec.items()}
        if not self.objectives:
            raise ConfigError(
                "metrics name no objective: mark at least one 'minimize' or 'maximize' "
                f"(got {dict(spec)})"
            )

    def __getitem__(self, name: str) -> Metric:
        return self._metrics[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._metrics)

    def __len__(self) -> int:
        return len(self._metrics)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, MetricSet) and self.to_dict() == other.to_dict()

    def __hash__(self) -> int:
        return hash(tuple(self.to_dict().items()))

    def __repr__(self) -> str:
        return f"MetricSet({self.to_dict()!r})"

    @property
    def objectives(self) -> list[Metric]:
        return [m for m in self._metrics.values() if m.role == "objective"]

    @property
    def constraints(self) -> list[Metric]:
        return [m for m in self._metrics.values() if m.role == "constraint"]

    @property
    def primary(self) -> Metric:
        return self.objectives[0]

    @property
    def multi_objective(self) -> bool:
        return len(self.objectives) > 1

    def to_dict(self) -> dict[str, str]:
        return {n: m.spec() for n, m in self._metrics.items()}

    def values_from(
        self, returned: Any, costs: Mapping[str, float | None] | None = None
    ) -> dict[str, float]:
        """Turn what an objective returned into metric values, checking names and numbers.

        A plain number is the primary objective; a sequence gives the objectives in order; a
        mapping names its metrics (every objective must be present; unknown names are tracked).
        A metric of :data:`COST_METRICS` that the study names and the objective did not return
        is taken from ``costs`` (what the engine measured). Raises ``ValueError`` with a message
        naming the metric on NaN, infinity or a missing objective.
        """
        if isinstance(returned, Mapping):
            raw = dict(returned)
        elif _is_number(returned):
            raw = {self.primary.name: returned}
        elif isinstance(returned, Sequence) and not isinstance(returned, str):
            objs = self.objectives
            if len(returned) != len(objs):
                raise ValueError(
                    f"the objective returned {len(returned)} values; this study has "
                    f"{len(objs)} objectives ({', '.join(m.name for m in objs)})"
                )
            raw = {m.name: v for m, v in zip(objs, returned, strict=True)}
        else:
            raise ValueError(
                "the objective must return a number or a mapping of metric names to numbers "
                f"(for example {{'{self.primary.name}': 0.12}}), got {type(returned).__name__}"
            )
        out: dict[str, float] = {}
        for name, value in raw.items():
            check_name("metric name", name)  # a ConfigError, which is a ValueError
            if not _is_number(value):
                raise ValueError(f"metric {name!r} is not a number: {value!r}")
            try:
                v = float(value)
            except OverflowError:
                raise ValueError(
                    f"metric {name!r} is an integer too large for a float "
                    f"({len(str(abs(int(value))))} digits)"
                ) from None
            if not math.isfinite(v):
                raise ValueError(f"metric {name!r} is {v} (NaN or infinite values are failures)")
            out[name] = v
        for name in COST_METRICS:
            measured = None if costs is None else costs.get(name)
            if name in self._metrics and name not in out and measured is not None:
                out[name] = float(measured)
        missing = [m.name for m in self.objectives + self.constraints if m.name not in out]
        if missing:
            costs_missing = [n for n in missing if n in COST_METRICS]
            one = len(costs_missing) == 1
            hint = (
                f"; {', '.join(costs_missing)} {'is' if one else 'are'} measured only when "
                "the study runs the objective (optimize, dialed run), so return "
                f"{'it' if one else 'them'} when telling a result"
                if costs_missing else ""
            )
            raise ValueError(
                f"the objective did not return {', '.join(repr(n) for n in missing)} "
                f"(it returned {sorted(out)}){hint}"
            )
        return out

    def feasible(self, values: Mapping[str, float]) -> bool:
        return all(m.violation(values.get(m.name, math.nan)) == 0.0 for m in self.constraints)

    def violation(self, values: Mapping[str, float]) -> float:
        return sum(m.violation(values.get(m.name, math.nan)) for m in self.constraints)


def _is_number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    try:
        float(value)
    except OverflowError:  # an int too large for a float is a number: values_from says so
        return not isinstance(value, (str, bytes))
    except (TypeError, ValueError):
        return False
    return not isinstance(value, (str, bytes))
