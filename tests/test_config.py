"""The study file: parsing, defaults, the one-line errors, importing and running the objective."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from dialed import ConfigError, TrialState
from dialed.config import (
    Budget,
    Strategy,
    StudyFile,
    import_objective,
    load_study_file,
    parse_duration,
    run_study_file,
)
from dialed.pruners import Pruner
from dialed.samplers import SobolSampler

MINIMAL = {"study": "s", "objective": "mod:fn", "budget": {"trials": 3}}


def study_file(**changes: Any) -> StudyFile:
    return StudyFile.model_validate({**MINIMAL, **changes})


def write(tmp_path: Path, text: str, name: str = "study.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def error_of(tmp_path: Path, text: str) -> str:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_study_file(path)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"study file {path}: ")
    return message[len(f"study file {path}: "):]


# -- durations --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("given", "seconds"),
    [(90, 90.0), (2.5, 2.5), ("90", 90.0), ("90s", 90.0), ("10m", 600.0), ("2h", 7200.0),
     ("1h30m", 5400.0), ("1.5h", 5400.0), (" 10 min ", 600.0), ("1d", 86400.0),
     ("2m 30s", 150.0)],
)
def test_durations(given: Any, seconds: float) -> None:
    assert parse_duration(given) == seconds


@pytest.mark.parametrize("given", ["", "soon", "10x", "m10", "1h30", "-5s", 0, -1, True, None,
                                   [10], "inf"])
def test_bad_durations(given: Any) -> None:
    with pytest.raises(ValueError):
        parse_duration(given)


# -- defaults and forms -----------------------------------------------------------------------
def test_defaults() -> None:
    cfg = study_file()
    assert cfg.metrics == {"value": "minimize"}
    assert cfg.storage is None and cfg.space is None and cfg.seed is None
    assert cfg.n_jobs == 1 and cfg.catch is True and cfg.max_retries == 0
    assert cfg.strategy == Strategy()
    assert cfg.strategy.build_sampler(seed=0) is None
    assert cfg.source is None and cfg.base_dir == Path.cwd()
    assert cfg.search_space is None


def test_budget_needs_trials_or_timeout() -> None:
    assert Budget(trials=5).timeout is None
    assert Budget.model_validate({"timeout": "10m"}).timeout == 600.0
    assert Budget.model_validate({"trials": 4, "timeout": 30}).trials == 4
    with pytest.raises(ValueError, match="trials"):
        Budget()


def test_strategy_as_a_name() -> None:
    cfg = study_file(strategy="sobol")
    assert cfg.strategy.sampler == "sobol"
    assert isinstance(cfg.strategy.build_sampler(seed=1), SobolSampler)


def test_strategy_as_a_mapping_with_options_and_a_pruner() -> None:
    cfg = study_file(strategy={"sampler": "sobol", "options": {"scramble": False},
                               "pruner": "median"})
    sampler = cfg.strategy.build_sampler(seed=4)
    assert isinstance(sampler, SobolSampler) and sampler.seed == 4
    assert isinstance(cfg.strategy.build_pruner(), Pruner)
    with_options = study_file(strategy={"pruner": {"name": "median", "n_startup_trials": 2}})
    assert isinstance(with_options.strategy.build_pruner(), Pruner)


@pytest.mark.parametrize(
    ("strategy", "needle"),
    [("tpee", "unknown sampler 'tpee'"),
     ({"sampler": "sobol", "options": {"nosuch": 1}}, "nosuch"),
     ({"options": {"scramble": False}}, "name the sampler"),
     ({"pruner": "nosuch"}, "unknown pruner"),
     ({"sampler": "sobol", "sampeler": "x"}, "strategy.sampeler: unknown key")],
)
def test_bad_strategies(tmp_path: Path, strategy: Any, needle: str) -> None:
    import yaml

    text = yaml.safe_dump({**MINIMAL, "strategy": strategy})
    assert needle in error_of(tmp_path, text)


# -- one-line errors --------------------------------------------------------------------------
def test_a_typo_names_the_key_and_the_valid_ones(tmp_path: Path) -> None:
    message = error_of(tmp_path, "study: s\nobjective: m:f\nbudget: {trials: 3}\nn_job: 2\n")
    assert message.startswith("n_job: unknown key (did you mean 'n_jobs'?); valid keys are study,")
    assert "max_retries" in message


def test_missing_keys(tmp_path: Path) -> None:
    message = error_of(tmp_path, "study: s\n")
    assert "objective: is required" in message and "budget: is required" in message


@pytest.mark.parametrize(
    ("extra", "expected"),
    [("n_jobs: 0", "n_jobs: must be >= 1, got 0"),
     ("n_jobs: two", "n_jobs: must be a whole number, got 'two'"),
     ("n_jobs: 1.5", "n_jobs: must be a whole number, got 1.5"),
     ("max_retries: -1", "max_retries: must be >= 0, got -1"),
     ("seed: true", "seed: must be a whole number, got True"),
     ("catch: maybe", "catch: must be true or false, got 'maybe'"),
     ("metrics: [loss]", "metrics: must be a mapping"),
     ("metrics: {loss: track}", "metrics: metrics name no objective"),
     ("metrics: {loss: '<= x'}", "metric 'loss': expected 'minimize'"),
     ("space: {lr: {type: float, low: 0, high: 1, log: true}}", "a log scale needs low > 0"),
     ("space: {lr: {type: floaty, low: 0, high: 1}}", "type must be one of float"),
     ("space: [1, 2]", "space: must be a mapping"),
     ("objective: train.objective", "is not of the form 'module:function'"),
     ("resource: {name: epochs}", "resource: resource needs max (for example"),
     ("resource: {name: epochs, max: 9, eta: 3}", "resource has unknown field(s) ['eta']"),
     ("resource: {name: epochs, min: 10, max: 9}", "resource max must be >= min (10)"),
     ("resource: {name: epochs, max: 9, reduction_factor: 1}",
      "resource reduction_factor must be > 1"),
     ("resource: epochs", "resource: must be a mapping")],
)
def test_field_errors(tmp_path: Path, extra: str, expected: str) -> None:
    text = "study: s\nobjective: m:f\nbudget: {trials: 3}\n"
    key = extra.split(":", 1)[0]
    text = "\n".join(line for line in text.splitlines() if not line.startswith(f"{key}:"))
    assert expected in error_of(tmp_path, text + "\n" + extra + "\n")


def test_budget_errors(tmp_path: Path) -> None:
    base = "study: s\nobjective: m:f\n"
    assert error_of(tmp_path, base + "budget: {trials: 0}") == "budget.trials: must be >= 1, got 0"
    assert "budget: give trials" in error_of(tmp_path, base + "budget: {}")
    assert "budget.timeout: expected a number of seconds" in error_of(
        tmp_path, base + "budget: {timeout: soon}")
    assert "budget: must be a mapping" in error_of(tmp_path, base + "budget: 10")


def test_file_level_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        load_study_file(tmp_path / "absent.yaml")
    with pytest.raises(ConfigError, match="is a directory"):
        load_study_file(tmp_path)
    assert "the file is empty" in error_of(tmp_path, "")
    assert "expected a mapping of keys (study, " in error_of(tmp_path, "- a\n- b\n")
    assert error_of(tmp_path, "study: s\nspace: {a: [1, 2}\n").startswith(
        "invalid YAML at line 2")


def test_a_good_file(tmp_path: Path) -> None:
    path = write(tmp_path, """
