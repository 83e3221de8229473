"""The ``dialed`` command end to end, in a temporary directory with its own SQLite file.

The full ``dialed run`` goes through a real process (as a user would start it); the other
commands run in-process through Typer's test runner. Every bad input must end as one line on
stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from dialed.cli import app

SRC = Path(__file__).resolve().parents[2] / "src"

OBJECTIVE = """
def objective(trial):
    x = trial.params["x"]
    if trial.params["kind"] == "bad" and x > {fail_above}:
        raise ValueError("x is too large for the bad kind\\nsecond line of the message")
    return {{"loss": (x - 0.3) ** 2 + (0.1 if trial.params["kind"] == "bad" else 0.0),
             "acc": 1.0 - x}}
"""

STUDY = """
study: {name}
objective: {module}:objective
metrics: {{loss: minimize, acc: track}}
space:
  x: {{type: float, low: 0.0, high: 1.0, family: regularization}}
  kind: {{type: categorical, choices: [good, bad], family: architecture}}
budget: {{trials: {trials}}}
seed: 3
n_jobs: {n_jobs}
catch: {catch}
"""


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh working directory: the default storage sqlite:///dialed.db lands here."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DIALED_STORAGE", raising=False)
    monkeypatch.setenv("COLUMNS", "200")  # Rich tables wide enough not to wrap cells
    return tmp_path


def write_study(
    folder: Path,
    *,
    name: str = "quad",
    trials: int = 12,
    n_jobs: int = 1,
    catch: str = "true",
    fail_above: float = 2.0,
    extra: str = "",
) -> Path:
    """A study file and its objective module (a unique module name: tests share sys.modules)."""
    module = f"objective_{uuid.uuid4().hex[:12]}"
    (folder / f"{module}.py").write_text(OBJECTIVE.format(fail_above=fail_above))
    path = folder / f"{name}.yaml"
    text = STUDY.format(name=name, module=module, trials=trials, n_jobs=n_jobs, catch=catch)
    path.write_text(text + textwrap.dedent(extra))
    return path


def invoke(runner: CliRunner, *args: str) -> Result:
    return runner.invoke(app, list(args), catch_exceptions=False)


def assert_one_line_error(result: Result, *needles: str) -> str:
    assert result.exit_code == 2, (result.exit_code, result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), lines[0]
    assert "Traceback" not in result.output
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


# -- the whole workflow ----------------------------------------------------------------------
def test_run_then_inspect_export_and_delete(workdir: Path, runner: CliRunner) -> None:
    study_file = write_study(workdir, trials=10, n_jobs=2)
    path = os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])
    env = {**os.environ, "PYTHONPATH": path}
    done = subprocess.run(
        [sys.executable, "-m", "dialed.cli", "run", str(study_file), "--no-progress"],
        cwd=workdir, env=env, capture_output=True, text=True, timeout=240, check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert "10 complete" in done.stdout
    assert "best trial of quad" in done.stdout
    # auto's choice and its reason, as recorded in the study
    assert "search: gp+tpe (1 numeric parameter and a budget of 10 trials: a Gaussian " \
        "process, the most sample-efficient over the first 64 trials" in done.stdout
    assert "early stopping:" not in done.stdout  # the objective reports no curve
    assert (workdir / "dialed.db").exists()

    studies = invoke(runner, "studies")
    assert studies.exit_code == 0, studies.output
    assert "quad" in studies.stdout and "10 complete" in studies.stdout

    listing = invoke(runner, "trials", "quad", "--limit", "0")
    assert listing.exit_code == 0, listing.output
    assert "complete" in listing.stdout and "x=" in listing.stdout

    exported = invoke(runner, "export", "quad", "--format", "csv")
    assert exported.exit_code == 0, exported.output
    rows = list(csv.DictReader(io.StringIO(exported.stdout)))
    assert len(rows) == 10
    assert {r["state"] for r in rows} == {"complete"}
    best_loss = min(float(r["metric_loss"]) for r in rows)

    as_json = invoke(runner, "export", "quad", "--format", "json")
    assert as_json.exit_code == 0, as_json.output
    data = json.loads(as_json.stdout)
    assert data["study"]["name"] == "quad"
    assert data["study"]["metrics"] == {"loss": "minimize", "acc": "track"}
    assert len(data["trials"]) == 10
    assert min(t["metrics"]["loss"] for t in data["trials"]) == pytest.approx(best_loss)
    assert all(set(t["params"]) == {"x", "kind"} for t in data["trials"])

    out_file = workdir / "trials.csv"
    to_file = invoke(runner, "export", "quad", "-o", str(out_file))
    assert to_file.exit_code == 0, to_file.output
    assert len(list(csv.DictReader(out_file.open()))) == 10

    best = invoke(runner, "best", "quad")
    assert best.exit_code == 0, best.output
    best_number = min(rows, key=lambda r: float(r["metric_loss"]))["number"]
    assert f"{best_loss:.6g}" in best.stdout
    assert best_number in best.stdout and "params.x" in best.stdout and "seed" in best.stdout
    assert "search: gp+tpe (" in best.stdout

    refused = runner.invoke(app, ["delete", "quad"], input="n\n")
    assert refused.exit_code == 1
    assert "quad" in invoke(runner, "studies").stdout

    deleted = invoke(runner, "delete", "quad", "--yes")
    assert deleted.exit_code == 0, deleted.output
    assert "no studies" in invoke(runner, "studies").stderr


def test_run_twice_continues_the_same_study(workdir: Path, runner: CliRunner) -> None:
    study_file = write_study(workdir, trials=4)
    assert invoke(runner, "run", str(study_file), "--no-progress").exit_code == 0
    again = invoke(runner, "run", str(study_file), "--no-progress", "--n-trials", "3")
    assert again.exit_code == 0, again.output
    assert "7 complete" in again.stdout


def test_storage_from_option_and_environment(
    workdir: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    study_file = write_study(workdir, trials=3)
    url = f"sqlite:///{workdir / 'other.db'}"
    assert invoke(runner, "--storage", url, "run", str(study_file), "--no-progress").exit_code == 0
    assert not (workdir / "dialed.db").exists()
    assert "quad" in invoke(runner, "studies", "--storage", url).stdout
    monkeypatch.setenv("DIALED_STORAGE", url)
    assert "quad" in invoke(runner, "studies").stdout


def test_failing_trials_are_recorded_and_the_study_goes_on(
    workdir: Path, runner: CliRunner
) -> None:
    study_file = write_study(workdir, trials=16, fail_above=0.2)
    result = invoke(runner, "run", str(study_file), "--no-progress")
    assert result.exit_code == 0, result.output
    data = json.loads(invoke(runner, "export", "quad", "--format", "json").stdout)
    states = [t["state"] for t in data["trials"]]
    assert len(states) == 16
    failed = [t for t in data["trials"] if t["state"] == "failed"]
    assert failed, "the seed should draw some 'bad' trials with x > 0.2"
    assert "complete" in states
    for t in failed:
        assert t["params"]["kind"] == "bad" and t["params"]["x"] > 0.2
        assert "ValueError: x is too large for the bad kind" in t["error"]
    assert f"{len(failed)} failed" in result.stdout
    listing = invoke(runner, "trials", "quad", "--state", "failed")
    assert listing.exit_code == 0
    assert "ValueError: x is too large" in listing.stdout


def test_an_objective_error_stops_the_study_when_catch_is_false(
    workdir: Path, runner: CliRunner
) -> None:
    study_file = write_study(workdir, trials=30, fail_above=0.0, catch="false")
    result = invoke(runner, "run", str(study_file), "--no-progress")
    assert_one_line_error(result, "ValueError", "x is too large", "catch")
    data = json.loads(invoke(runner, "export", "quad", "--format", "json").stdout)
    assert data["trials"][-1]["state"] == "failed"
    assert len(data["trials"]) < 30


def test_ctrl_c_exits_130_with_one_line(workdir: Path, runner: CliRunner) -> None:
    module = f"interrupted_{uuid.uuid4().hex[:12]}"
    (workdir / f"{module}.py").write_text("def objective(trial):\n    raise KeyboardInterrupt\n")
    (workdir / "s.yaml").write_text(
        f"study: s\nobjective: {module}:objective\nbudget: {{trials: 3}}\n"
    )
    result = invoke(runner, "run", "s.yaml", "--no-progress")
    assert result.exit_code == 130
    assert result.stderr.strip().splitlines() == [
        "error: interrupted; finished trials are stored (run again to continue)"
    ]


def test_debug_shows_the_traceback(workdir: Path, runner: CliRunner) -> None:
    result = invoke(runner, "--debug", "run", "missing.yaml")
    assert result.exit_code == 2
    assert "Traceback" in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("error: study file missing.yaml")


def test_a_multi_objective_study_shows_its_pareto_front(workdir: Path, runner: CliRunner) -> None:
    study_file = write_study(workdir, trials=8)
    text = study_file.read_text()
    study_file.write_text(text.replace("acc: track", "acc: maximize"))
    result = invoke(runner, "run", str(study_file), "--no-progress")
    assert result.exit_code == 0, result.output
    assert "Pareto front of quad" in result.stdout
    best = invoke(runner, "best", "quad")
    assert best.exit_code == 0 and "Pareto front" in best.stdout


# -- bad input: one line, exit 2, no traceback ------------------------------------------------
def test_missing_study_file(workdir: Path, runner: CliRunner) -> None:
    assert_one_line_error(invoke(runner, "run", "nope.yaml"), "nope.yaml", "no such file")


def test_invalid_yaml_names_the_line(workdir: Path, runner: CliRunner) -> None:
    (workdir / "bad.yaml").write_text("study: x\nbudget: {trials: 3\nobjective: a:b\n")
    assert_one_line_error(invoke(runner, "run", "bad.yaml"), "bad.yaml", "invalid YAML", "line 3")


def test_an_unknown_key_is_named_with_the_valid_ones(workdir: Path, runner: CliRunner) -> None:
    study_file = write_study(workdir, extra="trails: 40\n")
    line = assert_one_line_error(invoke(runner, "run", str(study_file)), "trails", "unknown key")
    assert "did you mean 'budget.trials'" in line and "valid keys are study" in line


def test_a_nested_unknown_key(workdir: Path, runner: CliRunner) -> None:
    study_file = write_study(workdir)
    study_file.write_text(study_file.read_text().replace("budget: {trials: 12}",
                                                         "budget: {trials: 12, timout: 5}"))
    assert_one_line_error(invoke(runner, "run", str(study_file)), "budget.timout",
                          "did you mean 'timeout'", "valid keys are trials, timeout")


def test_a_malformed_space(workdir: Path, runner: CliRunner) -> None:
    study_file = write_study(workdir)
    study_file.write_text(study_file.read_text().replace("low: 0.0, high: 1.0", "low: 5, high: 1"))
    assert_one_line_error(invoke(runner, "run", str(study_file)), "space", "'x'",
                          "greater than high")


def test_a_bad_metric_spec(workdir: Path, runner: CliRunner) -> None:
    study_file = write_study(workdir)
    study_file.write_text(study_file.read_text().replace("loss: minimize", "loss: minimise"))
    assert_one_line_error(invoke(runner, "run", str(study_file)), "metrics", "'loss'",
                          "'minimize', 'maximize', 'track'")


def test_budget_trials_zero(workdir: Path, runner: CliRunner) -> None:
    study_file = write_study(workdir, trials=0)
    line = assert_one_line_error(invoke(runner, "run", str(study_file)))
    assert line == f"error: study file {study_file}: budget.trials: must be >= 1, got 0"


def test_an_objective_module_that_cannot_be_imported(workdir: Path, runner: CliRunner) -> None:
    study_file = write_study(workdir)
    text = study_file.read_text()
    study_file.write_text(text.replace("objective: objective_", "objective: nosuchmodule_"))
    assert_one_line_error(invoke(runner, "run", str(study_file)), str(study_file),
                          "cannot import module", "No module named")
    assert not (workdir / "dialed.db").exists(), "nothing is stored for a file that cannot run"


def test_an_objective_function_that_does_not_exist(workdir: Path, runner: CliRunner) -> None:
    study_file = write_study(workdir)
    study_file.write_text(study_file.read_text().replace(":objective", ":objectiv"))
    assert_one_line_error(invoke(runner, "run", str(study_file)), "has no attribute 'objectiv'",
                          "objective")


def test_an_unknown_sampler(workdir: Path, runner: CliRunner) -> None:
    study_file = write_study(workdir, extra="strategy: {sampler: nosuch}\n")
    assert_one_line_error(invoke(runner, "run", str(study_file)), "strategy", "unknown sampler",
                          "random")


def test_a_wrong_storage_url(workdir: Path, runner: CliRunner) -> None:
    study_file = write_study(workdir)
    assert_one_line_error(invoke(runner, "run", str(study_file), "--storage", "nosuch://x"),
                          "nosuch://x", "sqlite:///")
    assert_one_line_error(invoke(runner, "--storage", "nosuch://x", "studies"), "nosuch://x")


def test_a_password_in_a_storage_url_is_never_printed(workdir: Path, runner: CliRunner) -> None:
    url = "nosuch://admin:hunter2@db.example:5432/x"
    result = invoke(runner, "studies", "--storage", url)
    assert_one_line_error(result, "admin:***@db.example")
    assert "hunter2" not in result.output


@pytest.mark.parametrize("command", [["trials"], ["best"], ["export", "--format", "json"],
                                     ["delete", "--yes"]])
def test_an_unknown_study(workdir: Path, runner: CliRunner, command: list[str]) -> None:
    result = invoke(runner, command[0], "ghost", *command[1:])
    assert_one_line_error(result, "no study named 'ghost'", "sqlite:///dialed.db")
    assert not (workdir / "dialed.db").exists(), "reading must not create the database"


def test_an_unknown_study_in_an_existing_database(workdir: Path, runner: CliRunner) -> None:
    study_file = write_study(workdir, trials=2)
    assert invoke(runner, "run", str(study_file), "--no-progress").exit_code == 0
    for command in (["trials", "ghost"], ["best", "ghost"], ["export", "ghost"],
                    ["delete", "ghost", "--yes"]):
        assert_one_line_error(invoke(runner, *command), "no study named 'ghost'", "quad")


def test_bad_command_options(workdir: Path, runner: CliRunner) -> None:
    study_file = write_study(workdir, trials=2)
    assert invoke(runner, "run", str(study_file), "--no-progress").exit_code == 0
    assert_one_line_error(invoke(runner, "export", "quad", "--format", "xml"), "csv or json")
    assert_one_line_error(invoke(runner, "trials", "quad", "--state", "done"), "--state",
                          "complete")
    assert_one_line_error(invoke(runner, "run", str(study_file), "--timeout", "soon"),
                          "--timeout", "10m")


def test_help_lists_the_commands(runner: CliRunner) -> None:
    result = invoke(runner, "--help")
    assert result.exit_code == 0
    for command in ("run", "studies", "trials", "best", "export", "delete"):
        assert command in result.stdout
