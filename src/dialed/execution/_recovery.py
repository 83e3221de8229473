"""Failing trials whose worker died, so that nothing stays "running" forever.

A running trial is stale when its worker process is gone (same host, pid no longer alive:
known at once) or when it ran under a heartbeat and has been silent for the grace period
(another machine died). Each stale trial is failed in one transaction and, when the study allows
retries, re-queued with the same parameters.
"""

from __future__ import annotations

import errno
import os
import socket

from dialed._util import now
from dialed.execution._context import StudyContext
from dialed.trial import TrialRecord, TrialState

__all__ = ["fail_stale_trials"]


def fail_stale_trials(ctx: StudyContext) -> list[TrialRecord]:
    """Fail (and maybe re-queue) every stale running trial of the study; returns the failed."""
    failed: list[TrialRecord] = []
    for rec in ctx.storage.get_trials(ctx.study_id, states=[TrialState.RUNNING]):
        reason = _stale_reason(rec, ctx.settings.grace_period)
        if reason is None:
            continue
        out = ctx.storage.fail_stale_trial(
            rec.trial_id,
            reason=reason,
            retry=ctx.settings.max_retries > 0,
            max_retries=ctx.settings.max_retries,
        )
        if out is not None:
            failed.append(out)
    return failed


def _stale_reason(rec: TrialRecord, grace: float) -> str | None:
    host, _, pid_text = (rec.worker or "").rpartition(":")
    if host == socket.gethostname() and pid_text.isdigit() and not _alive(int(pid_text)):
        return f"worker process {pid_text} on {host} died while the trial was running"
    if rec.system_attrs.get("heartbeat") and rec.heartbeat_at is not None:
        silent = now() - rec.heartbeat_at
        if silent > grace:
            return (
                f"no heartbeat from worker {rec.worker} for {silent:.0f} s "
                f"(grace period {grace:g} s): the worker is presumed dead"
            )
    return None


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except OSError as exc:
        return exc.errno == errno.EPERM
    try:  # a zombie (killed, not yet reaped by its parent) is not alive
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            return fh.read().split(") ", 1)[1][:1] != "Z"
    except (OSError, IndexError):
        return True