study: demo
storage: sqlite:///x.db
objective: train:objective
metrics: {val_loss: minimize, val_acc: track, latency_ms: "<= 50"}
space:
  lr: {type: float, low: 1.0e-4, high: 1.0e-1, log: true, family: optimizer}
  layers: {type: int, low: 1, high: 4, family: architecture}
  act: [relu, gelu]
budget: {trials: 20, timeout: 1h30m}
strategy: {sampler: random, pruner: median}
seed: 7
n_jobs: 2
catch: false
max_retries: 1
""")
    cfg = load_study_file(path)
    assert cfg.source == path and cfg.base_dir == tmp_path
    assert cfg.budget.timeout == 5400.0
    assert cfg.metric_set.primary.name == "val_loss"
    space = cfg.search_space
    assert space is not None and list(space) == ["lr", "layers", "act"]
    assert space.families()["optimizer"] == ["lr"]
    assert (cfg.seed, cfg.n_jobs, cfg.catch, cfg.max_retries) == (7, 2, False, 1)


# -- importing the objective ------------------------------------------------------------------
def module_in(folder: Path, body: str) -> str:
    name = f"cfg_objective_{uuid.uuid4().hex[:12]}"
    (folder / f"{name}.py").write_text(body)
    return name


def test_import_objective_from_the_file_directory(tmp_path: Path) -> None:
    name = module_in(tmp_path, "def objective(trial):\n    return 1.0\n\nclass K:\n"
                               "    @staticmethod\n    def run(trial):\n        return 2.0\n")
    assert import_objective(f"{name}:objective", tmp_path)(None) == 1.0  # type: ignore[arg-type]
    assert import_objective(f"{name}:K.run", tmp_path)(None) == 2.0  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("spec", "needle"),
    [("no_colon", "is not of the form 'module:function'"),
     ("a:b:c", "is not of the form"),
     ("nosuch_module_xyz:objective", "cannot import module 'nosuch_module_xyz' "
                                     "(ModuleNotFoundError: No module named")],
)
def test_import_objective_errors(tmp_path: Path, spec: str, needle: str) -> None:
    with pytest.raises(ConfigError, match="objective") as info:
        import_objective(spec, tmp_path)
    assert needle in str(info.value)


def test_import_objective_names_what_is_there(tmp_path: Path) -> None:
    name = module_in(tmp_path, "import os\nLIMIT = 3\ndef train(trial):\n    return 0.0\n")
    with pytest.raises(ConfigError, match="has no attribute 'objective'; callables there: train"):
        import_objective(f"{name}:objective", tmp_path)
    with pytest.raises(ConfigError, match="'LIMIT' is a int, not a function"):
        import_objective(f"{name}:LIMIT", tmp_path)


def test_a_module_that_fails_on_import(tmp_path: Path) -> None:
    name = module_in(tmp_path, "raise RuntimeError('needs a GPU')\n")
    with pytest.raises(ConfigError, match="RuntimeError: needs a GPU"):
        import_objective(f"{name}:objective", tmp_path)


# -- running ----------------------------------------------------------------------------------
OBJECTIVE = """
def objective(trial):
    extra = trial.suggest_int("depth", 1, 3)
    return {"loss": (trial.params["x"] - 0.25) ** 2 + 0.01 * extra, "acc": trial.params["x"]}
