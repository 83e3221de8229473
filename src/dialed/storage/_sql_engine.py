"""The database under :class:`~dialed.storage._sql.SQLStorage`: its URL, engine and transactions.

:class:`Database` checks the storage URL (one line naming what is wrong and the forms that
work), opens the SQLAlchemy engine, creates or checks the schema, and runs a function of a
connection as one transaction, retried with backoff while the database is busy:

- **SQLite**: WAL mode, a busy timeout for the write lock, ``BEGIN IMMEDIATE`` for every write
  transaction (the lock is held from its first read) and a plain ``BEGIN`` for reads; the WAL is
  synced at a durable commit (``synchronous=FULL``) and not at a running trial's bookkeeping
  (``NORMAL``).
- **PostgreSQL**: reads run as ``REPEATABLE READ, READ ONLY``; a running trial's bookkeeping
  commits with ``synchronous_commit`` off.

An SQLite file that cannot be written (a read-only file system, a file or folder without write
permission), or one opened with ``read_only=True``, is opened read-only (``mode=ro``; on a
read-only file system, where SQLite cannot make the WAL's shared-memory file, ``immutable=1``
when no write-ahead log is waiting to be merged): reading works, and a write stops with one line
saying that the file is read-only.
"""

from __future__ import annotations

import contextlib
import os
import random
import sqlite3
import time
import urllib.parse
from collections.abc import Callable
from typing import Any, TypeVar

import sqlalchemy as sa

from dialed._util import install_hint
from dialed.errors import StorageError
from dialed.storage import redact_url
from dialed.storage._schema import check_version, create_schema, stored_version

__all__ = ["URL_FORMS", "Database"]

_T = TypeVar("_T")

#: How long one statement waits for another process's write lock (SQLite), in seconds.
_BUSY_TIMEOUT_S = 60.0
#: Transactions that still find the database busy are retried this often, while the time spent
#: stays under the busy timeout.
_MAX_ATTEMPTS = 8
URL_FORMS = "sqlite:///path/to/file.db or postgresql+psycopg://user:password@host:5432/dbname"
#: PostgreSQL reads: one snapshot for the trials and their metrics.
_PG_SNAPSHOT = "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"
#: PostgreSQL: a running trial's bookkeeping commits without waiting for the WAL flush.
_PG_NO_FLUSH = "SET LOCAL synchronous_commit TO OFF"


