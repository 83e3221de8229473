"""Repeated evaluations of fixed configurations, as ordinary trials of the study.

A workflow step that evaluates configurations (the baseline, a stage's candidate, the top
configurations in confirm) enqueues one WAITING trial per configuration and repeat (one
transaction per repeat, each guarded by a study attribute) and tags them with system
attributes::

    {"role": "baseline" | "stage" | "confirm", "step": "baseline" | "stage:2" | "confirm:1",
     "repeat": 0, 1, ...}

It then runs them with the study's own engine (its executor, heartbeats and ``n_jobs``), so
each repeat is a trial with its own recorded seed (derived from the study seed and the trial
number: a fresh seed per repeat). A crash in the middle leaves the remaining repeats waiting;
running the step again runs them and enqueues nothing twice.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from dialed.errors import WorkflowError
from dialed.history import History, config_key
from dialed.samplers import Sampler
from dialed.space import Distribution, Space
from dialed.study import Study
from dialed.trial import Trial, TrialRecord, TrialState

__all__ = [
    "REPEAT",
    "ROLE",
    "STEP",
    "DeclaredFirst",
    "FixedSampler",
    "evaluate",
    "step_trials",
]

#: System attribute naming the workflow role of a trial (absent on search trials).
ROLE = "role"
#: System attribute naming the workflow step a trial belongs to.
STEP = "step"
#: System attribute numbering an evaluation's repeats (0, 1, ...).
REPEAT = "repeat"

Objective = Callable[[Trial], Any]


class FixedSampler(Sampler):
    """The sampler of evaluation runs: every parameter comes from the enqueued configuration.

    A parameter the configuration does not name (one of a conditional branch the objective
    reaches only now) is drawn uniformly, as :meth:`Sampler.suggest_one` does by default.
    """

    name = "fixed"

    def suggest(self, history: History, space: Space, number: int) -> dict[str, Any]:
        return {}


class DeclaredFirst:
    """Suggest a declared space, then call the user's objective (as a study file does).

    ``trial.params`` then holds the whole configuration when the objective starts. A plain
    class, so it pickles for worker processes.
    """

    def __init__(self, space: Mapping[str, Distribution] | None, objective: Objective) -> None:
        self.space = None if space is None else Space(space)
        self.objective = objective

    def __call__(self, trial: Trial) -> Any:
        if self.space is not None:
            trial.suggest_space(self.space)
        return self.objective(trial)


def step_trials(study: Study, step: str) -> list[TrialRecord]:
    """Every trial tagged with ``step``, ordered by number."""
    return [t for t in study.trials if t.system_attrs.get(STEP) == step]


def evaluate(
    study: Study,
    objective: Objective,
    *,
    step: str,
    role: str,
    configs: Sequence[Mapping[str, Any]],
    repeats: int,
    n_jobs: int = 1,
    show_progress: bool = False,
    once: str | None = None,
) -> list[list[TrialRecord]]:
    """Run each configuration ``repeats`` times (enqueued once per ``once`` key, default the
    step, even across crashes).

    Returns, per configuration, its complete trials in number order. A configuration with no
    complete evaluation raises :class:`WorkflowError` with the first failure's message.
    """
    if not configs:
        return []
    keys = [config_key(c) for c in configs]
    if len(set(keys)) != len(keys):
        raise WorkflowError(f"{step}: the configurations to evaluate are not distinct")
    for k in range(repeats):  # repeat k of every configuration, then k + 1: balanced on a crash
        study.storage.enqueue_trials(
            study.study_id, [dict(c) for c in configs],
            once_key=f"workflow:queued:{once or step}:{k}",
            system_attrs={ROLE: role, STEP: step, REPEAT: k},
        )
    queue = len(configs) * repeats
    runner = Study(dataclasses.replace(study.context, sampler=FixedSampler()))
    for _ in range(queue + 1):
        waiting = [
            t for t in study.get_trials([TrialState.WAITING]) if t.system_attrs.get(STEP) == step
        ]
        if not waiting:
            break
        runner.optimize(objective, n_trials=len(waiting), n_jobs=max(1, min(n_jobs, len(waiting))),
                        catch=(Exception,), show_progress=show_progress)
    records = step_trials(study, step)
    out: list[list[TrialRecord]] = []
    for key, config in zip(keys, configs, strict=True):
        mine = [t for t in records if config_key(_named(t.params, config)) == key]
        done = [t for t in mine if t.state == TrialState.COMPLETE]
        if not done:
            failed = [t for t in mine if t.state == TrialState.FAILED and t.error]
            why = (failed[0].error or "").strip().splitlines()[0] if failed else "none ran"
            raise WorkflowError(
                f"{step}: no evaluation of {dict(config)} completed ({why}); see "
                f"dialed trials {study.name} --state failed"
            )
        out.append(done)
    return out


def _named(params: Mapping[str, Any], config: Mapping[str, Any]) -> dict[str, Any]:
    """The trial's values of the configuration's parameters (it may have suggested more)."""
    return {k: params.get(k) for k in config}
