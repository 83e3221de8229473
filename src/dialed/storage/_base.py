"""The storage contract: what every storage promises, and the records it returns.

The contract, which ``dialed.testing.storage`` checks for every implementation:

1. **Every state change is one transaction.** A trial is created, claimed, reported to, and
   finished atomically; a reader sees it before or after a change, never half-way.
2. **A claimed trial belongs to exactly one worker.** :meth:`Storage.claim_trial` hands a
   waiting trial to one caller only, also across processes and machines. Trial numbers are
   unique and dense (0, 1, 2, ...) within a study.
3. **Finished trials are immutable.** Only a running trial can be reported to, updated or
   finished; anything else raises :class:`~dialed.errors.TrialStateError`.
4. **A study's space only grows.** :meth:`Storage.register_params` adds parameters; a name
   registered with another distribution raises :class:`~dialed.errors.SpaceError`.
5. **Nothing is lost on a crash.** Whatever a call returned from survives a crash of any
   process (for a URL storage). A finished trial, the study, its space and its queue are on
   disk when the call returns, safe from a power loss too; a running trial's bookkeeping
   (creation, claim, heartbeats, reports) may be synced a moment later, with the next result.
6. Trials come back ordered by number. Records are immutable snapshots.
"""

from __future__ import annotations

import abc
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from dialed.errors import StorageError
from dialed.trial import TrialRecord, TrialState

__all__ = ["SCHEMA_VERSION", "Storage", "StudyRecord", "StudySummary", "TrialsSince"]

#: Bumped whenever the stored layout changes; a newer database refuses to open in an older dialed.
SCHEMA_VERSION = 1


@dataclass(frozen=True)
class StudyRecord:
    study_id: int
    name: str
    metrics: Mapping[str, str]  # MetricSet.to_dict()
    seed: int
    created_at: float
    attrs: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class StudySummary:
    """One row of a studies listing."""

    study_id: int
    name: str
    metrics: Mapping[str, str]
    created_at: float
    counts: Mapping[str, int]  # TrialState value -> number of trials
    last_activity: float | None  # latest start or finish of any trial
    best_value: float | None  # of the primary objective, among complete trials

    @property
    def n_trials(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True)
class TrialsSince:
    """What an incremental reader of a study's trials learns in one read (one snapshot).

    ``trials``: the trials with an id at or above the reader's bound that are not waiting, by
    number. ``frontier``: the lowest id of a waiting or running trial of the study, or one past
    its highest id when none is (None when it has no trial): every trial below it is finished,
    so a reader that has read from ``frontier`` on before holds every finished trial below it,
    and reads from ``frontier`` next time.
    """

    trials: list[TrialRecord]
    frontier: int | None


