"""Tune small, extrapolate up: a ladder of studies, one per size of a scale variable.

:func:`run_ladder` (Python) and :func:`run_file_ladder` (``dialed ladder STUDY.yaml --scale
width=16,32,64``) run one study per rung, cheapest first. Before a rung searches, the best
configurations of the rungs below it, moved along the laws fitted so far
(:func:`~dialed.workflow._ladder_fit.move_config`), and the law's own prediction are enqueued
first (the warm start); each rung's search ends with the workflow's ``confirm``, which gives
the rung a confirmed best with an interval. After each rung the fit is recomputed and stored
in the ladder's own study (attributes ``ladder`` and ``ladder:fit``, no trials), which the
dashboard and the report draw. A rung already confirmed is not run again.

:func:`enqueue_prediction` puts a prediction (then points of its inner interval and its
interval's corners) into a study at the target scale as its baseline, so the expensive study
starts from it and ``confirm`` / ``verify`` check it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from dialed._util import derive_seed
from dialed.errors import ConfigError, StudyNotFoundError
from dialed.history import config_key
from dialed.space import Space
from dialed.storage import Storage, open_storage
from dialed.study import Study, create_study, load_study
from dialed.trial import Trial
from dialed.workflow._evaluate import DeclaredFirst
from dialed.workflow._ladder_fit import LadderFit, Prediction, clip, fit_ladder, move_config
from dialed.workflow._workflow import STUDY_FILE_ATTR, Workflow

if TYPE_CHECKING:
    from dialed.config import StudyFile

__all__ = [
    "LADDER_FIT_KEY",
    "LADDER_KEY",
    "PREDICTION_KEY",
    "enqueue_prediction",
    "ladder_studies",
    "parse_scales",
    "record_prediction",
    "run_file_ladder",
    "run_ladder",
    "rung_name",
    "warm_start",
]

LADDER_KEY = "ladder"
LADDER_FIT_KEY = "ladder:fit"
PREDICTION_KEY = "ladder:prediction"
#: How many lower rungs' moved bests a rung is warm-started with (besides the law's value).
WARM_FROM = 2

Objective = Callable[[Trial], Any]


def rung_name(ladder: str, scale: str, value: float) -> str:
    """The study of one rung: ``mlp.width64``."""
    text = str(int(value)) if float(value).is_integer() else f"{value:.6g}".replace("+", "")
    return f"{ladder}.{scale}{text}"


def parse_scales(text: str) -> tuple[str, list[float]]:
    """``"width=16,32,64"`` as ``("width", [16, 32, 64])``, or one ConfigError line."""
    name, sep, rest = text.partition("=")
    name = name.strip()
    if not sep or not name or not rest.strip():
        raise ConfigError(f"--scale must look like width=16,32,64 (a name, '=', sizes), got "
                          f"{text!r}")
    values: list[float] = []
    for part in rest.split(","):
        try:
            v = float(part)
        except ValueError:
            raise ConfigError(f"--scale {name}: {part.strip()!r} is not a number") from None
        if not (math.isfinite(v) and v > 0):
            raise ConfigError(f"--scale {name}: sizes must be > 0, got {part.strip()}")
        values.append(int(v) if v.is_integer() else v)
    return name, values


def _check_values(ladder: str, scale: str, values: Sequence[float]) -> list[float]:
    ordered = sorted({float(v): v for v in values}.values(), key=float)
    if len(ordered) < 2:
        raise ConfigError(f"ladder {ladder!r}: needs at least two rungs (sizes of {scale}), got "
                          f"{list(values)}")
    return ordered


def warm_start(done: Sequence[Study], scale: str, target: float, space: Space,
               seed: int = 0) -> list[dict[str, Any]]:
    """The configurations a rung at ``target`` starts from: the law's prediction and the
    lower rungs' bests moved along the laws fitted so far (one rung below: its best)."""
    if not done or not len(space):
        return []
    if len(done) == 1:
        best = done[0].best_params
        return [{k: clip(space[k], v) if k in space else v for k, v in best.items()}]
    fit = fit_ladder(done, scale=scale, seed=seed, n_boot=400)
    pred = fit.predict(float(target)).params
    configs = [{k: clip(space[k], v) if k in space else v for k, v in pred.items()}]
    for rung in list(reversed(fit.rungs))[:WARM_FROM]:
        configs.append(move_config(rung.params, fit, rung.scale, float(target), space))
    out, seen = [], set()
    for c in configs:
        key = config_key(c)
        if key not in seen:
            seen.add(key)
            out.append(c)
    return out


