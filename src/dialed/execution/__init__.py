"""Who runs trials: the loop of one worker, processes and threads, heartbeats and recovery."""

from __future__ import annotations

from dialed.execution._context import Settings, StudyContext
from dialed.execution._loop import Budget, finish, finish_pruned, run_loop, run_one
from dialed.execution._optimize import optimize
from dialed.execution._recovery import fail_stale_trials
from dialed.execution._runner import TrialRunner, enqueue_sampler_queue, start_trial

__all__ = [
    "Budget",
    "Settings",
    "StudyContext",
    "TrialRunner",
    "enqueue_sampler_queue",
    "fail_stale_trials",
    "finish",
    "finish_pruned",
    "optimize",
    "run_loop",
    "run_one",
    "start_trial",
]