"""


def runnable(tmp_path: Path, **changes: Any) -> StudyFile:
    name = module_in(tmp_path, OBJECTIVE)
    text = {
        "study": "unit", "objective": f"{name}:objective",
        "metrics": {"loss": "minimize", "acc": "track"},
        "space": {"x": {"type": "float", "low": 0.0, "high": 1.0, "family": "regularization"},
                  "kind": ["a", "b"]},
        "budget": {"trials": 6}, "seed": 5, **changes,
    }
    import yaml

    return load_study_file(write(tmp_path, yaml.safe_dump(text, sort_keys=False)))


def test_run_suggests_the_space_before_the_objective(tmp_path: Path) -> None:
    cfg = runnable(tmp_path)
    study = run_study_file(cfg, "memory")
    trials = study.trials
    assert len(trials) == 6 and all(t.state == TrialState.COMPLETE for t in trials)
    assert all(set(t.params) == {"x", "kind", "depth"} for t in trials)
    assert list(study.space)[:2] == ["x", "kind"]
    assert study.space["x"].family == "regularization"
    assert study.seed == 5


def test_run_overrides_budget_and_storage(tmp_path: Path) -> None:
    cfg = runnable(tmp_path, storage="nosuch://never-opened")
    study = run_study_file(cfg, f"sqlite:///{tmp_path / 'o.db'}", n_trials=2, n_jobs=1)
    assert len(study.trials) == 2
    again = run_study_file(cfg, f"sqlite:///{tmp_path / 'o.db'}", n_trials=3)
    assert len(again.trials) == 5


def test_reopening_with_other_metrics_or_ranges_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'r.db'}"
    run_study_file(runnable(tmp_path), url, n_trials=1)
    other_metrics = runnable(tmp_path, metrics={"loss": "maximize", "acc": "track"})
    with pytest.raises(ConfigError, match="already exists with metrics"):
        run_study_file(other_metrics, url)
    other_range = runnable(tmp_path, space={"x": {"type": "float", "low": 0.0, "high": 2.0}})
    with pytest.raises(ConfigError, match=r"study file .*: parameter 'x' was already defined"):
        run_study_file(other_range, url)


CURVE = """
def objective(trial):
    x = trial.params["x"]
    for epoch in range(1, int(trial.resource) + 1):
        trial.report((x - 0.25) ** 2 + 1.0 / epoch, epoch)
        if trial.should_prune():
            raise __import__("dialed").Pruned()
    return (x - 0.25) ** 2
