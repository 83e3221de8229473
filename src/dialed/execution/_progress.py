"""A Rich progress bar that shows the trials done and the best value so far.

Rich is imported only when a bar is shown: a study run without one does not pay for it.
"""

from __future__ import annotations

import contextlib
from types import TracebackType
from typing import Any

__all__ = ["ProgressBar"]


class ProgressBar:
    """``update(done, best)`` as trials finish; a no-op when not shown."""

    def __init__(self, total: int | None, label: str, *, show: bool,
                 console: Any | None = None) -> None:
        self._show = show
        self._progress: Any = None
        self._task: Any = None
        if not show:
            return
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("best {task.fields[best]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console or Console(stderr=True),
            transient=False,
        )
        self._task = self._progress.add_task(label, total=total, best="-")

    def __enter__(self) -> ProgressBar:
        if self._show:
            self._progress.start()
        return self

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._show:
            with contextlib.suppress(Exception):
                self._progress.stop()

    def update(self, done: int, best: float | None) -> None:
        if self._show:
            self._progress.update(self._task, completed=done,
                                  best="-" if best is None else f"{best:.6g}")
