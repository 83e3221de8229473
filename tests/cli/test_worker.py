"""``dialed worker``: trials of an existing study run from another process (another machine),
knowing only the study's name and the storage; and the executor options of ``dialed run``.

Workers run as real processes started from another directory, as on another machine: the
objective is found through what ``dialed run`` recorded in the study.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

import dialed
from dialed.cli import app
from dialed.config import STUDY_FILE_ATTR
from dialed.trial import TrialState

SRC = Path(__file__).resolve().parents[2] / "src"

OBJECTIVE = """
def objective(trial):
    x = trial.params["x"]
    return {"loss": (x - 0.3) ** 2 + (0.1 if trial.params["kind"] == "b" else 0.0)}


def plain(trial):
    return trial.suggest_float("y", 0.0, 1.0) ** 2
"""

STUDY = """
study: {name}
objective: {module}:objective
metrics: {{loss: minimize}}
space:
  x: {{type: float, low: 0.0, high: 1.0, step: 0.25}}
  kind: {{type: categorical, choices: [a, b]}}
budget: {{trials: {trials}}}
strategy: {strategy}
seed: 3
"""


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "project"
    folder.mkdir()
    monkeypatch.chdir(folder)
    monkeypatch.delenv("DIALED_STORAGE", raising=False)
    monkeypatch.setenv("COLUMNS", "200")
    return folder


def write_study(folder: Path, *, name: str = "quad", trials: int = 4,
                strategy: str = "random") -> tuple[Path, str]:
    module = f"worker_objective_{uuid.uuid4().hex[:12]}"
    (folder / f"{module}.py").write_text(OBJECTIVE)
    path = folder / f"{name}.yaml"
    path.write_text(STUDY.format(name=name, module=module, trials=trials, strategy=strategy))
    return path, module


def invoke(*args: str) -> Result:
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


def dialed_process(*args: str, cwd: Path) -> subprocess.Popen[str]:
    """``dialed ARGS`` as its own process, started in ``cwd`` (not beside the study file)."""
    path = os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])
    env = {**os.environ, "PYTHONPATH": path}
    env.pop("DIALED_STORAGE", None)
    return subprocess.Popen([sys.executable, "-m", "dialed.cli", *args], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(proc: subprocess.Popen[str]) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=240)
    return proc.returncode, out, err


def assert_one_line_error(code: int, err: str, *needles: str) -> str:
    assert code == 2, (code, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ") and "Traceback" not in err
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


def test_run_records_what_a_worker_needs(workdir: Path) -> None:
    study_file, module = write_study(workdir)
    result = invoke("run", str(study_file), "--no-progress")
    assert result.exit_code == 0, result.output
    study = dialed.load_study("quad", storage="sqlite:///dialed.db")
    recorded = study.attrs[STUDY_FILE_ATTR]
    assert recorded["objective"] == f"{module}:objective"
    assert recorded["base_dir"] == str(workdir.resolve())
    assert set(recorded["space"]) == {"x", "kind"}
    assert recorded["catch"] is True


def test_a_worker_elsewhere_runs_more_trials_of_the_study(workdir: Path, tmp_path: Path) -> None:
    study_file, _ = write_study(workdir)
    assert invoke("run", str(study_file), "--no-progress").exit_code == 0
    url = f"sqlite:///{workdir / 'dialed.db'}"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    code, out, err = finish(dialed_process("worker", "quad", "--storage", url, "--n-trials", "3",
                                           cwd=elsewhere))
    assert code == 0, out + err
    assert "worker ran 3 trials of study 'quad'" in out and "3 complete" in out
    trials = dialed.load_study("quad", storage=url).trials
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 7
    assert all(set(t.params) == {"x", "kind"} for t in trials)  # the declared space, first
    assert len({t.worker for t in trials[4:]}) == 1
    assert trials[4].worker != trials[0].worker


def test_two_workers_run_every_grid_cell_once(workdir: Path, tmp_path: Path) -> None:
    study_file, _ = write_study(workdir, name="grid", trials=1, strategy="grid")
    assert invoke("run", str(study_file), "--no-progress").exit_code == 0  # 1 of 10 cells
    url = f"sqlite:///{workdir / 'dialed.db'}"
    procs = [dialed_process("worker", "grid", "--storage", url, cwd=tmp_path) for _ in range(2)]
    for proc in procs:
        code, out, err = finish(proc)
        assert code == 0, out + err
        assert "Traceback" not in err
    trials = dialed.load_study("grid", storage=url).trials
    cells = [(t.params["x"], t.params["kind"]) for t in trials]
    assert len(cells) == 10 and len(set(cells)) == 10  # 5 values of x times 2 kinds, once each
    assert all(t.state == TrialState.COMPLETE for t in trials)


def test_objective_option_for_a_study_made_in_python(workdir: Path) -> None:
    _, module = write_study(workdir)
    url = f"sqlite:///{workdir / 'py.db'}"
    dialed.create_study("made-in-python", storage=url, seed=1)
    result = invoke("worker", "made-in-python", "--storage", url, "--n-trials", "2",
                    "--objective", f"{module}:plain")
    assert result.exit_code == 0, result.output
    assert "worker ran 2 trials" in result.stdout
    trials = dialed.load_study("made-in-python", storage=url).trials
    assert [set(t.params) for t in trials] == [{"y"}, {"y"}]


def test_a_study_without_a_recorded_objective_is_one_clear_line(workdir: Path) -> None:
    url = f"sqlite:///{workdir / 'py.db'}"
    dialed.create_study("bare", storage=url)
    result = invoke("worker", "bare", "--storage", url, "--n-trials", "1")
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.output
    assert "no recorded objective" in result.stderr and "--objective" in result.stderr


def test_an_unknown_study_is_one_clear_line(workdir: Path) -> None:
    url = f"sqlite:///{workdir / 'w.db'}"
    dialed.create_study("known", storage=url)
    result = invoke("worker", "unknown", "--storage", url)
    assert result.exit_code == 2 and result.stderr.count("\n") == 1
    assert "no study named 'unknown'" in result.stderr and "known" in result.stderr
    missing = invoke("worker", "x", "--storage", f"sqlite:///{workdir / 'nothing.db'}")
    assert missing.exit_code == 2 and "does not exist" in missing.stderr


def test_an_unreachable_storage_is_one_clear_line(workdir: Path) -> None:
    code, _, err = finish(dialed_process(
        "worker", "s", "--storage", "postgresql+psycopg://u:secret@127.0.0.1:1/db",
        cwd=workdir))
    line = assert_one_line_error(code, err, "cannot open storage", "127.0.0.1")
    assert "secret" not in line


def test_bad_options_are_one_clear_line(workdir: Path) -> None:
    study_file, _ = write_study(workdir)
    result = invoke("worker", "quad", "--timeout", "soon")
    assert result.exit_code == 2 and "--timeout" in result.stderr
    no_ray = invoke("run", str(study_file), "--address", "10.0.0.1:6379")
    assert no_ray.exit_code == 2 and "--executor ray" in no_ray.stderr
    bad = invoke("run", str(study_file), "--executor", "spark")
    assert bad.exit_code == 2 and "executor must be one of local, ray" in bad.stderr


def test_a_failing_objective_without_catch_stops_the_worker(workdir: Path) -> None:
    module = f"worker_failing_{uuid.uuid4().hex[:12]}"
    (workdir / f"{module}.py").write_text(textwrap.dedent("""
        def objective(trial):
            raise RuntimeError("out of memory\\nsecond line")
    """))
    (workdir / "f.yaml").write_text(textwrap.dedent(f"""
        study: failing
        objective: {module}:objective
        budget: {{trials: 1}}
        catch: false
    """))
    run = invoke("run", "f.yaml", "--no-progress")
    assert run.exit_code == 2
    result = invoke("worker", "failing", "--n-trials", "2")
    assert result.exit_code == 2 and result.stderr.count("\n") == 1
    assert "RuntimeError: out of memory" in result.stderr
    trials = dialed.load_study("failing", storage="sqlite:///dialed.db").trials
    assert [t.state for t in trials] == [TrialState.FAILED] * 2
