"""Re-tuning after the data changed: a new study warm-started from the old one.

The new study copies the old one's metrics, space, sampler kind, pruner and workflow plan;
its baseline is the registry's current configuration (what is deployed is what a re-tune must
beat), and the old study's top configurations are enqueued to run first (tagged
``warm_start``). The link back (registry name, version, old study) is stored in the new study.
"""

from __future__ import annotations

from typing import Any

from dialed._util import derive_seed, now
from dialed.errors import ConfigError, StudyNotFoundError, WorkflowError
from dialed.history import config_key
from dialed.samplers import Sampler, make_sampler
from dialed.storage import Storage
from dialed.study import Study, create_study, load_study
from dialed.workflow._data import Fingerprint
from dialed.workflow._file import record_data
from dialed.workflow._plan import PLAN_KEY, Plan
from dialed.workflow._registry import Registry
from dialed.workflow._workflow import STUDY_FILE_ATTR, Workflow

__all__ = ["RETUNE_KEY", "retune"]

RETUNE_KEY = "workflow:retune"


def _free_name(storage: Storage, base: str) -> str:
    for k in range(1, 10_000):
        name = f"{base}-retune-{k}"
        try:
            storage.get_study(name)
        except StudyNotFoundError:
            return name
    raise WorkflowError(f"no free study name of the form {base}-retune-K")


def _sampler(old: Study, seed: int) -> Sampler | None:
    desc = dict(old.attrs.get("sampler") or {})
    name = desc.get("name")
    if not isinstance(name, str):
        return None
    try:
        return make_sampler(name, seed=seed, **dict(desc.get("options") or {}))
    except (ConfigError, TypeError):
        return None


def retune(
    storage: str | Storage | None,
    name: str,
    *,
    study: str | None = None,
    top: int = 5,
    version: int | None = None,
    data: Fingerprint | None = None,
) -> Study:
    """Create a study to re-tune the registry configuration ``name``; returns it, not yet run.

    ``study`` names the new study (default ``OLD-retune-K``); ``top`` old configurations are
    enqueued; ``data`` is the new data's fingerprint, stored in the new study.
    """
    if isinstance(top, bool) or not isinstance(top, int) or top < 0:
        raise ConfigError(f"top must be a whole number >= 0, got {top!r}")
    reg = Registry(storage)
    current = reg.get(name, version)
    if current.study is None:
        raise WorkflowError(f"version {current.version} of {name!r} names no study to re-tune")
    try:
        old = load_study(current.study, storage=reg.storage)
    except StudyNotFoundError:
        raise WorkflowError(
            f"version {current.version} of {name!r} came from study {current.study!r}, which "
            "is no longer in this storage"
        ) from None
    seed = derive_seed(old.seed, "retune", current.version)
    new_name = study or _free_name(reg.storage, old.name)
    attrs = old.attrs
    new = create_study(
        new_name, storage=reg.storage, metrics=old.metrics.to_dict(),
        sampler=_sampler(old, seed), pruner=attrs.get("pruner"), seed=seed,
        space=old.space, resource=attrs.get("resource"),
    )
    plan = Plan.from_dict(attrs.get(PLAN_KEY)).updated(baseline=dict(current.params))
    new.storage.set_study_attr(new.study_id, PLAN_KEY, plan.to_dict())
    if attrs.get(STUDY_FILE_ATTR) is not None:  # workers and confirm find the objective
        new.storage.set_study_attr(new.study_id, STUDY_FILE_ATTR, attrs[STUDY_FILE_ATTR])
    skip = {config_key(current.params)}
    warm: list[dict[str, Any]] = []
    for params, _ in Workflow(old).top_configurations(top + 1) if top else []:
        if config_key(params) not in skip and len(warm) < top:
            warm.append(params)
            skip.add(config_key(params))
    if warm:
        new.storage.enqueue_trials(new.study_id, warm, system_attrs={"warm_start": old.name})
    new.storage.set_study_attr(new.study_id, RETUNE_KEY, {
        "registry": name, "version": current.version, "study": old.name,
        "warm_start": len(warm), "created_at": now(),
    })
    if data is not None:
        record_data(new, data)
    return new
