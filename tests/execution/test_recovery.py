"""A study process killed with SIGKILL mid-trial: finished trials intact, the killed one failed,
the study goes on; a silent worker on another machine is failed after the grace period."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

import dialed
from dialed import TrialState
from dialed.execution import _recovery
from dialed.storage import _sql_rows as _storage_clock

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


def test_silent_worker_on_another_host_is_failed_after_grace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'hb.db'}"
    study = dialed.create_study("hb", storage=url, heartbeat_interval=1.0, grace_period=30.0)
    storage = study.storage
    gone = storage.create_trial(study.study_id, worker="far-away-host:4242",
                                system_attrs={"heartbeat": True})
    alive = storage.create_trial(study.study_id, worker="far-away-host:4243",
                                 system_attrs={"heartbeat": True})
    assert study.fail_stale_trials() == []  # within the grace period
    # 31 s pass (the clocks the storage and the sweep read move on; no test waits for them);
    # one worker beats meanwhile, the other stays silent
    later = time.time() + 31.0
    monkeypatch.setattr(_recovery, "now", lambda: later)
    monkeypatch.setattr(_storage_clock, "now", lambda: later)
    storage.heartbeat(alive.trial_id)
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


WAKER = textwrap.dedent(
    """
    import sys, time, pathlib
    import dialed

    url, started, go = sys.argv[1], pathlib.Path(sys.argv[2]), pathlib.Path(sys.argv[3])

    def objective(trial):
        x = trial.suggest_float("x", 0, 1)
        if trial.number == 0:
            step = 0
            stored = dialed.load_study("wake", storage=url)
            while not stored.trials[0].params:  # written by the trial's first flush
                trial.report(x, step)
                step += 1
                time.sleep(0.02)
            started.write_text("0")  # stopped from here on: its retry has its settings
            while not go.exists():  # stopped here by SIGSTOP, failed by a sweep meanwhile
                trial.report(x, step)
                step += 1
                time.sleep(0.02)
            trial.report(x, step)  # the first report after waking up
            return 123.0
        return x

    dialed.load_study("wake", storage=url).optimize(objective, n_trials=3)
    print("done", flush=True)
    """
)


def _stop_between_writes(pid: int, db: Path) -> None:
    """SIGSTOP ``pid`` at a moment it holds no write transaction on ``db`` (stopped inside one,
    its report or heartbeat, it would hold SQLite's write lock for good and the sweep could never
    write): stop it, try to take the write lock, and on failure let it run on and stop it again.
    Bounded by tries, not by time."""
    for _ in range(100):
        os.kill(pid, signal.SIGSTOP)
        con = sqlite3.connect(db, timeout=0.5)
        try:
            con.execute("BEGIN IMMEDIATE")
            con.rollback()
            return
        except sqlite3.OperationalError:  # locked: it was stopped inside a write
            os.kill(pid, signal.SIGCONT)
            time.sleep(0.05)
        finally:
            con.close()
    raise AssertionError("the worker held the database's write lock at every one of 100 stops")


def test_a_worker_presumed_dead_that_wakes_up_goes_on_with_the_next_trial(
    tmp_path: Path,
) -> None:
    """SIGSTOP a worker past the grace period: its trial is failed and retried. Woken up
    (SIGCONT), it must not crash on its next report: it warns, stores nothing of the late
    result, and runs its next trials."""
    url = f"sqlite:///{tmp_path / 'wake.db'}"
    study = dialed.create_study("wake", storage=url, heartbeat_interval=0.2, grace_period=1.0,
                                max_retries=1, seed=0)
    started, go = tmp_path / "started", tmp_path / "go"
    script = tmp_path / "waker.py"
    script.write_text(WAKER)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen([sys.executable, str(script), url, str(started), str(go)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for(started.exists, proc, "the worker's first trial to start")
        _stop_between_writes(proc.pid, tmp_path / "wake.db")
        failed: list[dialed.TrialRecord] = []

        def swept() -> bool:  # once its heartbeat has been silent for the grace period
            failed.extend(study.fail_stale_trials())
            return bool(failed)

        _wait_for(swept, None, "the sweep to fail the stopped worker's trial")
        go.touch()
        os.kill(proc.pid, signal.SIGCONT)
        out, err = proc.communicate(timeout=240)
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGCONT)
            proc.kill()
    assert proc.returncode == 0, err
    assert "done" in out
    assert "trial 0 was marked failed by recovery while it ran" in err
    assert "Traceback" not in err
    trials = study.trials
    assert [t.number for t in failed] == [0]
    first = trials[0]
    assert first.state == TrialState.FAILED and "no heartbeat" in (first.error or "")
    assert "value" not in first.metrics  # the late result (123) was not stored
    retry = [t for t in trials if t.system_attrs.get("retry_of") == 0]
    assert len(retry) == 1 and retry[0].state == TrialState.COMPLETE
    assert retry[0].params == first.params
    assert all(t.state.finished for t in trials) and len(trials) == 3


ORPHANS = textwrap.dedent(
    """
    import sys, time
    import dialed

    def objective(trial):
        trial.suggest_float("x", 0, 1)
        time.sleep(600)
        return 0.0

    study = dialed.create_study("orphans", storage=sys.argv[1], seed=0)
    study.optimize(objective, n_trials=8, n_jobs=4)
    """
)


def test_workers_die_with_their_parent_and_their_trials_are_failed(tmp_path: Path) -> None:
    """optimize(n_jobs=4) whose process is SIGKILLed: its four workers end too (they used to
    run on for good), and the next sweep fails their trials."""
    url = f"sqlite:///{tmp_path / 'orphans.db'}"
    script = tmp_path / "parent.py"
    script.write_text(ORPHANS)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen([sys.executable, str(script), url], env=env)
    workers: list[int] = []
    try:
        def four_running() -> bool:
            if not (tmp_path / "orphans.db").exists():
                return False
            try:
                running = dialed.load_study("orphans", storage=url).get_trials(["running"])
            except dialed.errors.StorageError:
                return False  # not created yet
            workers[:] = [int((t.worker or "h:0").rpartition(":")[2]) for t in running]
            return len(running) == 4

        _wait_for(four_running, proc, "four workers to run a trial each")
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
        _wait_for(lambda: not any(_alive(pid) for pid in workers), None,
                  "the workers to end after their parent")
    finally:
        for pid in workers:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
        if proc.poll() is None:
            proc.kill()
    study = dialed.load_study("orphans", storage=url)  # loading sweeps
    assert [t.state for t in study.trials] == [TrialState.FAILED] * 4
    assert all("died while the trial was running" in (t.error or "") for t in study.trials)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            return fh.read().split(") ", 1)[1][:1] != "Z"
    except OSError:
        return False


def _wait_for(done: Any, proc: subprocess.Popen[Any] | None, what: str) -> None:
    """Poll ``done()`` until it holds; fail at once if ``proc`` ends first. The limit only
    turns a hang into a failure: each step takes well under a second on an idle machine."""
    limit = time.monotonic() + 180
    while not done():
        if proc is not None and proc.poll() is not None:
            pytest.fail(f"the process ended (rc={proc.returncode}) before {what}")
        if time.monotonic() > limit:
            pytest.fail(f"gave up waiting for {what}")
        time.sleep(0.05)
