"""The SQL storage on SQLite: the shared suite, plus what only a database file has."""

from __future__ import annotations

import pickle
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from dialed.errors import SchemaVersionError, StorageError
from dialed.storage import SCHEMA_VERSION, Storage, open_storage
from dialed.storage._schema import trial_metrics, trials
from dialed.storage._sql import SQLStorage
from dialed.testing.storage import StorageSuite
from dialed.trial import TrialState


def _url(path: Path) -> str:
    return f"sqlite:///{path}"


class TestSQLiteStorage(StorageSuite):
    @pytest.fixture
    def storage(self, tmp_path: Path) -> Iterator[Storage]:
        storage = SQLStorage(_url(tmp_path / "study.db"))
        yield storage
        storage.close()


@pytest.fixture
def db(tmp_path: Path) -> Iterator[SQLStorage]:
    storage = SQLStorage(_url(tmp_path / "study.db"))
    yield storage
    storage.close()


def test_open_storage_dispatches_sqlite_urls(tmp_path: Path) -> None:
    url = _url(tmp_path / "x.db")
    storage = open_storage(url)
    assert isinstance(storage, SQLStorage) and storage.url == url
    storage.close()


def test_the_file_is_in_wal_mode(db: SQLStorage, tmp_path: Path) -> None:
    db.create_study("s", metrics={"loss": "minimize"}, seed=1)
    with closing(sqlite3.connect(tmp_path / "study.db")) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_reopening_the_file_keeps_everything(tmp_path: Path) -> None:
    url = _url(tmp_path / "study.db")
    first = SQLStorage(url)
    study = first.create_study("s", metrics={"loss": "minimize"}, seed=3, attrs={"a": [1]})
    space = first.register_params(study.study_id, {"x": {"type": "float", "low": 0.0,
                                                         "high": 1.0, "family": "optimizer"}})
    rec = first.create_trial(study.study_id, worker="w", params={"x": 0.1})
    first.report(rec.trial_id, 1, 0.5)
    first.finish_trial(rec.trial_id, TrialState.COMPLETE, metrics={"loss": 0.3})
    first.enqueue_trials(study.study_id, [{"x": 0.2}], once_key="grid")
    before = first.get_trials(study.study_id)
    summary = first.list_studies()
    first.close()

    second = SQLStorage(url)
    assert second.get_study("s").attrs == {"a": [1], "grid": 1}
    assert second.get_space(study.study_id) == space
    assert second.get_trials(study.study_id) == before
    assert second.list_studies() == summary
    assert second.create_trial(study.study_id).number == 2
    second.close()


def test_pickles_as_its_url(db: SQLStorage) -> None:
    study = db.create_study("s", metrics={}, seed=1)
    copy = pickle.loads(pickle.dumps(db))
    assert isinstance(copy, SQLStorage) and copy.url == db.url
    assert copy.get_study("s") == study
    copy.close()


def test_relative_path_is_relative_to_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    storage = SQLStorage("sqlite:///dialed.db")
    storage.create_study("s", metrics={}, seed=1)
    assert (tmp_path / "dialed.db").is_file()
    # the URL handed to other processes names the file absolutely: a worker started in
    # another directory reaches the same file
    assert storage.url == f"sqlite:///{tmp_path / 'dialed.db'}"
    storage.close()


def test_a_newer_schema_refuses_to_open(tmp_path: Path) -> None:
    path = tmp_path / "study.db"
    SQLStorage(_url(path)).close()
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.execute("UPDATE dialed_meta SET value = ? WHERE key = 'schema_version'",
                     (str(SCHEMA_VERSION + 1),))
    with pytest.raises(SchemaVersionError, match="upgrade dialed") as info:
        SQLStorage(_url(path))
    assert f"schema {SCHEMA_VERSION + 1}" in str(info.value)


def test_the_schema_version_is_stamped(db: SQLStorage, tmp_path: Path) -> None:
    with closing(sqlite3.connect(tmp_path / "study.db")) as conn:
        row = conn.execute("SELECT value FROM dialed_meta WHERE key = 'schema_version'")
        assert row.fetchone()[0] == str(SCHEMA_VERSION)


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("sqlite:////nonexistent/dir/x.db", "/nonexistent/dir"),
        ("nosuch://x", "nosuch"),
        ("postgresql+psycopg://u:secret@127.0.0.1:1/db", "postgresql+psycopg://u:***@127.0.0.1"),
        ("postgresql+nosuchdriver://u:secret@127.0.0.1:1/db", "u:***@"),
        ("sqlite://", "file path"),
        ("sqlite:///:memory:", "file path"),
        ("sqlite//no/colon", "sqlite//no/colon"),
    ],
)
def test_a_bad_url_is_one_clear_line(url: str, says: str) -> None:
    for opener in (SQLStorage, open_storage):
        with pytest.raises(StorageError) as info:
            opener(url)
        message = str(info.value)
        assert says in message
        assert "secret" not in message
        assert "\n" not in message


