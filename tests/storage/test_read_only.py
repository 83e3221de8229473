"""A study database on a read-only file system: every command that only reads works (it used
to fail with "unable to open database file"), and a write says in one line that the file is
read-only. The file system is a real one mounted read-only (a tmpfs remounted ``ro``) when
this runs as root, as in CI; otherwise the folder and file lose their write permission."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

import dialed
from dialed import TrialState
from dialed.cli import app
from dialed.errors import StorageError


def _sh(*cmd: str) -> None:
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.fail(f"{' '.join(cmd)} failed: {done.stderr.strip()} (the read-only test "
                    "mounts a tmpfs when run as root)")


@pytest.fixture
def read_only_url(tmp_path: Path) -> Iterator[str]:
    folder = tmp_path / "ro"
    folder.mkdir()
    root = os.geteuid() == 0
    if root:
        _sh("mount", "-t", "tmpfs", "-o", "size=16m", "dialed-ro-test", str(folder))
    try:
        url = f"sqlite:///{folder / 'study.db'}"
        study = dialed.create_study("frozen", storage=url, seed=0,
                                    metrics={"loss": "minimize"})
        study.optimize(lambda t: (t.suggest_float("x", 0, 1) - 0.3) ** 2, n_trials=6)
        study.storage.close()
        assert not (folder / "study.db-wal").exists()  # the last connection merged the WAL
        if root:
            _sh("mount", "-o", "remount,ro", str(folder))
        else:
            (folder / "study.db").chmod(0o444)
            folder.chmod(0o555)
        yield url
    finally:
        if root:
            # lazily: a connection the test left open must not keep the mount
            subprocess.run(["umount", "--lazy", str(folder)], check=False)
        else:
            folder.chmod(0o755)


def test_reading_commands_work_on_a_read_only_file(read_only_url: str, tmp_path: Path) -> None:
    runner = CliRunner()
    args = ["--storage", read_only_url]
    studies = runner.invoke(app, ["studies", *args])
    assert studies.exit_code == 0, studies.output
    assert "frozen" in studies.output
    trials = runner.invoke(app, ["trials", "frozen", *args])
    assert trials.exit_code == 0 and "complete" in trials.output, trials.output
    best = runner.invoke(app, ["best", "frozen", *args])
    assert best.exit_code == 0 and "best trial of frozen" in best.output, best.output
    export = runner.invoke(app, ["export", "frozen", "--format", "json", *args])
    assert export.exit_code == 0, export.output
    assert len(json.loads(export.output)["trials"]) == 6
    report = tmp_path / "report.html"
    made = runner.invoke(app, ["report", "frozen", "-o", str(report), *args])
    assert made.exit_code == 0, made.output
    assert "frozen" in report.read_text(encoding="utf-8")


def test_a_study_loads_for_reading_and_a_write_says_the_file_is_read_only(
    read_only_url: str,
) -> None:
    study = dialed.load_study("frozen", storage=read_only_url)
    assert study.storage.read_only
    assert [t.state for t in study.trials] == [TrialState.COMPLETE] * 6
    assert study.best_trial.number == min(study.trials, key=lambda t: t.metrics["loss"]).number
    with pytest.raises(StorageError, match=r"is read-only .*: it can be read") as info:
        study.optimize(lambda t: 0.0, n_trials=1)
    assert "\n" not in str(info.value)
    assert len(dialed.load_study("frozen", storage=read_only_url).trials) == 6  # nothing lost


def test_the_cli_refuses_a_write_in_one_line(read_only_url: str, tmp_path: Path) -> None:
    done = CliRunner().invoke(app, ["delete", "frozen", "--yes", "--storage", read_only_url])
    assert done.exit_code == 2
    lines = done.output.strip().splitlines()
    assert len(lines) == 1 and "read-only" in lines[0], done.output
