"""``import_optuna``: Optuna studies, read through Optuna's storage API, as dialed studies.

Each Optuna study is read and converted whole (distributions, metrics, every trial) before
anything is written, then written by :meth:`~dialed.storage.Storage.import_trials` in one
transaction: an import that fails or is interrupted leaves no half study. Every imported trial
records where it came from (``system_attrs["optuna"]``: storage, study, trial id, number), so
running the import again adds only the trials that are new.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from dialed._util import new_seed
from dialed.errors import ConfigError, StudyNotFoundError
from dialed.execution import Settings
from dialed.interop._convert import (
    DIALED_METRICS,
    constraint_values,
    merge_distribution,
    metric_set,
    to_dialed_distribution,
    trial_record,
)
from dialed.interop._source import open_optuna_storage, parse_location
from dialed.metrics import MetricSet
from dialed.pruners import make_pruner
from dialed.samplers import make_sampler
from dialed.storage import Storage, open_storage, redact_url
from dialed.study import DEFAULT_PRUNER, DEFAULT_SAMPLER
from dialed.trial import TrialRecord

__all__ = ["ImportResult", "import_optuna", "not_carried_line"]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,199}$")
_STUDY_ATTRS_CARRIED = ("study:metric_names", DIALED_METRICS)
#: The study attribute listing the Optuna studies a dialed study was imported from.
SOURCES_ATTR = "imported_from"


@dataclass
class ImportResult:
    """What one Optuna study became: the dialed study, the trials written and skipped, and the
    Optuna system attributes that were not carried (key -> how many trials held it)."""

    optuna_study: str
    study: str
    imported: int
    skipped: int
    not_carried: dict[str, int] = field(default_factory=dict)

    def line(self) -> str:
        again = f"; {self.skipped} already imported" if self.skipped else ""
        return (f"imported {self.imported} trials of Optuna study {self.optuna_study!r} into "
                f"dialed study {self.study!r}{again}")


@dataclass
class _Plan:
    optuna_study: str
    target: str
    metrics: MetricSet
    space: dict[str, dict[str, Any]]
    records: list[TrialRecord]
    source: dict[str, Any]
    user_attrs: dict[str, Any]
    dropped: dict[str, int]


def import_optuna(
    source: str,
    study: str | None = None,
    *,
    storage: str | Storage | None,
    all_studies: bool = False,
    into: str | None = None,
    seed: int | None = None,
) -> list[ImportResult]:
    """Import Optuna studies from ``source`` into the dialed ``storage``.

    ``source`` is an Optuna RDB URL (``sqlite:///optuna.db``, ``postgresql+psycopg://...``) or a
    JournalStorage file. ``study`` names the Optuna study (needed when the source holds more
    than one) or ``all_studies=True`` imports each. The dialed study takes the Optuna study's
    name, or ``into``: an existing dialed study of that name is refused unless ``into`` names
    it (or it was imported from the same Optuna study before: then only new trials are added).
    Returns one :class:`ImportResult` per Optuna study.
    """
    if all_studies and (study is not None or into is not None):
        raise ConfigError("give all_studies=True alone, or one study (with into= if wanted)")
    location = parse_location(source)
    ostorage = open_optuna_storage(location)
    frozen = {s.study_name: s for s in ostorage.get_all_studies()}
    if all_studies:
        chosen = list(frozen)
    elif study is not None:
        if study not in frozen:
            raise StudyNotFoundError(
                f"no Optuna study named {study!r} in {location.shown} (studies: "
                f"{', '.join(sorted(frozen)) or 'none'})"
            )
        chosen = [study]
    elif len(frozen) == 1:
        chosen = list(frozen)
    else:
        raise ConfigError(
            f"{location.shown} holds {len(frozen)} Optuna studies "
            f"({', '.join(sorted(frozen)) or 'none'}): name one, or import them all"
        )
    plans = [_plan(ostorage, frozen[name], into or name, location.shown) for name in chosen]
    store = open_storage(storage)
    return [_write(store, plan, into is not None, seed) for plan in plans]


def _plan(ostorage: Any, fstudy: Any, target: str, shown: str) -> _Plan:
    """Everything the dialed study will hold, converted and checked; nothing written yet."""
    name = fstudy.study_name
    if not _NAME.match(target):
        raise ConfigError(
            f"Optuna study {name!r}: {target!r} is not a dialed study name (1-200 letters, "
            "digits, '_', '-' or '.', starting with a letter or digit); give another with into"
        )
    trials = ostorage.get_all_trials(fstudy._study_id, deepcopy=False)
    space: dict[str, dict[str, Any]] = {}
    keys: dict[str, None] = {}
    for t in trials:
        for pname, dist in t.distributions.items():
            spec = to_dialed_distribution(pname, dist)
            space[pname] = merge_distribution(pname, space[pname], spec) if pname in space \
                else spec
        keys.update(dict.fromkeys(constraint_values(t.system_attrs)))
    system = dict(fstudy.system_attrs)
    recorded = system.get(DIALED_METRICS)
    metrics = metric_set([d.name.lower() for d in fstudy.directions],
                         system.get("study:metric_names"), sorted(keys, key=_key_order),
                         recorded if isinstance(recorded, Mapping) else None)
    source = {"storage": shown, "study": name}
    dropped: dict[str, int] = {f"study {k}": 1 for k in system if k not in _STUDY_ATTRS_CARRIED}
    records = [trial_record(t, metrics, source, dropped) for t in trials]
    return _Plan(name, target, metrics, space, records, source, dict(fstudy.user_attrs), dropped)


def _key_order(key: str) -> tuple[int, int, str]:
    return (0, int(key), "") if key.isdigit() else (1, 0, key)


def _write(store: Storage, plan: _Plan, into: bool, seed: int | None) -> ImportResult:
    attrs: dict[str, Any] = {f"user:{k}": v for k, v in plan.user_attrs.items()}
    try:
        existing = store.get_study(plan.target)
    except StudyNotFoundError:
        study_seed = new_seed() if seed is None else seed
        # what create_study records: the default sampler and pruner, the default settings
        attrs.update({SOURCES_ATTR: [plan.source],
                      "sampler": make_sampler(DEFAULT_SAMPLER, seed=study_seed).describe(),
                      "pruner": make_pruner(DEFAULT_PRUNER).describe(),
                      "settings": Settings(5.0, 60.0, 0).to_dict()})
        store.import_trials(
            plan.target, plan.records, space=plan.space, attrs=attrs,
            create={"metrics": plan.metrics.to_dict(), "seed": study_seed},
        )
        return ImportResult(plan.optuna_study, plan.target, len(plan.records), 0, plan.dropped)
    sources = list(existing.attrs.get(SOURCES_ATTR) or [])
    where = redact_url(store.url) if store.url else "this storage"
    if plan.source not in sources and not into:
        raise ConfigError(
            f"a dialed study named {plan.target!r} already exists in {where}: give into="
            f"{plan.target!r} (--into) to add the Optuna trials to it, or another name"
        )
    have = MetricSet(existing.metrics)
    if have != plan.metrics:
        raise ConfigError(
            f"dialed study {plan.target!r} measures {have.to_dict()}, the Optuna study "
            f"{plan.optuna_study!r} {plan.metrics.to_dict()}: import it under another name"
        )
    done = {_origin(t) for t in store.get_trials(existing.study_id)}
    new = [r for r in plan.records if _origin(r) not in done]
    if plan.source not in sources:
        attrs[SOURCES_ATTR] = [*sources, plan.source]
    if new or attrs:
        store.import_trials(plan.target, new, space=plan.space, attrs=attrs)
    return ImportResult(plan.optuna_study, plan.target, len(new), len(plan.records) - len(new),
                        plan.dropped)


def _origin(t: TrialRecord) -> tuple[Any, ...] | None:
    o = t.system_attrs.get("optuna")
    if not isinstance(o, Mapping):
        return None
    return (o.get("storage"), o.get("study"), o.get("trial_id"))


def not_carried_line(results: Sequence[ImportResult]) -> str:
    """One line naming every Optuna attribute that was not carried, with how many held it."""
    total: dict[str, int] = {}
    for r in results:
        for key, n in r.not_carried.items():
            total[key] = total.get(key, 0) + n
    if not total:
        return "not carried: nothing (every trial's parameters, values, constraints and " \
               "attributes were imported)"
    parts = [f"{k} ({n} trial{'s' if n != 1 else ''})" if not k.startswith("study ")
             else k for k, n in sorted(total.items())]
    return ("not carried: Optuna system attributes (sampler state dialed does not use): "
            + ", ".join(parts))
