"""``auto``: the default pruner, which turns a suitable rule on once there is a curve to judge.

It does nothing while no trial reports intermediate values (an objective that only returns
its result is never stopped). Once the study's trials report a curve it delegates, and says
why (:meth:`AutoPruner.decision`, recorded in the study as ``pruner_decision``):

* a single-objective study that declared its resource: asynchronous successive halving
  (:mod:`dialed.pruners._asha`; Li et al. 2020) over it, the resource giving the rungs. In
  ``benchmarks/results/fidelity.md`` (target 1) it reaches full-budget quality with fewer
  epochs than Hyperband, with random search and with TPE: at budgets of a dozen full
  trainings Hyperband's conservative brackets spend much of the budget on trials that are
  never stopped. It checks the evidence that each rung
  predicts the full budget (:mod:`dialed.pruners._evidence`), and shows the sampler the
  screened trials at the largest budget with ``VIEW_MIN_OBSERVATIONS`` of them among those whose
  evidence is settled and that rank the better trials as the full budget does (BOHB's view),
  on which ``auto``'s Gaussian process keeps proposing;
* a single-objective study without a resource: the median stopping rule
  (:mod:`dialed.pruners._median`; Golovin et al. 2017), which needs no budget;
* a study with several objectives: nothing, since ranking runs by one curve would prefer
  one objective unasked (NaN or infinite reports still stop a trial, in the engine).

The choice depends only on the study's settings and whether any trial reported, so every
worker process makes the same one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dialed.history import History
from dialed.metrics import MetricSet
from dialed.pruners._asha import ASHAPruner
from dialed.pruners._base import NopPruner, Pruner
from dialed.pruners._evidence import WITNESS_EVERY
from dialed.pruners._median import MedianPruner
from dialed.pruners._resource import Resource
from dialed.trial import TrialRecord

__all__ = ["VIEW_MIN_OBSERVATIONS", "AutoPruner"]

#: The sampler's BOHB-style view moves to a dearer budget once it has this many observations
#: there (BOHB's ``d + 2``, fewer for up to 7 parameters): auto's Gaussian process draws its
#: first 8 trials from a quasi-random start-up design, and a view that moved on with fewer
#: would send it back to them (benchmarks/results/fidelity.md; the runs in
#: benchmarks/results/notes.md).
VIEW_MIN_OBSERVATIONS = 10


class AutoPruner(Pruner):
    """ASHA with a declared resource, else the median rule, once a curve is reported."""

    name = "auto"
    multi_objective = True

    def __init__(self) -> None:
        self._resource: Resource | None = None
        self._metrics: MetricSet | None = None
        self._inner: Pruner | None = None
        self._decision: dict[str, Any] | None = None
        self._scanned = 0

    def bind(self, resource: Resource | None, metrics: MetricSet) -> None:
        super().bind(resource, metrics)
        self._resource = resource
        self._metrics = metrics
        self._inner = None
        self._decision = None
        self._scanned = 0

    @property
    def chosen(self) -> Pruner | None:
        """The pruner in charge, once one was chosen."""
        return self._inner

    def decision(self) -> dict[str, Any] | None:
        if self._decision is None:
            return None
        out = dict(self._decision)
        note = getattr(self._inner, "evidence_note", lambda: None)()
        if note:
            out["evidence"] = note
        return out

    def _choose(self, metrics: MetricSet) -> Pruner:
        if self._inner is not None:
            return self._inner
        resource = self._resource
        inner: Pruner
        if metrics.multi_objective:
            inner = NopPruner()
            reason = (f"the objective reports intermediate values, but the study has "
                      f"{len(metrics.objectives)} objectives: no curve ranks trials on all of "
                      "them, so only NaN or infinite reports stop a trial")
        elif resource is not None:
            inner = ASHAPruner(evidence=True, min_observations=VIEW_MIN_OBSERVATIONS)
            reason = (f"the objective reports intermediate values and the study declares its "
                      f"resource ({resource.name} from {resource.min:g} to {resource.max:g}, "
                      f"reduction factor {resource.reduction_factor:g}): asynchronous "
                      "successive halving promotes the best third of each rung, from the rungs "
                      "that have shown they rank trials as the full budget does (until then "
                      "trials run to the full budget; while that evidence is thin, one trial in "
                      f"{WITNESS_EVERY} runs on as a witness)")
        else:
            inner = MedianPruner()
            reason = ("the objective reports intermediate values and the study declares no "
                      "resource: the median stopping rule needs no budget (declare "
                      "resource={'name': ..., 'min': ..., 'max': ...} for successive halving)")
        inner.bind(resource, metrics)
        self._inner = inner
        self._decision = {"pruner": inner.name, "reason": reason}
        return inner

    def _active(self, history: History) -> Pruner | None:
        if self._inner is not None:
            return self._inner
        # finished trials never change: look again only from the first one that was not
        # finished at the last look (O(new trials) per call, not O(history))
        trials = history.trials
        start = self._scanned if len(trials) >= self._scanned else 0
        self._scanned = next(
            (i for i in range(start, len(trials)) if not trials[i].state.finished), len(trials)
        )
        if any(t.intermediate for t in trials[start:]):
            return self._choose(self._metrics or history.metrics)
        return None

    def on_trial_start(self, number: int, history: History) -> dict[str, Any]:
        inner = self._active(history)
        return {} if inner is None else inner.on_trial_start(number, history)

    def sampler_history(self, history: History, trial_attrs: Mapping[str, Any]) -> History:
        inner = self._active(history)
        return history if inner is None else inner.sampler_history(history, trial_attrs)

    def should_prune(self, history: History, trial: TrialRecord) -> str | None:
        inner = self._active(history)
        if inner is None:
            if not trial.intermediate:
                return None
            inner = self._choose(self._metrics or history.metrics)
        return inner.should_prune(history, trial)
