"""The workflow's commands end to end in a temporary directory, in-process through Typer.

Every bad input ends as one line on stderr and exit code 2. The test function counts its calls
in a file beside it: ``dialed run`` (baseline, stages, confirm) and ``dialed confirm`` never
call it; ``dialed verify`` calls it once, and a second verify is refused unless ``--force``.
"""

from __future__ import annotations

import json
import textwrap
import uuid
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner, Result

import dialed
from dialed.cli import app

MODULE = '''
import math
from pathlib import Path

import numpy as np

HERE = Path(__file__).parent
SHIFT = 0.0


def objective(trial):
    p = trial.params
    noise = float(np.random.default_rng(trial.seed).normal(0.0, 0.01))
    loss = 0.1 * (math.log10(p["lr"]) + 2) ** 2 + (p["alpha"] - 0.3) ** 2 + noise
    return {"loss": loss, "acc": 1 - loss}


def test(params, seed):
    calls = HERE / "test_calls.txt"
    calls.write_text(str(int(calls.read_text()) + 1 if calls.exists() else 1))
    loss = 0.1 * (math.log10(params["lr"]) + 2) ** 2 + (params["alpha"] - 0.3) ** 2
    return {"loss": loss + 0.003, "acc": 1 - loss}


def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 4))
    X[:, 2] += SHIFT
    return X, (X[:, 0] > 0).astype(int)


def shifted():
    X, y = data()
    X[:, 1] += 2.0
    return X, y
'''

STUDY = """
study: {name}
objective: {module}:objective
test: {module}:test
data: {module}:data
metrics: {{loss: minimize, acc: track}}
space:
  lr: {{type: float, low: 1.0e-4, high: 1.0, log: true, family: optimizer}}
  alpha: {{type: float, low: 0.0, high: 1.0, family: regularization}}
baseline: {{lr: 1.0e-4, alpha: 0.9}}
targets: ["acc >= 0.99"]
repeats: 3
stages:
  - {{families: optimizer, trials: 6}}
  - {{families: [regularization], trials: 6, name: reg}}
confirm: {{top: 2}}
budget: {{trials: 12}}
seed: 7
"""


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DIALED_STORAGE", raising=False)
    monkeypatch.setenv("COLUMNS", "200")
    return tmp_path


def write(folder: Path, name: str = "wf", study: str = STUDY) -> tuple[Path, str]:
    module = f"wfmod_{uuid.uuid4().hex[:10]}"
    (folder / f"{module}.py").write_text(MODULE)
    path = folder / f"{name}.yaml"
    path.write_text(study.format(name=name, module=module))
    return path, module


