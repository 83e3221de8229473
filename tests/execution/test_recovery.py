"""A study process killed with SIGKILL mid-trial: finished trials intact, the killed one failed,
the study goes on; a silent worker on another machine is failed after the grace period."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import dialed
from dialed import TrialState

SCRIPT = textwrap.dedent(
    """
    import sys, time, pathlib
    import dialed

    url, marker, retries = sys.argv[1], pathlib.Path(sys.argv[2]), int(sys.argv[3])

    def objective(trial):
        x = trial.suggest_float("x", -1, 1)
        lr = trial.suggest_float("lr", 1e-4, 1e-1, log=True)
        if trial.number == 5:
            trial.report(0.5, 0)
            marker.write_text(str(trial.number))
            time.sleep(120)
        return x * x + lr

    study = dialed.create_study("crash", storage=url, seed=7, max_retries=retries,
                                load_if_exists=True)
    study.optimize(objective, n_trials=20)
    """
)


def _run_until_hang(tmp_path: Path, retries: int) -> tuple[str, list[dialed.TrialRecord]]:
    url = f"sqlite:///{tmp_path / 'crash.db'}"
    marker = tmp_path / "hanging"
    script = tmp_path / "run.py"
    script.write_text(SCRIPT)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen([sys.executable, str(script), url, str(marker), str(retries)],
                            env=env)
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the study process ended early (rc={proc.returncode})")
            time.sleep(0.05)
        time.sleep(0.3)  # let the heartbeat flush the hanging trial's params
        before = dialed.load_study("crash", storage=url).get_trials(["complete"])
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    return url, before


def test_sigkill_mid_trial(tmp_path: Path) -> None:
    url, before = _run_until_hang(tmp_path, retries=0)
    assert [t.number for t in before] == [0, 1, 2, 3, 4]
    study = dialed.load_study("crash", storage=url)  # opening fails the dead worker's trial
    trials = study.trials
    assert [t.number for t in trials] == [0, 1, 2, 3, 4, 5]
    for old, new in zip(before, trials[:5], strict=True):
        assert new == old  # finished trials are untouched, field for field
    killed = trials[5]
    assert killed.state == TrialState.FAILED
    assert killed.error is not None and "died" in killed.error
    assert dict(killed.intermediate) == {0: 0.5}
    study.optimize(lambda t: t.suggest_float("x", -1, 1) ** 2, n_trials=3)
    assert [t.state for t in study.trials[6:]] == [TrialState.COMPLETE] * 3


def test_sigkill_with_retries_requeues_the_same_params(tmp_path: Path) -> None:
    url, _ = _run_until_hang(tmp_path, retries=1)
    study = dialed.load_study("crash", storage=url)
    killed, retry = study.trials[5], study.trials[6]
    assert killed.state == TrialState.FAILED
    assert retry.state == TrialState.WAITING
    assert dict(retry.params) == dict(killed.params) and "lr" in retry.params
    assert retry.system_attrs["retry_of"] == 5 and retry.system_attrs["retries"] == 1
    seen: list[dict[str, float]] = []

    def objective(trial: dialed.Trial) -> float:
        p = {"x": trial.suggest_float("x", -1, 1),
             "lr": trial.suggest_float("lr", 1e-4, 1e-1, log=True)}
        seen.append(p)
        return p["x"]

    study.optimize(objective, n_trials=2)
    assert seen[0] == dict(killed.params)
    assert study.trials[6].state == TrialState.COMPLETE


def test_silent_worker_on_another_host_is_failed_after_grace(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'hb.db'}"
    study = dialed.create_study("hb", storage=url, heartbeat_interval=0.1, grace_period=0.6)
    storage = study.storage
    gone = storage.create_trial(study.study_id, worker="far-away-host:4242",
                                system_attrs={"heartbeat": True})
    alive = storage.create_trial(study.study_id, worker="far-away-host:4243",
                                 system_attrs={"heartbeat": True})
    assert study.fail_stale_trials() == []  # within the grace period
    deadline = time.monotonic() + 0.9
    while time.monotonic() < deadline:
        storage.heartbeat(alive.trial_id)
        time.sleep(0.1)
    failed = study.fail_stale_trials()
    assert [t.number for t in failed] == [gone.number]
    assert "no heartbeat" in (failed[0].error or "")
    assert storage.get_trial(alive.trial_id).state == TrialState.RUNNING


def test_keyboard_interrupt_fails_the_running_trial_only(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ki.db'}"
    study = dialed.create_study("ki", storage=url)

    def objective(trial: dialed.Trial) -> float:
        x = trial.suggest_float("x", 0, 1)
        if trial.number == 3:
            raise KeyboardInterrupt
        return x

    with pytest.raises(KeyboardInterrupt):
        study.optimize(objective, n_trials=10)
    states = [t.state for t in study.trials]
    assert states == [TrialState.COMPLETE] * 3 + [TrialState.FAILED]
    assert "interrupted" in (study.trials[3].error or "")


def test_a_trial_failed_by_recovery_while_running_keeps_the_recorded_failure() -> None:
    study = dialed.create_study("late")

    def objective(trial: dialed.Trial) -> float:
        x = trial.suggest_float("x", 0, 1)
        # another worker decided this one was dead and failed it
        study.storage.fail_stale_trial(trial.trial_id or 0, reason="presumed dead", retry=False,
                                       max_retries=0)
        return x

    with pytest.warns(UserWarning, match="marked failed by recovery"):
        study.optimize(objective, n_trials=2)
    assert [t.state for t in study.trials] == [TrialState.FAILED] * 2
    assert all(t.error == "presumed dead" for t in study.trials)
