"""What a workflow means to do, stored in the study: baseline, targets, repeats, stages.

The plan lives in the study attribute ``workflow:plan``; every step reads it from there, so
``dialed confirm`` / ``verify`` / ``summary`` in another process know the baseline, the targets
and where the objective and the test function are.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from dialed.errors import ConfigError
from dialed.metrics import MetricSet, Target, parse_target

__all__ = ["DEFAULT_REPEATS", "PLAN_KEY", "Plan", "StagePlan"]

#: The study attribute holding the plan.
PLAN_KEY = "workflow:plan"
#: Seeds per evaluation of the baseline, a stage's candidate and a confirmed configuration.
DEFAULT_REPEATS = 3


@dataclass(frozen=True)
class StagePlan:
    """One stage: the families it tunes (``None``: all of them, an unstaged search), a budget."""

    families: tuple[str, ...] | None
    trials: int | None = None
    timeout: float | None = None
    name: str | None = None

    def __post_init__(self) -> None:
        if self.families is not None:
            fams = (self.families,) if isinstance(self.families, str) else tuple(self.families)
            if not fams or not all(isinstance(f, str) and f.strip() for f in fams):
                raise ConfigError(
                    f"stage families must be one or more family names such as 'optimizer' "
                    f"or ['regularization', 'architecture'], got {self.families!r}"
                )
            object.__setattr__(self, "families", fams)
        if self.trials is not None and (isinstance(self.trials, bool)
                                        or not isinstance(self.trials, int) or self.trials < 1):
            raise ConfigError(f"stage trials must be a whole number >= 1, got {self.trials!r}")
        if self.timeout is not None and (not isinstance(self.timeout, (int, float))
                                         or self.timeout <= 0):
            raise ConfigError(f"stage timeout must be seconds > 0, got {self.timeout!r}")
        if self.trials is None and self.timeout is None:
            raise ConfigError("a stage needs a budget: trials (a number >= 1) and / or timeout")

    @property
    def label(self) -> str:
        if self.name:
            return self.name
        return "all families" if self.families is None else "+".join(self.families)

    @property
    def attributable(self) -> bool:
        return self.families is not None

    def to_dict(self) -> dict[str, Any]:
        return {"families": None if self.families is None else list(self.families),
                "trials": self.trials, "timeout": self.timeout, "name": self.name}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StagePlan:
        fams = data.get("families")
        return cls(None if fams is None else tuple(fams), data.get("trials"),
                   data.get("timeout"), data.get("name"))


def check_repeats(repeats: Any, what: str = "repeats") -> int:
    if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 2:
        raise ConfigError(
            f"{what} must be a whole number >= 2 (an interval needs two seeds), got {repeats!r}"
        )
    return repeats


def parse_targets(targets: Sequence[str | Target], metrics: MetricSet | None) -> tuple[Target, ...]:
    if isinstance(targets, (str, Target)):
        targets = [targets]
    out = []
    for t in targets:
        target = t if isinstance(t, Target) else parse_target(t)
        if metrics is not None and target.metric not in metrics:
            raise ConfigError(
                f"target {str(target)!r}: the study has no metric {target.metric!r} "
                f"(its metrics are {', '.join(metrics)})"
            )
        out.append(target)
    return tuple(out)


@dataclass(frozen=True)
class Plan:
    """The workflow of one study, as stored."""

    baseline: dict[str, Any] | None = None
    targets: tuple[Target, ...] = ()
    repeats: int = DEFAULT_REPEATS
    stages: tuple[StagePlan, ...] = ()
    space: dict[str, Any] | None = None  # the declared space, suggested before the objective
    objective: str | None = None  # module:function
    test: str | None = None  # module:function(params, seed) -> metrics
    data: str | None = None  # module:function() -> (X, y)
    base_dir: str | None = None  # where those modules are looked for first
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "baseline": self.baseline,
            "targets": [str(t) for t in self.targets],
            "repeats": self.repeats,
            "stages": [s.to_dict() for s in self.stages],
            "space": self.space,
            "objective": self.objective,
            "test": self.test,
            "data": self.data,
            "base_dir": self.base_dir,
            **self.extra,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> Plan:
        if not data:
            return cls()
        known = {"baseline", "targets", "repeats", "stages", "space", "objective", "test",
                 "data", "base_dir"}
        return cls(
            baseline=dict(data["baseline"]) if data.get("baseline") is not None else None,
            targets=tuple(parse_target(t) for t in data.get("targets") or ()),
            repeats=int(data.get("repeats") or DEFAULT_REPEATS),
            stages=tuple(StagePlan.from_dict(s) for s in data.get("stages") or ()),
            space=dict(data["space"]) if data.get("space") is not None else None,
            objective=data.get("objective"),
            test=data.get("test"),
            data=data.get("data"),
            base_dir=data.get("base_dir"),
            extra={k: v for k, v in data.items() if k not in known},
        )

    def updated(self, **changes: Any) -> Plan:
        """A copy with the given fields replaced (``None`` leaves a field as it is)."""
        given = {k: v for k, v in changes.items() if v is not None}
        return replace(self, **given) if given else self
