"""Successive halving in its promotion form: trials paused at rungs, the best continued.

Li, Jamieson, Rostamizadeh, Gonina, Ben-tzur, Hardt, Recht and Talwalkar, "A System for
Massively Parallel Hyperparameter Tuning", MLSys 2020 (arXiv:1810.05934), Algorithm 2 as
written: a configuration trains to its rung and stops; whenever a worker asks for a job, a
configuration in the top ``1/eta`` of rung ``k`` that was not promoted yet is promoted to rung
``k + 1``, else a new configuration starts at the bottom rung.

Here a job is a trial. A trial of rung ``k`` (system attribute ``rung``; 0 for a new one)
stops at its rung's resource with a verdict beginning :data:`~dialed.pruners.PAUSED`; a
promotion is a new trial with the same parameters, ``rung = k + 1`` and ``resume_from`` = the
paused trial. With ``trial.save_checkpoint`` each epoch and ``trial.load_checkpoint`` at the
start, the promoted trial continues from where the paused one stopped (its curve inherited,
each epoch trained once); without, it trains again from the start, as the original Hyperband
did. Each paused trial is promoted at most once, across all workers (the engine enqueues a
promotion under a key the storage sets once).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable
from typing import Any

from dialed.history import History
from dialed.pruners._base import PAUSED, Promotion
from dialed.pruners._curve import at_rung
from dialed.trial import TrialRecord, TrialState

__all__ = ["pause_verdict", "paused_rung", "promotions", "rung_of", "target_of"]


def rung_of(trial: TrialRecord) -> int:
    """The rung a trial runs to (0 for a trial the sampler started)."""
    k = trial.system_attrs.get("rung", 0)
    return k if isinstance(k, int) and not isinstance(k, bool) and k >= 0 else 0


def target_of(first: float, high: float, eta: float, rung: int) -> float:
    """The resource a trial of ``rung`` trains to: ``first * eta**rung``, the full ``high``
    at the top."""
    level = first * eta**rung
    return high if level >= high - 1e-9 else level


def pause_verdict(trial: TrialRecord, *, first: float, high: float, eta: float, label: str,
                  unit: str, refusal: Callable[[float, int], str | None] | None = None
                  ) -> str | None:
    """The pause when ``trial`` reached its rung's resource below the full budget.

    ``refusal`` (a pruner with ``evidence``): a rung that may not stop this trial (it has not
    shown that it predicts the full budget, among the better trials too, or the trial is one
    of its witnesses) is passed
    without a pause; the trial pauses at the next rung that may stop it, else runs to the
    full budget (:mod:`dialed.pruners._evidence`)."""
    step = trial.last_step
    if step is None:
        return None
    k = rung_of(trial)
    while True:
        target = target_of(first, high, eta, k)
        if target >= high - 1e-9 or step < target - 1e-9:
            return None
        if refusal is None or refusal(target, trial.number) is None:
            break
        k += 1
    return (f"{PAUSED}rung {target:g} {unit} ({label}: continues in a new trial if it ranks "
            f"in the top 1/{eta:g} of its rung)")


def paused_rung(trial: TrialRecord, first: float, high: float, eta: float) -> int:
    """The rung a paused trial stopped at: its own, or a later one where it ran past rungs
    that could not stop it (``pause_verdict``'s ``refusal``)."""
    k = rung_of(trial)
    step = trial.last_step
    while step is not None:
        target = target_of(first, high, eta, k + 1)
        if target >= high - 1e-9 or step < target - 1e-9:
            break
        k += 1
    return k


def promotions(
    history: History,
    *,
    first_of: Callable[[TrialRecord], float],
    group_of: Callable[[TrialRecord], Hashable],
    high: float,
    eta: float,
    done: set[int],
) -> list[Promotion]:
    """The paused trials now in the top ``1/eta`` of their rung (within their group: a
    Hyperband bracket) and not promoted yet (``done`` holds those this process promoted)."""
    loss = history.metrics.primary.loss
    rungs: dict[tuple[Hashable, int], list[tuple[float, TrialRecord]]] = {}
    for t in history.trials:
        if t.state != TrialState.PRUNED or not t.system_attrs.get("paused"):
            continue
        k = paused_rung(t, first_of(t), high, eta)
        hit = at_rung(t.intermediate, target_of(first_of(t), high, eta, k))
        if hit is not None:
            rungs.setdefault((group_of(t), k), []).append((loss(hit[1]), t))
    out: list[Promotion] = []
    for (group, k), members in sorted(rungs.items(), key=lambda kv: -kv[0][1]):
        members.sort(key=lambda m: (m[0], m[1].number))
        top = math.floor(len(members) / eta + 1e-9)
        for _, t in members[:top]:
            if t.number in done:
                continue
            attrs: dict[str, Any] = {"rung": k + 1, "resume_from": t.number}
            if group is not None:
                attrs["bracket"] = group
            out.append(Promotion(dict(t.params), attrs, f"promoted:{t.number}"))
    return out
