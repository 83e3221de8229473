"""Rows of trials recorded elsewhere (another tool's study), written inside one transaction.

:meth:`~dialed.storage._sql.SQLStorage.import_trials` checks and serialises everything first,
then calls :func:`insert_study` and :func:`insert_trials` inside its transaction, so an import
that fails half-way writes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from dialed._util import derive_seed, now
from dialed.storage._common import clean_text
from dialed.storage._schema import studies, study_attrs, study_space, trial_intermediate
from dialed.storage._sql_rows import (
    INSERT_METRICS,
    INSERT_TRIAL,
    dump_json,
    duplicate_error,
    lock_study,
    new_id,
    next_number,
    space_of,
)
from dialed.trial import TrialRecord

__all__ = ["insert_study", "insert_trials", "trial_texts", "write_attrs", "write_space"]


def trial_texts(trials: Sequence[TrialRecord]) -> list[dict[str, Any]]:
    """The columns of each trial that do not depend on where it lands (checked JSON text)."""
    return [
        {
            "state": t.state.value,
            "params": dump_json(dict(t.params)),
            "environment": dump_json(dict(t.environment)),
            "user_attrs": dump_json(dict(t.user_attrs)),
            "system_attrs": dump_json(dict(t.system_attrs)),
            "created_at": t.created_at if t.created_at is not None else now(),
            "started_at": t.started_at,
            "finished_at": t.finished_at,
            "heartbeat_at": None,
            "wall_seconds": t.wall_seconds,
            "cpu_seconds": t.cpu_seconds,
            "peak_memory_mb": t.peak_memory_mb,
            "worker": t.worker,
            "error": None if t.error is None else clean_text(str(t.error)),
        }
        for t in trials
    ]


def insert_study(conn: sa.Connection, name: str, metrics: Mapping[str, str], seed: int) -> int:
    """A new study row; DuplicateStudyError when the name is taken."""
    if conn.execute(sa.select(studies.c.study_id).where(studies.c.name == name)).first():
        raise duplicate_error(name)
    return new_id(conn.execute(sa.insert(studies).values(
        name=name, metrics=json.dumps(dict(metrics)), seed=int(seed), created_at=now()
    )))


def write_space(conn: sa.Connection, study_id: int, updates: Mapping[str, Any]) -> None:
    """Add or replace the space entries ``updates`` (already merged and checked)."""
    space = space_of(conn, study_id)
    for name, spec in updates.items():
        if name in space:
            conn.execute(sa.update(study_space)
                         .where(study_space.c.study_id == study_id, study_space.c.name == name)
                         .values(distribution=json.dumps(spec)))
        else:
            conn.execute(sa.insert(study_space).values(
                study_id=study_id, name=name, position=len(space), distribution=json.dumps(spec)))
            space[name] = dict(spec)


def write_attrs(conn: sa.Connection, study_id: int, attrs: Mapping[str, str]) -> None:
    """Set study attributes (JSON text by key), replacing those already set."""
    if not attrs:
        return
    conn.execute(sa.delete(study_attrs).where(study_attrs.c.study_id == study_id,
                                              study_attrs.c.key.in_(list(attrs))))
    conn.execute(sa.insert(study_attrs),
                 [{"study_id": study_id, "key": k, "value": v} for k, v in attrs.items()])


def insert_trials(conn: sa.Connection, study_id: int, trials: Sequence[TrialRecord],
                  texts: Sequence[Mapping[str, Any]]) -> None:
    """The trials, numbered after the study's last, with their metrics and intermediate values."""
    seed = lock_study(conn, study_id)
    first = next_number(conn, study_id)
    metric_rows: list[dict[str, Any]] = []
    step_rows: list[dict[str, Any]] = []
    for i, (t, cols) in enumerate(zip(trials, texts, strict=True)):
        number = first + i
        trial_id = new_id(conn.execute(INSERT_TRIAL, {
            **cols, "study_id": study_id, "number": number, "seed": derive_seed(seed, number),
        }))
        metric_rows.extend({"trial_id": trial_id, "study_id": study_id, "name": k,
                            "value": float(v)} for k, v in t.metrics.items())
        step_rows.extend({"trial_id": trial_id, "step": int(k),
                          "value": None if v != v else float(v)}  # NaN is stored as NULL
                         for k, v in sorted(t.intermediate.items()))
    if metric_rows:
        conn.execute(INSERT_METRICS, metric_rows)
    if step_rows:
        conn.execute(sa.insert(trial_intermediate), step_rows)