def _climb(ladder: str, scale: str, values: Sequence[float], storage: Storage,
           open_rung: Callable[[float], Study], search: Callable[[Study], None],
           seed: int) -> LadderFit:
    ordered = _check_values(ladder, scale, values)
    done: list[Study] = []
    fit: LadderFit | None = None
    for v in ordered:
        study = open_rung(v)
        if not Workflow(study).confirmations():
            if not study.trials:
                space = study.space if len(study.space) else (done[-1].space if done else Space())
                for config in warm_start(done, scale, v, space, seed):
                    study.enqueue(config, validate=False)
            search(study)
        done.append(study)
        if len(done) >= 2:
            fit = fit_ladder(done, scale=scale, seed=seed)
            _record(ladder, storage, done, fit, ordered)
    if fit is None:  # unreachable: _check_values asks for two rungs
        raise ConfigError(f"ladder {ladder!r}: no rungs ran")
    return fit


def _record(ladder: str, storage: Storage, rungs: Sequence[Study], fit: LadderFit,
            planned: Sequence[float]) -> None:
    rec = create_study(ladder, storage=storage, metrics=rungs[0].metrics.to_dict(),
                       load_if_exists=True)
    rec.storage.set_study_attr(rec.study_id, LADDER_KEY, {
        "scale": fit.scale_name, "rungs": [s.name for s in rungs],
        "planned": list(planned), "seed": fit.seed})
    rec.storage.set_study_attr(rec.study_id, LADDER_FIT_KEY, fit.to_dict())


def ladder_studies(ladder: str, storage: str | Storage) -> tuple[list[Study], str, int]:
    """The rung studies of a recorded ladder, its scale variable and its seed."""
    store = open_storage(storage)
    try:
        rec = load_study(ladder, storage=store)
    except StudyNotFoundError:
        raise ConfigError(f"no ladder named {ladder!r} in this storage (run dialed ladder "
                          "STUDY.yaml --scale NAME=SIZES first)") from None
    data = rec.attrs.get(LADDER_KEY)
    if not isinstance(data, Mapping) or not data.get("rungs"):
        raise ConfigError(f"study {ladder!r} is not a ladder (run dialed ladder STUDY.yaml "
                          "--scale NAME=SIZES to make one)")
    studies = [load_study(str(n), storage=store) for n in data["rungs"]]
    return studies, str(data["scale"]), int(data.get("seed") or 0)


def record_prediction(ladder: str, storage: str | Storage, fit: LadderFit,
                      prediction: Prediction) -> None:
    """Store the fit with the prediction in the ladder's study (for the figures)."""
    store = open_storage(storage)
    rec = load_study(ladder, storage=store)
    store.set_study_attr(rec.study_id, LADDER_FIT_KEY, fit.to_dict(prediction))


def run_ladder(
    name: str,
    scale: str,
    values: Sequence[float],
    objective: Objective,
    *,
    trials: int,
    space: Space | Mapping[str, Any] | None = None,
    storage: str | Storage | None = None,
    metrics: Mapping[str, str] | str | None = None,
    sampler: str | None = None,
    repeats: int = 3,
    top: int = 3,
    seed: int = 0,
    n_jobs: int = 1,
) -> LadderFit:
    """Run a ladder in Python: one study per size in ``values`` (``trials`` each, then confirm
    of the ``top`` configurations with ``repeats`` seeds), each started from the rungs below.

    The objective reads its size from ``trial.scale[scale]``. Studies are named
    :func:`rung_name`; the ladder's record is the study ``name``. Returns the fit.
    """
    if isinstance(trials, bool) or not isinstance(trials, int) or trials < 1:
        raise ConfigError(f"ladder {name!r}: trials must be a whole number >= 1, got {trials!r}")
    store = open_storage(storage)
    declared = None if space is None else (space if isinstance(space, Space)
                                           else Space.from_dict(space))

    def open_rung(v: float) -> Study:
        return create_study(rung_name(name, scale, v), storage=store, metrics=metrics,
                            sampler=sampler, seed=derive_seed(seed, "rung", f"{v:g}"),
                            space=declared, scale={scale: v}, load_if_exists=True)

    def search(study: Study) -> None:
        run = objective if declared is None else DeclaredFirst(declared, objective)
        study.optimize(run, n_trials=max(0, trials - len(study.trials)), n_jobs=n_jobs,
                       catch=(Exception,))
        Workflow(study, objective, space=declared, n_jobs=n_jobs).confirm(top, repeats)

    return _climb(name, scale, values, store, open_rung, search, seed)


