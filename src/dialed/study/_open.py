"""Opening studies: create (checked, then stored), load (rebuilt from storage), delete, list."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from dialed._util import new_seed, now
from dialed.errors import ConfigError, StudyNotFoundError
from dialed.execution import Settings, StudyContext
from dialed.metrics import MetricSet
from dialed.pruners import Pruner, Resource, make_pruner
from dialed.samplers import Sampler, make_sampler
from dialed.space import Space
from dialed.storage import (
    ArtifactStore,
    Storage,
    StudySummary,
    default_artifact_url,
    open_artifacts,
    open_storage,
    study_folder,
)
from dialed.study._study import Study

__all__ = [
    "DEFAULT_PRUNER",
    "DEFAULT_SAMPLER",
    "check_scale",
    "create_study",
    "delete_study",
    "list_studies",
    "load_study",
]

#: The sampler a study uses when given none.
DEFAULT_SAMPLER = "auto"
#: The pruner a study uses when given none.
DEFAULT_PRUNER = "auto"

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,199}$")


def _resolve_sampler(sampler: str | Sampler | None, seed: int | None) -> Sampler:
    if isinstance(sampler, Sampler):
        return sampler
    if sampler is None:
        sampler = DEFAULT_SAMPLER
    if not isinstance(sampler, str):
        raise ConfigError(f"sampler must be a name such as 'tpe' or a Sampler, got {sampler!r}")
    return make_sampler(sampler, seed=seed)


def _resolve_pruner(pruner: str | Mapping[str, Any] | Pruner | None) -> Pruner:
    if pruner is None:
        return make_pruner(DEFAULT_PRUNER)
    if isinstance(pruner, Pruner):
        return pruner
    if not isinstance(pruner, (str, Mapping)):
        raise ConfigError(f"pruner must be a name such as 'median', a description mapping or "
                          f"a Pruner, got {pruner!r}")
    return make_pruner(pruner)


def _resolve_resource(resource: Resource | Mapping[str, Any] | None) -> Resource | None:
    return None if resource is None else Resource.from_spec(resource)


def create_study(
    name: str | None = None,
    *,
    storage: str | Storage | None = None,
    metrics: Mapping[str, str] | Sequence[str] | str | None = None,
    direction: str | None = None,
    directions: Sequence[str] | None = None,
    study_name: str | None = None,
    sampler: str | Sampler | None = None,
    pruner: str | Mapping[str, Any] | Pruner | None = None,
    seed: int | None = None,
    space: Space | Mapping[str, Any] | None = None,
    resource: Resource | Mapping[str, Any] | None = None,
    scale: Mapping[str, float] | None = None,
    load_if_exists: bool = False,
    max_retries: int = 0,
    heartbeat_interval: float = 5.0,
    grace_period: float = 60.0,
    artifacts: str | None = None,
) -> Study:
    """Create a study (``storage=None`` keeps it in memory; a URL stores it durably).

    ``metrics`` maps names to 'minimize', 'maximize', 'track' or a bound ('<= 512');
    ``direction`` is the short form for one unnamed objective ('minimize' by default).
    ``seed`` makes the whole study repeatable; one is drawn and recorded when not given.
    ``resource`` declares what a trial spends, for early stopping and multi-fidelity search:
    ``{"name": "epochs", "min": 1, "max": 81, "reduction_factor": 3}``; report steps then
    count it, and ``trial.resource`` is the amount a trial should train to.
    ``artifacts`` is where trials' checkpoints and files go (``trial.save_checkpoint``): a
    folder or an fsspec URL (``s3://bucket/path``) every worker can reach; by default a folder
    beside the SQLite file (``study.db.artifacts``), a temporary one for an in-memory study.
    Optuna's spellings work too: ``study_name=`` for ``name`` and ``directions=[...]`` for
    several unnamed objectives (``value_0``, ``value_1``, ...).
    ``scale`` records the study's size on a ladder of studies (``{"width": 64}``: parameters,
    width, rows of data ...); ``trial.scale`` hands it to the objective, and
    :mod:`dialed.workflow`'s ladder fits how the best settings move with it.
    """
    if study_name is not None:
        if name is not None and name != study_name:
            raise ConfigError(f"give the study's name once: name={name!r} or study_name="
                              f"{study_name!r}, not both")
        name = study_name
    if directions is not None:
        if metrics is not None or direction is not None:
            raise ConfigError("give one of metrics=, direction= or directions=")
        if isinstance(directions, str) or not isinstance(directions, Sequence) \
                or not directions:
            raise ConfigError(f"directions must be a non-empty list such as ['minimize', "
                              f"'maximize'], got {directions!r}")
        metrics = list(directions)
    if name is None:
        name = f"study-{int(now() * 1000)}"
    if not isinstance(name, str) or not _NAME.match(name):
        raise ConfigError(
            f"study name {name!r} is not valid: use 1-200 letters, digits, '_', '-' or '.', "
            "starting with a letter or digit"
        )
    if metrics is not None and direction is not None:
        raise ConfigError("give either metrics= or direction=, not both")
    metric_set = MetricSet(direction if metrics is None else metrics)
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        raise ConfigError(f"seed must be a whole number >= 0, got {seed!r}")
    if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
        raise ConfigError(f"max_retries must be a whole number >= 0, got {max_retries!r}")
    if heartbeat_interval <= 0 or grace_period <= heartbeat_interval:
        raise ConfigError(
            "heartbeat_interval must be > 0 and grace_period longer than it, got "
            f"{heartbeat_interval} and {grace_period}"
        )
    declared = None if space is None else (space if isinstance(space, Space) else Space(space))
    resource_obj = _resolve_resource(resource)
    scale_map = None if scale is None else check_scale(scale, name)
    store = open_storage(storage)  # after the checks above: a bad name creates no file
    artifact_url = artifacts if artifacts is not None else default_artifact_url(store.url)
    if load_if_exists:
        try:
            existing = load_study(name, storage=store, sampler=sampler, pruner=pruner)
        except StudyNotFoundError:
            pass
        else:
            if (metrics is not None or direction is not None) and existing.metrics != metric_set:
                raise ConfigError(
                    f"study {name!r} already exists with metrics {existing.metrics.to_dict()}, not "
                    f"{metric_set.to_dict()}: use another study name, or the same metrics"
                )
            if resource_obj is not None and existing.resource != resource_obj:
                have = None if existing.resource is None else existing.resource.to_dict()
                raise ConfigError(
                    f"study {name!r} exists with resource {have}, not "
                    f"{resource_obj.to_dict()}: use another study name, or the same resource"
                )
            if scale_map is not None and existing.scale != scale_map:
                raise ConfigError(
                    f"study {name!r} exists with scale {existing.scale or None}, not "
                    f"{scale_map}: use another study name, or the same scale"
                )
            return existing
    study_seed = new_seed() if seed is None else seed
    sampler_obj = _resolve_sampler(sampler, study_seed)
    sampler_obj.bind_seed(study_seed)
    pruner_obj = _resolve_pruner(pruner)
    pruner_obj.bind(resource_obj, metric_set)
    settings = Settings(heartbeat_interval, grace_period, max_retries)
    artifact_store: ArtifactStore | None = None
    if artifacts is not None or store.url is None:  # a given store: checked before storing
        artifact_store = open_artifacts(artifact_url)
    elif artifact_url is not None:  # the folder beside the SQLite file: made on first use
        artifact_store = ArtifactStore(artifact_url)
    attrs: dict[str, Any] = {"sampler": sampler_obj.describe(), "pruner": pruner_obj.describe(),
                             "settings": settings.to_dict()}
    if resource_obj is not None:
        attrs["resource"] = resource_obj.to_dict()
    if artifact_store is not None:
        attrs["artifacts"] = artifact_store.url
    if scale_map is not None:
        attrs["scale"] = scale_map
    record = store.create_study(
        name, metrics=metric_set.to_dict(), seed=study_seed, attrs=attrs,
    )
    if declared is not None and len(declared):
        store.register_params(record.study_id, declared.to_dict())
    ctx = StudyContext(store, record.study_id, name, metric_set, study_seed, sampler_obj,
                       pruner_obj, settings, resource_obj, artifact_store, scale_map)
    return Study(ctx)


def load_study(
    name: str,
    *,
    storage: str | Storage | None,
    sampler: str | Sampler | None = None,
    pruner: str | Mapping[str, Any] | Pruner | None = None,
) -> Study:
    """Open an existing study; its sampler, pruner, resource and settings come from storage."""
    store = open_storage(storage)
    record = store.get_study(name)
    attrs = dict(record.attrs)
    if sampler is None:
        desc = dict(attrs.get("sampler") or {"name": DEFAULT_SAMPLER})
        sampler_obj = make_sampler(
            str(desc.pop("name")), seed=desc.pop("seed", record.seed), **desc.pop("options", {})
        )
    else:
        sampler_obj = _resolve_sampler(sampler, record.seed)
    sampler_obj.bind_seed(record.seed)
    pruner_obj = _resolve_pruner(attrs.get("pruner") if pruner is None else pruner)
    resource_obj = _resolve_resource(attrs.get("resource"))
    metric_set = MetricSet(record.metrics)
    pruner_obj.bind(resource_obj, metric_set)
    raw = attrs.get("settings") or {}
    settings = Settings(
        float(raw.get("heartbeat_interval", 5.0)),
        float(raw.get("grace_period", 60.0)),
        int(raw.get("max_retries", 0)),
    )
    raw_scale = attrs.get("scale")
    ctx = StudyContext(store, record.study_id, record.name, metric_set,
                       record.seed, sampler_obj, pruner_obj, settings, resource_obj,
                       _artifact_store(attrs, store),
                       dict(raw_scale) if isinstance(raw_scale, Mapping) else None)
    study = Study(ctx)
    if not store.read_only:  # a read-only file is read as it is
        study.fail_stale_trials()
    return study


def _artifact_store(attrs: Mapping[str, Any], store: Storage) -> ArtifactStore | None:
    """The store a study recorded (a study from before artifacts: the default beside its
    file); opened lazily, so reading a study never writes to its store."""
    url = attrs.get("artifacts") or default_artifact_url(store.url)
    return None if url is None else ArtifactStore(str(url))


def check_scale(scale: Any, study: str) -> dict[str, float]:
    """``scale`` as a mapping of names to positive finite numbers, or one ConfigError line."""
    if not isinstance(scale, Mapping) or not scale:
        raise ConfigError(f"study {study!r}: scale must be a mapping of names to sizes such as "
                          f"{{'width': 64}}, got {scale!r}")
    out: dict[str, float] = {}
    for key, value in scale.items():
        if not isinstance(key, str) or not _NAME.match(key):
            raise ConfigError(f"study {study!r}: scale name {key!r} is not valid: use letters, "
                              "digits, '_', '-' or '.'")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not (
                math.isfinite(value) and value > 0):
            raise ConfigError(f"study {study!r}: scale {key} must be a number > 0 (a size such "
                              f"as 64), got {value!r}")
        out[key] = value
    return out


def delete_study(name: str, *, storage: str | Storage) -> None:
    """Delete the study's records, then its checkpoints and files."""
    store = open_storage(storage)
    record = store.get_study(name)
    artifacts = _artifact_store(record.attrs, store)
    store.delete_study(name)
    if artifacts is not None:
        artifacts.delete_study(study_folder(record.study_id, record.name))


def list_studies(storage: str | Storage) -> list[StudySummary]:
    return open_storage(storage).list_studies()
