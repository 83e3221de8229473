"""``executor="ray"``: trials as tasks on a real local Ray runtime (2 CPUs, loopback only).

Skipped, with the reason, when Ray is not installed (``pip install -e '.[ray]'``); the option
checks that need no Ray run either way.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import dialed
from dialed import TrialState
from dialed.errors import ConfigError
from dialed.execution._ray import ray_task_options
from dialed.samplers import GridSampler

SRC = Path(__file__).resolve().parents[2] / "src"

try:
    import ray
except ImportError:  # pragma: no cover - depends on the environment
    ray = None

needs_ray = pytest.mark.skipif(
    ray is None, reason="Ray is not installed (pip install -e '.[ray]')"
)


@pytest.fixture(scope="module")
def ray_runtime() -> Iterator[str]:
    """A local Ray runtime for this module; yields its address."""
    if ray is None:  # pragma: no cover - skipped above
        pytest.skip("Ray is not installed")
    if ray.is_initialized():
        ray.shutdown()
    ray.init(address="local", num_cpus=2, include_dashboard=False,
             _node_ip_address="127.0.0.1", logging_level="WARNING")
    try:
        yield str(ray.get_runtime_context().gcs_address)
    finally:
        ray.shutdown()


def _url(tmp_path: Path, name: str = "ray.db") -> str:
    return f"sqlite:///{tmp_path / name}"


def _max_overlap(trials: list[dialed.TrialRecord]) -> int:
    """The most trials that ran at the same moment, from their start and finish times."""
    events = sorted([(t.started_at or 0.0, 1) for t in trials]
                    + [(t.finished_at or 0.0, -1) for t in trials])
    now = most = 0
    for _, step in events:
        now += step
        most = max(most, now)
    return most


def sleepy(trial: dialed.Trial) -> float:
    x = trial.suggest_float("x", -1.0, 1.0)
    time.sleep(0.3)
    return x * x


# -- option checks: no Ray needed ---------------------------------------------------------------
def test_resources_per_trial_are_checked() -> None:
    assert ray_task_options(None) == {"num_cpus": 1}
    assert ray_task_options({"num_cpus": 2, "num_gpus": 0.5, "resources": {"TPU": 1}}) == {
        "num_cpus": 2, "num_gpus": 0.5, "resources": {"TPU": 1}}
    with pytest.raises(ConfigError, match="unknown key 'gpus'; valid keys are num_cpus"):
        ray_task_options({"gpus": 1})
    with pytest.raises(ConfigError, match="num_cpus must be a number >= 0"):
        ray_task_options({"num_cpus": -1})
    with pytest.raises(ConfigError, match="resources must map"):
        ray_task_options({"resources": {"TPU": "one"}})


def test_a_memory_study_cannot_run_on_ray() -> None:
    study = dialed.create_study("mem")
    with pytest.raises(ConfigError, match="needs a storage every Ray worker can open"):
        study.optimize(sleepy, n_trials=2, executor="ray")
    assert study.trials == []


def test_executor_names_and_ray_options_are_checked(tmp_path: Path) -> None:
    study = dialed.create_study("opts", storage=_url(tmp_path))
    with pytest.raises(ConfigError, match="executor must be one of local, ray"):
        study.optimize(sleepy, n_trials=1, executor="dask")
    with pytest.raises(ConfigError, match="for executor='ray'"):
        study.optimize(sleepy, n_trials=1, ray_address="127.0.0.1:6379")


# -- on a real Ray runtime ----------------------------------------------------------------------
@needs_ray
def test_trials_land_in_the_storage_within_the_budget(ray_runtime: str, tmp_path: Path) -> None:
    url = _url(tmp_path)
    study = dialed.create_study("ray", storage=url, seed=0)
    seen: list[int] = []
    study.optimize(sleepy, n_trials=8, n_jobs=2, executor="ray",
                   callbacks=[lambda s, rec: seen.append(rec.number)])
    trials = dialed.load_study("ray", storage=url).trials
    assert [t.number for t in trials] == list(range(8))
    assert all(t.state == TrialState.COMPLETE for t in trials)
    assert sorted(seen) == list(range(8))  # callbacks ran here, once per trial
    workers = {t.worker for t in trials}
    assert all(w and not w.endswith(f":{os.getpid()}") for w in workers)  # Ray workers ran them
    assert all(t.system_attrs.get("heartbeat") for t in trials)  # under the engine's heartbeat
    assert _max_overlap(trials) <= 2


@needs_ray
def test_at_most_n_jobs_and_resources_are_passed_through(ray_runtime: str,
                                                         tmp_path: Path) -> None:
    one = dialed.create_study("one", storage=_url(tmp_path), seed=0)
    one.optimize(sleepy, n_trials=4, n_jobs=1, executor="ray")
    assert _max_overlap(one.trials) == 1
    # two CPUs per trial on a two-CPU runtime: Ray runs them one at a time whatever n_jobs says
    wide = dialed.create_study("wide", storage=_url(tmp_path), seed=0)
    wide.optimize(sleepy, n_trials=4, n_jobs=2, executor="ray",
                  resources_per_trial={"num_cpus": 2, "num_gpus": 0})
    assert len(wide.trials) == 4 and _max_overlap(wide.trials) == 1


@needs_ray
def test_a_failing_trial_is_recorded(ray_runtime: str, tmp_path: Path) -> None:
    study = dialed.create_study("fail", storage=_url(tmp_path), seed=0)

    def objective(trial: dialed.Trial) -> float:
        x = trial.suggest_float("x", 0.0, 1.0)
        if trial.number == 2:
            raise ValueError("diverged at epoch 3")
        return x

    study.optimize(objective, n_trials=5, n_jobs=2, executor="ray", catch=(ValueError,))
    states = [t.state for t in study.trials]
    assert states.count(TrialState.FAILED) == 1 and states.count(TrialState.COMPLETE) == 4
    failed = study.trials[2]
    assert failed.state == TrialState.FAILED and "diverged at epoch 3" in (failed.error or "")
    assert "x" in failed.params


@needs_ray
def test_a_raising_objective_stops_the_run_and_propagates(ray_runtime: str,
                                                          tmp_path: Path) -> None:
    study = dialed.create_study("raise", storage=_url(tmp_path), seed=0)

    def bad(trial: dialed.Trial) -> float:
        trial.suggest_float("x", 0.0, 1.0)
        raise KeyError("no such column")

    with pytest.raises(KeyError, match="no such column"):
        study.optimize(bad, n_trials=20, n_jobs=2, executor="ray")
    trials = study.trials
    assert trials and len(trials) <= 4  # no new task after the first failure
    assert all(t.state == TrialState.FAILED for t in trials)


@needs_ray
def test_grid_cells_run_once_and_the_run_stops_when_exhausted(ray_runtime: str,
                                                              tmp_path: Path) -> None:
    space = {"a": {"type": "categorical", "choices": ["x", "y", "z"]},
             "b": {"type": "int", "low": 1, "high": 3}}
    study = dialed.create_study("grid", storage=_url(tmp_path), sampler=GridSampler(seed=1),
                                space=space, seed=1)

    def objective(trial: dialed.Trial) -> float:
        p = trial.suggest_space(dialed.Space(space))
        return float(p["b"])

    study.optimize(objective, n_trials=50, n_jobs=2, executor="ray")
    cells = [(t.params["a"], t.params["b"]) for t in study.trials]
    assert len(cells) == 9 and len(set(cells)) == 9
    assert all(t.state == TrialState.COMPLETE for t in study.trials)


@needs_ray
def test_a_killed_ray_worker_fails_its_trial_and_the_retry_runs(ray_runtime: str,
                                                                 tmp_path: Path) -> None:
    marker = tmp_path / "pid"
    study = dialed.create_study("killed", storage=_url(tmp_path), seed=0, max_retries=1)

    def objective(trial: dialed.Trial) -> float:
        x = trial.suggest_float("x", 0.0, 1.0)
        if trial.number == 1:  # the first attempt of this configuration hangs until killed
            marker.write_text(str(os.getpid()))
            time.sleep(120)
        return x

    def killer() -> None:
        deadline = time.monotonic() + 120
        while not marker.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        # the heartbeat thread stores the parameters FIRST_FLUSH_S after the start: the retry
        # runs the same configuration
        while time.monotonic() < deadline and not study.storage.get_trial_by_number(
            study.study_id, 1
        ).params:
            time.sleep(0.05)
        os.kill(int(marker.read_text()), signal.SIGKILL)

    thread = threading.Thread(target=killer, daemon=True)
    thread.start()
    study.optimize(objective, n_trials=4, n_jobs=1, executor="ray")
    thread.join(timeout=10)
    trials = study.trials
    killed = trials[1]
    summary = [(t.number, t.state.value, t.error, dict(t.system_attrs)) for t in trials]
    assert killed.state == TrialState.FAILED and "died" in (killed.error or ""), summary
    retries = [t for t in trials if t.system_attrs.get("retry_of") == 1]
    assert len(retries) == 1, summary
    assert retries[0].state == TrialState.COMPLETE, summary
    assert retries[0].params == killed.params, summary
    assert not [t for t in trials if t.state == TrialState.RUNNING]


@needs_ray
def test_dialed_run_with_the_ray_executor(ray_runtime: str, tmp_path: Path) -> None:
    module = f"ray_objective_{uuid.uuid4().hex[:12]}"
    (tmp_path / f"{module}.py").write_text(
        "def objective(trial):\n    return (trial.params['x'] - 0.5) ** 2\n")
    (tmp_path / "s.yaml").write_text(
        f"study: on-ray\nobjective: {module}:objective\n"
        "space: {x: {type: float, low: 0.0, high: 1.0}}\nbudget: {trials: 6}\nseed: 1\n")
    path = os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])
    env: dict[str, Any] = {**os.environ, "PYTHONPATH": path}
    env.pop("DIALED_STORAGE", None)
    done = subprocess.run(
        [sys.executable, "-m", "dialed.cli", "run", "s.yaml", "--no-progress", "--n-jobs", "2",
         "--executor", "ray", "--address", ray_runtime],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240, check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "6 complete" in done.stdout
    trials = dialed.load_study("on-ray", storage=_url(tmp_path, "dialed.db")).trials
    assert len(trials) == 6 and all(t.state == TrialState.COMPLETE for t in trials)


def test_a_lost_task_is_swept_until_its_exiting_worker_is_gone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ray may report a killed worker lost while its process is still exiting (its pid still
    looks alive): the driver keeps sweeping until the trial is failed, not just once."""
    from dialed.execution import _ray

    study = dialed.create_study("lost", storage=_url(tmp_path))
    calls: list[float] = []
    done = study.storage.create_trial(study.study_id, worker="w")

    def sweep(ctx: Any) -> list[dialed.TrialRecord]:
        calls.append(time.monotonic())
        return [done] if len(calls) >= 3 else []  # the pid is gone at the third look

    monkeypatch.setattr(_ray, "fail_stale_trials", sweep)
    assert _ray.sweep_after_loss(study.context, wait=5.0) == [done]
    assert len(calls) == 3
    calls.clear()
    monkeypatch.setattr(_ray, "fail_stale_trials", lambda ctx: calls.append(0.0) or [])
    start = time.monotonic()
    assert _ray.sweep_after_loss(study.context, wait=0.3) == []  # a worker on another machine
    assert time.monotonic() - start >= 0.3 and len(calls) >= 2  # it looked until the wait ended