def invoke(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def one_line_error(result: Result, *parts: str) -> None:
    assert result.exit_code == 2, result.output
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.output
    for part in parts:
        assert part in lines[0], (part, lines[0])


def calls(folder: Path) -> int:
    f = folder / "test_calls.txt"
    return int(f.read_text()) if f.exists() else 0


def test_the_whole_flow(workdir: Path) -> None:
    path, module = write(workdir)
    ran = invoke("run", str(path), "--no-progress")
    assert ran.exit_code == 0, ran.output
    assert calls(workdir) == 0

    summary = invoke("summary", "wf")
    assert summary.exit_code == 0, summary.output
    for part in ("baseline     loss", "best so far", "acc >= 0.99", "optimizer", "reg",
                 "total gain over the baseline", "confirm round 1", "data         300 rows"):
        assert part in summary.stdout, part
    as_json = json.loads(invoke("summary", "wf", "--json").stdout)
    assert [s["name"] for s in as_json["stages"]] == ["optimizer", "reg"]
    assert as_json["confirm"]["round"] == 1

    confirmed = invoke("confirm", "wf", "--top", "2", "--repeats", "2", "--no-progress")
    assert confirmed.exit_code == 0, confirmed.output
    assert "confirm round 2" in confirmed.stdout and calls(workdir) == 0

    verified = invoke("verify", "wf")
    assert verified.exit_code == 0, verified.output
    assert "locked test #1" in verified.stdout and "gap" in verified.stdout
    assert calls(workdir) == 1
    one_line_error(invoke("verify", "wf"), "already evaluated on the test data", "--force")
    assert calls(workdir) == 1
    forced = invoke("verify", "wf", "--force")
    assert forced.exit_code == 0 and "#2 (forced)" in forced.stdout and calls(workdir) == 2
    assert "#2 (forced)" in invoke("summary", "wf").stdout

    promoted = invoke("promote", "wf", "--as", "model", "--note", "first")
    assert promoted.exit_code == 0, promoted.output
    v1 = yaml.safe_load(promoted.stdout)
    assert set(v1) == {"lr", "alpha"}
    assert invoke("promote", "wf", "--as", "model", "--trial", "0").exit_code == 0
    history = invoke("history", "model")
    assert history.exit_code == 0 and "v1" in history.stdout and "v2" in history.stdout
    assert "changed: lr" in history.stdout and "note: first" in history.stdout
    assert yaml.safe_load(invoke("get", "model").stdout) == {"lr": 1e-4, "alpha": 0.9}
    back = invoke("rollback", "model")
    assert back.exit_code == 0, back.output
    assert json.loads(invoke("get", "model", "--format", "json").stdout) == v1
    env = invoke("get", "model", "--format", "env", "--version", "2").stdout
    assert env.splitlines() == ["LR=0.0001", "ALPHA=0.9"]
    assert "rollback to v1" in invoke("history", "model").stdout

    same = invoke("check", "model")  # the study's recorded loader: the same data
    assert same.exit_code == 0 and "tuned on this data" in same.stdout
    drifted = invoke("check", "model", "--data", f"{module}:shifted")
    assert drifted.exit_code == 1, drifted.output
    assert "drifted" in drifted.stdout and "x1" in drifted.stdout
    assert "dialed retune model" in drifted.stdout

    new = invoke("retune", "model", "--no-run", "--top", "2")
    assert new.exit_code == 0, new.output
    assert "created study 'wf-retune-1'" in new.stderr
    trials = invoke("trials", "wf-retune-1")
    assert trials.exit_code == 0 and "waiting" in trials.stdout
    assert calls(workdir) == 2


def test_retune_runs_the_plan_with_the_registry_config_as_baseline(workdir: Path) -> None:
    study = STUDY.replace("stages:\n  - {{families: optimizer, trials: 6}}\n"
                          "  - {{families: [regularization], trials: 6, name: reg}}\n", "")
    path, _ = write(workdir, "flat", study)
    assert invoke("run", str(path), "--no-progress", "--n-trials", "5").exit_code == 0
    assert invoke("promote", "flat", "--as", "m").exit_code == 0
    result = invoke("retune", "m", "--study", "again", "--n-trials", "4", "--top", "1")
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert "study again" in text and "all (unstaged)" in text
    assert calls(workdir) == 0


@pytest.mark.parametrize("command", [
    ["summary", "nope"], ["confirm", "nope"], ["verify", "nope"], ["promote", "nope", "--as", "x"],
])
def test_an_unknown_study_is_one_line(workdir: Path, command: list[str]) -> None:
    dialed.create_study("other", storage="sqlite:///dialed.db")  # the database exists
    one_line_error(invoke(*command), "no study named 'nope'")


@pytest.mark.parametrize("command", [
    ["history", "ghost"], ["get", "ghost"], ["rollback", "ghost"], ["check", "ghost"],
    ["retune", "ghost"],
])
def test_an_unknown_registry_name_is_one_line(workdir: Path, command: list[str]) -> None:
    one_line_error(invoke(*command), "no configuration named 'ghost'")


def test_a_missing_test_function_is_one_line(workdir: Path) -> None:
    study = STUDY.replace("test: {module}:test\n", "")
    path, module = write(workdir, "notest", study)
    assert invoke("run", str(path), "--no-progress").exit_code == 0
    one_line_error(invoke("verify", "notest"), "names no test function", "--test")
    one_line_error(invoke("verify", "notest", "--test", f"{module}:missing"),
                   "has no function 'missing'")
    assert invoke("verify", "notest", "--test", f"{module}:test").exit_code == 0


def test_bad_options_are_one_line(workdir: Path) -> None:
    path, _ = write(workdir)
    assert invoke("run", str(path), "--no-progress").exit_code == 0
    assert invoke("promote", "wf", "--as", "m").exit_code == 0
    one_line_error(invoke("get", "m", "--format", "toml"), "--format must be one of")
    one_line_error(invoke("rollback", "m"), "only one version")
    one_line_error(invoke("get", "m", "--version", "9"), "no version 9")
    one_line_error(invoke("promote", "wf", "--as", "bad name"), "is not valid")
    one_line_error(invoke("confirm", "wf", "--objective", "nomodule_xyz:objective"),
                   "cannot import module 'nomodule_xyz'")


def test_workflow_keys_in_a_study_file_are_checked(workdir: Path) -> None:
    for old, new, message in [
        ("baseline: {{lr: 1.0e-4, alpha: 0.9}}", "baseline: {{lr: 1.0e-4}}",
         "baseline: no value for alpha"),
        ("baseline: {{lr: 1.0e-4, alpha: 0.9}}", "baseline: {{lr: 5.0, alpha: 0.9}}",
         "baseline: parameter 'lr': 5.0 is outside"),
        ('targets: ["acc >= 0.99"]', 'targets: ["f1 >= 0.99"]', "no metric 'f1'"),
        ("families: optimizer", "families: schedule", "family schedule has no parameter"),
        ("repeats: 3", "repeats: 1", "repeats: must be >= 2"),
        ("confirm: {{top: 2}}", "confirm: {{tops: 2}}", "confirm.tops: unknown key"),
        ("test: {module}:test", "test: not a spec", "test: 'not a spec' is not of the form"),
        ("baseline: {{lr: 1.0e-4, alpha: 0.9}}\n", "", "stages start from a baseline"),
    ]:
        assert old in STUDY, old
        path, _ = write(workdir, "bad", textwrap.dedent(STUDY.replace(old, new)))
        one_line_error(invoke("run", str(path)), message)


def test_every_study_command_takes_the_study_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The file names its storage (sqlite:///workflow.db, beside the file): run from one
    folder, then address the study by its file from another; the commands find it there (the
    default storage of the working folder holds nothing)."""
    monkeypatch.delenv("DIALED_STORAGE", raising=False)
    monkeypatch.setenv("COLUMNS", "200")
    project, elsewhere = tmp_path / "project", tmp_path / "elsewhere"
    project.mkdir()
    elsewhere.mkdir()
    path, _ = write(project, name="filed",
                    study=STUDY.replace("study: {name}", "study: {name}\nstorage: "
                                        "sqlite:///workflow.db"))
    monkeypatch.chdir(tmp_path)
    ran = invoke("run", "project/filed.yaml", "--no-progress")
    assert ran.exit_code == 0, ran.output
    assert (project / "workflow.db").exists() and not (tmp_path / "workflow.db").exists()
    monkeypatch.chdir(elsewhere)
    target = str(path.relative_to(tmp_path).as_posix())
    target = f"../{target}"
    for command in (["best"], ["trials"], ["summary"], ["export", "--format", "json"],
                    ["verify"], ["promote", "--as", "filed-model"]):
        done = invoke(command[0], target, *command[1:])
        assert done.exit_code == 0, (command, done.output)
    assert "best trial of filed" in invoke("best", target).stdout
    assert calls(project) == 1
    assert not (elsewhere / "dialed.db").exists()  # nothing looked in the working folder
    missing = invoke("best", "no-such-file.yaml")
    one_line_error(missing, "study file no-such-file.yaml: no such file")