"""


def test_a_declared_resource_screens_trials(tmp_path: Path) -> None:
    name = module_in(tmp_path, CURVE)
    cfg = study_file(objective=f"{name}:objective", budget={"trials": 30}, seed=3,
                     space={"x": {"type": "float", "low": 0.0, "high": 1.0}},
                     resource={"name": "epochs", "min": 1, "max": 9, "reduction_factor": 3})
    cfg._source = tmp_path / "virtual.yaml"
    study = run_study_file(cfg, f"sqlite:///{tmp_path / 'res.db'}")
    assert study.resource is not None and study.resource.to_dict() == {
        "name": "epochs", "min": 1, "max": 9, "reduction_factor": 3}
    pruned = study.get_trials(["pruned"])
    assert pruned and all(max(t.intermediate) < 9 for t in pruned)
    decision = study.attrs.get("pruner_decision")
    assert decision is not None and "epochs from 1 to 9" in decision["reason"]


def test_a_failing_objective_is_recorded_when_catch_is_true(tmp_path: Path) -> None:
    name = module_in(tmp_path, "def objective(trial):\n"
                               "    if trial.number % 2:\n        raise ValueError('odd')\n"
                               "    return 1.0\n")
    cfg = study_file(objective=f"{name}:objective", budget={"trials": 4})
    cfg._source = tmp_path / "virtual.yaml"
    study = run_study_file(cfg, "memory")
    states = [t.state for t in study.trials]
    assert states == [TrialState.COMPLETE, TrialState.FAILED] * 2
    assert "ValueError: odd" in (study.trials[1].error or "")
    strict = study_file(objective=f"{name}:objective", budget={"trials": 4}, catch=False)
    with pytest.raises(ValueError, match="odd"):
        run_study_file(strict, "memory")


def test_the_quickstart_example_runs_one_trial() -> None:
    pytest.importorskip("sklearn")
    example = Path(__file__).resolve().parents[1] / "examples" / "quickstart.yaml"
    cfg = load_study_file(example)
    assert cfg.n_jobs == 2 and cfg.budget.trials == 40 and cfg.seed == 0
    study = run_study_file(cfg, "memory", n_trials=1, n_jobs=1)
    (trial,) = study.trials
    assert trial.state == TrialState.COMPLETE, trial.error
    assert set(trial.params) == {"learning_rate", "max_leaf_nodes", "l2_regularization",
                                 "max_features"}
    assert 0.0 < trial.metrics["val_acc"] <= 1.0 and trial.metrics["val_loss"] > 0.0


def test_the_early_stopping_example_prunes_and_says_why(tmp_path: Path) -> None:
    pytest.importorskip("sklearn")
    example = Path(__file__).resolve().parents[1] / "examples" / "early_stopping.yaml"
    cfg = load_study_file(example)
    assert cfg.resource == {"name": "epochs", "min": 1, "max": 27, "reduction_factor": 3}
    study = run_study_file(cfg, f"sqlite:///{tmp_path / 'es.db'}", n_trials=12, n_jobs=1)
    states = [t.state for t in study.trials]
    assert len(states) == 12 and TrialState.PRUNED in states, states
    full = [t for t in study.trials if t.state == TrialState.COMPLETE]
    assert full and all(max(t.intermediate) == 27 for t in full)
    assert all(0.0 <= t.metrics["val_loss"] <= 1.0 for t in full)
    assert study.attrs["pruner_decision"]["pruner"] == "asha"
    # the GP goes on, fitted on the screened trials at their budget (ASHA's BOHB-style view)
    assert study.attrs["sampler_decision"]["sampler"] == "gp+tpe"
    assert "screened" in study.attrs["sampler_decision"]["reason"]


SAVES = """
def objective(trial):
    trial.save_checkpoint({"x": trial.params["x"]}, step=1)
    return (trial.params["x"] - 0.25) ** 2
"""


def test_artifacts_key_puts_checkpoints_beside_the_file(tmp_path: Path) -> None:
    name = module_in(tmp_path, SAVES)
    text = (f"study: ck\nobjective: {name}:objective\nartifacts: ckpts\n"
            "space: {x: {type: float, low: 0.0, high: 1.0}}\nbudget: {trials: 2}\nseed: 1\n")
    cfg = load_study_file(write(tmp_path, text))
    assert cfg.artifacts_url == str((tmp_path / "ckpts").resolve())
    url = f"sqlite:///{tmp_path / 'a.db'}"
    study = run_study_file(cfg, url)
    assert study.attrs["artifacts"] == cfg.artifacts_url
    saved = [p for p in (tmp_path / "ckpts").rglob("*") if p.is_file()]
    assert len(saved) >= 2  # one checkpoint per trial, under the named folder
    moved = load_study_file(write(tmp_path, text.replace("ckpts", "elsewhere")))
    with pytest.raises(ConfigError, match=r"keeps its artifacts at .*ckpts.*, not .*elsewhere"):
        run_study_file(moved, url)
    assert len(dialed_trials(url)) == 2  # nothing ran, nothing lost


def test_an_unreachable_artifact_store_stops_before_the_study_is_made(tmp_path: Path) -> None:
    name = module_in(tmp_path, SAVES)
    text = (f"study: bad\nobjective: {name}:objective\nartifacts: 'nosuchproto://x/y'\n"
            "space: {x: {type: float, low: 0.0, high: 1.0}}\nbudget: {trials: 2}\n")
    url = f"sqlite:///{tmp_path / 'b.db'}"
    with pytest.raises(ConfigError, match="nosuchproto") as info:
        run_study_file(load_study_file(write(tmp_path, text)), url)
    assert "\n" not in str(info.value)
    from dialed.storage import open_storage

    assert [s.name for s in open_storage(url).list_studies()] == []


def dialed_trials(url: str) -> list[Any]:
    import dialed

    return dialed.load_study("ck", storage=url).trials
