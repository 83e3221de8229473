"""A PyTorch MLP whose width is the scale: the best Adam learning rate shrinks as it widens.

Standard parametrisation (PyTorch's default initialisation, one learning rate for every layer),
a fixed number of Adam steps on a generated regression task: the wider the network, the
smaller the learning rate that trains it best, the effect muP was made to remove (Yang et al.,
"Tensor Programs V", 2021). The width comes from ``trial.scale["width"]``.
"""

from __future__ import annotations

import math

import torch

DIM = 16


def data(seed: int = 0, n: int = 3072) -> tuple[torch.Tensor, ...]:
    """A fixed task: y = tanh(1.5·X W1) W2 + noise; 2048 rows to train on, 1024 to validate."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, DIM, generator=g)
    w1 = torch.randn(DIM, 32, generator=g) / math.sqrt(DIM)
    w2 = torch.randn(32, 1, generator=g) / math.sqrt(32)
    y = torch.tanh(1.5 * x @ w1) @ w2 + 0.05 * torch.randn(n, 1, generator=g)
    return x[:2048], y[:2048], x[2048:], y[2048:]


TRAIN_X, TRAIN_Y, VAL_X, VAL_Y = data()


def train(width: int, lr: float, seed: int, steps: int = 100, batch: int = 64) -> float:
    """Validation MSE of a two-hidden-layer MLP of ``width`` after ``steps`` Adam steps."""
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    model = torch.nn.Sequential(
        torch.nn.Linear(DIM, width), torch.nn.ReLU(),
        torch.nn.Linear(width, width), torch.nn.ReLU(),
        torch.nn.Linear(width, 1),
    )
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    g = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        idx = torch.randint(0, TRAIN_X.shape[0], (batch,), generator=g)
        loss = ((model(TRAIN_X[idx]) - TRAIN_Y[idx]) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        val = float(((model(VAL_X) - VAL_Y) ** 2).mean())
    return min(val, 2.0) if math.isfinite(val) else 2.0  # a diverged run scores 2.0


def objective(trial) -> float:  # type: ignore[no-untyped-def]
    lr = trial.suggest_float("lr", 1e-4, 0.3, log=True, family="optimizer")  # as study.yaml
    return train(int(trial.scale["width"]), lr, trial.seed % 2**31)
