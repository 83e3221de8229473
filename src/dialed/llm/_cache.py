"""The on-disk response cache: one JSON file per (endpoint, model, request, sample index).

A re-run, a resumed evaluation or any identical call reads the stored answer instead of paying
for it again. Only successful calls are stored (a failure is measured again). Files are written
to a temporary name and renamed, so processes sharing the folder never read half a file.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["ResponseCache", "cache_key", "default_cache_dir"]


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/dialed/llm`` (``~/.cache/dialed/llm``)."""
    root = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(root) / "dialed" / "llm"


def cache_key(endpoint: str, model: str, request: Mapping[str, Any], sample: int) -> str:
    """The hash of what identifies a call; the request's keys are sorted first."""
    text = json.dumps({"endpoint": endpoint.rstrip("/"), "model": model,
                       "request": request, "sample": int(sample)},
                      sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


class ResponseCache:
    """Stored answers under ``folder`` (created when first written)."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)

    def _path(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict[str, Any] | None:
        try:
            data = json.loads(self._path(key).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def put(self, key: str, value: Mapping[str, Any]) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(dict(value), fh, sort_keys=True)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def __len__(self) -> int:
        return sum(1 for _ in self.folder.glob("??/*.json")) if self.folder.exists() else 0