class Database:
    """An SQLite file or a PostgreSQL database holding dialed's schema, opened from its URL.

    ``url`` is the URL other processes open the same database with (an SQLite path made
    absolute); ``shown`` is the URL with its password hidden, for messages.
    """

    def __init__(self, url: str, read_only: bool = False) -> None:
        #: Why this database is open for reading only (None: it can be written).
        self.read_only: str | None = "it was opened read-only" if read_only else None
        if not isinstance(url, str):
            raise StorageError(f"a storage URL is a string such as {URL_FORMS}, got {url!r}")
        self.url = url
        self.shown = redact_url(url)
        try:
            parsed = sa.make_url(url)
        except (sa.exc.ArgumentError, ValueError) as exc:
            raise StorageError(
                f"cannot read storage URL {self.shown!r} ({_one_line(exc)}); expected {URL_FORMS}"
            ) from None
        self._password = parsed.password if isinstance(parsed.password, str) else None
        backend = parsed.get_backend_name()
        if backend not in ("sqlite", "postgresql"):
            raise StorageError(
                f"cannot open storage {self.shown!r}: dialed stores studies in SQLite or "
                f"PostgreSQL, not {backend!r} (expected {URL_FORMS})"
            )
        self.postgres = backend == "postgresql"
        self.engine = self._create_engine(parsed)
        try:
            self._open_schema()
        except BaseException:
            self.engine.dispose()
            raise

    def dispose(self) -> None:
        self.engine.dispose()

    # -- connecting ------------------------------------------------------------------------
    def _create_engine(self, parsed: sa.URL) -> sa.Engine:
        kwargs: dict[str, Any] = {}
        if self.postgres:
            kwargs["pool_pre_ping"] = True  # a long-lived worker survives a server restart
            if "connect_timeout" not in parsed.query:
                kwargs["connect_args"] = {"connect_timeout": 10}
        else:
            path = self._sqlite_path(parsed.database)
            parsed = parsed.set(database=path)
            # other processes (workers started elsewhere) must reach this same file
            self.url = parsed.render_as_string(hide_password=False)
            kwargs["connect_args"] = {"timeout": _BUSY_TIMEOUT_S}
            if self.read_only is None:
                self.read_only = _unwritable(path)
            if self.read_only is not None:
                return self._read_only_engine(path)
        try:
            engine = sa.create_engine(parsed, **kwargs)
        except ImportError as exc:
            driver = exc.name or _one_line(exc)
            raise StorageError(
                f"cannot open storage {self.shown!r}: its database driver {driver!r} is not "
                f"installed (for PostgreSQL: {install_hint('postgres')})"
            ) from None
        except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError, TypeError) as exc:
            raise StorageError(
                f"cannot open storage {self.shown!r}: {self.scrub(exc)} (expected {URL_FORMS})"
            ) from None
        if not self.postgres:
            sa.event.listen(engine, "connect", _sqlite_on_connect)
            sa.event.listen(engine, "begin", _sqlite_on_begin)
        return engine

    def _read_only_engine(self, path: str) -> sa.Engine:
        """An engine whose connections read the SQLite file at ``path`` and never write."""
        if not os.path.isfile(path):
            raise StorageError(
                f"cannot open storage {self.shown!r}: no database file at {path} "
                f"({self.read_only}, and a read-only storage creates nothing)"
            )
        uri = f"file:{urllib.parse.quote(path)}?mode=ro"
        try:  # mode=ro needs the WAL's shared-memory file, which SQLite makes if it can
            with contextlib.closing(sqlite3.connect(uri, uri=True)) as probe:
                probe.execute("SELECT 1 FROM sqlite_master").fetchall()
        except sqlite3.Error:
            wal = path + "-wal"
            if os.path.exists(wal) and os.path.getsize(wal) > 0:
                raise StorageError(
                    f"cannot open storage {self.shown!r}: {self.read_only}, and its write-ahead "
                    f"log {wal} holds changes that only a writer can merge; copy the database "
                    "and its -wal file to a writable place"
                ) from None
            uri = f"file:{urllib.parse.quote(path)}?immutable=1"  # nothing writes it

        def connect() -> sqlite3.Connection:
            return sqlite3.connect(uri, uri=True, timeout=_BUSY_TIMEOUT_S,
                                   check_same_thread=False)

        engine = sa.create_engine("sqlite://", creator=connect)
        sa.event.listen(engine, "connect", _sqlite_on_connect_read_only)
        sa.event.listen(engine, "begin", _sqlite_on_begin)
        return engine

    def _sqlite_path(self, database: str | None) -> str:
        if not database or database == ":memory:" or database.startswith("file:"):
            raise StorageError(
                f"cannot open storage {self.shown!r}: an SQLite storage needs a file path "
                "(sqlite:///path/to/file.db); use 'memory' for a storage in this process only"
            )
        path = os.path.abspath(database)  # relative to the working directory, fixed now
        directory = os.path.dirname(path)
        if not os.path.isdir(directory):
            raise StorageError(
                f"cannot open storage {self.shown!r}: the directory {directory} of the SQLite "
                f"file {database} does not exist (create it first)"
            )
        if os.path.isdir(path):
            raise StorageError(
                f"cannot open storage {self.shown!r}: {path} is a directory, not a database file"
            )
        return path

    def _open_schema(self) -> None:
        try:
            version = self.run(stored_version, write=False)
            if version is None and self.read_only is not None:
                raise StorageError(
                    f"cannot open storage {self.shown!r}: it is not a dialed database (it has "
                    f"no dialed tables), and it is read-only ({self.read_only})"
                )
            if version is None:
                version = self.run(self._create_schema, write=True)
        except StorageError as exc:
            if not isinstance(exc.__cause__, sa.exc.DBAPIError):
                raise
            # the server cannot be reached, the file is not a database, ...
            cause: BaseException = exc.__cause__
        except sa.exc.SQLAlchemyError as exc:
            cause = exc
        else:
            check_version(version)
            return
        raise StorageError(f"cannot open storage {self.shown!r}: {self.scrub(cause)}") from None

    def _create_schema(self, conn: sa.Connection) -> int:
        if self.postgres:  # two processes creating one new database: one creates, one waits
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(7204551833)"))
        return create_schema(conn)

    # -- transactions ----------------------------------------------------------------------
    def run(self, fn: Callable[[sa.Connection], _T], *, write: bool = True,
            durable: bool = True) -> _T:
        """``fn(connection)`` in one transaction, retried while the database is busy.

        ``durable=False``: a running trial's bookkeeping, not waited onto the disk (see the
        module's docstring).
        """
        if write and self.read_only is not None:
            raise StorageError(
                f"storage {self.shown!r} is read-only ({self.read_only}): it can be read "
                "(dialed studies, trials, best, export, report, dashboard) but not written"
            )
        start, attempt = time.monotonic(), 0
        while True:
            attempt += 1
            try:
                with self.engine.connect() as conn:
                    conn.execution_options(dialed_write=write, dialed_durable=durable)
                    with conn.begin():
                        if self.postgres and not write:
                            conn.execute(sa.text(_PG_SNAPSHOT))
                        elif self.postgres and not durable:
                            conn.execute(sa.text(_PG_NO_FLUSH))
                        return fn(conn)
            except sa.exc.TimeoutError:  # every pooled connection in use for pool_timeout
                raise StorageError(
                    f"storage {self.shown!r}: no free connection in this process's pool; "
                    "too many threads use one storage at once"
                ) from None
            except sa.exc.DBAPIError as exc:
                elapsed = time.monotonic() - start
                if not _is_busy(exc):
                    raise StorageError(f"storage {self.shown!r}: {self.scrub(exc)}") from exc
                if attempt >= _MAX_ATTEMPTS or elapsed >= _BUSY_TIMEOUT_S:
                    raise StorageError(
                        f"storage {self.shown!r} stayed busy for {elapsed:.0f} s ({attempt} "
                        "tries): another process holds a long write transaction on it"
                    ) from None
                time.sleep(min(1.0, 0.02 * 2**attempt) * random.uniform(0.5, 1.5))

    def scrub(self, exc: BaseException) -> str:
        """The error in one line, without the URL's password."""
        text = _one_line(getattr(exc, "orig", None) or exc)
        return text.replace(self._password, "***") if self._password else text

    def insert(self, table: sa.Table) -> Any:
        """An INSERT that can say ON CONFLICT, in this database's dialect."""
        # the dialect's module on first use: an SQLite study never imports PostgreSQL's
        # (tests/test_imports.py)
        if self.postgres:
            from sqlalchemy.dialects import postgresql

            return postgresql.insert(table)
        from sqlalchemy.dialects import sqlite

        return sqlite.insert(table)