class Storage(abc.ABC):
    """Where studies and trials live. Implementations: memory, SQL (SQLite, PostgreSQL)."""

    #: A URL another process can pass to :func:`dialed.storage.open_storage` to reach the same
    #: data, or ``None`` when the data lives in this process only.
    url: str | None = None
    #: True when this storage can only be read (a read-only SQLite file): writes raise
    #: StorageError, and opening a study does not sweep for stale trials.
    read_only: bool = False

    # -- studies ---------------------------------------------------------------------------
    @abc.abstractmethod
    def create_study(
        self,
        name: str,
        *,
        metrics: Mapping[str, str],
        seed: int,
        attrs: Mapping[str, Any] | None = None,
    ) -> StudyRecord:
        """Create a study; :class:`~dialed.errors.DuplicateStudyError` if the name is taken."""

    @abc.abstractmethod
    def get_study(self, name: str) -> StudyRecord:
        """The study of that name; :class:`~dialed.errors.StudyNotFoundError` if none."""

    @abc.abstractmethod
    def list_studies(self) -> list[StudySummary]:
        """Every study with its trial counts, ordered by creation."""

    @abc.abstractmethod
    def delete_study(self, name: str) -> None:
        """Remove a study and all its trials; StudyNotFoundError if none."""

    @abc.abstractmethod
    def set_study_attr(self, study_id: int, key: str, value: Any) -> None:
        """Set a JSON-serialisable study attribute (overwrites)."""

    @abc.abstractmethod
    def set_study_attr_if_absent(self, study_id: int, key: str, value: Any) -> bool:
        """Set the attribute only if it is not set yet, atomically; True when this call set it."""

    @abc.abstractmethod
    def get_study_attrs(self, study_id: int) -> dict[str, Any]:
        """All attributes of the study."""

    # -- the space -------------------------------------------------------------------------
    @abc.abstractmethod
    def register_params(
        self, study_id: int, distributions: Mapping[str, Mapping[str, Any]]
    ) -> dict[str, dict[str, Any]]:
        """Add parameters (name -> ``Distribution.to_dict()``) to the study's space, atomically.

        A name already registered with an incompatible distribution raises SpaceError and adds
        nothing. Returns the whole space after the change, in registration order.
        """

    @abc.abstractmethod
    def get_space(self, study_id: int) -> dict[str, dict[str, Any]]:
        """The study's space as name -> distribution dict, in registration order."""

    # -- trials ----------------------------------------------------------------------------
    @abc.abstractmethod
    def create_trial(
        self,
        study_id: int,
        *,
        state: TrialState = TrialState.RUNNING,
        params: Mapping[str, Any] | None = None,
        worker: str | None = None,
        environment: Mapping[str, Any] | None = None,
        system_attrs: Mapping[str, Any] | None = None,
    ) -> TrialRecord:
        """A new trial numbered next in the study, RUNNING (for ``worker``) or WAITING.

        Its seed is ``dialed._util.derive_seed(study seed, number)``.
        """

    @abc.abstractmethod
    def enqueue_trials(
        self,
        study_id: int,
        params_list: Sequence[Mapping[str, Any]],
        *,
        once_key: str | None = None,
        system_attrs: Mapping[str, Any] | None = None,
    ) -> int:
        """Create WAITING trials with fixed parameters, all in one transaction.

        With ``once_key``, the study attribute of that name is set in the same transaction and
        nothing is enqueued if it was already set (so two processes enqueue a grid once).
        Returns how many trials were enqueued.
        """

    @abc.abstractmethod
    def claim_trial(
        self,
        study_id: int,
        *,
        worker: str,
        environment: Mapping[str, Any] | None = None,
        system_attrs: Mapping[str, Any] | None = None,
    ) -> TrialRecord | None:
        """Atomically move the lowest-numbered WAITING trial to RUNNING for ``worker``.

        ``system_attrs`` are merged into the trial's in the same transaction (the engine marks
        the trials it heartbeats: a worker that dies right after a claim is still recovered).
        """

    @abc.abstractmethod
    def update_trial(
        self,
        trial_id: int,
        *,
        params: Mapping[str, Any] | None = None,
        user_attrs: Mapping[str, Any] | None = None,
        system_attrs: Mapping[str, Any] | None = None,
    ) -> None:
        """Merge into a RUNNING trial's params / attributes and refresh its heartbeat."""

    @abc.abstractmethod
    def report(self, trial_id: int, step: int, value: float) -> None:
        """Record an intermediate value of a RUNNING trial (overwrites the same step)."""

    @abc.abstractmethod
    def heartbeat(self, trial_id: int) -> None:
        """Refresh a RUNNING trial's heartbeat (a finished trial is left as it is)."""

    @abc.abstractmethod
    def finish_trial(
        self,
        trial_id: int,
        state: TrialState,
        *,
        metrics: Mapping[str, float] | None = None,
        params: Mapping[str, Any] | None = None,
        error: str | None = None,
        wall_seconds: float | None = None,
        cpu_seconds: float | None = None,
        peak_memory_mb: float | None = None,
        user_attrs: Mapping[str, Any] | None = None,
        system_attrs: Mapping[str, Any] | None = None,
    ) -> TrialRecord:
        """End a RUNNING trial as COMPLETE, PRUNED or FAILED, in one transaction.

        ``params``, ``user_attrs`` and ``system_attrs`` are merged into what is stored.
        """

    @abc.abstractmethod
    def fail_stale_trial(
        self, trial_id: int, *, reason: str, retry: bool, max_retries: int
    ) -> TrialRecord | None:
        """Fail a RUNNING trial whose worker is gone; None if it was no longer running.

        With ``retry`` and fewer than ``max_retries`` earlier retries of its configuration, a
        WAITING copy with the same params is enqueued in the same transaction (system attrs
        ``retry_of`` = the failed number, ``retries`` = count so far).
        """

    @abc.abstractmethod
    def get_trial(self, trial_id: int) -> TrialRecord:
        """One trial by id; StorageError if none."""

    @abc.abstractmethod
    def get_trial_by_number(self, study_id: int, number: int) -> TrialRecord:
        """One trial by its number in the study; StorageError if none."""

    @abc.abstractmethod
    def get_trials(
        self,
        study_id: int,
        *,
        states: Iterable[TrialState] | None = None,
        min_trial_id: int | None = None,
    ) -> list[TrialRecord]:
        """Trials of the study ordered by number, optionally only some states / ids >= a bound."""

    def last_trials(
        self, study_id: int, n: int, *, states: Iterable[TrialState] | None = None
    ) -> list[TrialRecord]:
        """The last ``n`` trials (of those states) by number; the SQL storages read only those
        rows through an index, so listing the latest trials costs the same in any study."""
        check_last(n)
        return self.get_trials(study_id, states=states)[-n:]

    @abc.abstractmethod
    def trials_since(self, study_id: int, trial_id: int | None) -> TrialsSince:
        """The study's trials with id >= ``trial_id`` (all when None) that are not waiting, and
        the frontier below which every trial is finished, read in one snapshot."""

    @abc.abstractmethod
    def count_trials(self, study_id: int, states: Iterable[TrialState] | None = None) -> int:
        """How many trials (of those states)."""

    @abc.abstractmethod
    def best_trial(self, study_id: int, metric: str, direction: str) -> TrialRecord | None:
        """The COMPLETE trial with the lowest (``minimize``) or highest value of ``metric``.

        Ties go to the lower number. None when no complete trial has that metric.
        """

    def import_trials(
        self,
        name: str,
        trials: Sequence[TrialRecord],
        *,
        space: Mapping[str, Mapping[str, Any]],
        attrs: Mapping[str, Any] | None = None,
        create: Mapping[str, Any] | None = None,
    ) -> StudyRecord:
        """Write trials recorded elsewhere into study ``name`` as they are, in one transaction.

        Each record keeps its state (complete, pruned, failed or waiting), parameters,
        metrics, intermediate values, times, attributes and error; its id, study, number
        and seed are assigned here (numbered after the study's last trial, in the given
        order; seeds as :meth:`create_trial` derives them). ``space`` is merged into the
        study's (SpaceError on a conflict) and ``attrs`` set on it. With ``create``
        (``{"metrics": ..., "seed": ...}``) the study is created in the same transaction
        (DuplicateStudyError if the name is taken). Nothing is written when anything fails.
        """
        raise StorageError(f"{type(self).__name__} cannot import trials")

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections; the storage is not used afterwards."""


def check_last(n: object) -> None:
    """``n`` of :meth:`Storage.last_trials`: a positive int."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"last_trials: n must be an int >= 1, got {n!r}")
