"""The configuration registry: named configurations, their versions, promotion and rollback.

The registry lives in the same storage as the studies, without a table of its own: it is the
study named ``_registry`` (a name :func:`~dialed.create_study` refuses, so no study of the
user's can take it), and each version of a named configuration is one of its attributes,
``registry:NAME:000001``, ``registry:NAME:000002``, ... written with the storage's atomic
``set_study_attr_if_absent``. Versions are therefore append-only and two processes promoting
at once get two different version numbers. The current version of a name is its latest one;
a rollback appends a copy of an earlier version (recording which), so history is never
rewritten.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from dialed._util import now
from dialed.errors import ConfigError, DuplicateStudyError, StudyNotFoundError, WorkflowError
from dialed.history import config_key
from dialed.storage import Storage, open_storage
from dialed.study import Study, load_study
from dialed.workflow._data import DataCheck, Fingerprint, fingerprint_pair
from dialed.workflow._workflow import DATA_KEY, Workflow

__all__ = ["REGISTRY_STUDY", "Registry", "Version", "diff_params", "registry", "render"]

#: The study holding the registry in each storage.
REGISTRY_STUDY = "_registry"
_PREFIX = "registry:"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,199}$")
FORMATS = ("yaml", "json", "env")


@dataclass(frozen=True)
class Version:
    """One version of a named configuration."""

    name: str
    version: int
    params: dict[str, Any]
    kind: str  # promote or rollback
    created_at: float
    study: str | None = None
    trial: int | None = None
    source: str | None = None  # where the configuration came from: confirm:1, trial, ...
    metrics: dict[str, float] | None = None  # confirmed means (or one run's values)
    confirmed: dict[str, Any] | None = None  # the primary metric's interval, when confirmed
    test: dict[str, Any] | None = None  # the locked test's result for these params
    data: dict[str, Any] | None = None  # the fingerprint of the data it was tuned on
    note: str | None = None
    rollback_to: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Version:
        fields = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in fields})


def diff_params(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, tuple[Any, Any]]:
    """Parameters that differ: name -> (old value, new value); absent values are None."""
    out = {}
    for k in list(old) + [k for k in new if k not in old]:
        a, b = old.get(k), new.get(k)
        if k not in old or k not in new or config_key({k: a}) != config_key({k: b}):
            out[k] = (a, b)
    return out


def render(version: Version, fmt: str = "yaml", prefix: str = "") -> str:
    """The configuration as YAML, JSON or ``NAME=value`` lines for a shell or ``.env`` file."""
    key = fmt.strip().lower() if isinstance(fmt, str) else fmt
    if key == "yaml":
        return yaml.safe_dump(dict(version.params), sort_keys=False)
    if key == "json":
        return json.dumps(dict(version.params), indent=2) + "\n"
    if key == "env":
        lines = []
        for k, v in version.params.items():
            var = re.sub(r"[^A-Za-z0-9_]", "_", f"{prefix}{k}").upper()
            if var[:1].isdigit():
                var = "_" + var
            text = json.dumps(v) if isinstance(v, (list, dict, bool)) or v is None else str(v)
            lines.append(f"{var}={shlex.quote(text)}")
        return "\n".join(lines) + "\n"
    raise ConfigError(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}")


class Registry:
    """Named configurations in a storage. Build it with :func:`registry`."""

    def __init__(self, storage: str | Storage | None) -> None:
        self.storage = open_storage(storage)

    # -- the registry study ----------------------------------------------------------------
    def _study_id(self, create: bool) -> int | None:
        try:
            return self.storage.get_study(REGISTRY_STUDY).study_id
        except StudyNotFoundError:
            if not create:
                return None
        try:
            return self.storage.create_study(
                REGISTRY_STUDY, metrics={"value": "minimize"}, seed=0,
                attrs={"kind": "dialed configuration registry"},
            ).study_id
        except DuplicateStudyError:  # created by another process just now
            return self.storage.get_study(REGISTRY_STUDY).study_id

    def _attrs(self) -> dict[str, Any]:
        sid = self._study_id(create=False)
        return {} if sid is None else self.storage.get_study_attrs(sid)

    # -- reading ---------------------------------------------------------------------------
    def names(self) -> list[str]:
        out: dict[str, None] = {}
        for key in self._attrs():
            if key.startswith(_PREFIX):
                out[key[len(_PREFIX):].rsplit(":", 1)[0]] = None
        return sorted(out)

    def versions(self, name: str) -> list[Version]:
        """Every version of ``name``, oldest first; WorkflowError for an unknown name."""
        prefix = f"{_PREFIX}{name}:"
        found = [Version.from_dict(v) for k, v in self._attrs().items()
                 if k.startswith(prefix) and k[len(prefix):].isdigit()]
        if not found:
            known = self.names()
            hint = f"known: {', '.join(known)}" if known else "the registry is empty"
            raise WorkflowError(f"no configuration named {name!r} in the registry ({hint}); "
                                "promote one with: dialed promote STUDY --as NAME")
        return sorted(found, key=lambda v: v.version)

    def get(self, name: str, version: int | None = None) -> Version:
        """The current version of ``name`` (its latest), or version ``version``."""
        versions = self.versions(name)
        if version is None:
            return versions[-1]
        for v in versions:
            if v.version == version:
                return v
        raise WorkflowError(f"configuration {name!r} has no version {version} (versions "
                            f"1 to {versions[-1].version})")

    def history(self, name: str) -> list[tuple[Version, dict[str, tuple[Any, Any]]]]:
        """Each version with the parameters it changed from the one before."""
        out = []
        previous: Mapping[str, Any] = {}
        for v in self.versions(name):
            out.append((v, diff_params(previous, v.params)))
            previous = v.params
        return out

    # -- writing ---------------------------------------------------------------------------
    def _append(self, name: str, record: dict[str, Any]) -> Version:
        sid = self._study_id(create=True)
        if sid is None:  # unreachable: create=True
            raise WorkflowError("the registry could not be created")
        attrs = self.storage.get_study_attrs(sid)
        prefix = f"{_PREFIX}{name}:"
        number = 1 + max((int(k[len(prefix):]) for k in attrs
                          if k.startswith(prefix) and k[len(prefix):].isdigit()), default=0)
        while True:
            record = {**record, "name": name, "version": number}
            if self.storage.set_study_attr_if_absent(sid, f"{prefix}{number:06d}", record):
                return Version.from_dict(record)
            number += 1

    def promote(
        self,
        study: Study | str,
        *,
        name: str,
        trial: int | None = None,
        note: str | None = None,
    ) -> Version:
        """Store a new version of ``name`` from a study.

        Without ``trial``: the study's confirmed recommendation (else the incumbent of its
        last stage, else its best trial). The version carries the confirmed metrics, the
        locked test's result for those parameters, the study's data fingerprint and ``note``.
        """
        _check_name(name)
        handle = study if isinstance(study, Study) else load_study(study, storage=self.storage)
        wf = Workflow(handle)
        source, params, trial_no, metrics, confirmed = _chosen(handle, wf, trial)
        test = None
        for v in reversed(wf.verifications()):
            if v.status == "done" and config_key(v.params) == config_key(params):
                test = {"metrics": v.test, "gap": v.gap, "flagged": v.flagged,
                        "forced": v.forced, "number": v.number}
                break
        record = {
            "params": params, "kind": "promote", "created_at": now(), "study": handle.name,
            "trial": trial_no, "source": source, "metrics": metrics, "confirmed": confirmed,
            "test": test, "data": handle.attrs.get(DATA_KEY), "note": note,
        }
        return self._append(name, record)

    def rollback(self, name: str, to: int | None = None, note: str | None = None) -> Version:
        """Make version ``to`` (default: the one before the current) current again.

        Appends a new version with that version's configuration, marked as a rollback.
        """
        versions = self.versions(name)
        current = versions[-1]
        target_no = current.version - 1 if to is None else to
        if target_no < 1 or target_no >= current.version:
            raise WorkflowError(
                f"configuration {name!r}: cannot roll back to version {target_no}; the current "
                f"version is {current.version}, so give --to between 1 and "
                f"{current.version - 1}" if current.version > 1 else
                f"configuration {name!r} has only one version: nothing to roll back to"
            )
        target = self.get(name, target_no)
        record = {**target.to_dict(), "kind": "rollback", "created_at": now(),
                  "rollback_to": target.version, "note": note}
        return self._append(name, record)

    def check(self, name: str, data: Any, version: int | None = None) -> DataCheck:
        """Whether ``data`` (``(X, y)``, ``X`` or a Fingerprint) is what ``name`` was tuned on."""
        v = self.get(name, version)
        if v.data is None:
            return DataCheck("changed", True, (
                f"version {v.version} of {name!r} carries no data fingerprint, so the data it "
                "was tuned on is unknown",
            ))
        return Fingerprint.from_dict(v.data).compare(fingerprint_pair(data))


def registry(storage: str | Storage | None) -> Registry:
    """The configuration registry in ``storage`` (the same URL as the studies)."""
    return Registry(storage)


def _check_name(name: Any) -> None:
    if not isinstance(name, str) or not _NAME.match(name):
        raise ConfigError(
            f"configuration name {name!r} is not valid: use 1-200 letters, digits, '_', '-' or "
            "'.', starting with a letter or digit"
        )


def _chosen(
    study: Study, wf: Workflow, trial: int | None,
) -> tuple[str, dict[str, Any], int | None, dict[str, float] | None, dict[str, Any] | None]:
    """(source, params, trial number, metrics, confirmed interval) of what to promote."""
    metric = study.metrics.primary
    confirmed_evals = {
        config_key(c.evaluation.params): c for r in wf.confirmations() for c in r.candidates
    }

    def from_confirmed(params: Mapping[str, Any]) -> tuple[dict[str, float] | None,
                                                           dict[str, Any] | None]:
        cand = confirmed_evals.get(config_key(params))
        if cand is None or metric.name not in cand.evaluation.values:
            return None, None
        ev = cand.evaluation
        iv = ev.interval(metric.name) if ev.n >= 2 else None
        return ev.means(), None if iv is None else {"metric": metric.name, **iv.to_dict()}

    if trial is not None:
        rec = study.storage.get_trial_by_number(study.study_id, trial)
        if rec.state.value != "complete":
            raise WorkflowError(f"trial {trial} of study {study.name!r} is {rec.state.value}; "
                                "promote a complete trial")
        metrics, confirmed = from_confirmed(rec.params)
        return ("trial", dict(rec.params), trial,
                metrics if metrics is not None else dict(rec.metrics), confirmed)
    chosen = wf.recommended()
    if chosen is not None:
        metrics, confirmed = from_confirmed(chosen.evaluation.params)
        rounds = wf.confirmations()
        return (f"confirm:{rounds[-1].round}", dict(chosen.evaluation.params),
                chosen.source_trial, metrics, confirmed)
    stages = wf.stages()
    if stages:
        ev = stages[-1].incumbent
        iv = ev.interval(metric.name) if ev.n >= 2 else None
        return (f"stage:{stages[-1].index}", dict(ev.params), ev.trials[0], ev.means(),
                None if iv is None else {"metric": metric.name, **iv.to_dict()})
    best = study.best_trial
    return "best trial (not confirmed)", dict(best.params), best.number, dict(best.metrics), None
