"""The exceptions dialed raises: every message names what is wrong and what would be valid."""

from __future__ import annotations

__all__ = [
    "CheckpointError",
    "ConfigError",
    "DialedError",
    "DuplicateStudyError",
    "NoTrialsError",
    "ObjectiveError",
    "Pruned",
    "SchemaVersionError",
    "SearchExhausted",
    "SpaceError",
    "StorageError",
    "StudyNotFoundError",
    "TrialAbandoned",
    "TrialStateError",
    "WorkflowError",
]


class DialedError(Exception):
    """Base class of every error dialed raises on purpose."""


class SpaceError(DialedError, ValueError):
    """A malformed search space: the message names the parameter and what would be valid."""


class ConfigError(DialedError, ValueError):
    """A study file or a setting that cannot be used as given."""


class StorageError(DialedError):
    """The storage cannot be reached, or it was asked for something it does not hold."""


class CheckpointError(StorageError):
    """A trial's checkpoint cannot be read back (its file is missing, or it does not unpickle);
    the trial that asked for it fails, and nothing stored is changed."""


class SchemaVersionError(StorageError):
    """The database was written by a newer dialed than this one."""


class StudyNotFoundError(StorageError, KeyError):
    """No study of that name in the storage."""

    def __str__(self) -> str:  # KeyError quotes its argument; keep the message readable
        return str(self.args[0]) if self.args else ""


class DuplicateStudyError(StorageError):
    """A study of that name already exists (use load_if_exists=True to reuse it)."""


class NoTrialsError(DialedError, ValueError):
    """A question that needs finished trials (the best one) asked of a study with none."""


class TrialStateError(StorageError):
    """A trial was asked to change in a way its state does not allow (finish a finished trial)."""


class TrialAbandoned(DialedError):
    """Raised by a trial's ``report`` / ``should_prune`` once recovery has failed the trial
    while it ran (its worker was presumed dead, then woke up): the objective should stop; the
    engine stores nothing more of it, warns, and goes on (the retry owns the configuration)."""


class ObjectiveError(DialedError):
    """The objective cannot be imported or returned something that is not a metric value."""


class SearchExhausted(DialedError):
    """The sampler has nothing left to propose (every grid cell was evaluated)."""


class Pruned(DialedError):
    """Raised inside an objective to end the trial as pruned; its reported curve is kept."""


class WorkflowError(DialedError):
    """A workflow step that cannot run now (a second locked test, an unknown registry name)."""
