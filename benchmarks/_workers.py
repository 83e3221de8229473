"""Worker processes that end with the benchmark that started them.

A ``ProcessPoolExecutor``'s workers outlive their parent when it is killed (SIGTERM from a
user or a time limit): they go on computing jobs whose results nobody reads, and load the
machine for the next run. ``exit_with_parent`` is the pool's ``initializer``: the worker gets
SIGTERM when its parent dies, through the engine's own ``die_with_parent``.
"""

from __future__ import annotations

import signal

from dialed._util import die_with_parent

__all__ = ["exit_with_parent"]


def exit_with_parent(parent: int) -> None:
    """Have this process receive SIGTERM when ``parent`` (the pool's process, passed in the
    pool's ``initargs``) dies; a parent that died before the call ends the worker at once."""
    die_with_parent(parent, signal.SIGTERM)
