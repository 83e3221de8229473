"""The workflow of a study file: ``baseline``, ``targets``, ``repeats``, ``stages``, ``confirm``,
``test`` and ``data``, run by ``dialed run`` when the file names any of them.

The file's study is created (or reopened) by :func:`dialed.config.run_study_file`, which hands
it here with the objective. The plan and where the objective, test function and data loader
live are stored in the study, so that ``dialed confirm`` / ``verify`` / ``summary`` in
another process find them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dialed.errors import ConfigError
from dialed.study import Study
from dialed.trial import Trial
from dialed.workflow._data import Fingerprint, fingerprint_pair
from dialed.workflow._imports import import_function
from dialed.workflow._plan import PLAN_KEY, Plan
from dialed.workflow._workflow import DATA_KEY, STUDY_FILE_ATTR, Workflow

if TYPE_CHECKING:
    from dialed.config import StudyFile

__all__ = ["load_data", "record_data", "recorded_function", "run_file_workflow"]


def load_data(spec: str, base_dir: str | Path | None) -> Fingerprint:
    """Call the data loader ``module:function`` (no arguments) and fingerprint what it returns."""
    loader = import_function(spec, base_dir, "data")
    try:
        returned = loader()
    except Exception as exc:
        raise ConfigError(f"data {spec!r}: the loader raised {type(exc).__name__}: "
                          f"{str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
                          ) from None
    return fingerprint_pair(returned)


def record_data(study: Study, data: Fingerprint) -> None:
    """Store the data fingerprint in the study; a study's data cannot change under it."""
    stored = study.attrs.get(DATA_KEY)
    if stored is None:
        study.storage.set_study_attr_if_absent(study.study_id, DATA_KEY, data.to_dict())
        return
    check = Fingerprint.from_dict(stored).compare(data)
    if check.kind not in ("same", "reordered"):
        raise ConfigError(
            f"data: study {study.name!r} was started on other data ({check.message}); start a "
            "new study for the new data (dialed retune NAME warm-starts one)"
        )


def recorded_function(study: Study, key: str) -> tuple[str, str | None] | None:
    """``(module:function, base_dir)`` the study recorded for ``objective``, ``test`` or ``data``.

    The workflow's plan first; then what ``dialed run`` recorded of the study file (the
    ``study_file`` attribute); then a study attribute of that name (a ``module:function`` text,
    or a mapping with ``spec`` and ``base_dir``).
    """
    plan = Plan.from_dict(study.attrs.get(PLAN_KEY))
    spec = getattr(plan, key, None)
    if isinstance(spec, str):
        return spec, plan.base_dir
    recorded = study.attrs.get(STUDY_FILE_ATTR)
    if isinstance(recorded, Mapping) and isinstance(recorded.get(key), str):
        base = recorded.get("base_dir")
        return str(recorded[key]), base if isinstance(base, str) else None
    raw = study.attrs.get(key)
    if isinstance(raw, str):
        return raw, None
    if isinstance(raw, Mapping):
        s = raw.get("spec") or raw.get(key) or raw.get("objective")
        base = raw.get("base_dir") or raw.get("dir")
        if isinstance(s, str):
            return s, base if isinstance(base, str) else None
    return None


def _stage_dicts(stages: Any) -> list[dict[str, Any]] | None:
    if not stages:
        return None
    out = []
    for s in stages:
        fams = s.families
        out.append({"families": [fams] if isinstance(fams, str) else list(fams),
                    "trials": s.trials, "timeout": s.timeout, "name": s.name})
    return out


def run_file_workflow(
    cfg: StudyFile,
    study: Study,
    objective: Callable[[Trial], Any],
    *,
    n_trials: int | None = None,
    timeout: float | None = None,
    n_jobs: int | None = None,
    show_progress: bool = False,
) -> Workflow:
    """Run a study file's workflow on its (created or reopened) study.

    With a baseline: the baseline, then the planned stages, or one unstaged search of the
    budget. Without one: a plain search of the budget. Then ``confirm`` when the file asks.
    """
    base_dir = str(Path(cfg.base_dir).resolve())
    wf = Workflow(
        study, objective, baseline=cfg.baseline, targets=cfg.targets, repeats=cfg.repeats,
        stages=_stage_dicts(cfg.stages), space=cfg.space,
        n_jobs=n_jobs if n_jobs is not None else cfg.n_jobs, catch=cfg.catch,
        show_progress=show_progress,
    )
    wf.record_sources(objective=cfg.objective, test=cfg.test, data=cfg.data, base_dir=base_dir)
    if cfg.data is not None:
        record_data(study, load_data(cfg.data, base_dir))
    before = len(study.trials)
    trials = n_trials if n_trials is not None else cfg.budget.trials
    seconds = timeout if timeout is not None else cfg.budget.timeout
    if cfg.baseline is not None and cfg.stages:
        wf.run()
    elif cfg.baseline is not None:
        wf.run_baseline()
        wf.search(trials=trials, timeout=seconds)
    else:
        study.optimize(objective, n_trials=trials, timeout=seconds, n_jobs=wf.n_jobs,
                       catch=(Exception,) if cfg.catch else (), show_progress=show_progress)
    confirm = cfg.confirm
    if confirm is not None and (len(study.trials) > before or not wf.confirmations()):
        wf.confirm(top=confirm.top, repeats=confirm.repeats)
    return wf
