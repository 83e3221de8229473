"""The SQL engine's parts, for adapters that keep another library's data in dialed's tables.

:class:`~dialed.integrations.optuna.DialedStorage` writes Optuna's studies as dialed studies:
it needs the tables, the :class:`Database` (SQLite in WAL mode with ``BEGIN IMMEDIATE``
writes, or PostgreSQL, each call one retried transaction) and the row helpers dialed's own
:class:`SQLStorage` uses, so that both write the same rows the same way. Everything else
should go through :class:`~dialed.storage.Storage`.
"""

from __future__ import annotations

from dialed.storage._schema import (
    studies,
    study_attrs,
    study_space,
    trial_intermediate,
    trial_metrics,
    trials,
)
from dialed.storage._sql import SQLStorage
from dialed.storage._sql_engine import Database
from dialed.storage._sql_rows import (
    INSERT_METRICS,
    INSERT_TRIAL,
    intermediate_of,
    lock_study,
    metrics_of,
    new_id,
    next_number,
    record,
    trial_queries,
    where_params,
)

__all__ = [
    "INSERT_METRICS",
    "INSERT_TRIAL",
    "Database",
    "SQLStorage",
    "intermediate_of",
    "lock_study",
    "metrics_of",
    "new_id",
    "next_number",
    "record",
    "studies",
    "study_attrs",
    "study_space",
    "trial_intermediate",
    "trial_metrics",
    "trial_queries",
    "trials",
    "where_params",
]
