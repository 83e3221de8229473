"""The records each workflow step stores in the study, as typed views of plain dicts.

Each record is a JSON study attribute (``workflow:baseline``, ``workflow:stage:2``,
``workflow:confirm:1``, ``workflow:verify:1``); these classes read and write them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from dialed.analysis import Comparison, Gain, Interval, mean_interval
from dialed.metrics import Metric
from dialed.trial import TrialRecord

__all__ = ["Candidate", "ConfirmResult", "Evaluation", "StageResult", "VerifyResult"]


@dataclass(frozen=True)
class Evaluation:
    """One configuration evaluated with several seeds: its trials and each metric's values."""

    params: dict[str, Any]
    trials: tuple[int, ...]
    values: dict[str, tuple[float, ...]]  # metric -> one value per trial, in trial order

    @classmethod
    def from_trials(cls, params: Mapping[str, Any], trials: Sequence[TrialRecord]) -> Evaluation:
        names = [n for n in trials[0].metrics if all(n in t.metrics for t in trials)]
        return cls(
            dict(params),
            tuple(t.number for t in trials),
            {n: tuple(float(t.metrics[n]) for t in trials) for n in names},
        )

    @property
    def n(self) -> int:
        return len(self.trials)

    def interval(self, metric: str, confidence: float = 0.95) -> Interval:
        return mean_interval(self.values[metric], confidence)

    def mean(self, metric: str) -> float:
        vals = self.values[metric]
        return float(sum(vals) / len(vals))

    def means(self) -> dict[str, float]:
        return {n: self.mean(n) for n in self.values}

    def loss(self, metric: Metric) -> float:
        """The mean of an objective as a loss (smaller is better)."""
        return metric.loss(self.mean(metric.name))

    def to_dict(self) -> dict[str, Any]:
        return {"params": self.params, "trials": list(self.trials),
                "values": {k: list(v) for k, v in self.values.items()}}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Evaluation:
        return cls(dict(data["params"]), tuple(int(n) for n in data["trials"]),
                   {k: tuple(float(x) for x in v) for k, v in data["values"].items()})


@dataclass(frozen=True)
class StageResult:
    """A finished stage: what it tuned, its search, its candidate, the measured gain."""

    index: int
    name: str
    families: tuple[str, ...] | None
    tuned: tuple[str, ...]
    n_search: int
    first_number: int
    start: Evaluation
    candidate_trial: int | None
    candidate: Evaluation | None
    gain: Gain | None
    adopted: bool
    incumbent: Evaluation
    note: str = ""

    @property
    def attributable(self) -> bool:
        return self.families is not None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StageResult:
        cand = data.get("candidate_eval")
        fams = data.get("families")
        return cls(
            index=int(data["index"]),
            name=str(data["name"]),
            families=None if fams is None else tuple(fams),
            tuned=tuple(data.get("tuned") or ()),
            n_search=int(data.get("n_search") or 0),
            first_number=int(data["first_number"]),
            start=Evaluation.from_dict(data["start"]),
            candidate_trial=(data.get("candidate") or {}).get("trial"),
            candidate=None if cand is None else Evaluation.from_dict(cand),
            gain=None if data.get("gain") is None else Gain.from_dict(data["gain"]),
            adopted=bool(data.get("adopted")),
            incumbent=Evaluation.from_dict(data["incumbent"]),
            note=str(data.get("note") or ""),
        )


@dataclass(frozen=True)
class Candidate:
    """One configuration re-evaluated by confirm."""

    evaluation: Evaluation
    source_trial: int | None
    vs_baseline: Gain | None = None  # improvement over the baseline (positive = better)
    overlaps_baseline: bool | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"evaluation": self.evaluation.to_dict(), "source_trial": self.source_trial,
                "vs_baseline": None if self.vs_baseline is None else self.vs_baseline.to_dict(),
                "overlaps_baseline": self.overlaps_baseline}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Candidate:
        vs = data.get("vs_baseline")
        return cls(Evaluation.from_dict(data["evaluation"]), data.get("source_trial"),
                   None if vs is None else Gain.from_dict(vs), data.get("overlaps_baseline"))


@dataclass(frozen=True)
class ConfirmResult:
    """A confirm round: candidates ranked by confirmed mean; the first is recommended."""

    round: int
    top: int
    repeats: int
    candidates: tuple[Candidate, ...]
    unstable: bool
    reason: str
    welch: Comparison | None = None

    @property
    def recommended(self) -> Candidate:
        return self.candidates[0]

    def to_dict(self) -> dict[str, Any]:
        return {"round": self.round, "top": self.top, "repeats": self.repeats,
                "status": "done", "candidates": [c.to_dict() for c in self.candidates],
                "unstable": self.unstable, "reason": self.reason,
                "welch": None if self.welch is None else self.welch.to_dict()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ConfirmResult:
        w = data.get("welch")
        return cls(int(data["round"]), int(data["top"]), int(data["repeats"]),
                   tuple(Candidate.from_dict(c) for c in data["candidates"]),
                   bool(data["unstable"]), str(data.get("reason") or ""),
                   None if w is None else Comparison.from_dict(w))


@dataclass(frozen=True)
class VerifyResult:
    """One evaluation on the locked test data, and how it compares with validation."""

    number: int
    forced: bool
    status: str  # started, done or failed
    params: dict[str, Any]
    seed: int
    source: str  # the confirm round the configuration came from
    validation: dict[str, float] = field(default_factory=dict)  # confirmed means
    test: dict[str, float] = field(default_factory=dict)
    gap: dict[str, float] = field(default_factory=dict)  # test - validation, per metric
    loss_gap: float | None = None  # of the primary objective, as a loss (positive: worse)
    threshold: float | None = None
    flagged: bool = False
    rule: str = ""
    started_at: float | None = None
    finished_at: float | None = None
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "number": self.number, "forced": self.forced, "status": self.status,
            "params": self.params, "seed": self.seed, "source": self.source,
            "validation": self.validation, "test": self.test, "gap": self.gap,
            "loss_gap": self.loss_gap, "threshold": self.threshold, "flagged": self.flagged,
            "rule": self.rule, "started_at": self.started_at, "finished_at": self.finished_at,
            "error": self.error,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> VerifyResult:
        return cls(
            number=int(data["number"]), forced=bool(data["forced"]), status=str(data["status"]),
            params=dict(data["params"]), seed=int(data["seed"]), source=str(data["source"]),
            validation=dict(data.get("validation") or {}), test=dict(data.get("test") or {}),
            gap=dict(data.get("gap") or {}), loss_gap=data.get("loss_gap"),
            threshold=data.get("threshold"), flagged=bool(data.get("flagged")),
            rule=str(data.get("rule") or ""), started_at=data.get("started_at"),
            finished_at=data.get("finished_at"), error=data.get("error"),
        )
