"""The pruner interface: whether a running trial should stop, from its curve and its peers'.

Samplers decide *what* to try; pruners decide *whether to continue*. A pruner sees the same
read-only :class:`~dialed.samplers.History` as a sampler (its peers' curves, read from the
storage so that every worker process decides from the same evidence) and the running trial's
record with the intermediate values reported so far.
"""

from __future__ import annotations

import abc
from typing import Any

from dialed.samplers._base import History
from dialed.trial import TrialRecord

__all__ = ["NopPruner", "Pruner"]


class Pruner(abc.ABC):
    name: str = "pruner"

    @abc.abstractmethod
    def should_prune(self, history: History, trial: TrialRecord) -> str | None:
        """None to continue, or the reason to stop ``trial`` now (recorded with the trial)."""

    def describe(self) -> dict[str, Any]:
        return {"name": self.name}


class NopPruner(Pruner):
    """Never stops a trial."""

    name = "none"

    def should_prune(self, history: History, trial: TrialRecord) -> str | None:
        return None
