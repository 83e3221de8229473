"""Checkpoints and resume: a promoted trial continues its epochs, a trial retried after its
worker was SIGKILLed resumes from its last checkpoint, bad checkpoints fail one trial in one
line, and artifacts are listed and deleted with their study."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

import dialed
from dialed import TrialState
from dialed.errors import ConfigError

RESOURCE = {"name": "epochs", "min": 1, "max": 9, "reduction_factor": 3}


def _trainer(trained: Counter[int], *, resume: bool = True) -> Any:
    """An objective whose model is one weight decaying at its learning rate, an epoch a step."""

    def objective(trial: dialed.Trial) -> float:
        lr = trial.suggest_float("lr", 0.01, 0.9, log=True)
        ck = trial.load_checkpoint() if resume else None
        epoch, w = (ck["epoch"], ck["w"]) if ck else (0, 4.0)
        while epoch < 9:
            epoch += 1
            w -= lr * w * 0.5
            trained[trial.number] += 1
            trial.report(abs(w), epoch)
            trial.save_checkpoint({"epoch": epoch, "w": w})
            if trial.should_prune():
                raise dialed.Pruned()
        return abs(w)

    return objective


def test_a_promoted_trial_resumes_from_its_checkpoint(tmp_path: Path) -> None:
    study = dialed.create_study("promo", storage=f"sqlite:///{tmp_path / 's.db'}", seed=3,
                                pruner={"name": "asha", "pause": True}, resource=RESOURCE)
    trained: Counter[int] = Counter()
    study.optimize(_trainer(trained), n_trials=20)
    promoted = [t for t in study.trials if "resume_from" in t.system_attrs]
    assert promoted, "no trial was promoted"
    for t in promoted:
        src = study.storage.get_trial_by_number(study.study_id, t.system_attrs["resume_from"])
        assert src.system_attrs.get("paused") is True and src.state == TrialState.PRUNED
        stop = src.last_step
        assert t.system_attrs["resumed_from"] == {"trial": src.number, "step": stop}
        # the epoch counter continues: the promoted trial trained only the epochs after the
        # paused one's, and its curve holds the paused one's first epochs unchanged
        assert trained[t.number] == t.last_step - stop
        assert {s: v for s, v in t.intermediate.items() if s <= stop} == dict(src.intermediate)
    finished = [t for t in study.trials if t.state == TrialState.COMPLETE]
    assert finished and all(t.last_step == 9 for t in finished)


def test_restarting_trains_the_promoted_epochs_again(tmp_path: Path) -> None:
    spent, configs = {}, {}
    for resume in (True, False):
        study = dialed.create_study(f"r{int(resume)}", storage=f"sqlite:///{tmp_path / 's.db'}",
                                    seed=3, pruner={"name": "asha", "pause": True},
                                    resource=RESOURCE)
        trained: Counter[int] = Counter()
        study.optimize(_trainer(trained, resume=resume), n_trials=20)
        spent[resume] = sum(trained.values())
        configs[resume] = [(dict(t.params), t.state) for t in study.trials]
    assert configs[True] == configs[False]  # the same decisions, the same trials
    assert spent[True] < spent[False]


KILLED = textwrap.dedent(
    """
    import os, sys, time, pathlib
    import dialed

    url, marker = sys.argv[1], pathlib.Path(sys.argv[2])

    def objective(trial):
        lr = trial.suggest_float("lr", 0.01, 0.5)
        ck = trial.load_checkpoint()
        epoch, w = (ck["epoch"], ck["w"]) if ck else (0, 4.0)
        while epoch < 8:
            epoch += 1
            w -= lr * w
            trial.report(abs(w), epoch)
            trial.save_checkpoint({"epoch": epoch, "w": w})
            if epoch == 5:
                marker.write_text(str(os.getpid()))
                time.sleep(120)
        return abs(w)

    study = dialed.create_study("kill", storage=url, seed=7, max_retries=1)
    study.optimize(objective, n_trials=1)
    """
)


def test_a_sigkilled_trial_is_retried_from_its_checkpoint(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'k.db'}"
    marker, script = tmp_path / "at-epoch-5", tmp_path / "run.py"
    script.write_text(KILLED)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen([sys.executable, str(script), url, str(marker)], env=env)
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the study process ended early (rc={proc.returncode})")
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    study = dialed.load_study("kill", storage=url)  # fails the dead trial, queues its retry
    killed, retry = study.trials
    assert killed.state == TrialState.FAILED and retry.system_attrs["retry_of"] == 0
    epochs: list[int] = []

    def objective(trial: dialed.Trial) -> float:
        ck = trial.load_checkpoint()
        assert ck is not None and trial.checkpoint_step == 5
        epoch, w = ck["epoch"], ck["w"]
        while epoch < 8:
            epoch += 1
            w -= trial.suggest_float("lr", 0.01, 0.5) * w
            epochs.append(epoch)
            trial.report(abs(w), epoch)
        return abs(w)

    study.optimize(objective, n_trials=1)
    done = study.trials[1]
    assert done.state == TrialState.COMPLETE
    assert epochs == [6, 7, 8]  # each epoch trained once: 1-5 by the killed worker
    assert sorted(done.intermediate) == list(range(1, 9))
    assert {s: done.intermediate[s] for s in range(1, 6)} == dict(killed.intermediate)
    assert done.system_attrs["resumed_from"] == {"trial": 0, "step": 5}


def _one_trial(study: dialed.Study, objective: Any) -> dialed.TrialRecord:
    study.optimize(objective, n_trials=1, catch=(Exception,))
    return study.trials[-1]


def test_a_checkpoint_that_does_not_unpickle_fails_the_trial_in_one_line(tmp_path: Path) -> None:
    study = dialed.create_study("bad", storage=f"sqlite:///{tmp_path / 'b.db'}", seed=1)
    _one_trial(study, lambda t: (t.report(1.0, 1), t.save_checkpoint({"e": 1}), 1.0)[2])
    folder = Path(study.attrs["artifacts"]) / f"{study.study_id}-bad" / "trial-0"
    (folder / "checkpoint").write_bytes(b"not a pickle")
    # a trial that continues trial 0 (as a promotion is queued)
    study.storage.enqueue_trials(study.study_id, [{}], system_attrs={"resume_from": 0})
    rec = _one_trial(study, lambda t: t.load_checkpoint() or 0.0)
    assert rec.state == TrialState.FAILED
    head = (rec.error or "").splitlines()[0]
    assert head.startswith("CheckpointError: trial 1: its checkpoint (that of trial 0, which "
                           "it continues, step 1) does not unpickle: UnpicklingError")
    assert (folder / "checkpoint").read_bytes() == b"not a pickle"  # nothing stored is lost
    assert study.trials[0].state == TrialState.COMPLETE


def test_a_missing_checkpoint_file_fails_the_trial_in_one_line(tmp_path: Path) -> None:
    study = dialed.create_study("gone", storage=f"sqlite:///{tmp_path / 'g.db'}", seed=1)
    _one_trial(study, lambda t: (t.report(1.0, 1), t.save_checkpoint({"e": 1}), 1.0)[2])
    folder = Path(study.attrs["artifacts"]) / f"{study.study_id}-gone" / "trial-0"
    (folder / "checkpoint").unlink()
    study.storage.enqueue_trials(study.study_id, [{}], system_attrs={"resume_from": 0})
    rec = _one_trial(study, lambda t: t.load_checkpoint() or 0.0)
    assert rec.state == TrialState.FAILED
    assert "is missing from the artifact store" in (rec.error or "").splitlines()[0]
    (folder / "checkpoint.json").unlink()  # the note gone too: the trial's record still knows
    study.storage.enqueue_trials(study.study_id, [{}], system_attrs={"resume_from": 0})
    rec = _one_trial(study, lambda t: t.load_checkpoint() or 0.0)
    assert rec.state == TrialState.FAILED
    assert "saved at step 1 is missing" in (rec.error or "").splitlines()[0]


def test_an_unreachable_store_refuses_the_study_before_it_starts(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    url = f"sqlite:///{tmp_path / 'u.db'}"
    with pytest.raises(ConfigError, match="cannot be written") as err:
        dialed.create_study("u", storage=url, artifacts=str(blocker / "store"))
    assert "\n" not in str(err.value)
    with pytest.raises(ConfigError, match=r"cannot be opened|cannot be written"):
        dialed.create_study("u", storage=url, artifacts="nosuchprotocol://bucket/x")
    assert dialed.list_studies(url) == []  # nothing was stored


def test_artifacts_are_listed_and_deleted_with_their_study(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'a.db'}"
    study = dialed.create_study("art", storage=url, seed=1)
    plot = tmp_path / "plot.svg"
    plot.write_text("<svg/>")

    def objective(trial: dialed.Trial) -> float:
        trial.save_artifact(plot)
        trial.save_artifact(b"weights", "model.bin")
        return 1.0

    study.optimize(objective, n_trials=1)
    assert study.trials[0].system_attrs["artifacts"] == {"plot.svg": 6, "model.bin": 7}
    store = study.context.artifacts
    assert store is not None
    assert store.list_files(f"{study.study_id}-art", 0) == [("model.bin", 7), ("plot.svg", 6)]
    assert store.load_file(f"{study.study_id}-art", 0, "model.bin") == b"weights"
    root = Path(study.attrs["artifacts"])
    assert (root / f"{study.study_id}-art").is_dir()
    dialed.delete_study("art", storage=url)
    assert not (root / f"{study.study_id}-art").exists()


def test_a_shared_store_at_an_fsspec_url(tmp_path: Path) -> None:
    pytest.importorskip("fsspec")
    url = f"sqlite:///{tmp_path / 'f.db'}"
    study = dialed.create_study("fs", storage=url, seed=1, artifacts="memory://dialed-test")
    assert dialed.load_study("fs", storage=url).attrs["artifacts"] == "memory://dialed-test"

    def objective(trial: dialed.Trial) -> float:
        trial.report(2.0, 1)
        trial.save_checkpoint({"epoch": 1})
        assert trial.load_checkpoint() == {"epoch": 1}
        return 1.0

    study.optimize(objective, n_trials=1)
    assert study.trials[0].state == TrialState.COMPLETE


def test_ask_and_tell_promote_and_resume_too() -> None:
    study = dialed.create_study(seed=3, pruner={"name": "asha", "pause": True},
                                resource=RESOURCE)
    trained: Counter[int] = Counter()
    objective = _trainer(trained)
    for _ in range(20):
        trial = study.ask()
        try:
            value = objective(trial)
        except dialed.Pruned:
            study.tell(trial, state="pruned")
        else:
            study.tell(trial, value)
    paused = [t for t in study.trials if t.system_attrs.get("paused")]
    promoted = [t for t in study.trials if "resumed_from" in t.system_attrs]
    assert paused and promoted
    assert all(trained[t.number] == t.last_step - t.system_attrs["resumed_from"]["step"]
               for t in promoted)


def test_a_file_checkpoint_comes_back_as_a_local_copy(tmp_path: Path) -> None:
    study = dialed.create_study("file", storage=f"sqlite:///{tmp_path / 'f.db'}", seed=1)
    weights = tmp_path / "weights.bin"
    weights.write_bytes(b"\x00\x01weights")
    study.optimize(lambda t: (t.report(1.0, 2), t.save_checkpoint(weights), 1.0)[2], n_trials=1)
    study.storage.enqueue_trials(study.study_id, [{}], system_attrs={"resume_from": 0})
    got: list[Any] = []

    def resume(trial: dialed.Trial) -> float:
        got.append(trial.load_checkpoint())
        return 0.5

    study.optimize(resume, n_trials=1)
    path = got[0]
    assert isinstance(path, Path) and path.name == "weights.bin" and path != weights
    assert path.read_bytes() == b"\x00\x01weights"
    assert study.trials[1].system_attrs["resumed_from"] == {"trial": 0, "step": 2}
    assert dict(study.trials[1].intermediate) == {2: 1.0}
