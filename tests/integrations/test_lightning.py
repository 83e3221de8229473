"""PruningCallback with real Lightning training: one process, and ddp_spawn over two CPU
processes where only rank 0 reports to the study's storage."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import dialed
from dialed.errors import ConfigError
from dialed.integrations._protocol import MetricNotProducedError
from dialed.integrations.lightning import PruningCallback

logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
torch.set_num_threads(1)  # a tiny model: threads only contend on a shared machine


class Regression(pl.LightningModule):
    """A linear model on a generated regression task; it keeps each epoch's own values
    (and, given a directory, writes them per rank) so the tests can compare what was reported."""

    def __init__(self, lr: float, record_dir: str | None = None) -> None:
        super().__init__()
        self.lr = lr
        self.record_dir = record_dir
        self.layer = nn.Linear(8, 1)
        self.seen: dict[str, dict[int, float]] = {"val_loss": {}, "train_loss": {}}
        self._train: list[torch.Tensor] = []

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        x, y = batch
        loss = nn.functional.mse_loss(self.layer(x).squeeze(-1), y)
        self.log("train_loss", loss, on_step=False, on_epoch=True)
        self._train.append(loss.detach())
        return loss

    def on_train_epoch_end(self) -> None:
        self.seen["train_loss"][self.current_epoch] = float(torch.stack(self._train).mean())
        self._train.clear()

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        x, y = batch
        loss = nn.functional.mse_loss(self.layer(x).squeeze(-1), y)
        self.log("val_loss", loss)  # no sync_dist: each rank keeps its own shard's value
        if not self.trainer.sanity_checking:
            self.seen["val_loss"][self.current_epoch] = float(loss)
            if self.record_dir is not None:
                with open(Path(self.record_dir) / f"rank{self.global_rank}.txt", "a") as f:
                    f.write(f"{self.current_epoch} {float(loss)!r}\n")

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.parameters(), lr=self.lr)


def loaders() -> tuple[DataLoader[Any], DataLoader[Any]]:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(160, 8, generator=g)
    y = x @ torch.linspace(-1.0, 1.0, 8) + 0.1 * torch.randn(160, generator=g)
    train = DataLoader(TensorDataset(x[:128], y[:128]), batch_size=32)
    val = DataLoader(TensorDataset(x[128:], y[128:]), batch_size=32)  # one batch per rank in DDP
    return train, val


def trainer(callback: PruningCallback, **kwargs: Any) -> pl.Trainer:
    options: dict[str, Any] = {"max_epochs": 4, "accelerator": "cpu", "logger": False,
                               "enable_checkpointing": False, "enable_progress_bar": False,
                               "enable_model_summary": False, **kwargs}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pl.Trainer(callbacks=[callback], **options)


def test_reports_each_epoch_and_prunes_in_one_process() -> None:
    study = dialed.create_study("pl", direction="minimize", seed=0,
                                pruner={"name": "median", "n_startup_trials": 1})
    study.enqueue({"lr": 0.05})
    study.enqueue({"lr": 1e-4})  # hardly learns: worse than the first trial at epoch 0
    models: list[Regression] = []

    def objective(trial: dialed.Trial) -> float:
        torch.manual_seed(trial.seed)
        model = Regression(trial.suggest_float("lr", 1e-4, 0.1, log=True))
        models.append(model)
        pruning = PruningCallback(trial, monitor="val_loss")
        run = trainer(pruning)
        run.fit(model, *loaders())
        pruning.check_pruned()
        return float(run.callback_metrics["val_loss"])

    study.optimize(objective, n_trials=2)
    first, second = study.trials
    assert first.state == dialed.TrialState.COMPLETE
    assert dict(first.intermediate) == pytest.approx(models[0].seen["val_loss"])
    assert sorted(first.intermediate) == [0, 1, 2, 3]
    assert second.state == dialed.TrialState.PRUNED  # Pruned raised out of trainer.fit
    assert dict(second.intermediate) == pytest.approx(models[1].seen["val_loss"])
    assert sorted(second.intermediate) == [0]
    assert second.user_attrs["pruned_at"] == 0


@pytest.mark.parametrize(("monitor", "steps"), [("val_loss", [1, 3]), ("train_loss", [0, 1, 2, 3])])
def test_each_epoch_value_counts_once(monitor: str, steps: list[int]) -> None:
    # validation every second epoch: a validation metric is reported after the epochs that
    # validated, a training metric after every epoch, never a value left from an earlier one
    study = dialed.create_study(direction="minimize", seed=1, pruner="none")
    models: list[Regression] = []

    def objective(trial: dialed.Trial) -> float:
        torch.manual_seed(trial.seed)
        models.append(Regression(0.02))
        run = trainer(PruningCallback(trial, monitor), check_val_every_n_epoch=2)
        run.fit(models[-1], *loaders())
        return float(run.callback_metrics[monitor])

    study.optimize(objective, n_trials=1)
    [record] = study.trials
    assert sorted(record.intermediate) == steps
    assert dict(record.intermediate) == pytest.approx(models[0].seen[monitor], rel=1e-5)


def test_a_monitor_never_logged_fails_the_trial_naming_those_that_were() -> None:
    study = dialed.create_study(direction="minimize", seed=2)

    def objective(trial: dialed.Trial) -> float:
        run = trainer(PruningCallback(trial, "val_acc"), max_epochs=3)
        run.fit(Regression(0.01), *loaders())
        return 0.0

    with pytest.raises(MetricNotProducedError) as err:
        study.optimize(objective, n_trials=1)
    assert str(err.value) == ("PruningCallback: the training never produced 'val_acc'; it "
                              "produced: 'train_loss', 'val_loss'")
    [record] = study.trials
    assert record.state == dialed.TrialState.FAILED
    assert record.intermediate == {}


def test_without_a_trial_or_a_monitor_one_line_before_training() -> None:
    with pytest.raises(ConfigError, match="PruningCallback needs the trial the objective"):
        PruningCallback(None, "val_loss")
    study = dialed.create_study(direction="minimize")
    trial = study.ask()
    with pytest.raises(ConfigError, match="monitor must be the name of a logged metric"):
        PruningCallback(trial, "")


def test_ddp_spawn_an_in_memory_study_is_refused_before_training(tmp_path: Path) -> None:
    study = dialed.create_study(direction="minimize", seed=3)

    def objective(trial: dialed.Trial) -> float:
        run = trainer(PruningCallback(trial, "val_loss"), strategy="ddp_spawn", devices=2)
        run.fit(Regression(0.01, record_dir=str(tmp_path)), *loaders())
        return 0.0

    with pytest.raises(ConfigError, match=r"cannot reach study .* in memory: create it with a "
                                          r"database storage"):
        study.optimize(objective, n_trials=1)
    assert list(tmp_path.iterdir()) == []  # no rank trained
    assert study.trials[0].state == dialed.TrialState.FAILED


def test_ddp_spawn_reports_from_rank_zero_and_stops_every_rank(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'study.db'}"
    study = dialed.create_study("ddp", storage=url, direction="minimize", seed=4,
                                pruner={"name": "median", "n_startup_trials": 1})
    study.enqueue({"lr": 0.05})
    study.enqueue({"lr": 1e-4})
    ranks = tmp_path / "ranks"
    ranks.mkdir()

    def objective(trial: dialed.Trial) -> float:
        torch.manual_seed(trial.seed)
        lr = trial.suggest_float("lr", 1e-4, 0.1, log=True)
        pruning = PruningCallback(trial, monitor="val_loss")
        if trial.number == 0:  # the reference trial, in this process
            run = trainer(pruning)
            run.fit(Regression(lr), *loaders())
        else:  # two CPU processes; this one waits for them
            run = trainer(pruning, strategy="ddp_spawn", devices=2)
            run.fit(Regression(lr, record_dir=str(ranks)), *loaders())
        pruning.check_pruned()
        return float(run.callback_metrics["val_loss"])

    study.optimize(objective, n_trials=2)
    reference, spawned = study.trials
    assert reference.state == dialed.TrialState.COMPLETE
    assert spawned.state == dialed.TrialState.PRUNED
    assert "pruned at step 0" in str(spawned.system_attrs.get("prune_reason"))

    def epochs(rank: int) -> dict[int, float]:
        lines = (ranks / f"rank{rank}.txt").read_text().split()
        return {int(e): float(v) for e, v in zip(lines[::2], lines[1::2], strict=True)}

    zero, one = epochs(0), epochs(1)
    assert list(zero) == [0] and list(one) == [0]  # both ranks stopped after the same epoch
    assert zero[0] != pytest.approx(one[0])  # each rank validated its own shard
    assert dict(spawned.intermediate) == pytest.approx(zero)  # and only rank 0 reported
