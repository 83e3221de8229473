"""``dialed import-optuna`` / ``import_optuna`` on small Optuna studies: what the CLI prints,
``dialed best`` against Optuna's best trial, ``auto`` continuing the imported history, ``--into``,
an interrupted import, and bad input (one line, exit code 2, nothing written)."""

from __future__ import annotations

import math
import re
import shutil
from pathlib import Path
from typing import Any

import optuna
import pytest
from typer.testing import CliRunner

import dialed
from dialed.cli import app
from dialed.errors import ConfigError, StorageError, StudyNotFoundError
from dialed.interop import import_optuna

optuna.logging.set_verbosity(optuna.logging.ERROR)


def _objective(trial: Any) -> float:
    x = trial.suggest_float("x", -3, 3)
    n = trial.suggest_int("n", 0, 10, step=2)
    kind = trial.suggest_categorical("kind", ["a", "b"])
    for step in range(3):
        trial.report((x - 1) ** 2 + step, step)
    if n == 10:
        raise optuna.TrialPruned()
    return (x - 1) ** 2 + 0.1 * n + (0.5 if kind == "b" else 0.0)


@pytest.fixture(scope="module")
def optuna_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An SQLite Optuna storage with two studies of 25 trials, written once by Optuna."""
    path = tmp_path_factory.mktemp("optuna") / "optuna.db"
    for name, seed in (("first", 0), ("second", 1)):
        study = optuna.create_study(study_name=name, storage=f"sqlite:///{path}",
                                    sampler=optuna.samplers.RandomSampler(seed=seed))
        study.optimize(_objective, n_trials=25)
    return path


@pytest.fixture
def optuna_db(optuna_template: Path, tmp_path: Path) -> str:
    """A fresh copy of the template for one test."""
    path = tmp_path / "optuna.db"
    shutil.copyfile(optuna_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DIALED_STORAGE", raising=False)
    monkeypatch.setenv("COLUMNS", "200")
    return CliRunner()


def test_cli_import_then_best_equals_optuna_and_auto_continues(
        runner: CliRunner, optuna_db: str, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'dialed.db'}"
    done = runner.invoke(app, ["import-optuna", "--from", optuna_db, "--study", "first",
                               "--storage", url])
    assert done.exit_code == 0, done.output
    assert "imported 25 trials of Optuna study 'first' into dialed study 'first'" in done.stdout
    assert done.stderr.startswith("not carried:") and len(done.stderr.splitlines()) == 1

    ostudy = optuna.load_study(study_name="first", storage=optuna_db)
    best = runner.invoke(app, ["best", "first", "--storage", url])
    assert best.exit_code == 0, best.output
    number = re.search(r"trial\s*│\s*(\d+)", best.stdout)
    assert number is not None and int(number.group(1)) == ostudy.best_trial.number
    assert f"{ostudy.best_value:.6g}" in best.stdout

    study = dialed.load_study("first", storage=url)  # the auto sampler, from the history
    seen: list[int] = []

    def objective(trial: dialed.Trial) -> float:
        seen.append(len(study.history().trials))
        return float(_objective(trial))  # Optuna's TrialPruned prunes a dialed trial too

    study.optimize(objective, n_trials=3)
    assert [t.number for t in study.trials[-3:]] == [25, 26, 27]
    assert all(t.state in (dialed.TrialState.COMPLETE, dialed.TrialState.PRUNED)
               for t in study.trials[-3:])
    assert seen[0] == 26  # the history held the 25 imported trials and the running one
    assert "sampler_decision" in study.attrs
    assert set(study.space) == {"x", "n", "kind"}


def test_import_all_and_rerun_is_idempotent(optuna_db: str, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'dialed.db'}"
    first = import_optuna(optuna_db, storage=url, all_studies=True)
    assert [(r.study, r.imported) for r in first] == [("first", 25), ("second", 25)]
    again = import_optuna(optuna_db, storage=url, all_studies=True)
    assert [(r.imported, r.skipped) for r in again] == [(0, 25), (0, 25)]
    # new trials in Optuna come over on the next run, and only those
    optuna.load_study(study_name="first", storage=optuna_db).optimize(_objective, n_trials=2)
    more = import_optuna(optuna_db, "first", storage=url)
    assert (more[0].imported, more[0].skipped) == (2, 25)
    assert len(dialed.load_study("first", storage=url).trials) == 27


def test_an_existing_name_is_refused_unless_into(optuna_db: str, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'dialed.db'}"
    import_optuna(optuna_db, "first", storage=url)
    with pytest.raises(ConfigError, match=r"already exists.*into="):
        import_optuna(_renamed(tmp_path), "first", storage=url)
    merged = import_optuna(optuna_db, "second", storage=url, into="first")
    assert (merged[0].study, merged[0].imported) == ("first", 25)
    study = dialed.load_study("first", storage=url)
    assert [t.number for t in study.trials] == list(range(50))
    assert [s["study"] for s in study.attrs["imported_from"]] == ["first", "second"]


def _renamed(tmp_path: Path) -> str:
    """Another Optuna storage holding a study also called 'first'."""
    url = f"sqlite:///{tmp_path / 'other.db'}"
    optuna.create_study(study_name="first", storage=url).optimize(_objective, n_trials=2)
    return url


def test_an_interrupted_import_leaves_no_half_study(optuna_db: str, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from dialed.storage import _sql

    url = f"sqlite:///{tmp_path / 'dialed.db'}"
    real = _sql.insert_trials

    def interrupted(conn: Any, *args: Any) -> None:
        real(conn, *args)  # every row written inside the transaction, then Ctrl-C
        raise KeyboardInterrupt

    monkeypatch.setattr(_sql, "insert_trials", interrupted)
    with pytest.raises(KeyboardInterrupt):
        import_optuna(optuna_db, "first", storage=url)
    monkeypatch.undo()
    assert dialed.list_studies(url) == []
    assert import_optuna(optuna_db, "first", storage=url)[0].imported == 25


@pytest.mark.parametrize("args, message", [
    (["--from", "ftp://host/optuna"], "is not an Optuna storage"),
    (["--from", "sqlite:///missing.db"], "does not exist"),
    (["--from", "notes.txt"], "no such file"),
    (["--from", "{db}", "--study", "third"], "no Optuna study named 'third'"),
    (["--from", "{db}"], "holds 2 Optuna studies"),
    (["--from", "{db}", "--all", "--into", "x"], "give all_studies=True alone"),
    (["--from", "{db}", "--study", "first", "--into", "bad name"], "is not a dialed study name"),
    (["--from", "{dialed}"], "holds no Optuna storage"),
])
def test_bad_input_is_one_line_exit_2_and_nothing_written(
        runner: CliRunner, optuna_db: str, tmp_path: Path, args: list[str], message: str) -> None:
    dialed_db = tmp_path / "other-dialed.db"
    dialed.create_study("keep", storage=f"sqlite:///{dialed_db}")  # a dialed file, not Optuna's
    before = optuna_db.split("///", 1)[1]
    size = Path(before).stat().st_size
    args = [a.format(db=optuna_db, dialed=f"sqlite:///{dialed_db}") for a in args]
    done = runner.invoke(app, ["import-optuna", *args, "--storage", "sqlite:///target.db"])
    assert done.exit_code == 2, done.output
    assert message in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "target.db").exists()
    assert not (tmp_path / "missing.db").exists()
    assert Path(before).stat().st_size == size
    assert [s.name for s in dialed.list_studies(f"sqlite:///{dialed_db}")] == ["keep"]


def test_a_distribution_dialed_cannot_hold_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'optuna.db'}"
    study = optuna.create_study(study_name="dyn", storage=url)
    for step, value in ((0.1, 1.0), (0.25, 2.0)):  # Optuna lets the step change; dialed not
        study.add_trial(optuna.trial.create_trial(
            params={"x": 0.5}, distributions={"x": optuna.distributions.FloatDistribution(
                0, 1, step=step)}, value=value))
    with pytest.raises(ConfigError, match="parameter 'x' has different distributions"):
        import_optuna(url, storage=f"sqlite:///{tmp_path / 'dialed.db'}")
    assert not (tmp_path / "dialed.db").exists()


def test_ranges_that_grow_between_trials_become_one_distribution(tmp_path: Path) -> None:
    log = tmp_path / "optuna.log"
    storage = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(log)))
    study = optuna.create_study(study_name="grow", storage=storage)
    for high, value in ((1.0, 0.5), (2.0, 1.5)):
        study.add_trial(optuna.trial.create_trial(
            params={"x": value},
            distributions={"x": optuna.distributions.FloatDistribution(0, high)}, value=value))
    store = dialed.storage.MemoryStorage()
    assert import_optuna(f"journal://{log}", storage=store)[0].imported == 2
    assert dialed.load_study("grow", storage=store).space["x"].high == 2.0


def test_a_missing_study_and_a_refused_schema_are_dialed_errors(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'optuna.db'}"
    optuna.create_study(study_name="s", storage=url)
    with pytest.raises(StudyNotFoundError):
        import_optuna(url, "t", storage="memory")
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    with engine.begin() as conn:  # a schema from a future Optuna, which Optuna itself refuses
        conn.execute(sa.text("UPDATE alembic_version SET version_num = 'v99.0.0.z'"))
    engine.dispose()
    with pytest.raises(StorageError, match="Optuna refuses"):
        import_optuna(url, "s", storage="memory")


def test_values_keep_their_precision(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'optuna.db'}"
    study = optuna.create_study(study_name="p", storage=url, direction="maximize")
    study.add_trial(optuna.trial.create_trial(
        params={"lr": 1e-3}, distributions={"lr": optuna.distributions.FloatDistribution(
            1e-5, 1.0, log=True)}, value=math.pi, intermediate_values={0: 0.1, 5: math.e}))
    import_optuna(url, storage=f"sqlite:///{tmp_path / 'd.db'}")
    d = dialed.load_study("p", storage=f"sqlite:///{tmp_path / 'd.db'}")
    assert d.best_trial.value == math.pi and d.best_trial.intermediate == {0: 0.1, 5: math.e}
    assert d.space["lr"].log and d.metrics.to_dict() == {"value": "maximize"}


def test_cli_export_to_optuna_and_its_bad_input(runner: CliRunner, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'dialed.db'}"
    study = dialed.create_study("native", storage=url, metrics={"acc": "maximize",
                                                                 "mb": "<= 512"}, seed=0)
    study.optimize(lambda t: {"acc": t.suggest_float("x", 0, 1),
                              "mb": 1000 * t.suggest_float("y", 0, 1)}, n_trials=8)
    done = runner.invoke(app, ["export", "native", "--format", "optuna", "--to", "out.db",
                               "--storage", url])
    assert done.exit_code == 0, done.output
    assert "exported 8 trials of dialed study 'native'" in done.stdout
    back = optuna.load_study(study_name="native", storage=f"sqlite:///{tmp_path / 'out.db'}")
    feasible = [t for t in study.trials if t.metrics["mb"] <= 512]
    assert back.best_trial.number == max(feasible, key=lambda t: t.metrics["acc"]).number
    assert back.metric_names == ["acc"]
    again = runner.invoke(app, ["export", "native", "--format", "optuna", "--to", "out.db",
                                "--storage", url])
    assert again.exit_code == 2 and "already exists" in again.stderr
    missing = runner.invoke(app, ["export", "native", "--format", "optuna", "--storage", url])
    assert missing.exit_code == 2 and "needs --to" in missing.stderr

    lists = dialed.create_study("lists", storage=url, seed=0)
    lists.optimize(lambda t: float(len(t.suggest_categorical("shape", [[1, 2], [3]]))),
                   n_trials=2)
    bad = runner.invoke(app, ["export", "lists", "--format", "optuna", "--to", "bad.db",
                              "--storage", url])
    assert bad.exit_code == 2 and "cannot be an Optuna categorical choice" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1 and not (tmp_path / "bad.db").exists()
    # the exported study comes back whole: same metrics, values and best trial
    result = import_optuna(f"sqlite:///{tmp_path / 'out.db'}", storage=url, into="native-back")
    assert result[0].imported == 8
    again_study = dialed.load_study("native-back", storage=url)
    assert again_study.metrics == study.metrics
    assert [dict(t.metrics) for t in again_study.trials] == [dict(t.metrics) for t in study.trials]
    assert again_study.best_trial.number == study.best_trial.number
