"""Worker processes that end with the benchmark that started them.

A ``ProcessPoolExecutor``'s workers outlive their parent when it is killed (SIGTERM from a
user or a time limit): they go on computing jobs whose results nobody reads, and load the
machine for the next run. ``exit_with_parent`` is the pool's ``initializer``: on Linux the
kernel sends the worker SIGTERM when its parent dies (``prctl(PR_SET_PDEATHSIG)``,
``man 2 prctl``); elsewhere it does nothing.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

__all__ = ["exit_with_parent"]

_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def exit_with_parent(parent: int | None = None) -> None:
    """Have this process receive SIGTERM when its parent dies (Linux); ``parent`` is the pid
    the caller expects as the parent, checked after the call so that a parent that died
    before it does not leave the worker running."""
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
        return
    if parent is not None and os.getppid() != parent:
        os.kill(os.getpid(), signal.SIGTERM)