def test_a_directory_or_a_foreign_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="is a directory"):
        SQLStorage(_url(tmp_path))
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not an SQLite database, just bytes" * 100)
    with pytest.raises(StorageError, match="cannot open storage") as info:
        SQLStorage(_url(junk))
    assert "\n" not in str(info.value)


def _fill(db: SQLStorage, n: int) -> int:
    """A study with ``n`` complete trials, written in bulk (the public API is one per call)."""
    sid = db.create_study("big", metrics={"loss": "minimize"}, seed=1).study_id
    db.enqueue_trials(sid, [{"i": i} for i in range(n)])
    engine = db._engine
    with engine.begin() as conn:
        conn.execute(sa.update(trials).where(trials.c.study_id == sid).values(
            state="complete", started_at=1.0, finished_at=2.0))
        ids = conn.execute(sa.select(trials.c.trial_id, trials.c.number)
                           .where(trials.c.study_id == sid)).all()
        conn.execute(sa.insert(trial_metrics), [
            {"trial_id": tid, "study_id": sid, "name": "loss",
             "value": float((number * 7919) % n)}
            for tid, number in ids
        ])
    return sid


def _query_plans(db: SQLStorage, call: Callable[[], object]) -> list[tuple[str, str]]:
    """Each SELECT that ``call`` runs, with SQLite's plan for it."""
    statements: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any,
                executemany: bool) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append((statement, parameters))

    sa.event.listen(db._engine, "before_cursor_execute", capture)
    try:
        call()
    finally:
        sa.event.remove(db._engine, "before_cursor_execute", capture)
    raw = db._engine.raw_connection()
    try:
        return [
            (statement, " | ".join(row[3] for row in raw.cursor().execute(
                f"EXPLAIN QUERY PLAN {statement}", parameters)))
            for statement, parameters in statements
        ]
    finally:
        raw.close()


@pytest.mark.parametrize("direction", ["minimize", "maximize"])
def test_best_trial_walks_an_index(db: SQLStorage, direction: str) -> None:
    sid = _fill(db, 2000)
    plans = _query_plans(db, lambda: db.best_trial(sid, "loss", direction))
    on_metrics = [(s, p) for s, p in plans if "FROM dialed_trial_metrics" in s and "LIMIT" in s]
    assert len(on_metrics) == 2  # the best value, then the lowest number among its ties
    for _, plan in on_metrics:
        assert "USING INDEX ix_dialed_trial_metrics_study_id_name_value" in plan, plan
    best_value = on_metrics[0][1]
    assert "TEMP B-TREE" not in best_value, best_value  # no sort of every value
    assert "value=?" in on_metrics[1][1]  # the ties: one equality lookup


def test_refetching_newer_trials_reads_a_range(db: SQLStorage) -> None:
    sid = _fill(db, 2000)
    newest = db.get_trial_by_number(sid, 1990).trial_id
    plans = _query_plans(db, lambda: db.get_trials(sid, min_trial_id=newest))
    assert len(plans) == 3  # the trials, their metrics, their intermediate values
    for _, plan in plans:
        assert "ix_dialed_trials_study_id_trial_id (study_id=? AND trial_id>?)" in plan, plan
        assert "SCAN" not in plan, plan


def test_best_trial_and_summary_on_20000_trials(db: SQLStorage) -> None:
    # how fast is a matter of the query plans (test_best_trial_walks_an_index) and of the
    # scale benchmark; here, that the indexed reads give the right answers at scale
    sid = _fill(db, 20_000)
    best = db.best_trial(sid, "loss", "minimize")
    top = db.best_trial(sid, "loss", "maximize")
    summary = db.list_studies()
    assert best is not None and best.metrics["loss"] == 0.0
    assert top is not None and top.metrics["loss"] == 19_999.0
    assert summary[0].best_value == 0.0 and summary[0].counts == {"complete": 20_000}


