"""The fault test: a grid study run by 4 worker processes while a chaos loop SIGKILLs a random
busy worker once per 12 cells completed (16 kills or so over the 200 cells) and starts a
replacement. The test is bounded by progress, not by the clock: a slow machine takes longer,
and only a run that makes no progress at all for STALL_S fails.

At the end: no finished trial lost or changed (finished trials are snapshotted during the run
and compared field for field), no grid cell run to completion twice, every trial of a killed
worker failed as died (and retried to completion, since the study allows retries), no trial
left running or waiting, every cell complete, and no worker that was not killed failed (no
"database is locked"). On SQLite, and on PostgreSQL when ``DIALED_TEST_POSTGRES_URL`` is set.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import socket
import subprocess
import sys
import textwrap
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import pytest

import dialed
from dialed import TrialState
from dialed.samplers import GridSampler
from dialed.trial import TrialRecord

SRC = Path(__file__).resolve().parents[2] / "src"
POSTGRES_URL = os.environ.get("DIALED_TEST_POSTGRES_URL")

A_VALUES = 20
B_CHOICES = ["c0", "c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8", "c9"]
SPACE = {
    "a": {"type": "int", "low": 0, "high": A_VALUES - 1},
    "b": {"type": "categorical", "choices": B_CHOICES},
}
N_CELLS = A_VALUES * len(B_CHOICES)  # 200
N_WORKERS = 4
N_STANDBY = 4
MAX_RETRIES = 3
#: A busy worker is killed each time this many more cells have completed.
KILL_EVERY_CELLS = 12
#: The run fails when nothing moves this long: no trial finishes, no worker starts or ends.
STALL_S = 240.0
#: pytest's own limit: only a hang of the test itself reaches it.
HANG_LIMIT_S = 1800

WORKER = textwrap.dedent(
    """
    import random, sys, time
    import dialed

    url, name = sys.argv[1], sys.argv[2]
    print("ready", flush=True)  # imported: a standby now waits for its go
    if sys.stdin.readline().strip() != "go":
        sys.exit(0)

    def objective(trial):
        a = trial.suggest_int("a", 0, %(high)d)
        b = trial.suggest_categorical("b", %(choices)r)
        time.sleep(random.uniform(0.02, 0.05))
        return a + 0.01 * int(b[1:])

    study = dialed.load_study(name, storage=url)
    study.optimize(objective)  # until the grid is exhausted
    """
) % {"high": A_VALUES - 1, "choices": B_CHOICES}


@dataclass
class Worker:
    proc: subprocess.Popen[bytes]
    log: Path
    handle: IO[bytes]
    active: bool = False
    killed: bool = False

    def ready(self) -> bool:
        return self.proc.poll() is None and self.log.read_bytes().startswith(b"ready")

    def go(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"go\n")
        self.proc.stdin.close()
        self.active = True


@dataclass
class Chaos:
    """Worker processes: ``N_WORKERS`` active, and standbys that have imported dialed already
    (on a busy machine the import takes seconds), so a killed worker's replacement starts at
    once."""

    url: str
    name: str
    folder: Path
    workers: list[Worker] = field(default_factory=list)
    snapshots: dict[int, TrialRecord] = field(default_factory=dict)

    def spawn(self) -> None:
        log = self.folder / f"worker-{len(self.workers)}.log"
        handle = log.open("wb")
        env = {**os.environ,
               "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])}
        proc = subprocess.Popen([sys.executable, "-c", WORKER, self.url, self.name],
                                stdin=subprocess.PIPE, stdout=handle, stderr=subprocess.STDOUT,
                                env=env)
        self.workers.append(Worker(proc, log, handle))

    def alive(self) -> list[Worker]:
        return [w for w in self.workers if w.active and w.proc.poll() is None]

    def standbys(self) -> list[Worker]:
        return [w for w in self.workers if not w.active and w.proc.poll() is None]

    def top_up(self, active: int) -> None:
        """Start standbys until ``active`` workers run (as soon as standbys are ready)."""
        while len(self.standbys()) < N_STANDBY:
            self.spawn()
        for w in self.standbys():
            if len(self.alive()) >= active:
                break
            if w.ready():
                w.go()

    def kill_one(self, rng: random.Random, study: dialed.Study) -> bool:
        """SIGKILL a random worker that is running a trial; False if none is yet.

        (Workers still importing are spared: on a busy machine that takes seconds, and a kill
        every second or two would otherwise keep every worker from ever starting.)
        """
        host = socket.gethostname()
        running = {t.worker for t in study.get_trials([TrialState.RUNNING])}
        busy = [w for w in self.alive() if f"{host}:{w.proc.pid}" in running]
        if not busy:
            return False
        victim = rng.choice(busy)
        os.kill(victim.proc.pid, signal.SIGKILL)
        victim.proc.wait(timeout=30)
        victim.killed = True
        return True

    def snapshot(self, study: dialed.Study) -> None:
        """Remember every finished trial; one seen before must not have changed since."""
        for rec in study.get_trials([TrialState.COMPLETE, TrialState.FAILED,
                                     TrialState.PRUNED]):
            before = self.snapshots.setdefault(rec.trial_id, rec)
            assert before == rec, f"finished trial {rec.number} changed:\n{before}\n{rec}"

    def stop(self) -> None:
        for w in self.workers:
            if w.proc.poll() is None:
                w.proc.kill()
                w.proc.wait(timeout=30)
            w.handle.close()


def _complete(study: dialed.Study) -> bool:
    trials = study.trials
    busy = [t for t in trials if t.state in (TrialState.RUNNING, TrialState.WAITING)]
    done = {(t.params["a"], t.params["b"]) for t in trials if t.state == TrialState.COMPLETE}
    return not busy and len(done) == N_CELLS


def _run_chaos(url: str, folder: Path) -> None:
    name = f"chaos-{uuid.uuid4().hex[:8]}"
    study = dialed.create_study(name, storage=url, sampler=GridSampler(seed=0), space=SPACE,
                                seed=0, max_retries=MAX_RETRIES)
    chaos = Chaos(url, name, folder)
    rng = random.Random(0)
    kills = 0
    started = False
    progress: tuple[int, int, int] = (-1, -1, -1)
    moved = time.monotonic()
    try:
        done_at_kill = 0
        while True:
            time.sleep(0.1)
            chaos.snapshot(study)
            if _complete(study):
                break
            # a killed worker is replaced; and should every worker find the grid exhausted
            # while a killed trial's retry is not queued yet, a new one sweeps the dead and
            # runs what is left
            chaos.top_up(N_WORKERS if not started or chaos.alive() else 1)
            started = started or bool(chaos.alive())
            done = sum(r.state == TrialState.COMPLETE for r in chaos.snapshots.values())
            if done - done_at_kill >= KILL_EVERY_CELLS and chaos.kill_one(rng, study):
                kills += 1
                done_at_kill = done
            now = (len(chaos.snapshots), len(chaos.workers), len(chaos.alive()))
            if now != progress:
                progress, moved = now, time.monotonic()
            elif time.monotonic() - moved > STALL_S:
                pytest.fail(f"no progress for {STALL_S:.0f} s: {progress[0]} trials finished, "
                            f"{kills} kills, {len(chaos.alive())} workers running")
        for w in chaos.alive():  # the last workers find the grid exhausted and stop
            w.proc.wait(timeout=60)
    finally:
        chaos.stop()

    final = dialed.load_study(name, storage=url)
    trials = final.trials
    by_id = {t.trial_id: t for t in trials}

    # 0 finished trials lost or changed
    chaos.snapshot(final)
    missing = [rec.number for tid, rec in chaos.snapshots.items() if tid not in by_id]
    assert not missing, f"finished trials lost: {missing}"

    # every cell complete, none completed twice; nothing left running or waiting
    complete = Counter((t.params["a"], t.params["b"]) for t in trials
                       if t.state == TrialState.COMPLETE)
    assert len(complete) == N_CELLS, f"{N_CELLS - len(complete)} cells never completed"
    twice = {cell: n for cell, n in complete.items() if n > 1}
    assert not twice, f"grid cells completed more than once: {twice}"
    assert not [t.number for t in trials if t.state in (TrialState.RUNNING,
                                                        TrialState.WAITING)]

    # every trial of a killed worker failed as died, and its configuration was retried to
    # completion; only killed workers' trials failed
    host = socket.gethostname()
    killed = {f"{host}:{w.proc.pid}" for w in chaos.workers if w.killed}
    failed = [t for t in trials if t.state != TrialState.COMPLETE]
    for t in failed:
        assert t.worker in killed, f"trial {t.number} failed in a live worker: {t.error}"
        assert t.state == TrialState.FAILED and "died" in (t.error or ""), (t.number, t.error)
        cell = (t.params["a"], t.params["b"])
        retries = [r for r in trials if r.system_attrs.get("retry_of") == t.number]
        assert len(retries) == 1, f"trial {t.number} was retried {len(retries)} times"
        assert (retries[0].params["a"], retries[0].params["b"]) == cell
    assert kills >= 3, f"only {kills} workers were killed"
    assert len(failed) >= 3, f"only {len(failed)} trials were killed ({kills} kills)"
    assert len(trials) == N_CELLS + len(failed)  # nothing ran but the cells and their retries

    # the workers that were not killed ended cleanly: no lock error, no traceback
    for w in chaos.workers:
        if w.killed or not w.active:
            continue
        text = w.log.read_text(errors="replace")
        assert w.proc.returncode == 0, f"a worker exited with {w.proc.returncode}:\n{text}"
        assert "database is locked" not in text and "Traceback" not in text, text
    final.storage.delete_study(name)


@pytest.mark.timeout(HANG_LIMIT_S)
def test_chaos_on_sqlite(tmp_path: Path) -> None:
    _run_chaos(f"sqlite:///{tmp_path / 'chaos.db'}", tmp_path)


@pytest.mark.timeout(HANG_LIMIT_S)
@pytest.mark.skipif(POSTGRES_URL is None, reason="DIALED_TEST_POSTGRES_URL is not set")
def test_chaos_on_postgresql(tmp_path: Path) -> None:
    assert POSTGRES_URL is not None
    _run_chaos(POSTGRES_URL, tmp_path)


def test_a_worker_dying_right_after_its_claim_is_recovered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A claimed grid cell is marked as heartbeated in the claim itself: a worker on another
    machine that dies before any other write still has its trial failed after the grace period
    and the cell retried (it used to stay running forever)."""
    from dialed.execution import _recovery, _runner, enqueue_sampler_queue, start_trial
    from dialed.history import HistoryLog

    url = f"sqlite:///{tmp_path / 'claim.db'}"
    study = dialed.create_study("claim", storage=url, sampler=GridSampler(seed=0), space=SPACE,
                                heartbeat_interval=1.0, grace_period=30.0, max_retries=1)
    ctx = study.context
    cache = HistoryLog(ctx.storage, ctx.study_id, ctx.metrics)
    enqueue_sampler_queue(ctx, cache)
    monkeypatch.setattr(_runner, "worker_id", lambda: "far-away-host:4242")

    class Died(Exception):
        pass

    def die(*args: object, **kwargs: object) -> None:
        raise Died

    monkeypatch.setattr(ctx.storage, "update_trial", die)  # the machine dies at its next write
    with contextlib.suppress(Died):
        start_trial(ctx, cache, heartbeat=True)
    monkeypatch.undo()
    [claimed] = study.get_trials([TrialState.RUNNING])
    assert claimed.system_attrs.get("heartbeat") is True
    assert study.fail_stale_trials() == []  # within the grace period
    # the grace period passes (the clock the sweep reads moves on; no test waits for it)
    monkeypatch.setattr(_recovery, "now", lambda: time.time() + 31.0)
    failed = study.fail_stale_trials()
    assert [t.number for t in failed] == [claimed.number]
    retry = [t for t in study.trials if t.system_attrs.get("retry_of") == claimed.number]
    assert len(retry) == 1 and retry[0].params == claimed.params
