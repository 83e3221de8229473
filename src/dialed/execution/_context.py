"""What an executor needs to run trials of one study, and nothing of the Study handle itself."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from dialed.metrics import MetricSet
from dialed.pruners import NopPruner, Pruner, Resource
from dialed.samplers import Sampler
from dialed.storage import ArtifactStore, Storage

__all__ = ["Settings", "Stoppable", "StudyContext"]


@dataclass(frozen=True)
class Settings:
    """How trials are watched: heartbeats, when a silent trial counts as dead, retries."""

    heartbeat_interval: float = 5.0  # seconds between heartbeats of a running trial
    grace_period: float = 60.0  # a trial with no heartbeat for this long is failed
    max_retries: int = 0  # a failed-because-dead trial is re-queued this many times at most

    def to_dict(self) -> dict[str, float | int]:
        return {
            "heartbeat_interval": self.heartbeat_interval,
            "grace_period": self.grace_period,
            "max_retries": self.max_retries,
        }


class Stoppable(Protocol):
    """A running loop's budget: ``stop()`` ends it after the trials now running."""

    def stop(self) -> None: ...


@dataclass
class StudyContext:
    storage: Storage
    study_id: int
    name: str
    metrics: MetricSet
    seed: int
    sampler: Sampler
    pruner: Pruner = field(default_factory=NopPruner)
    settings: Settings = field(default_factory=Settings)
    resource: Resource | None = None  # what a trial spends (epochs ...), when declared
    artifacts: ArtifactStore | None = None  # where checkpoints and files go, when any
    scale: dict[str, float] | None = None  # the study's size on a ladder (width, rows ...)
    #: The budget of the ``optimize`` running in this process (what ``Study.stop`` ends);
    #: None when none runs here.
    running: Stoppable | None = field(default=None, compare=False, repr=False)

    def __getstate__(self) -> dict[str, Any]:
        """Pickled (to a spawned process, a Ray task, a DDP rank) without the running loop's
        budget: it holds a lock, and it belongs to the process that runs the loop."""
        state = dict(self.__dict__)
        state["running"] = None
        return state
