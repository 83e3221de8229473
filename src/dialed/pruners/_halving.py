"""Successive halving, shared by ASHA and Hyperband: the settings, the rungs, the verdict.

Li, Jamieson, Rostamizadeh, Gonina, Ben-tzur, Hardt, Recht and Talwalkar, "A System for
Massively Parallel Hyperparameter Tuning", MLSys 2020 (arXiv:1810.05934), Algorithm 2: the
asynchronous promotion rule that :func:`halving_verdict` applies in its stopping form (see
:mod:`dialed.pruners._asha`). :class:`HalvingPruner` holds what both pruners are configured
by (minimum and maximum resource, reduction factor, the sampler's view) and how each defaults
to the study's declared resource.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, ClassVar

from dialed.errors import ConfigError
from dialed.history import History
from dialed.metrics import MetricSet
from dialed.pruners._base import Pruner
from dialed.pruners._curve import at_rung, check_int, check_number, peers
from dialed.pruners._evidence import Evidence, fidelity_evidence, witness
from dialed.pruners._fidelity import fidelity_history
from dialed.pruners._resource import Resource
from dialed.trial import TrialRecord

__all__ = ["HalvingPruner", "halving_verdict", "rung_levels"]


class HalvingPruner(Pruner):
    """The settings of a successive-halving pruner, validated, and their defaults.

    ``min_resource``, ``max_resource`` and ``reduction_factor`` default to the study's declared
    resource (then to 1, no maximum, and 3); ``sampler_view`` must be one of ``views``;
    ``extra`` holds a subclass's own options, validated by it.
    """

    views: ClassVar[tuple[str, ...]] = ("budget", "all")

    def __init__(
        self,
        min_resource: float | None,
        max_resource: float | None,
        reduction_factor: float | None,
        sampler_view: str,
        min_observations: int | None,
        evidence: bool = False,
        pause: bool = False,
        **extra: Any,
    ) -> None:
        self._options: dict[str, Any] = {
            "min_resource": min_resource, "max_resource": max_resource,
            "reduction_factor": reduction_factor, **extra, "sampler_view": sampler_view,
            "min_observations": min_observations, "evidence": evidence,
        }
        if pause:
            self._options["pause"] = True
        for key, flag in (("evidence", evidence), ("pause", pause)):
            if not isinstance(flag, bool):
                raise ConfigError(f"{self.name} pruner: {key} must be true or false, got "
                                  f"{flag!r}")
        #: Paused trials this process promoted (the storage's once-keys guard all processes).
        self._promoted: set[int] = set()
        if min_resource is not None:
            check_number(self.name, "min_resource", min_resource, above=0)
        if max_resource is not None:
            check_number(self.name, "max_resource", max_resource, above=0)
        if reduction_factor is not None:
            check_number(self.name, "reduction_factor", reduction_factor, above=1)
        if sampler_view not in self.views:
            raise ConfigError(f"{self.name} pruner: sampler_view must be one of "
                              f"{', '.join(self.views)}, got {sampler_view!r}")
        if min_observations is not None:
            check_int(self.name, "min_observations", min_observations, 1)
        self._resource: Resource | None = None
        self._verdicts: dict[tuple[int, int], str | None] = {}
        self._trust: tuple[tuple[float, bool], ...] = ()
        self._trust_note: str | None = None

    def bind(self, resource: Resource | None, metrics: MetricSet) -> None:
        super().bind(resource, metrics)
        self._resource = resource
        if self._options.get("pause") and self._resolved()[1] is None:
            raise ConfigError(f"{self.name} pruner: pause needs the maximum resource: declare "
                              "the study's resource or give max_resource=")

    @property
    def pausing(self) -> bool:
        """Whether trials stop at their rung and the best are continued by new trials."""
        return bool(self._options.get("pause"))

    def _resolved(self) -> tuple[float, float | None, float]:
        """``(r, R, eta)``: the options, else the study's resource, else ``(1, None, 3)``."""
        res = self._resource
        low, high, eta = (self._options[k] for k in ("min_resource", "max_resource",
                                                      "reduction_factor"))
        if low is None:
            low = res.min if res is not None else 1
        if high is None and res is not None:
            high = res.max
        if eta is None:
            eta = res.reduction_factor if res is not None else 3
        if high is not None and float(high) < float(low):
            raise ConfigError(f"{self.name} pruner: max_resource ({high:g}) is below "
                              f"min_resource ({low:g})")
        return float(low), None if high is None else float(high), float(eta)

    @property
    def unit(self) -> str:
        return self._resource.name if self._resource is not None else "steps"

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, **self._options}

    def _budget_view(self, history: History) -> History:
        """The BOHB-style view of :func:`~dialed.pruners.fidelity_history` over the rungs
        (with ``evidence``, over the rungs that may feed a model only: settled, E3, and
        predicting among the better half of their pairs, E5)."""
        low, high, eta = self._resolved()
        levels = rung_levels(low, high, eta, history)
        if self._options["evidence"]:
            # Rule: a model learns from a cheap budget only once its agreement with the full
            # budget is settled (E3), not as soon as it predicts (E2): a budget that agrees by
            # chance (three or four pairs) steers every proposal after it, where it stops only
            # the trials it ranks low. And only where it also ranks the better half of the
            # trials as the full budget does (E5): a noisy budget ranks the whole range right
            # and the good trials by chance. This view keeps most of the gain on faithful
            # budgets and loses less where they mislead (benchmarks/results/notes.md).
            found = self.evidence(history)
            levels = [level for level in levels if level in found and found[level].feeds_model]
        return fidelity_history(history, levels,
                                min_observations=self._options["min_observations"])

    # -- the evidence that rungs predict ----------------------------------------------------------
    def evidence(self, history: History) -> dict[float, Evidence]:
        """How well each rung predicts the full budget, from the complete trials (kept in the
        history's memo for as long as the complete trials are the same)."""
        low, high, eta = self._resolved()
        levels = tuple(rung_levels(low, high, eta, history))
        key = ("fidelity-evidence", levels, tuple(t.trial_id for t in history.complete))
        found: dict[float, Evidence] | None = history.memo.get(key)
        if found is None:
            found = {e.level: e for e in fidelity_evidence(history, levels)}
            history.memo.put(key, found)
            states = tuple((e.level, e.may_stop) for e in found.values())
            if states != self._trust:  # the decision as it last changed
                self._trust = states
                self._trust_note = "; ".join(e.describe(self.unit) for e in found.values())
        return found

    def evidence_note(self) -> str | None:
        """The rungs' evidence when which of them predict last changed (None: never measured)."""
        return self._trust_note

    def _verdict_rungs(self, history: History) -> Callable[[float, int], str | None] | None:
        """With ``evidence``: for a rung and a trial's number, None when the rung may stop the
        trial, else why it may not (unproven, not predicting among the better trials (E5), or a
        witness while the evidence is not settled:
        :mod:`dialed.pruners._evidence`, E3)."""
        if not self._options["evidence"]:
            return None
        found = self.evidence(history)

        def refusal(rung: float, number: int) -> str | None:
            e = found.get(rung)
            # Rule (E5): a rung that orders the better trials unlike the full budget stops
            # nothing; it is what keeps the screened default level with full fidelity on noisy
            # budgets (benchmarks/results/notes.md).
            if e is None or not e.may_stop:
                return "unproven"
            return "witness" if not e.settled and witness(number) else None

        return refusal


