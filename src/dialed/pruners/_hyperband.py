"""Hyperband: successive halving hedged over several aggressiveness levels (brackets).

Li, Jamieson, DeSalvo, Rostamizadeh and Talwalkar, "Hyperband: A Novel Bandit-Based Approach
to Hyperparameter Optimization", JMLR 18(185), 2018, Algorithm 1.

With minimum resource ``r``, maximum ``R`` and reduction factor ``eta`` there are
``s_max + 1`` brackets, ``s_max = floor(log_eta(R / r))``. Bracket ``b`` (``b = 0`` the most
aggressive) runs successive halving whose first rung is at ``r * eta**b``: bracket 0 screens
at the minimum resource, bracket ``s_max`` trains every configuration to ``R`` (plain random
search, the hedge against misleading early values). The paper gives bracket ``s = s_max - b``
``n_s = ceil((s_max + 1) / (s + 1) * eta**s)`` configurations (Algorithm 1, line 3); here
trials are assigned to brackets in that proportion, deterministically by trial number: a
smooth weighted round-robin over the weights ``n_s`` (the budget weighting Optuna's
HyperbandPruner uses), so that any ``sum(n_s)`` consecutive trials fill every bracket with
exactly its share, interleaved. Within a bracket the rungs run asynchronously as in ASHA
(:mod:`dialed.pruners._asha`), each trial compared only with trials of its own bracket.

What the sampler sees (``sampler_view``): ``"budget"``, the BOHB-style view of
:func:`~dialed.pruners.fidelity_history` over every bracket's evidence (a model fits on the
highest rung with enough observations); ``"bracket"``, only the trials of the new trial's
bracket (as Optuna's HyperbandPruner does); or ``"all"``, the plain history. ``"budget"`` is
the default because samplers that ignore the history (random, Sobol, grid) are unaffected by
the view, while a model-based one fitted on a single bracket's few complete trials would waste
the evidence of every pruned trial.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, ClassVar

from dialed.errors import ConfigError
from dialed.history import History
from dialed.metrics import MetricSet
from dialed.pruners._base import Promotion
from dialed.pruners._halving import HalvingPruner, halving_verdict
from dialed.pruners._pause import pause_verdict, promotions
from dialed.pruners._resource import Resource, n_levels
from dialed.trial import TrialRecord

__all__ = ["HyperbandPruner"]


class HyperbandPruner(HalvingPruner):
    """Hyperband brackets, each an asynchronous successive halving over its own rungs.

    ``min_resource``, ``max_resource`` and ``reduction_factor`` default to the study's declared
    resource; Hyperband needs a maximum, from one or the other. ``evidence``: as
    :class:`~dialed.pruners.ASHAPruner`'s, a rung stops trials once it has shown it predicts
    (among the better trials too).
    ``pause``: each bracket's successive halving in its promotion form
    (:mod:`dialed.pruners._pause`): a trial stops at its rung, the top ``1/eta`` of a rung are
    continued by new trials, from their checkpoints where the objective saves them.
    """

    name = "hyperband"
    views: ClassVar[tuple[str, ...]] = ("budget", "bracket", "all")

    def __init__(
        self,
        min_resource: float | None = None,
        max_resource: float | None = None,
        reduction_factor: float | None = None,
        sampler_view: str = "budget",
        min_observations: int | None = None,
        evidence: bool = False,
        pause: bool = False,
    ) -> None:
        super().__init__(min_resource, max_resource, reduction_factor, sampler_view,
                         min_observations, evidence, pause)
        self._cycle: list[int] | None = None

    # -- settings ------------------------------------------------------------------------------
    def bind(self, resource: Resource | None, metrics: MetricSet) -> None:
        super().bind(resource, metrics)
        self._cycle = None
        self.budgets()  # raises the ConfigError now rather than at the first report

    def budgets(self) -> tuple[float, float, float]:
        """``(r, R, eta)``: the options, else the study's declared resource."""
        low, high, eta = self._resolved()
        if high is None:
            raise ConfigError(
                "hyperband pruner needs the maximum resource: declare the study's resource "
                "(create_study(..., resource={'name': 'epochs', 'min': 1, 'max': 81})) or give "
                "max_resource="
            )
        return low, high, eta

    @property
    def n_brackets(self) -> int:
        low, high, eta = self.budgets()
        return n_levels(low, high, eta)

    def bracket_sizes(self) -> list[int]:
        """``n_s`` of bracket ``b`` (index ``b``; bracket 0 the most aggressive)."""
        _, _, eta = self.budgets()
        n = self.n_brackets
        return [math.ceil(n * eta ** (n - 1 - b) / (n - b)) for b in range(n)]

    def bracket(self, number: int) -> int:
        """The bracket of trial ``number`` (a pure function of the number and the settings)."""
        if self._cycle is None:
            self._cycle = _smooth_round_robin(self.bracket_sizes())
        return self._cycle[number % len(self._cycle)]

    # -- hooks -----------------------------------------------------------------------------------
    def on_trial_start(self, number: int, history: History) -> dict[str, Any]:
        low, _, eta = self.budgets()
        b = self.bracket(number)
        return {"bracket": b, "bracket_min_resource": low * eta**b}

    def bracket_of(self, trial: TrialRecord) -> int:
        """A trial's bracket: the one it was started in (a promoted trial keeps its own)."""
        b = trial.system_attrs.get("bracket")
        return b if isinstance(b, int) and not isinstance(b, bool) else self.bracket(trial.number)

    def promotions(self, history: History) -> list[Promotion]:
        if not self.pausing:
            return []
        low, high, eta = self.budgets()
        found = promotions(history, first_of=lambda t: low * eta ** self.bracket_of(t),
                           group_of=self.bracket_of, high=high, eta=eta, done=self._promoted)
        self._promoted.update(int(p.attrs["resume_from"]) for p in found)
        return found

    def should_prune(self, history: History, trial: TrialRecord) -> str | None:
        low, high, eta = self.budgets()
        refusal = self._verdict_rungs(history)
        if self.pausing:
            b = self.bracket_of(trial)
            return pause_verdict(trial, first=low * eta**b, high=high, eta=eta,
                                 label=f"Hyperband bracket {b}", unit=self.unit,
                                 refusal=refusal)
        b = self.bracket(trial.number)
        return halving_verdict(
            history, trial, first=low * eta**b, high=high, eta=eta, verdicts=self._verdicts,
            label=f"Hyperband bracket {b}", unit=self.unit,
            same_group=lambda t: self.bracket(t.number) == b, refusal=refusal,
            evidence=self.evidence(history) if refusal else None,
        )

    def sampler_history(self, history: History, trial_attrs: Mapping[str, Any]) -> History:
        view = self._options["sampler_view"]
        if view == "all":
            return history
        if view == "bracket":
            b = trial_attrs.get("bracket")
            if b is None:
                return history
            kept = tuple(t for t in history.trials if self.bracket(t.number) == b)
            return history.view(kept)
        return self._budget_view(history)


def _smooth_round_robin(weights: list[int]) -> list[int]:
    """One cycle (``sum(weights)`` picks) of smooth weighted round-robin over the indices.

    Each pick adds every weight to its index's credit, takes the index with the largest
    credit (the lowest index on ties) and charges it the total: exact shares per cycle, the
    picks of each index spread evenly through it.
    """
    total = sum(weights)
    credit = [0] * len(weights)
    out: list[int] = []
    for _ in range(total):
        for i, w in enumerate(weights):
            credit[i] += w
        best = max(range(len(weights)), key=lambda i: (credit[i], -i))
        credit[best] -= total
        out.append(best)
    return out
