"""The pruner interface: whether a running trial should stop, from its curve and its peers'.

Samplers decide *what* to try; pruners decide *whether to continue*. A pruner sees the same
read-only :class:`~dialed.samplers.History` as a sampler (its peers' curves, read from the
storage so that every worker process decides from the same evidence) and the running trial's
record with the intermediate values reported so far.

The engine calls, besides :meth:`Pruner.should_prune`:

* :meth:`Pruner.bind` once when the study is created or opened, with the study's declared
  :class:`~dialed.pruners.Resource` (or None) and its metrics; a pruner that cannot work with
  them raises :class:`~dialed.errors.ConfigError` there, before anything is stored;
* :meth:`Pruner.on_trial_start` when a trial starts: the system attributes to record with it
  (Hyperband's bracket); the key ``"resource"`` sets the budget the trial exposes as
  ``trial.resource`` (the study's maximum otherwise);
* :meth:`Pruner.sampler_history` before the sampler proposes the trial's parameters: the
  history the sampler should see (Hyperband's bracket, or the BOHB-style view of
  :func:`~dialed.pruners.fidelity_history`);
* :meth:`Pruner.promotions` before a worker takes its next trial: the paused trials to
  continue (ASHA's and Hyperband's promotions with ``pause``, PBT's next rounds), enqueued
  once each;
* :meth:`Pruner.decision` after each trial: what an adaptive pruner chose and why, recorded
  in the study as ``pruner_decision``.

Intermediate values are the primary objective's (its direction says which way is better).
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dialed.errors import ConfigError
from dialed.history import History
from dialed.metrics import MetricSet
from dialed.trial import TrialRecord

if TYPE_CHECKING:
    from dialed.pruners._resource import Resource

__all__ = ["PAUSED", "NopPruner", "Promotion", "Pruner"]

#: How a pause verdict begins: the trial stops at its rung (PRUNED, marked ``paused``) and may
#: be continued later by a new trial that resumes from its checkpoint.
PAUSED = "paused at "


@dataclass(frozen=True)
class Promotion:
    """A paused trial's continuation for the engine to enqueue: the parameters, the system
    attributes the new trial starts with (``resume_from``: the trial whose checkpoint it
    resumes from), and a key that makes it happen once across all workers."""

    params: Mapping[str, Any]
    attrs: Mapping[str, Any]
    key: str


class Pruner(abc.ABC):
    #: The name recorded in the study and given to ``make_pruner``.
    name: str = "pruner"
    #: Whether the pruner works in a study with several objectives.
    multi_objective: bool = False
    #: Whether trials must save checkpoints (PBT: a member continues from another's).
    needs_checkpoints: bool = False

    @abc.abstractmethod
    def should_prune(self, history: History, trial: TrialRecord) -> str | None:
        """None to continue, or the reason to stop ``trial`` now (recorded with the trial)."""

    def bind(self, resource: Resource | None, metrics: MetricSet) -> None:
        """Called by the study with its declared resource and metrics; may raise ConfigError.

        The base checks the number of objectives; subclasses that use the resource keep it.
        """
        if metrics.multi_objective and not self.multi_objective:
            from dialed.pruners import PRUNERS  # the registry imports this module

            able = sorted(n for n, f in PRUNERS.items()
                          if getattr(f, "multi_objective", False))
            objs = ", ".join(m.name for m in metrics.objectives)
            raise ConfigError(
                f"the {self.name!r} pruner ranks trials by a single objective, and this study "
                f"has {len(metrics.objectives)} ({objs}); pruners that support several "
                f"objectives: {', '.join(able)}"
            )

    def on_trial_start(self, number: int, history: History) -> dict[str, Any]:
        """System attributes to record with new trial ``number`` (none by default)."""
        return {}

    def sampler_history(self, history: History, trial_attrs: Mapping[str, Any]) -> History:
        """The history the sampler sees for the trial with ``trial_attrs`` (all by default)."""
        return history

    def promotions(self, history: History) -> list[Promotion]:
        """Continuations of paused trials to enqueue before the next trial starts (none by
        default: only a pruner that pauses trials promotes them)."""
        return []

    def must_wait(self, history: History) -> bool:
        """Whether a worker with nothing queued should wait for running trials rather than
        start a new one (PBT's synchronous rounds); False by default."""
        return False

    def check_budget(self, n_trials: int | None) -> None:  # noqa: B027 - optional hook
        """Raise ConfigError, before anything runs, when ``n_trials`` cannot work."""

    def decision(self) -> dict[str, Any] | None:
        """What an adaptive pruner chose and why (``{"pruner": ..., "reason": ...}``)."""
        return None

    def describe(self) -> dict[str, Any]:
        """The name and options; ``make_pruner(describe())`` rebuilds the pruner."""
        return {"name": self.name}


class NopPruner(Pruner):
    """Never stops a trial."""

    name = "none"
    multi_objective = True

    def should_prune(self, history: History, trial: TrialRecord) -> str | None:
        return None