def rung_levels(low: float, high: float | None, eta: float, history: History) -> list[float]:
    """Rung resources ``low * eta**k`` below ``high`` (up to the longest curve if no ``high``)."""
    top = high
    if top is None:
        top = max((t.last_step or 0 for t in history.trials), default=0) + 1.0
    levels: list[float] = []
    level = low
    while level < top - 1e-9:
        levels.append(level)
        level *= eta
    return levels


def halving_verdict(
    history: History,
    trial: TrialRecord,
    *,
    first: float,
    high: float | None,
    eta: float,
    verdicts: dict[tuple[int, int], str | None],
    label: str,
    unit: str,
    same_group: Callable[[TrialRecord], bool] | None = None,
    refusal: Callable[[float, int], str | None] | None = None,
    evidence: dict[float, Evidence] | None = None,
) -> str | None:
    """The successive-halving decision for ``trial`` at the latest rung it crossed.

    Rungs are ``first * eta**k`` below ``high``; peers are the trials of ``history`` (those
    ``same_group`` accepts, e.g. the same Hyperband bracket). ``verdicts`` caches one decision
    per (trial, rung).
    """
    step = trial.last_step
    if step is None or step < first:
        return None
    k = math.floor(math.log(step / first) / math.log(eta) + 1e-9)
    rung = first * eta**k
    while rung > step + 1e-9:  # guard the floating-point floor
        k -= 1
        rung = first * eta**k
    if high is not None:
        while k >= 0 and rung >= high - 1e-9:  # the full budget is no rung: the trial ends
            k -= 1
            rung = first * eta**k
        if k < 0:
            return None
    key = (trial.trial_id, k)
    if key in verdicts:
        return verdicts[key]
    if refusal is not None and refusal(rung, trial.number) is not None:
        return None  # unproven, or a witness while unsettled: not judged (again later)
    own = at_rung(trial.intermediate, rung)
    if own is None:  # cannot happen: the trial's last step is past the rung
        return None
    loss = history.metrics.primary.loss
    mine = loss(own[1])
    others = []
    for t in peers(history.trials, trial):
        if same_group is not None and not same_group(t):
            continue
        hit = at_rung(t.intermediate, rung)
        if hit is not None:
            others.append(loss(hit[1]))
    n = len(others) + 1
    top = math.floor(n / eta + 1e-9)
    verdict: str | None = None
    if top < 1:
        if others and mine > min(others):
            verdict = (f"{label}: value {own[1]:.6g} at rung {rung:g} {unit} is not the best of "
                       f"the {n} trials that reached it so far (fewer than {eta:g}: only the "
                       f"best continues)")
    else:
        cutoff = sorted([*others, mine])[top - 1]
        if mine > cutoff:
            verdict = (f"{label}: value {own[1]:.6g} at rung {rung:g} {unit} is not in the "
                       f"top 1/{eta:g} ({top} of {n}) of the trials that reached it")
    if verdict is not None and evidence is not None and rung in evidence:
        verdict += f" ({evidence[rung].describe(unit)})"
    verdicts[key] = verdict
    return verdict