def run_file_ladder(cfg: StudyFile, scale: str, values: Sequence[float], *,
                    storage: str | None = None, n_trials: int | None = None,
                    show_progress: bool = False) -> LadderFit:
    """``dialed ladder STUDY.yaml --scale width=...``: the file's study run once per size.

    Rung ``v`` is the file's study named ``<study>.<scale><v>`` with ``scale`` set (merged
    into the file's own ``scale:``), a seed derived from the file's, and the file's budget; the
    file's ``confirm:`` (default: top 3) gives each rung its confirmed best.
    """
    from dialed.config import import_objective, run_study_file

    url = storage or cfg.storage_url
    store = open_storage(url)
    seed = cfg.seed if cfg.seed is not None else 0

    def rung_cfg(v: float) -> StudyFile:
        return cfg.model_copy(update={
            "study": rung_name(cfg.study, scale, v), "scale": {**(cfg.scale or {}), scale: v},
            "seed": derive_seed(seed, "rung", f"{v:g}")})

    def open_rung(v: float) -> Study:
        rc = rung_cfg(v)
        return create_study(rc.study, storage=store, metrics=rc.metrics,
                            sampler=rc.strategy.build_sampler(rc.seed),
                            pruner=rc.strategy.build_pruner(), seed=rc.seed,
                            space=rc.search_space, resource=rc.resource, scale=rc.scale,
                            load_if_exists=True, max_retries=rc.max_retries)

    def search(study: Study) -> None:
        rc = rung_cfg(float(study.scale[scale]))
        before = len(study.trials)
        remaining = n_trials if n_trials is not None else rc.budget.trials
        if remaining is not None and before:
            remaining = max(1, remaining - before)
        run_study_file(rc, url, show_progress=show_progress, n_trials=remaining)
        wf = Workflow(study, import_objective(rc.objective, rc.base_dir))
        if not wf.confirmations():
            confirm = rc.confirm
            wf.confirm(top=3 if confirm is None else confirm.top,
                       repeats=None if confirm is None else confirm.repeats)

    return _climb(cfg.study, scale, values, store, open_rung, search, seed)


def enqueue_prediction(ladder: str, prediction: Prediction, study: str,
                       storage: str | Storage) -> Study:
    """Put ``prediction`` into ``study`` (created at the target scale from the ladder's largest
    rung when absent) as its workflow baseline, and enqueue it, then each parameter moved alone
    to its inner interval's ends (:data:`~dialed.workflow._ladder_fit.INNER`), then its
    interval's corners."""
    store = open_storage(storage)
    rungs, scale, _ = ladder_studies(ladder, store)
    top = max(rungs, key=lambda s: float(s.scale[scale]))
    want = {**top.scale, scale: prediction.scale}
    try:
        target = load_study(study, storage=store)
    except StudyNotFoundError:
        target = create_study(study, storage=store, metrics=top.metrics.to_dict(),
                              space=top.space, scale=want,
                              seed=derive_seed(top.seed, "target", f"{prediction.scale:g}"))
        recorded = top.attrs.get(STUDY_FILE_ATTR)
        if recorded is not None:
            store.set_study_attr(target.study_id, STUDY_FILE_ATTR, recorded)
    have = target.scale.get(scale)
    if have is None or float(have) != prediction.scale:
        raise ConfigError(f"study {study!r} is at {scale}={have}, not the predicted "
                          f"{scale}={prediction.scale:g}: enqueue into a study at that scale")
    space = target.space if len(target.space) else top.space
    base = {k: clip(space[k], v) if k in space else v for k, v in prediction.params.items()}
    Workflow(target, baseline=base)
    if target.attrs.get(PREDICTION_KEY) is None:
        seen = {config_key(base)}
        configs = [base]
        # Nearest first: the inner interval's ends, then the corners of the full interval
        # (benchmarks/results/notes.md, "workflow/_ladder.py: the target study's first trials").
        for corner in prediction.steps() + prediction.corners():
            c = {k: clip(space[k], v) if k in space else v for k, v in corner.items()}
            if config_key(c) not in seen:
                seen.add(config_key(c))
                configs.append(c)
        for c in configs:
            target.enqueue(c, validate=False)
        store.set_study_attr(target.study_id, PREDICTION_KEY,
                             {**prediction.to_dict(), "ladder": ladder,
                              "enqueued": len(configs)})
    return target
