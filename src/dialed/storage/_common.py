"""Rules every storage applies the same way: JSON values, finite metrics, a growing space."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

from dialed._util import check_name, clean_text
from dialed.errors import SpaceError, StorageError
from dialed.space import compatible, distribution_from_dict
from dialed.trial import TrialRecord, TrialState

__all__ = ["IMPORTABLE", "check_direction", "check_imported", "check_metrics", "check_name",
           "clean_text", "json_copy", "merge_space"]


def check_direction(direction: str) -> None:
    if direction not in ("minimize", "maximize"):
        raise StorageError(f"direction must be 'minimize' or 'maximize', got {direction!r}")


_SCALARS = (str, int, float, bool, type(None))


def json_copy(value: Any) -> Any:
    """A deep copy through JSON, so that memory behaves like a database (and rejects the same).

    A flat mapping of names to plain scalars (parameters, most attributes) is copied as it is:
    the JSON round trip would give the same mapping back."""
    if type(value) is dict and all(type(k) is str and type(v) in _SCALARS
                                   for k, v in value.items()):
        return dict(value)
    try:
        return json.loads(json.dumps(value))
    except (TypeError, ValueError) as exc:
        raise StorageError(f"value is not JSON-serialisable: {exc}") from None


def check_metrics(metrics: Mapping[str, float] | None) -> None:
    for name, v in (metrics or {}).items():
        check_name("metric name", name)
        if not isinstance(v, (int, float)) or not math.isfinite(v):
            raise StorageError(f"metric {name!r} must be a finite number to be stored, got {v!r}")


def merge_space(
    space: Mapping[str, Mapping[str, Any]], distributions: Mapping[str, Mapping[str, Any]]
) -> dict[str, dict[str, Any]]:
    """The entries to write so the space holds ``distributions`` (SpaceError on a conflict).

    Shared by every storage so they agree on what "the same parameter" means.
    """
    updates: dict[str, dict[str, Any]] = {}
    for name, spec in distributions.items():
        check_name("parameter name", name, SpaceError)
        new = distribution_from_dict(name, spec)
        have = space.get(name)
        if have is None:
            updates[name] = new.to_dict()
            continue
        old = distribution_from_dict(name, have)
        if not compatible(old, new):
            raise SpaceError(
                f"parameter {name!r} was already defined as {old.to_dict()} in this study; "
                f"it cannot now be {new.to_dict()} (use a new name for a different range)"
            )
        if old.family is None and new.family is not None:
            updates[name] = new.to_dict()
    return updates


#: The states a trial recorded elsewhere may be imported in (a running one has no worker here).
IMPORTABLE = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAILED, TrialState.WAITING)


def check_imported(trials: Sequence[TrialRecord]) -> None:
    """StorageError naming the first trial that :meth:`Storage.import_trials` cannot hold."""
    for i, t in enumerate(trials):
        if t.state not in IMPORTABLE:
            raise StorageError(
                f"imported trial {i} is {t.state.value}: only complete, pruned, failed or "
                "waiting trials can be imported"
            )
        check_metrics(t.metrics)
        for step in t.intermediate:
            if isinstance(step, bool) or not isinstance(step, int):
                raise StorageError(f"imported trial {i}: step {step!r} is not an integer")
