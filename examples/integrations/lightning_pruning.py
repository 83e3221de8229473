"""PyTorch Lightning with dialed's pruning callback: poor learning rates stop after an epoch.

A small network on a generated regression task; the median rule compares each epoch's
validation loss with the finished trials' at the same epoch. ``--ddp`` trains each trial on two
CPU processes (``strategy="ddp_spawn"``): rank 0 reports to the study's SQLite file.

Run:  python examples/integrations/lightning_pruning.py [--trials N] [--epochs E] [--ddp]
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import warnings
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import dialed
from dialed.integrations.lightning import PruningCallback


class Net(pl.LightningModule):
    def __init__(self, lr: float, width: int, dropout: float) -> None:
        super().__init__()
        self.lr = lr
        self.net = nn.Sequential(nn.Linear(8, width), nn.ReLU(), nn.Dropout(dropout),
                                 nn.Linear(width, 1))

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        x, y = batch
        loss = nn.functional.mse_loss(self.net(x).squeeze(-1), y)
        self.log("train_loss", loss, on_step=False, on_epoch=True)
        return loss

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        x, y = batch
        self.log("val_loss", nn.functional.mse_loss(self.net(x).squeeze(-1), y), sync_dist=True)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.parameters(), lr=self.lr)


def data() -> tuple[DataLoader[Any], DataLoader[Any]]:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(512, 8, generator=g)
    y = torch.sin(x[:, 0]) + x[:, 1] * x[:, 2] + 0.1 * torch.randn(512, generator=g)
    return (DataLoader(TensorDataset(x[:384], y[:384]), batch_size=32, shuffle=True,
                       generator=torch.Generator().manual_seed(1)),
            DataLoader(TensorDataset(x[384:], y[384:]), batch_size=128))


def main(argv: list[str] | None = None) -> dialed.Study:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--ddp", action="store_true", help="two CPU processes per trial")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore")
    train, valid = data()

    def objective(trial: dialed.Trial) -> float:
        torch.manual_seed(trial.seed)
        model = Net(lr=trial.suggest_float("lr", 1e-5, 1e-1, log=True, family="optimizer"),
                    width=trial.suggest_int("width", 8, 64, log=True, family="architecture"),
                    dropout=trial.suggest_float("dropout", 0.0, 0.3, family="regularization"))
        pruning = PruningCallback(trial, monitor="val_loss")
        ddp: dict[str, Any] = {"strategy": "ddp_spawn", "devices": 2} if args.ddp else {}
        trainer = pl.Trainer(max_epochs=args.epochs, accelerator="cpu", callbacks=[pruning],
                             logger=False, enable_checkpointing=False, enable_progress_bar=False,
                             enable_model_summary=False, **ddp)
        trainer.fit(model, train, valid)
        pruning.check_pruned()  # with --ddp the training ran in other processes
        return float(trainer.callback_metrics["val_loss"])

    storage = f"sqlite:///{Path(tempfile.mkdtemp()) / 'lightning.db'}"  # ddp_spawn needs a file
    study = dialed.create_study("lightning", storage=storage, direction="minimize", seed=0,
                                pruner={"name": "median", "n_startup_trials": 3})
    study.optimize(objective, n_trials=args.trials)
    states = [t.state.value for t in study.trials]
    epochs = sum(len(t.intermediate) for t in study.trials)
    print(f"trials pruned: {states.count('pruned')} of {len(states)}; epochs trained: {epochs} "
          f"of {len(states) * args.epochs}")
    print(f"best val_loss {study.best_value:.4f} with {study.best_params}")
    return study


if __name__ == "__main__":
    main()
