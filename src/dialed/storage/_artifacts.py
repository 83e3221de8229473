"""Where a study's checkpoints and files live: a folder, or any fsspec URL.

The records of a study (its trials, their curves) stay in the :class:`~dialed.storage.Storage`;
what is too big for a row (a model's weights, a plot, a file) lives in an artifact store whose
URL the study records in its attribute ``artifacts``. By default it is a folder beside the
SQLite file (``study.db`` -> ``study.db.artifacts/``); an in-memory study gets a temporary
folder; a study shared by many machines names a store they can all reach, ``s3://bucket/path``
or any other URL `fsspec <https://filesystem-spec.readthedocs.io>`_ understands (imported
only then).

Layout, one folder per study and one per trial::

    <root>/<study id>-<study name>/trial-<number>/checkpoint      (the latest checkpoint)
    <root>/<study id>-<study name>/trial-<number>/checkpoint.json (its step and kind)
    <root>/<study id>-<study name>/trial-<number>/files/<name>    (the trial's artifacts)

Every write goes to a temporary name first and is then renamed over the old one, so a
checkpoint being written when its worker dies leaves the previous one whole.
"""

from __future__ import annotations

import json
import os
import tempfile
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dialed._util import install_hint, one_line
from dialed.errors import ConfigError, StorageError

__all__ = ["ArtifactStore", "CheckpointInfo", "default_artifact_url", "open_artifacts"]

_NAME_OK = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")


@dataclass(frozen=True)
class CheckpointInfo:
    """What is known of a stored checkpoint: the trial that saved it, the step it was saved at
    (the last reported one; None if nothing was reported), and whether it holds a pickled
    object (``"object"``) or a file's bytes (``"file"``, with the file's name)."""

    trial: int
    step: int | None
    kind: str
    filename: str | None = None


def default_artifact_url(storage_url: str | None) -> str | None:
    """The default store of a storage: a folder beside an SQLite file; None for a memory
    storage (a temporary folder is made on first use) or a server database (name one)."""
    if storage_url is None:
        return None
    scheme, _, rest = storage_url.partition("://")
    if not scheme.lower().startswith("sqlite"):
        return None
    path = rest[1:] if rest.startswith("/") else rest
    if not path or path == ":memory:":
        return None
    return str(Path(path).resolve()) + ".artifacts"


def open_artifacts(url: str | None) -> ArtifactStore:
    """The store at ``url`` (a folder or an fsspec URL), checked to be reachable and writable:
    otherwise one :class:`~dialed.errors.ConfigError` line naming it. None: a temporary folder."""
    if url is None:  # made on the first write
        return ArtifactStore(os.path.join(tempfile.gettempdir(),
                                          f"dialed-artifacts-{uuid.uuid4().hex[:12]}"))
    if not isinstance(url, str) or not url.strip():
        raise ConfigError(f"artifacts must be a folder or an fsspec URL such as "
                          f"s3://bucket/path, got {url!r}")
    store = ArtifactStore(url)
    store.check()
    return store


