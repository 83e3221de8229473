"""The MLP family of the scaling benchmark: two hidden layers of ``width`` units, PyTorch's
default (standard) parametrisation, a fixed number of Adam steps with the learning rate
decayed linearly to zero, on a generated regression task. In standard parametrisation the best
learning rate falls as the width grows (Yang et al., "Tensor Programs V", 2021, the effect muP
removes), so a learning rate tuned on a narrow network overshoots on a wide one.
"""

from __future__ import annotations

import math
from typing import Any

import torch

DIM = 16
#: 150 steps with linear decay (benchmarks/results/notes.md, "The scaling benchmark's family"):
#: at 50 constant steps every width stalled near the same loss (0.099) over two decades of
#: learning rate, so the optimum was noise; decay cut the seed-to-seed spread to ~0.003.
STEPS = 150
BATCH = 64
SPACE = {"lr": {"type": "float", "low": 1e-4, "high": 0.3, "log": True, "family": "optimizer"}}
_DATA: dict[int, tuple[torch.Tensor, ...]] = {}


def data(seed: int = 0, n: int = 3072) -> tuple[torch.Tensor, ...]:
    """y = tanh(1.5·X W1) W2 + noise: 2048 rows to train on, 1024 to validate (cached)."""
    if seed not in _DATA:
        g = torch.Generator().manual_seed(seed)
        x = torch.randn(n, DIM, generator=g)
        w1 = torch.randn(DIM, 32, generator=g) / math.sqrt(DIM)
        w2 = torch.randn(32, 1, generator=g) / math.sqrt(32)
        y = torch.tanh(1.5 * x @ w1) @ w2 + 0.05 * torch.randn(n, 1, generator=g)
        _DATA[seed] = (x[:2048], y[:2048], x[2048:], y[2048:])
    return _DATA[seed]


def train(width: int, lr: float, seed: int) -> float:
    """Validation MSE after ``STEPS`` Adam steps, the rate decayed linearly to zero (a diverged
    run scores 2.0)."""
    torch.set_num_threads(1)
    tx, ty, vx, vy = data()
    torch.manual_seed(seed)
    model = torch.nn.Sequential(
        torch.nn.Linear(DIM, width), torch.nn.ReLU(),
        torch.nn.Linear(width, width), torch.nn.ReLU(),
        torch.nn.Linear(width, 1),
    )
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    decay = torch.optim.lr_scheduler.LambdaLR(opt, lambda k: 1.0 - k / STEPS)
    g = torch.Generator().manual_seed(seed)
    for _ in range(STEPS):
        idx = torch.randint(0, tx.shape[0], (BATCH,), generator=g)
        loss = ((model(tx[idx]) - ty[idx]) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        decay.step()
    with torch.no_grad():
        val = float(((model(vx) - vy) ** 2).mean())
    return min(val, 2.0) if math.isfinite(val) else 2.0


def objective(trial: Any) -> float:
    lr = trial.suggest_float("lr", 1e-4, 0.3, log=True, family="optimizer")
    return train(int(trial.scale["width"]), lr, trial.seed % 2**31)
