"""Checkpoints and PBT with ``executor="ray"``: Ray tasks resume from the study's artifact
store like worker processes do (a real local Ray runtime, 2 CPUs, loopback only)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import dialed
from dialed import TrialState

try:
    import ray
except ImportError:  # pragma: no cover - depends on the environment
    ray = None


@pytest.fixture(scope="module")
def ray_runtime() -> Iterator[str]:
    if ray is None:  # pragma: no cover
        pytest.skip("Ray is not installed (pip install -e '.[ray]')")
    if ray.is_initialized():
        ray.shutdown()
    ray.init(address="local", num_cpus=2, include_dashboard=False,
             _node_ip_address="127.0.0.1", logging_level="WARNING")
    try:
        yield str(ray.get_runtime_context().gcs_address)
    finally:
        ray.shutdown()


def _toy(trial: dialed.Trial) -> float:
    h = np.array([trial.suggest_float("h0", 0.0, 1.0), trial.suggest_float("h1", 0.0, 1.0)])
    ck = trial.load_checkpoint()
    step, theta = (ck["step"], np.array(ck["theta"])) if ck else (0, np.array([0.9, 0.9]))
    q = 1.2 - float(theta @ theta)
    while step < 9:
        step += 1
        theta = theta - 0.05 * 2 * h * theta
        q = 1.2 - float(theta @ theta)
        trial.report(q, step)
        trial.save_checkpoint({"step": step, "theta": theta.tolist()})
        if trial.should_prune():
            raise dialed.Pruned()
    return q


def test_pbt_on_ray_runs_every_members_round_once(ray_runtime: str, tmp_path: Path) -> None:
    study = dialed.create_study(
        "pbt-ray", storage=f"sqlite:///{tmp_path / 'r.db'}", seed=5, direction="maximize",
        pruner={"name": "pbt", "population": 4, "interval": 3},
        resource={"name": "steps", "min": 1, "max": 9},
    )
    study.optimize(_toy, n_trials=12, n_jobs=2, executor="ray", ray_address=ray_runtime)
    trials = study.trials
    assert [t.state for t in trials].count(TrialState.COMPLETE) == 4
    rounds = sorted((t.system_attrs["pbt_member"], t.system_attrs["pbt_round"]) for t in trials)
    members = sorted({m for m, _ in rounds})
    assert len(members) == 4 and rounds == [(m, r) for m in members for r in range(3)]
    for t in trials:  # each later round resumed from a checkpoint, its curve whole
        if t.system_attrs["pbt_round"] > 0:
            assert t.system_attrs["resumed_from"]["step"] == 3 * t.system_attrs["pbt_round"]
            assert sorted(t.intermediate) == list(range(1, t.last_step + 1))
