"""The SQL storage on PostgreSQL: the shared suite, and the query plans that keep it fast.

Set ``DIALED_TEST_POSTGRES_URL`` (``postgresql+psycopg://user:password@host:5432/dbname``) to a
database these tests may fill and empty; without it they are skipped. ``.ci/run`` starts the
local PostgreSQL server and sets it, so in CI they run.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from dialed.storage import Storage
from dialed.storage._schema import metadata, trial_metrics, trials
from dialed.storage._sql import SQLStorage
from dialed.testing.storage import StorageSuite
from dialed.trial import TrialState

URL = os.environ.get("DIALED_TEST_POSTGRES_URL")

pytestmark = pytest.mark.skipif(URL is None, reason="DIALED_TEST_POSTGRES_URL is not set")


def _empty(url: str) -> None:
    engine = sa.create_engine(url)
    try:
        metadata.drop_all(engine)
    finally:
        engine.dispose()


class TestPostgreSQLStorage(StorageSuite):
    @pytest.fixture
    def storage(self) -> Iterator[Storage]:
        if URL is None:  # pragma: no cover - skipped above
            pytest.skip("DIALED_TEST_POSTGRES_URL is not set")
        _empty(URL)
        storage = SQLStorage(URL)
        yield storage
        storage.close()
        _empty(URL)


@pytest.fixture
def db() -> Iterator[SQLStorage]:
    if URL is None:  # pragma: no cover - skipped above
        pytest.skip("DIALED_TEST_POSTGRES_URL is not set")
    _empty(URL)
    storage = SQLStorage(URL)
    yield storage
    storage.close()
    _empty(URL)


def _fill(db: SQLStorage, n: int) -> int:
    """A study with ``n`` complete trials written in bulk by the server, with fresh statistics."""
    sid = db.create_study("big", metrics={"loss": "minimize"}, seed=1).study_id
    with db._engine.begin() as conn:
        conn.execute(sa.text(
            f"INSERT INTO {trials.name} (study_id, number, state, seed, params, created_at, "
            "started_at, finished_at, environment, user_attrs, system_attrs) "
            "SELECT :sid, i, 'complete', i, '{\"i\": ' || i || '}', 1.0, 1.0, 2.0, '{}', '{}', "
            "'{}' FROM generate_series(0, :n - 1) AS i"
        ), {"sid": sid, "n": n})
        conn.execute(sa.text(
            f"INSERT INTO {trial_metrics.name} (trial_id, study_id, name, value) "
            "SELECT trial_id, study_id, 'loss', ((number::bigint * 7919) % :n)::float8 "
            f"FROM {trials.name} WHERE study_id = :sid"
        ), {"sid": sid, "n": n})
    with db._engine.connect() as conn:  # what autovacuum does after a bulk load
        conn.execution_options(isolation_level="AUTOCOMMIT")
        conn.exec_driver_sql(f"ANALYZE {trials.name}, {trial_metrics.name}")
    return sid


def _query_plans(db: SQLStorage, call: Callable[[], object]) -> list[tuple[str, str]]:
    """Each SELECT that ``call`` runs, with PostgreSQL's plan for it (EXPLAIN, one line)."""
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
        cursor = raw.cursor()
        plans = []
        for statement, parameters in statements:
            cursor.execute(f"EXPLAIN {statement}", parameters)
            plans.append((statement, " | ".join(row[0].strip() for row in cursor.fetchall())))
        return plans
    finally:
        raw.close()


@pytest.mark.parametrize("direction", ["minimize", "maximize"])
def test_best_trial_walks_an_index(db: SQLStorage, direction: str) -> None:
    sid = _fill(db, 20_000)
    plans = _query_plans(db, lambda: db.best_trial(sid, "loss", direction))
    on_metrics = [(s, p) for s, p in plans if "FROM dialed_trial_metrics" in s and "LIMIT" in s]
    assert len(on_metrics) == 2  # the best value, then the lowest number among its ties
    for _, plan in on_metrics:
        assert "ix_dialed_trial_metrics_study_id_name_value" in plan, plan
        assert "Seq Scan" not in plan, plan
    best_value = on_metrics[0][1]
    assert "Sort" not in best_value, best_value  # the first row of the index, no sort
    assert "value = " in on_metrics[1][1], on_metrics[1][1]  # the ties: one equality lookup


def test_refetching_newer_trials_reads_a_range(db: SQLStorage) -> None:
    sid = _fill(db, 20_000)
    newest = db.get_trial_by_number(sid, 19_990).trial_id
    plans = _query_plans(db, lambda: db.get_trials(sid, min_trial_id=newest))
    assert len(plans) == 3  # the trials, their metrics, their intermediate values
    for _, plan in plans:
        assert "Seq Scan on dialed_trials" not in plan, plan
        assert "ix_dialed_trials_study_id_trial_id" in plan or "pk_dialed_trials" in plan, plan


def test_best_and_counts_on_100000_trials(db: SQLStorage) -> None:
    # how fast is a matter of the query plans (test_best_trial_walks_an_index) and of the
    # scale benchmark; here, that the indexed reads give the right answers at scale
    sid = _fill(db, 100_000)
    for direction in ("minimize", "maximize"):
        best = db.best_trial(sid, "loss", direction)
        assert best is not None
        assert best.metrics["loss"] == (0.0 if direction == "minimize" else 99_999.0)
    assert db.count_trials(sid) == 100_000


def test_results_wait_for_the_wal_and_running_bookkeeping_does_not(db: SQLStorage) -> None:
    """A finished trial commits with the WAL flushed; a running trial's creation, heartbeats and
    reports commit with ``synchronous_commit=off`` (safe from a crash of any process)."""
    sid = db.create_study("s", metrics={"loss": "minimize"}, seed=1).study_id
    statements: list[str] = []

    def capture(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any,
                executemany: bool) -> None:
        statements.append(statement)

    def no_flush(call: Callable[[], object]) -> bool:
        statements.clear()
        call()
        return any("synchronous_commit" in s for s in statements)

    sa.event.listen(db._engine, "before_cursor_execute", capture)
    try:
        rec = db.create_trial(sid, worker="w")
        assert no_flush(lambda: db.create_trial(sid, worker="w"))
        assert no_flush(lambda: db.heartbeat(rec.trial_id))
        assert no_flush(lambda: db.report(rec.trial_id, 0, 0.5))
        assert not no_flush(lambda: db.finish_trial(rec.trial_id, TrialState.COMPLETE,
                                                    metrics={"loss": 0.5}))
        assert not no_flush(lambda: db.enqueue_trials(sid, [{"x": 1}]))
        assert not no_flush(lambda: db.get_trials(sid))
    finally:
        sa.event.remove(db._engine, "before_cursor_execute", capture)
    with db._engine.connect() as conn:  # SET LOCAL: the pooled connection is back to normal
        assert conn.exec_driver_sql("SHOW synchronous_commit").scalar_one() == "on"