class ArtifactStore:
    """Checkpoints and files of trials under one root (a local folder or an fsspec URL).

    Only the URL is kept (the filesystem is opened lazily), so a store pickles to worker
    processes and Ray tasks as its URL.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self._fs: Any = None
        self._root = ""

    def __getstate__(self) -> dict[str, Any]:
        return {"url": self.url}

    def __setstate__(self, state: Mapping[str, Any]) -> None:
        self.__init__(str(state["url"]))  # type: ignore[misc]

    def __repr__(self) -> str:
        return f"ArtifactStore({self.url!r})"

    @property
    def local(self) -> bool:
        return "://" not in self.url or self.url.startswith("file://")

    # -- the filesystem ----------------------------------------------------------------------
    def _filesystem(self) -> tuple[Any, str]:
        if self._fs is None:
            if self.local:
                self._fs, self._root = _Local(), self.url.removeprefix("file://")
            else:
                try:
                    import fsspec
                except ImportError:
                    raise ConfigError(
                        f"artifact store {self.url!r} needs fsspec: {install_hint('artifacts')}"
                    ) from None
                try:
                    self._fs, self._root = fsspec.core.url_to_fs(self.url)
                except (ValueError, ImportError, OSError) as exc:
                    raise ConfigError(f"artifact store {self.url!r} cannot be opened: "
                                      f"{one_line(exc)}") from None
        return self._fs, self._root

    def check(self) -> None:
        """Create the root if needed and write and remove a probe; ConfigError if it fails."""
        try:
            fs, root = self._filesystem()
            fs.makedirs(root, exist_ok=True)
            probe = f"{root}/.probe-{uuid.uuid4().hex}"
            fs.pipe_file(probe, b"ok")
            fs.rm_file(probe)
        except ConfigError:
            raise
        except Exception as exc:
            raise ConfigError(f"artifact store {self.url!r} cannot be written: "
                              f"{one_line(exc)}") from None

    def _trial_dir(self, study: str, number: int) -> str:
        _, root = self._filesystem()
        return f"{root}/{study}/trial-{number}"

    def _put(self, path: str, data: bytes) -> None:
        fs, _ = self._filesystem()
        try:
            fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
            tmp = f"{path}.tmp-{uuid.uuid4().hex}"
            fs.pipe_file(tmp, data)
            fs.mv(tmp, path)
        except Exception as exc:
            raise StorageError(f"artifact store {self.url!r}: cannot write {path}: "
                               f"{one_line(exc)}") from None

    def _get(self, path: str) -> bytes | None:
        fs, _ = self._filesystem()
        try:
            return bytes(fs.cat_file(path))
        except FileNotFoundError:
            return None
        except Exception as exc:
            raise StorageError(f"artifact store {self.url!r}: cannot read {path}: "
                               f"{one_line(exc)}") from None

    # -- checkpoints -------------------------------------------------------------------------
    def save_checkpoint(self, study: str, number: int, data: bytes, info: CheckpointInfo) -> None:
        """Store ``data`` as trial ``number``'s checkpoint (the bytes first, then the note
        that points at them: a crash between leaves the previous checkpoint readable)."""
        folder = self._trial_dir(study, number)
        self._put(f"{folder}/checkpoint", data)
        note = {"trial": info.trial, "step": info.step, "kind": info.kind,
                "filename": info.filename}
        self._put(f"{folder}/checkpoint.json", json.dumps(note).encode())

    def checkpoint_info(self, study: str, number: int) -> CheckpointInfo | None:
        """The note of trial ``number``'s checkpoint, or None if it saved none."""
        raw = self._get(f"{self._trial_dir(study, number)}/checkpoint.json")
        if raw is None:
            return None
        try:
            note = json.loads(raw)
            return CheckpointInfo(int(note["trial"]), note.get("step"), str(note["kind"]),
                                  note.get("filename"))
        except (ValueError, KeyError, TypeError):
            raise StorageError(f"artifact store {self.url!r}: the checkpoint note of trial "
                               f"{number} is damaged") from None

    def load_checkpoint(self, study: str, number: int) -> bytes | None:
        """Trial ``number``'s checkpoint bytes; None when the file is missing."""
        return self._get(f"{self._trial_dir(study, number)}/checkpoint")

    # -- files -------------------------------------------------------------------------------
    def save_file(self, study: str, number: int, name: str, data: bytes) -> None:
        check_artifact_name(name)
        self._put(f"{self._trial_dir(study, number)}/files/{name}", data)

    def load_file(self, study: str, number: int, name: str) -> bytes | None:
        check_artifact_name(name)
        return self._get(f"{self._trial_dir(study, number)}/files/{name}")

    def list_files(self, study: str, number: int) -> list[tuple[str, int]]:
        """``(name, size in bytes)`` of trial ``number``'s files, by name."""
        fs, _ = self._filesystem()
        folder = f"{self._trial_dir(study, number)}/files"
        try:
            entries = fs.ls(folder, detail=True)
        except FileNotFoundError:
            return []
        except Exception as exc:
            raise StorageError(f"artifact store {self.url!r}: cannot list {folder}: "
                               f"{one_line(exc)}") from None
        out = []
        for e in entries:
            name = str(e["name"]).rstrip("/").rsplit("/", 1)[-1]
            if e.get("type") == "file" and ".tmp-" not in name:
                out.append((name, int(e.get("size") or 0)))
        return sorted(out)

    def delete_study(self, study: str) -> None:
        """Remove everything the study stored (nothing if it stored nothing)."""
        fs, root = self._filesystem()
        path = f"{root}/{study}"
        try:
            if fs.exists(path):
                fs.rm(path, recursive=True)
        except Exception as exc:
            raise StorageError(f"artifact store {self.url!r}: cannot delete {path}: "
                               f"{one_line(exc)}") from None


def study_folder(study_id: int, name: str) -> str:
    """The folder name of a study in its store."""
    return f"{study_id}-{name}"


def check_artifact_name(name: object) -> str:
    """``name`` if it can name a file in every store: letters, digits, '.', '_', '-'."""
    if (not isinstance(name, str) or not name or name.startswith(".") or len(name) > 200
            or not set(name) <= _NAME_OK):
        raise ConfigError(f"artifact name must be 1-200 letters, digits, '.', '_' or '-', not "
                          f"starting with '.', got {name!r}")
    return name


class _Local:
    """The few filesystem calls the store makes, on a local folder (no fsspec needed)."""

    def makedirs(self, path: str, exist_ok: bool = True) -> None:
        os.makedirs(path, exist_ok=exist_ok)

    def pipe_file(self, path: str, data: bytes) -> None:
        with open(path, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())

    def mv(self, src: str, dst: str) -> None:
        os.replace(src, dst)

    def rm_file(self, path: str) -> None:
        os.remove(path)

    def cat_file(self, path: str) -> bytes:
        with open(path, "rb") as fh:
            return fh.read()

    def ls(self, path: str, detail: bool = True) -> list[dict[str, Any]]:
        with os.scandir(path) as it:
            return [{"name": e.path, "type": "file" if e.is_file() else "directory",
                     "size": e.stat().st_size} for e in it]

    def exists(self, path: str) -> bool:
        return os.path.exists(path)

    def rm(self, path: str, recursive: bool = False) -> None:
        import shutil

        shutil.rmtree(path)