def test_get_trials_uses_three_queries_however_many_trials(db: SQLStorage) -> None:
    sid = _fill(db, 300)
    count = 0

    def counter(*args: Any) -> None:
        nonlocal count
        count += 1

    sa.event.listen(db._engine, "before_cursor_execute", counter)
    try:
        got = db.get_trials(sid, min_trial_id=100)
    finally:
        sa.event.remove(db._engine, "before_cursor_execute", counter)
    assert len(got) == 201 and all(t.metrics for t in got)
    assert count <= 4  # BEGIN is not a cursor statement; trials, metrics, intermediate


def test_reads_do_not_take_the_write_lock(db: SQLStorage, tmp_path: Path) -> None:
    sid = db.create_study("s", metrics={}, seed=1).study_id
    writer = sqlite3.connect(tmp_path / "study.db", isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")  # another process is mid-write
        start = time.perf_counter()
        assert db.get_trials(sid) == []
        assert db.get_study("s").study_id == sid
        assert time.perf_counter() - start < 30.0  # a blocked read would wait 60 s (busy timeout)
    finally:
        writer.execute("ROLLBACK")
        writer.close()


def test_a_writer_waits_for_the_lock_instead_of_failing(db: SQLStorage, tmp_path: Path) -> None:
    sid = db.create_study("s", metrics={}, seed=1).study_id
    writer = sqlite3.connect(tmp_path / "study.db", isolation_level=None,
                             check_same_thread=False)

    def release() -> None:
        time.sleep(0.5)
        writer.execute("ROLLBACK")

    writer.execute("BEGIN IMMEDIATE")
    thread = threading.Thread(target=release)
    thread.start()
    try:
        rec = db.create_trial(sid)  # blocks until the other writer is done, then succeeds
        assert rec.number == 0
    finally:
        thread.join()
        writer.close()


def test_many_openers_of_a_new_file_create_it_once(tmp_path: Path) -> None:
    url = _url(tmp_path / "fresh.db")
    start = threading.Barrier(6)
    errors: list[BaseException] = []

    def open_and_write(i: int) -> None:
        try:
            start.wait(timeout=30)
            storage = SQLStorage(url)  # each its own engine, like a process of its own
            storage.create_study(f"s{i}", metrics={}, seed=i)
            storage.close()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_and_write, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    storage = SQLStorage(url)
    assert sorted(s.name for s in storage.list_studies()) == [f"s{i}" for i in range(6)]
    storage.close()


def test_a_long_lock_becomes_one_clear_error(
    db: SQLStorage, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dialed.storage._sql_engine as sql_engine

    sid = db.create_study("s", metrics={}, seed=1).study_id
    monkeypatch.setattr(sql_engine, "_BUSY_TIMEOUT_S", 0.2)
    quick = SQLStorage(_url(tmp_path / "study.db"))  # waits 0.2 s for a lock, not 60 s
    writer = sqlite3.connect(tmp_path / "study.db", isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")  # another process holds the write lock and keeps it
    try:
        with pytest.raises(StorageError, match="stayed busy") as info:
            quick.create_trial(sid)
        assert "\n" not in str(info.value)
        assert quick.get_trials(sid) == []  # reads still work
    finally:
        writer.execute("ROLLBACK")
        writer.close()
        quick.close()
    assert db.create_trial(sid).number == 0


def test_results_are_synced_and_running_bookkeeping_is_not(db: SQLStorage) -> None:
    """A finished trial is on disk when finish_trial returns (synchronous=FULL); a running
    trial's creation and heartbeats survive a crash of the process without a disk sync each
    (synchronous=NORMAL)."""
    sid = db.create_study("s", metrics={"loss": "minimize"}, seed=1).study_id

    def sync_level() -> int:  # of the pooled connection the last transaction used
        raw = db._engine.raw_connection()
        try:
            return int(raw.cursor().execute("PRAGMA synchronous").fetchone()[0])
        finally:
            raw.close()

    normal, full = 1, 2
    rec = db.create_trial(sid, worker="w")
    assert sync_level() == normal
    db.heartbeat(rec.trial_id)
    db.report(rec.trial_id, 0, 0.5)
    assert sync_level() == normal
    db.finish_trial(rec.trial_id, TrialState.COMPLETE, metrics={"loss": 0.5})
    assert sync_level() == full
    db.create_trial(sid, state=TrialState.WAITING, params={"x": 1})  # queued work: durable
    assert sync_level() == full
