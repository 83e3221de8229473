"""The workflow on SQLite with worker processes, and the example's study file."""

from __future__ import annotations

from pathlib import Path

import dialed
from dialed.config import load_study_file
from dialed.workflow import Workflow, retune

from .test_workflow import BASELINE, objective

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "workflow" / "study.yaml"


def test_steps_run_in_two_worker_processes_and_resume_from_storage(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'p.db'}"
    study = dialed.create_study("proc", storage=url, metrics={"loss": "minimize", "acc": "track"},
                                seed=11)
    wf = Workflow(study, objective, baseline=BASELINE, repeats=2, n_jobs=2)
    stage = wf.run_stage("optimizer", trials=4)
    assert stage.n_search == 4 and stage.candidate is not None and stage.candidate.n == 2
    workers = {t.worker for t in study.trials}
    assert len(workers) >= 2  # evaluations and search ran in more than one process
    # another handle on the same storage sees every step
    again = Workflow(dialed.load_study("proc", storage=url), objective, n_jobs=2)
    assert again.baseline() == wf.baseline() and again.stages() == wf.stages()
    result = again.confirm(top=2)
    assert [c.evaluation.n for c in result.candidates] == [2, 2]
    assert dialed.registry(url).promote(study, name="p").source == "confirm:1"
    new = retune(url, "p", top=3)
    assert new.name == "proc-retune-1"
    waiting = new.get_trials(["waiting"])
    assert len(waiting) == 3 and all(t.system_attrs["warm_start"] == "proc" for t in waiting)
    deployed = result.recommended.evaluation.params
    assert Workflow(new).plan.baseline == deployed  # the re-tune must beat what is deployed
    assert all(dict(t.params) != deployed for t in waiting)  # it is the baseline, not queued
    assert new.attrs["workflow:retune"]["study"] == "proc"


def test_the_example_study_file_is_valid() -> None:
    cfg = load_study_file(EXAMPLE)
    assert cfg.uses_workflow and cfg.baseline is not None and len(cfg.stages or []) == 3
    assert cfg.test == "digits:test" and cfg.confirm is not None
    assert sum(s.trials or 0 for s in cfg.stages or []) == cfg.budget.trials
