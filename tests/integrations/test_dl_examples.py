"""The Lightning, Transformers, MLflow and TensorBoard examples run as a user runs them, on a
small budget, each in its own process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "integrations"


def _run(name: str, *args: str, cwd: Path) -> str:
    done = subprocess.run([sys.executable, str(EXAMPLES / name), *args], capture_output=True,
                          text=True, timeout=300, cwd=cwd, env=dict(os.environ))
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_lightning_pruning_example(tmp_path: Path) -> None:
    out = _run("lightning_pruning.py", "--trials", "4", "--epochs", "3", cwd=tmp_path)
    assert "trials pruned:" in out and "best val_loss" in out


def test_transformers_lora_example(tmp_path: Path) -> None:
    out = _run("transformers_lora.py", "--trials", "2", cwd=tmp_path)
    assert "trials pruned:" in out and "best run" in out and "target_modules" in out


def test_mlflow_tracking_example(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # MLflow 3 asks for it (file store)
    uri = (tmp_path / "mlruns").as_uri()
    out = _run("mlflow_tracking.py", "--trials", "6", "--tracking-uri", uri, cwd=tmp_path)
    assert "6 trial runs under the study's run" in out
    from mlflow import MlflowClient

    client = MlflowClient(uri)
    exp = client.get_experiment_by_name("dialed-logreg")
    assert exp is not None
    assert len(client.search_runs([exp.experiment_id])) == 7  # the study's run and 6 trials


def test_tensorboard_hparams_example(tmp_path: Path) -> None:
    out = _run("tensorboard_hparams.py", "--trials", "6", "--logdir", "runs", cwd=tmp_path)
    assert "6 runs written under runs/logreg/" in out
    runs = sorted(p.name for p in (tmp_path / "runs" / "logreg").iterdir())
    assert runs == [f"trial-{n:04d}" for n in range(6)]
    assert all(list((tmp_path / "runs" / "logreg" / r).glob("events.out.tfevents.*"))
               for r in runs)
