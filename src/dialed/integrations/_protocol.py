"""The protocol every integration shares, so that each adapter is a few lines of glue.

A training library calls back at each step (a boosting round, an epoch, an evaluation); the
adapter then

1. checks, before any training, that it was handed the trial the objective received
   (:func:`require_trial`), one line naming the callback when it was not;
2. finds the monitored value among the ones the library produced, or fails the trial with one
   line listing those it did produce (:func:`check_produced`, :class:`MetricNotProducedError`);
3. reports the value at the step and asks whether to stop (:func:`report_and_check`);
4. stops the training the library's way, then ends the trial as pruned by raising
   :func:`stop_trial`'s exception (``raise stop_trial(trial, step)``) where the library lets an
   exception through, or after training returns where it does not.

Attributes go through ``trial.set_user_attr`` (stored at once, shown by the dashboard).
A trial is passed explicitly: a callback never guesses which trial it belongs to.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol, runtime_checkable

from dialed.errors import ConfigError, DialedError, Pruned

__all__ = [
    "MetricNotProducedError",
    "ReportingTrial",
    "check_produced",
    "report_and_check",
    "require_trial",
    "stop_trial",
]


@runtime_checkable
class ReportingTrial(Protocol):
    """What an integration needs of a trial (:class:`dialed.Trial` is one)."""

    number: int

    def report(self, value: float, step: int) -> None: ...

    def should_prune(self) -> bool: ...

    def set_user_attr(self, key: str, value: Any) -> None: ...


class MetricNotProducedError(DialedError, KeyError):
    """The monitored metric is not among those the training produced; the trial fails."""

    def __init__(self, owner: str, name: str, produced: Iterable[str]) -> None:
        self.name = name
        self.produced = sorted({str(p) for p in produced})
        listed = ", ".join(repr(p) for p in self.produced) or "none"
        super().__init__(
            f"{owner}: the training never produced {name!r}; it produced: {listed}"
        )

    def __str__(self) -> str:  # KeyError quotes its argument; keep the message readable
        return str(self.args[0]) if self.args else ""


def require_trial(trial: Any, owner: str) -> ReportingTrial:
    """Return ``trial`` if it can report and prune, else raise one line naming ``owner``.

    Call it in a callback's constructor, so the error comes before any training starts.
    """
    if not isinstance(trial, ReportingTrial):
        got = "None" if trial is None else type(trial).__name__
        raise ConfigError(
            f"{owner} needs the trial the objective received (def objective(trial): "
            f"... {owner}(trial, ...)), got {got}"
        )
    return trial


def check_produced(owner: str, name: str, produced: Iterable[str]) -> None:
    """Raise :class:`MetricNotProducedError` unless ``name`` is among ``produced``."""
    names = list(produced)
    if name not in names:
        raise MetricNotProducedError(owner, name, names)


def report_and_check(trial: ReportingTrial, value: float, step: int) -> bool:
    """Report ``value`` at ``step``; True when the study's pruner says the trial should stop
    (a non-finite value, a diverged run, always does)."""
    trial.report(float(value), step)
    return trial.should_prune()


def stop_trial(trial: ReportingTrial, step: int, owner: str) -> Pruned:
    """The exception that ends the trial as pruned at ``step`` (raise it); also records the
    step as the user attribute ``pruned_at`` so the curve's end is explained."""
    trial.set_user_attr("pruned_at", step)
    return Pruned(f"{owner}: trial {trial.number} pruned at step {step}")