# -- SQLite connection setup ---------------------------------------------------------------
def _sqlite_on_connect(dbapi_connection: Any, connection_record: Any) -> None:
    # SQLAlchemy emits BEGIN itself (below); the driver must not start transactions on its own
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
    finally:
        cursor.close()


def _sqlite_on_connect_read_only(dbapi_connection: Any, connection_record: Any) -> None:
    dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself (below)


def _unwritable(path: str) -> str | None:
    """Why the SQLite file at ``path`` (or the folder it and its WAL files live in) cannot be
    written, or None when it can (or does not exist yet and its folder can hold it)."""
    folder = os.path.dirname(path)
    try:
        if os.statvfs(folder).f_flag & os.ST_RDONLY:
            return f"{folder} is on a read-only file system"
    except OSError:
        return None
    if os.path.exists(path) and not os.access(path, os.W_OK):
        return f"{path} is not writable"
    if os.path.exists(path) and not os.access(folder, os.W_OK):
        return f"its folder {folder} is not writable"
    return None


def _sqlite_on_begin(conn: sa.Connection) -> None:
    options = conn.get_execution_options()
    write = options.get("dialed_write", True)
    if write:  # FULL syncs the WAL at the commit; NORMAL leaves it to the next sync
        sync = "FULL" if options.get("dialed_durable", True) else "NORMAL"
        info = conn.connection.info
        if info.get("dialed_sync") != sync:
            conn.exec_driver_sql(f"PRAGMA synchronous={sync}")
            info["dialed_sync"] = sync
    conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def _is_busy(exc: sa.exc.DBAPIError) -> bool:
    """Whether waiting and running the transaction again can succeed."""
    if isinstance(exc, sa.exc.OperationalError):
        text = str(exc.orig).lower()
        if "database is locked" in text or "busy" in text:
            return True
    # PostgreSQL: serialization failure, deadlock detected
    return getattr(exc.orig, "sqlstate", None) in ("40001", "40P01")


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


