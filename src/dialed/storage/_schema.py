"""The tables of an SQL storage, and the schema version a database is stamped with.

Every table is prefixed ``dialed_`` so a study can share a database with other applications.
JSON values are stored as text written by :func:`json.dumps`, so floats read back exactly; metric
and intermediate values are double-precision columns so that ``best_trial`` is an indexed
``ORDER BY value LIMIT 1``.
"""

from __future__ import annotations

import sqlalchemy as sa

from dialed.errors import SchemaVersionError, StorageError
from dialed.storage._base import SCHEMA_VERSION

__all__ = [
    "check_version",
    "create_schema",
    "meta",
    "metadata",
    "stored_version",
    "studies",
    "study_attrs",
    "study_space",
    "trial_intermediate",
    "trial_metrics",
    "trials",
]

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# SQLite gives AUTOINCREMENT only to a column declared exactly INTEGER PRIMARY KEY.
_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

#: One row per setting; ``schema_version`` is the only one so far. Never change this table's
#: layout: it is what an older dialed reads to find out that it is too old.
meta = sa.Table(
    "dialed_meta",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

studies = sa.Table(
    "dialed_studies",
    metadata,
    sa.Column("study_id", _ID, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String, nullable=False, unique=True),
    sa.Column("metrics", sa.Text, nullable=False),  # JSON: metric name -> direction or role
    sa.Column("seed", sa.BigInteger, nullable=False),
    sa.Column("created_at", sa.Double, nullable=False),
    sqlite_autoincrement=True,  # ids of deleted studies are never reused
)


def _study_fk() -> sa.ForeignKey:
    return sa.ForeignKey(studies.c.study_id, ondelete="CASCADE")


study_attrs = sa.Table(
    "dialed_study_attrs",
    metadata,
    sa.Column("study_id", _ID, _study_fk(), primary_key=True),
    sa.Column("key", sa.String, primary_key=True),
    sa.Column("value", sa.Text, nullable=False),  # JSON
)

study_space = sa.Table(
    "dialed_study_space",
    metadata,
    sa.Column("study_id", _ID, _study_fk(), primary_key=True),
    sa.Column("name", sa.String, primary_key=True),
    sa.Column("position", sa.Integer, nullable=False),  # registration order
    sa.Column("distribution", sa.Text, nullable=False),  # JSON: Distribution.to_dict()
)

trials = sa.Table(
    "dialed_trials",
    metadata,
    sa.Column("trial_id", _ID, primary_key=True, autoincrement=True),
    sa.Column("study_id", _ID, _study_fk(), nullable=False),
    sa.Column("number", sa.Integer, nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("seed", sa.BigInteger, nullable=False),
    sa.Column("params", sa.Text, nullable=False),  # JSON
    sa.Column("created_at", sa.Double, nullable=False),
    sa.Column("started_at", sa.Double),
    sa.Column("finished_at", sa.Double),
    sa.Column("heartbeat_at", sa.Double),
    sa.Column("wall_seconds", sa.Double),
    sa.Column("cpu_seconds", sa.Double),
    sa.Column("peak_memory_mb", sa.Double),
    sa.Column("worker", sa.String),
    sa.Column("error", sa.Text),
    sa.Column("environment", sa.Text, nullable=False),  # JSON
    sa.Column("user_attrs", sa.Text, nullable=False),  # JSON
    sa.Column("system_attrs", sa.Text, nullable=False),  # JSON
    sa.UniqueConstraint("study_id", "number"),
    # counts by state, and claiming the lowest-numbered waiting trial, read this index only
    sa.Index(None, "study_id", "state", "number"),
    # the engine's refetch of a study's newer trials (min_trial_id) is a range of this index
    sa.Index(None, "study_id", "trial_id"),
    sqlite_autoincrement=True,  # trial ids only grow: the engine refetches by min_trial_id
)


def _trial_fk() -> sa.ForeignKey:
    return sa.ForeignKey(trials.c.trial_id, ondelete="CASCADE")


trial_metrics = sa.Table(
    "dialed_trial_metrics",
    metadata,
    sa.Column("trial_id", _ID, _trial_fk(), primary_key=True),
    sa.Column("study_id", _ID, _study_fk(), nullable=False),  # copied so best_trial is indexed
    sa.Column("name", sa.String, primary_key=True),
    sa.Column("value", sa.Double, nullable=False),
    sa.Index(None, "study_id", "name", "value"),
)

trial_intermediate = sa.Table(
    "dialed_trial_intermediate",
    metadata,
    sa.Column("trial_id", _ID, _trial_fk(), primary_key=True),
    sa.Column("step", sa.BigInteger, primary_key=True, autoincrement=False),
    # SQLite stores NaN as NULL: a NULL here reads back as NaN
    sa.Column("value", sa.Double, nullable=True),
)

_VERSION_KEY = "schema_version"


def stored_version(conn: sa.Connection) -> int | None:
    """The schema version the database is stamped with; None for a database without dialed."""
    if not sa.inspect(conn).has_table(meta.name):
        return None
    text = conn.execute(sa.select(meta.c.value).where(meta.c.key == _VERSION_KEY)).scalar()
    if text is None:
        return None
    try:
        return int(text)
    except ValueError:
        raise StorageError(
            f"the database's {meta.name} table holds schema_version={text!r}, not a number; "
            "it was not written by dialed"
        ) from None


def check_version(version: int) -> None:
    """SchemaVersionError when the database was written by a newer dialed than this one."""
    if version > SCHEMA_VERSION:
        raise SchemaVersionError(
            f"this database was written by a newer dialed (schema {version}; this dialed reads "
            f"up to {SCHEMA_VERSION}): upgrade dialed"
        )


def create_schema(conn: sa.Connection) -> int:
    """Create whatever tables are missing and stamp the version; returns the stored version.

    Call it inside a write transaction that excludes other writers, so that two processes
    opening a new database at once create it once.
    """
    version = stored_version(conn)
    if version is not None:
        return version
    metadata.create_all(conn, checkfirst=True)
    conn.execute(sa.insert(meta).values(key=_VERSION_KEY, value=str(SCHEMA_VERSION)))
    return SCHEMA_VERSION
