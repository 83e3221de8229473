"""Patience and thresholds: stop a run that stalled or left the range of sensible values.

The patience rule is the early-stopping criterion of Prechelt, "Early Stopping — But When?",
in *Neural Networks: Tricks of the Trade*, 1998 (the "no improvement for ``patience``
evaluations" family of rules, as in Keras' ``EarlyStopping``): a trial stops at step ``s`` when
its best value over the last ``patience`` steps improves on its best value before them by no
more than ``min_delta``. Thresholds stop a trial at once when a reported value leaves
``[lower, upper]`` (an exploding loss). A NaN or infinite report already stops the trial at
once, in the engine, with the reason recorded.

It looks at the trial's own curve only, so it works in multi-objective studies too; there the
reported value belongs to no objective in particular, and the patience rule needs
``direction`` to say which way it improves (thresholds do not).
"""

from __future__ import annotations

from typing import Any

from dialed.errors import ConfigError
from dialed.history import History
from dialed.metrics import MetricSet
from dialed.pruners._base import Pruner
from dialed.pruners._curve import check_int, check_number
from dialed.pruners._resource import Resource
from dialed.trial import TrialRecord

__all__ = ["PatiencePruner"]

_DIRECTIONS = ("minimize", "maximize")


class PatiencePruner(Pruner):
    """Stops a stalled trial (``patience``, ``min_delta``) or one beyond ``upper`` / ``lower``.

    ``direction`` defaults to the study's objective's (required for patience in a study with
    several objectives). Nothing is stopped for stalling before ``n_warmup_steps``.
    """

    name = "patience"
    multi_objective = True

    def __init__(
        self,
        patience: int | None = None,
        min_delta: float = 0.0,
        upper: float | None = None,
        lower: float | None = None,
        direction: str | None = None,
        n_warmup_steps: int = 0,
    ) -> None:
        if patience is None and upper is None and lower is None:
            raise ConfigError("patience pruner: give patience= (steps without improvement), "
                              "upper= or lower= (thresholds), or several of them")
        if patience is not None:
            check_int(self.name, "patience", patience, 1)
        check_number(self.name, "min_delta", min_delta, at_least=0)
        if upper is not None:
            check_number(self.name, "upper", upper)
        if lower is not None:
            check_number(self.name, "lower", lower)
        if upper is not None and lower is not None and lower > upper:
            raise ConfigError(f"patience pruner: lower ({lower!r}) is above upper ({upper!r})")
        if direction is not None and direction not in _DIRECTIONS:
            raise ConfigError(f"patience pruner: direction must be 'minimize' or 'maximize', "
                              f"got {direction!r}")
        check_int(self.name, "n_warmup_steps", n_warmup_steps, 0)
        self._options: dict[str, Any] = {
            "patience": patience, "min_delta": min_delta, "upper": upper, "lower": lower,
            "direction": direction, "n_warmup_steps": n_warmup_steps,
        }
        self._direction = direction

    def bind(self, resource: Resource | None, metrics: MetricSet) -> None:
        super().bind(resource, metrics)
        if self._options["direction"] is None and self._options["patience"] is not None:
            if metrics.multi_objective:
                objs = ", ".join(m.name for m in metrics.objectives)
                raise ConfigError(
                    f"patience pruner: this study has several objectives ({objs}), so say which "
                    "way the reported value improves: direction='minimize' or 'maximize'"
                )
            self._direction = str(metrics.primary.direction)

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, **self._options}

    def should_prune(self, history: History, trial: TrialRecord) -> str | None:
        curve = trial.intermediate
        if not curve:
            return None
        step = max(curve)
        value = curve[step]
        upper, lower = self._options["upper"], self._options["lower"]
        if upper is not None and value > upper:
            return f"value {value:.6g} at step {step} is above the upper threshold {upper:g}"
        if lower is not None and value < lower:
            return f"value {value:.6g} at step {step} is below the lower threshold {lower:g}"
        patience = self._options["patience"]
        if patience is None or step < self._options["n_warmup_steps"]:
            return None
        direction = self._direction
        if direction is None:
            if history.metrics.multi_objective:
                return None  # unbound in a multi-objective study: no way to tell better
            direction = str(history.metrics.primary.direction)
        sign = -1.0 if direction == "maximize" else 1.0
        cut = step - patience
        before = [sign * v for s, v in curve.items() if s <= cut]
        if not before:
            return None
        recent = [sign * v for s, v in curve.items() if s > cut]
        gain = min(before) - min(recent)
        if gain > self._options["min_delta"]:
            return None
        return (f"no improvement by more than {self._options['min_delta']:g} in the last "
                f"{patience} steps (best {sign * min(before):.6g} up to step {cut}, "
                f"{sign * min(recent):.6g} since)")
