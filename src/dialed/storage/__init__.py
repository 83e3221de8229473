"""Where studies live: the storage contract, memory, and SQL (SQLite, PostgreSQL)."""

from __future__ import annotations

from dialed.errors import StorageError
from dialed.storage._artifacts import (
    ArtifactStore,
    CheckpointInfo,
    default_artifact_url,
    open_artifacts,
    study_folder,
)
from dialed.storage._base import SCHEMA_VERSION, Storage, StudyRecord, StudySummary, TrialsSince
from dialed.storage._memory import MemoryStorage

__all__ = [
    "DEFAULT_URL",
    "SCHEMA_VERSION",
    "ArtifactStore",
    "CheckpointInfo",
    "MemoryStorage",
    "Storage",
    "StudyRecord",
    "StudySummary",
    "TrialsSince",
    "default_artifact_url",
    "open_artifacts",
    "open_storage",
    "redact_url",
    "study_folder",
]

#: The storage the command line uses when given none: an SQLite file in the working directory.
DEFAULT_URL = "sqlite:///dialed.db"

_VALID = "sqlite:///path/to/file.db, postgresql+psycopg://user:password@host:5432/dbname, or memory"


def open_storage(url: str | Storage | None, *, read_only: bool = False) -> Storage:
    """The storage behind ``url``; ``None`` or ``"memory"`` is a fresh in-process storage.

    ``read_only=True`` opens an SQLite file for reading only (it must exist); a file that
    cannot be written is opened so anyway.
    """
    if isinstance(url, Storage):
        return url
    if url is None or url == "memory":
        return MemoryStorage()
    if not isinstance(url, str):
        raise StorageError(f"storage must be a URL string ({_VALID}), got {type(url).__name__}")
    scheme = url.split(":", 1)[0].lower()
    if scheme.startswith("sqlite") or scheme.startswith("postgresql"):
        from dialed.storage._sql import SQLStorage

        return SQLStorage(url, read_only=read_only)
    raise StorageError(f"unknown storage URL {redact_url(url)!r}: expected {_VALID}")


def redact_url(url: str | None) -> str:
    """The URL with any password replaced by ***, safe to print or show."""
    if not url or "://" not in url:
        return url or "memory"
    scheme, rest = url.split("://", 1)
    creds, at, host = rest.rpartition("@")
    if not at or ":" not in creds:
        return url
    user = creds.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}"
