"""Open an Optuna storage by its location, through Optuna's own storage classes.

A location is an RDB URL (``sqlite:///optuna.db``, ``postgresql+psycopg://...``), a JournalStorage
file (``journal:///path/optuna.log`` or a plain path), or a plain path to an SQLite file. Reading
never writes: Optuna's ``RDBStorage`` creates its tables and ``JournalFileBackend`` its file
when they are missing, so a location is checked to hold an Optuna storage before either opens.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from dialed._util import install_hint
from dialed.errors import ConfigError, StorageError
from dialed.storage import redact_url

if TYPE_CHECKING:
    from optuna.storages import BaseStorage

__all__ = ["OptunaLocation", "import_optuna_module", "open_optuna_storage", "parse_location"]

_SQLITE_MAGIC = b"SQLite format 3\x00"
_TABLES = ("studies", "trials", "version_info")
_VALID = ("an Optuna storage: sqlite:///optuna.db, postgresql+psycopg://user:pw@host/db, "
          "or a JournalStorage file (journal:///path/optuna.log or its path)")


class OptunaLocation:
    """Where an Optuna storage is: ``kind`` is ``"rdb"`` (``url``) or ``"journal"`` (``path``)."""

    def __init__(self, kind: str, url: str | None = None, path: Path | None = None) -> None:
        self.kind, self.url, self.path = kind, url, path

    @property
    def shown(self) -> str:
        """The location to print and record (a password replaced by ***)."""
        return redact_url(self.url) if self.url is not None else f"journal:///{self.path}"

    def __repr__(self) -> str:
        return f"OptunaLocation({self.shown!r})"


def import_optuna_module() -> Any:
    """The ``optuna`` package, or a ConfigError saying how to install it."""
    try:
        import optuna
    except ImportError:
        hint = install_hint("optuna")
        raise ConfigError(f"reading Optuna storages needs optuna: {hint}") from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def parse_location(location: str, *, for_writing: bool = False) -> OptunaLocation:
    """What ``location`` names; ConfigError in one line when it names no Optuna storage."""
    if not isinstance(location, str) or not location.strip():
        raise ConfigError(f"the Optuna location must be {_VALID}, got {location!r}")
    text = location.strip()
    if text.startswith("journal:"):
        raw = text[len("journal:"):]
        raw = raw[2:] if raw.startswith("//") else raw
        return _journal(Path(raw), text, for_writing)
    if "://" in text:
        scheme = text.split("://", 1)[0].lower()
        if not (scheme.startswith("sqlite") or scheme.startswith("postgresql")
                or scheme.startswith("mysql")):
            raise ConfigError(f"{redact_url(text)!r} is not {_VALID}")
        if scheme.startswith("sqlite"):
            path = _sqlite_path(text)
            if path is not None:
                if not for_writing:
                    _check_sqlite_file(path, redact_url(text))
                # one file, one name: a relative path is recorded as the absolute one
                return OptunaLocation("rdb", url=f"{text.split('://', 1)[0]}:///{path.resolve()}")
        return OptunaLocation("rdb", url=text)
    path = Path(text)
    if path.is_file() and _is_sqlite(path):
        return OptunaLocation("rdb", url=f"sqlite:///{path.resolve()}")
    if for_writing and path.suffix.lower() in (".db", ".sqlite", ".sqlite3"):
        return OptunaLocation("rdb", url=f"sqlite:///{path.resolve()}")
    return _journal(path, text, for_writing)


def _journal(path: Path, text: str, for_writing: bool) -> OptunaLocation:
    if not for_writing:
        if not path.is_file():
            raise ConfigError(f"{text!r}: no such file; expected {_VALID}")
        if _is_sqlite(path):
            return OptunaLocation("rdb", url=f"sqlite:///{path.resolve()}")
    return OptunaLocation("journal", path=path.resolve())


def _sqlite_path(url: str) -> Path | None:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        database = make_url(url).database
    except ArgumentError:
        raise ConfigError(f"{redact_url(url)!r} is not a valid URL; expected {_VALID}") from None
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def _is_sqlite(path: Path) -> bool:
    try:
        with path.open("rb") as f:
            return f.read(16) == _SQLITE_MAGIC
    except OSError:
        return False


def _check_sqlite_file(path: Path, shown: str) -> None:
    if not path.is_file():
        raise ConfigError(f"{shown}: the database file {path} does not exist")
    if path.stat().st_size and not _is_sqlite(path):
        raise ConfigError(f"{shown}: {path} is not an SQLite database; expected {_VALID}")


def _check_tables(url: str, shown: str) -> None:
    """ConfigError unless the database holds Optuna's tables (read without writing)."""
    import sqlalchemy as sa

    try:
        engine = sa.create_engine(url)
    except (sa.exc.ArgumentError, ImportError, ValueError) as exc:
        raise ConfigError(f"{shown} is not a usable storage URL ({exc}); expected {_VALID}")\
            from None
    try:
        with engine.connect() as conn:
            names = set(sa.inspect(conn).get_table_names())
    except sa.exc.SQLAlchemyError as exc:
        first = str(exc.orig if hasattr(exc, "orig") else exc).strip().splitlines()
        raise StorageError(f"cannot read {shown}: {first[0] if first else type(exc).__name__}")\
            from None
    finally:
        engine.dispose()
    missing = [t for t in _TABLES if t not in names]
    if missing:
        raise ConfigError(f"{shown} holds no Optuna storage (no {', '.join(missing)} table)")


def open_optuna_storage(location: OptunaLocation, *, for_writing: bool = False) -> BaseStorage:
    """An Optuna storage at ``location``, opened with Optuna's own classes (checked first)."""
    optuna = import_optuna_module()
    if location.kind == "journal":
        from optuna.storages.journal import JournalFileBackend, JournalStorage

        if location.path is None:  # pragma: no cover - parse_location always sets it
            raise ConfigError("a journal location needs a path")
        try:
            return JournalStorage(JournalFileBackend(str(location.path)))
        except Exception as exc:  # a file that is not a journal: Optuna's own error, one line
            first = str(exc).strip().splitlines()
            raise ConfigError(
                f"{location.shown} is not an Optuna JournalStorage file "
                f"({type(exc).__name__}: {first[0] if first else ''})"
            ) from None
    url = location.url or ""
    if not for_writing:
        _check_tables(url, location.shown)
    try:
        opened: BaseStorage = optuna.storages.RDBStorage(
            url, skip_table_creation=not for_writing)
    except RuntimeError as exc:  # Optuna refuses the schema version: its reason, one line
        reason = " ".join(str(exc).split())
        raise StorageError(f"Optuna refuses {location.shown}: {reason}") from None
    except Exception as exc:
        lines = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        why = lines[0] if lines else type(exc).__name__
        raise StorageError(f"cannot open {location.shown}: {why}") from None
    return opened
