"""PyTorch Lightning: report a monitored metric each epoch and stop a trial the pruner stops.

>>> from dialed.integrations.lightning import PruningCallback
>>> def objective(trial):  # doctest: +SKIP
...     model = Net(lr=trial.suggest_float("lr", 1e-4, 1e-1, log=True))
...     pruning = PruningCallback(trial, monitor="val_loss")
...     trainer = lightning.Trainer(max_epochs=20, callbacks=[pruning])
...     trainer.fit(model, datamodule)
...     pruning.check_pruned()  # needed with strategy="ddp_spawn": training ran elsewhere
...     return trainer.callback_metrics["val_loss"].item()

The value of ``monitor`` in ``trainer.callback_metrics`` is reported at the end of each
validation (step: the epoch; the sanity check is skipped), or at the end of the training
epoch when it is a training metric. In one process a pruned trial raises
:class:`dialed.Pruned` out of ``trainer.fit``. With ``strategy="ddp_spawn"`` (or
``"ddp_fork"``) the training runs in other processes: only rank 0 reports, to the study's
storage (a database: ``sqlite:///...`` or PostgreSQL; an in-memory study cannot be reached
from there), rank 0 broadcasts the decision so every rank stops at the same epoch, and
:meth:`PruningCallback.check_pruned` raises in the objective's process after ``fit`` returns.
A monitor the training never logs fails the trial with one line naming the metrics it did log.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any

from dialed._util import install_hint
from dialed.errors import ConfigError, Pruned
from dialed.integrations._protocol import (
    MetricNotProducedError,
    ReportingTrial,
    report_and_check,
    require_trial,
    stop_trial,
)

try:
    import lightning.pytorch as pl
except ImportError:  # pragma: no cover - the extra is installed wherever this is tested
    raise ConfigError(
        f"dialed.integrations.lightning needs PyTorch Lightning: {install_hint('lightning')}"
    ) from None

__all__ = ["PruningCallback"]

_OWNER = "PruningCallback"
#: User attribute rank 0 records when the monitor was never logged (read by check_pruned).
_MISSING = "metric_not_produced"


class PruningCallback(pl.Callback):
    """Reports ``monitor`` to ``trial`` after each epoch; stops the training when the study's
    pruner says so. ``trial`` is the one the objective received."""

    def __init__(self, trial: Any, monitor: str) -> None:
        super().__init__()
        if not isinstance(monitor, str) or not monitor:
            raise ConfigError(f"{_OWNER}: monitor must be the name of a logged metric such as "
                              f"'val_loss', got {monitor!r}")
        self._trial: ReportingTrial | None = require_trial(trial, _OWNER)
        self.monitor = monitor
        self._pid = os.getpid()  # the objective's process
        self._opened_in: int | None = None  # the process that reopened the trial, if another
        self._runner = _runner_of(trial)
        self._remote: tuple[Any, Any] | None = None  # (study context, record) in another process
        self._reported: int | None = None  # the last epoch reported
        self._validated: int | None = None  # the last epoch that ran a validation
        self._last: Any = None  # the value (a tensor of callback_metrics) last reported
        self._before: Any = None  # the monitor's value when the running validation started

    # -- Lightning hooks -------------------------------------------------------------------------
    # A value counts once: Lightning keeps the last value of every metric in callback_metrics,
    # so a training metric seen at a validation's end, or a validation metric at the end of an
    # epoch that ran no validation, is the one already reported (the same tensor object).
    def on_validation_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._before = trainer.callback_metrics.get(self.monitor)

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.sanity_checking:
            return
        self._validated = trainer.current_epoch
        value = trainer.callback_metrics.get(self.monitor)
        if value is not None and value is not self._before:  # logged by this validation
            self._step(trainer, value, trainer.current_epoch)

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._settle(trainer, trainer.current_epoch)

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        last = trainer.current_epoch - 1
        if last >= 0:  # a metric the module logs in its own on_train_epoch_end
            whole = not trainer.enable_validation or self._validated == last
            self._settle(trainer, last, last_chance=whole)

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._settle(trainer, max(trainer.current_epoch - 1, 0), last_chance=True)

    def _settle(self, trainer: pl.Trainer, epoch: int, *, last_chance: bool = False) -> None:
        if self._reported is not None and self._reported >= epoch:
            return
        value = trainer.callback_metrics.get(self.monitor)
        if value is not None and value is not self._last:
            self._step(trainer, value, epoch)
        elif last_chance and self._last is None and value is None:
            self._never_produced(trainer)

    def _never_produced(self, trainer: pl.Trainer) -> None:
        produced = sorted(trainer.callback_metrics)
        if not self._elsewhere(trainer):
            raise MetricNotProducedError(_OWNER, self.monitor, produced)
        if trainer.is_global_zero:  # the objective's process raises it in check_pruned()
            self._reporting_trial().set_user_attr(
                _MISSING, {"name": self.monitor, "produced": produced})
        trainer.should_stop = True

    # -- after fit ---------------------------------------------------------------------------
    def check_pruned(self) -> None:
        """Raise :class:`dialed.Pruned` if a training run in other processes (``ddp_spawn``)
        was pruned, or the error naming the metrics it logged if it never logged ``monitor``;
        call it after ``trainer.fit`` returns (in one process, ``fit`` raised already)."""
        if self._runner is None:
            return
        ctx = self._runner.ctx
        attrs = ctx.storage.get_trial(self._runner.record.trial_id).user_attrs
        missing = attrs.get(_MISSING)
        if isinstance(missing, dict):
            raise MetricNotProducedError(_OWNER, str(missing.get("name")),
                                         missing.get("produced") or [])
        step = attrs.get("pruned_at")
        if step is not None and self._trial is not None:
            raise Pruned(f"{_OWNER}: trial {self._trial.number} pruned at step {step}")

    # -- pickling: what another process receives (ddp_spawn) -----------------------------------
    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_remote"] = self._remote_parts()
        state["_trial"] = None
        state["_runner"] = None
        state["_opened_in"] = None
        return state

    # -- helpers ---------------------------------------------------------------------------------
    def _elsewhere(self, trainer: pl.Trainer) -> bool:
        """Whether this training runs outside the objective's process, or across several."""
        return os.getpid() != self._pid or trainer.world_size > 1

    def _step(self, trainer: pl.Trainer, tensor: Any, epoch: int) -> None:
        self._reported, self._last = epoch, tensor
        stop = False
        if trainer.is_global_zero:
            stop = report_and_check(self._reporting_trial(), float(tensor), epoch)
        elsewhere = self._elsewhere(trainer)
        if trainer.world_size > 1:
            stop = bool(trainer.strategy.broadcast(stop, src=0))
        if not stop:
            return
        trainer.should_stop = True
        if not elsewhere:
            raise stop_trial(self._reporting_trial(), epoch, _OWNER)
        if trainer.is_global_zero:  # recorded for check_pruned() in the objective's process
            stop_trial(self._reporting_trial(), epoch, _OWNER)

    def _reporting_trial(self) -> ReportingTrial:
        if self._trial is not None and os.getpid() in (self._pid, self._opened_in):
            return self._trial
        if self._remote is None:
            self._remote = self._remote_parts()
        self._trial = _reopen(*self._remote)
        self._opened_in = os.getpid()
        return self._trial

    def _remote_parts(self) -> tuple[Any, Any]:
        """The study context and trial record another process reopens the trial from."""
        if self._remote is not None:
            return self._remote
        runner = self._runner
        if runner is None:
            raise ConfigError(
                f"{_OWNER}: training in other processes (strategy='ddp_spawn') needs the "
                "dialed Trial the objective received, not another kind of trial"
            )
        ctx = runner.ctx
        if ctx.storage.url is None:
            raise ConfigError(
                f"{_OWNER}: strategy='ddp_spawn' trains in other processes, which cannot reach "
                f"study {ctx.name!r} in memory: create it with a database storage, "
                "storage='sqlite:///study.db'"
            )
        from dialed.samplers import make_sampler

        # the other process reports and asks the pruner; it suggests nothing
        light = dataclasses.replace(ctx, sampler=make_sampler("random", seed=ctx.seed))
        record = dataclasses.replace(
            runner.record, params={**runner.record.params, **runner.params},
            system_attrs=dict(runner.trial_attrs),
        )
        return light, record


def _runner_of(trial: Any) -> Any:
    """The engine's runner behind a dialed Trial (None for another kind of trial)."""
    from dialed.execution import TrialRunner

    backend = getattr(trial, "_backend", None)
    return backend if isinstance(backend, TrialRunner) else None


def _reopen(ctx: Any, record: Any) -> ReportingTrial:
    """The running trial, reopened in this process on a fresh connection to its storage."""
    from dialed.execution import TrialRunner
    from dialed.history import HistoryLog
    from dialed.storage import open_storage

    local = dataclasses.replace(ctx, storage=open_storage(ctx.storage.url))
    runner = TrialRunner(local, HistoryLog(local.storage, local.study_id, local.metrics), record)
    trial: ReportingTrial = runner.make_trial()
    return trial
