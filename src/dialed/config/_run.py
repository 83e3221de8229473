"""Running a study file: its study created (or reopened) and searched, or its workflow run."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from dialed.analysis.tradeoff import recommend, record_rule
from dialed.config._file import StudyFile
from dialed.config._objective import (
    STUDY_FILE_ATTR,
    SpaceFirst,
    bind_to_study,
    import_objective,
)
from dialed.errors import ConfigError, DialedError, NoTrialsError
from dialed.study import Study, create_study


@contextlib.contextmanager
def _about(cfg: StudyFile) -> Iterator[None]:
    """Name the study file in configuration errors raised while setting the study up."""
    try:
        yield
    except ConfigError as exc:
        if cfg.source is None or str(exc).startswith("study file "):
            raise
        raise ConfigError(f"study file {cfg.source}: {exc}") from None
    except DialedError as exc:
        if cfg.source is None or not isinstance(exc, ValueError):
            raise
        raise ConfigError(f"study file {cfg.source}: {exc}") from None


def run_study_file(
    cfg: StudyFile,
    storage_override: str | None = None,
    show_progress: bool = False,
    *,
    n_trials: int | None = None,
    timeout: float | None = None,
    n_jobs: int | None = None,
    executor: str = "local",
    ray_address: str | None = None,
) -> Study:
    """Create (or reopen) the file's study and run it; returns the study.

    The storage is ``storage_override``, else the file's (:attr:`StudyFile.storage_url`: a
    relative SQLite path beside the file; :data:`~dialed.storage.DEFAULT_URL` there when the
    file names none).
    ``n_trials``, ``timeout`` and ``n_jobs`` replace the file's values when given;
    ``executor="ray"`` runs the trials as Ray tasks (on the cluster at ``ray_address``).
    The objective, the file's directory and the space are recorded in the study
    (:data:`STUDY_FILE_ATTR`), so that ``dialed worker`` can run its trials anywhere.
    """
    with _about(cfg):
        objective = import_objective(cfg.objective, cfg.base_dir)
        declared = cfg.search_space
        study = create_study(
            cfg.study,
            storage=storage_override or cfg.storage_url,
            metrics=cfg.metrics,
            sampler=cfg.strategy.build_sampler(cfg.seed),
            pruner=cfg.strategy.build_pruner(),
            seed=cfg.seed,
            space=declared,
            resource=cfg.resource,
            scale=cfg.scale,
            load_if_exists=True,
            max_retries=cfg.max_retries,
            artifacts=cfg.artifacts_url,
        )
        if study.metrics != cfg.metric_set:
            raise ConfigError(
                f"study {cfg.study!r} already exists with metrics {study.metrics.to_dict()}, "
                f"not {cfg.metric_set.to_dict()}: use a new study name, or delete the old "
                f"study first (dialed delete {cfg.study})"
            )
        recorded = study.attrs.get("artifacts")
        if cfg.artifacts_url is not None and recorded != cfg.artifacts_url:
            raise ConfigError(
                f"study {cfg.study!r} keeps its artifacts at {recorded!r}, not "
                f"{cfg.artifacts_url!r}: use a new study name, or name that store in the file"
            )
        if declared is not None:
            stored = study.space
            for name, dist in declared.items():
                stored.add(name, dist)  # a changed range of a stored parameter fails here
        study.storage.set_study_attr(study.study_id, STUDY_FILE_ATTR, {
            "objective": cfg.objective,
            "base_dir": str(cfg.base_dir.resolve()),
            "space": None if declared is None else declared.to_dict(),
            "catch": cfg.catch,
            **({} if cfg.llm is None else {"llm": cfg.llm}),
        })
        objective = bind_to_study(objective, study)  # dialed.llm:objective reads llm: here
        if declared is not None:
            objective = SpaceFirst(declared, objective)
        if cfg.tradeoff is not None:
            record_rule(study, cfg.tradeoff)  # `dialed best` uses it, during the run too
    if cfg.uses_workflow:  # baseline, stages, confirm: dialed.workflow runs them
        from dialed.workflow import run_file_workflow

        with _about(cfg):
            run_file_workflow(cfg, study, objective, n_trials=n_trials, timeout=timeout,
                              n_jobs=n_jobs, show_progress=show_progress)
        _record_tradeoff(cfg, study)
        return study
    study.optimize(
        objective,
        n_trials=n_trials if n_trials is not None else cfg.budget.trials,
        timeout=timeout if timeout is not None else cfg.budget.timeout,
        n_jobs=n_jobs if n_jobs is not None else cfg.n_jobs,
        catch=(Exception,) if cfg.catch else (),
        show_progress=show_progress,
        executor=executor,
        ray_address=ray_address,
    )
    _record_tradeoff(cfg, study)
    return study


def _record_tradeoff(cfg: StudyFile, study: Study) -> None:
    """Record the trial the file's trade-off rule recommends (none yet: the rule alone)."""
    if cfg.tradeoff is not None:
        with contextlib.suppress(NoTrialsError):
            recommend(study, cfg.tradeoff)
