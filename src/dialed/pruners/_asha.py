"""Asynchronous successive halving (ASHA).

Li, Jamieson, Rostamizadeh, Gonina, Ben-tzur, Hardt, Recht and Talwalkar, "A System for
Massively Parallel Hyperparameter Tuning", MLSys 2020 (arXiv:1810.05934), Algorithm 2.

Rungs sit at resources ``r * eta**(s + k)`` for ``k = 0, 1, ...`` below the maximum resource
``R`` (``r`` the minimum resource, ``eta`` the reduction factor, ``s`` the minimum early-stopping
rate). ASHA promotes a configuration out of rung ``k`` when it is in the top ``1/eta`` of the
configurations that reached rung ``k``; promotion never waits for a rung to fill, which is what
makes it asynchronous. By default trials are not paused and resumed, so promotion takes the
*stopping* form (with ``pause=True``, the promotion form of :mod:`dialed.pruners._pause`,
where promoted trials resume from checkpoints): when a trial crosses a rung it is compared
with every trial (of any worker, read from the storage) that crossed the same rung so far,
and continues only if it ranks in the top ``floor(n / eta)`` of those ``n`` values, itself
included. While ``n < eta`` nobody is
in the top ``1/eta``; the trial then continues only if it is the best at the rung so far.

Each trial is judged once per rung, at the first ``should_prune`` call after it crossed the
rung; the verdict is kept, so asking again gives the same answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dialed.history import History
from dialed.metrics import MetricSet
from dialed.pruners._base import Promotion
from dialed.pruners._curve import check_int
from dialed.pruners._halving import HalvingPruner, halving_verdict
from dialed.pruners._pause import pause_verdict, promotions
from dialed.pruners._resource import Resource
from dialed.trial import TrialRecord

__all__ = ["ASHAPruner"]


class ASHAPruner(HalvingPruner):
    """Stops a trial that is not in the top ``1/eta`` of its peers at a rung.

    ``min_resource``, ``max_resource`` and ``reduction_factor`` default to the study's declared
    resource (then to 1, no maximum, and 3). ``sampler_view`` is what the sampler sees:
    ``"budget"`` (the BOHB-style view of :func:`~dialed.pruners.fidelity_history`, useful to a
    model-based sampler) or ``"all"`` (the plain history). With ``evidence`` a rung stops
    trials only once it has shown that it predicts the full budget, among the better trials
    too, and the sampler's view holds only such rungs whose evidence is settled
    (:mod:`dialed.pruners._evidence`): the first
    trials run to the full budget, a cheap budget that misleads never decides, and while a
    rung's evidence is thin one trial in three runs on past it as a witness. With ``pause`` a
    trial stops at its rung and the best are continued by new trials, from their checkpoints
    where the objective saves them (:mod:`dialed.pruners._pause`); with both, a trial pauses
    only at a rung that may stop it and runs on past the others.
    """

    name = "asha"

    def __init__(
        self,
        min_resource: float | None = None,
        max_resource: float | None = None,
        reduction_factor: float | None = None,
        min_early_stopping_rate: int = 0,
        sampler_view: str = "budget",
        min_observations: int | None = None,
        evidence: bool = False,
        pause: bool = False,
    ) -> None:
        super().__init__(min_resource, max_resource, reduction_factor, sampler_view,
                         min_observations, evidence, pause,
                         min_early_stopping_rate=min_early_stopping_rate)
        check_int(self.name, "min_early_stopping_rate", min_early_stopping_rate, 0)

    # -- settings ------------------------------------------------------------------------------
    def bind(self, resource: Resource | None, metrics: MetricSet) -> None:
        super().bind(resource, metrics)
        self.budgets()  # raises the ConfigError now rather than at the first report

    def budgets(self) -> tuple[float, float | None, float]:
        """``(r, R, eta)``: the options, else the study's resource, else ``(1, None, 3)``."""
        return self._resolved()

    # -- decisions ----------------------------------------------------------------------------
    def should_prune(self, history: History, trial: TrialRecord) -> str | None:
        low, high, eta = self.budgets()
        first = low * eta ** self._options["min_early_stopping_rate"]
        refusal = self._verdict_rungs(history)
        if self.pausing and high is not None:
            return pause_verdict(trial, first=first, high=high, eta=eta, label="ASHA",
                                 unit=self.unit, refusal=refusal)
        return halving_verdict(history, trial, first=first, high=high, eta=eta,
                               verdicts=self._verdicts, label="ASHA", unit=self.unit,
                               refusal=refusal,
                               evidence=self.evidence(history) if refusal else None)

    def promotions(self, history: History) -> list[Promotion]:
        low, high, eta = self.budgets()
        if not self.pausing or high is None:
            return []
        first = low * eta ** self._options["min_early_stopping_rate"]
        found = promotions(history, first_of=lambda t: first, group_of=lambda t: None,
                           high=high, eta=eta, done=self._promoted)
        self._promoted.update(int(p.attrs["resume_from"]) for p in found)
        return found

    def sampler_history(self, history: History, trial_attrs: Mapping[str, Any]) -> History:
        if self._options["sampler_view"] == "all":
            return history
        return self._budget_view(history)
