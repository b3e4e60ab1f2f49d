"""Enqueue for asynchronous enrichment, on PostgreSQL and SQLite (story 6.5, AC2/AC3/AC7)."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa
from structlog.testing import capture_logs

from tests.helpers import recorded_statements
from work_data_hub.errors import StorageError
from work_data_hub.infrastructure.db import tables
from work_data_hub.infrastructure.enrichment.mapping_repository import CompanyMappingRepository
from work_data_hub.infrastructure.enrichment.types import EnqueueResult

REQUESTS = tables.enrichment_requests


def _request(name: str) -> dict[str, str]:
    return {
        "raw_name": f"{name}有限公司 ",
        "normalized_name": name,
        "temp_id": f"IN{name[-4:]:0>16}",
    }


def _names(count: int, prefix: str = "公司") -> list[str]:
    return [f"{prefix}{i:04d}" for i in range(count)]


def _open_counts(conn: sa.Connection) -> dict[str, int]:
    rows = conn.execute(
        sa.select(REQUESTS.c.normalized_name, sa.func.count())
        .where(REQUESTS.c.status.in_(tables.OPEN_REQUEST_STATUSES))
        .group_by(REQUESTS.c.normalized_name)
    )
    return {str(name): int(count) for name, count in rows}


def _set_status(conn: sa.Connection, status: str) -> None:
    conn.execute(sa.update(REQUESTS).values(status=status))


def test_enqueue_inserts_pending_requests_with_the_given_fields(db_conn: sa.Connection) -> None:
    result = CompanyMappingRepository(db_conn).enqueue_for_enrichment([_request("甲公司")])

    row = db_conn.execute(sa.select(REQUESTS)).one()
    assert result == EnqueueResult(queued_count=1, skipped_count=0)
    expected = _request("甲公司")
    assert (row.raw_name, row.normalized_name, row.temp_id) == (
        expected["raw_name"],
        expected["normalized_name"],
        expected["temp_id"],
    )
    assert row.status == "pending"
    assert row.attempts == 0
    assert row.created_at.tzinfo is not None


def test_enqueue_of_a_batch_runs_one_statement(db_conn: sa.Connection) -> None:
    repository = CompanyMappingRepository(db_conn)
    with recorded_statements(db_conn) as seen:
        result = repository.enqueue_for_enrichment([_request(n) for n in _names(2500)])

    assert result.queued_count == 2500
    assert len(seen) == 1


def test_enqueue_counts_repeats_inside_the_batch_as_skipped(db_conn: sa.Connection) -> None:
    batch = [_request("甲"), _request("乙"), _request("甲"), _request("甲")]

    result = CompanyMappingRepository(db_conn).enqueue_for_enrichment(batch)

    assert result == EnqueueResult(queued_count=2, skipped_count=2)
    assert _open_counts(db_conn) == {"甲": 1, "乙": 1}


def test_enqueue_skips_names_with_a_pending_request(db_conn: sa.Connection) -> None:
    repository = CompanyMappingRepository(db_conn)
    repository.enqueue_for_enrichment([_request("甲"), _request("乙")])

    result = repository.enqueue_for_enrichment([_request("甲"), _request("乙"), _request("丙")])

    assert result == EnqueueResult(queued_count=1, skipped_count=2)
    assert _open_counts(db_conn) == {"甲": 1, "乙": 1, "丙": 1}


def test_enqueue_skips_names_with_a_processing_request(db_conn: sa.Connection) -> None:
    repository = CompanyMappingRepository(db_conn)
    repository.enqueue_for_enrichment([_request("甲")])
    _set_status(db_conn, "processing")

    result = repository.enqueue_for_enrichment([_request("甲")])

    assert result == EnqueueResult(queued_count=0, skipped_count=1)
    assert _open_counts(db_conn) == {"甲": 1}


@pytest.mark.parametrize("closed_status", ["done", "failed"])
def test_enqueue_queues_a_name_again_after_its_request_closed(
    db_conn: sa.Connection, closed_status: str
) -> None:
    repository = CompanyMappingRepository(db_conn)
    repository.enqueue_for_enrichment([_request("甲")])
    _set_status(db_conn, closed_status)

    result = repository.enqueue_for_enrichment([_request("甲")])

    assert result == EnqueueResult(queued_count=1, skipped_count=0)
    statuses = db_conn.scalars(sa.select(REQUESTS.c.status).order_by(REQUESTS.c.id)).all()
    assert statuses == [closed_status, "pending"]


def test_enqueue_stores_names_with_quotes_braces_and_backslashes_verbatim(
    db_conn: sa.Connection,
) -> None:
    odd = ['甲"乙', "a\\b", "{x,y}", "NULL", " 前后空格 ", "c'd", "😀,公司"]

    result = CompanyMappingRepository(db_conn).enqueue_for_enrichment([_request(n) for n in odd])

    assert result.queued_count == len(odd)
    stored = db_conn.scalars(sa.select(REQUESTS.c.normalized_name)).all()
    assert sorted(stored) == sorted(odd)


def test_enqueue_of_an_empty_list_runs_no_sql(db_conn: sa.Connection) -> None:
    repository = CompanyMappingRepository(db_conn)
    with recorded_statements(db_conn) as seen:
        result = repository.enqueue_for_enrichment([])

    assert result == EnqueueResult(queued_count=0, skipped_count=0)
    assert seen == []


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"raw_name": "甲", "temp_id": "IN1"}, "request 1 is missing 'normalized_name'"),
        ({"raw_name": "甲", "normalized_name": "甲"}, "request 1 is missing 'temp_id'"),
        ({"normalized_name": "甲", "temp_id": "IN1"}, "request 1 is missing 'raw_name'"),
        ({"raw_name": "甲", "normalized_name": "", "temp_id": "IN1"}, "empty 'normalized_name'"),
        ({"raw_name": "甲", "normalized_name": "  ", "temp_id": "IN1"}, "empty 'normalized_name'"),
        ({"raw_name": "甲", "normalized_name": 7, "temp_id": "IN1"}, "must be a string"),
        ("甲", "request 1 is not a mapping"),
    ],
)
def test_enqueue_rejects_a_malformed_request_before_any_sql(
    db_conn: sa.Connection, bad: object, message: str
) -> None:
    repository = CompanyMappingRepository(db_conn)
    with recorded_statements(db_conn) as seen, pytest.raises(ValueError, match=message):
        repository.enqueue_for_enrichment([_request("乙"), bad])  # type: ignore[list-item]

    assert seen == []


def test_rollback_of_the_callers_transaction_leaves_no_request(db_engine: sa.Engine) -> None:
    with db_engine.connect() as conn:
        transaction = conn.begin()
        queued = CompanyMappingRepository(conn).enqueue_for_enrichment([_request("甲")])
        transaction.rollback()

    with db_engine.connect() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(REQUESTS)) == 0
    assert queued.queued_count == 1


def test_enqueue_does_not_commit(db_engine: sa.Engine) -> None:
    with db_engine.connect() as conn:
        conn.begin()
        CompanyMappingRepository(conn).enqueue_for_enrichment([_request("甲")])
        assert conn.in_transaction()
        conn.rollback()

    with db_engine.connect() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(REQUESTS)) == 0


def test_concurrent_enqueues_leave_one_open_request_per_name(db_engine: sa.Engine) -> None:
    names = _names(300)
    orders = [names, list(reversed(names))]
    barrier = threading.Barrier(2)
    results: list[EnqueueResult] = []
    errors: list[BaseException] = []

    def enqueue(order: list[str]) -> None:
        try:
            # Wait before BEGIN: on SQLite BEGIN IMMEDIATE already takes the write lock.
            barrier.wait(timeout=30)
            with db_engine.begin() as conn:
                results.append(
                    CompanyMappingRepository(conn).enqueue_for_enrichment(
                        [_request(n) for n in order]
                    )
                )
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=enqueue, args=(order,)) for order in orders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert sum(r.queued_count for r in results) == len(names)
    assert sum(r.skipped_count for r in results) == len(names)
    with db_engine.connect() as conn:
        assert _open_counts(conn) == dict.fromkeys(names, 1)


def test_enqueue_raises_storage_error_when_the_connection_is_lost(db_engine: sa.Engine) -> None:
    conn = db_engine.connect()
    try:
        conn.connection.dbapi_connection.close()  # type: ignore[union-attr]
        with pytest.raises(StorageError) as raised:
            CompanyMappingRepository(conn).enqueue_for_enrichment([_request("甲")])
    finally:
        conn.invalidate()
        conn.close()

    assert raised.value.error_type
    assert isinstance(raised.value.__cause__, sa.exc.DBAPIError)
    assert "甲" not in str(raised.value)


def test_enqueue_logs_counts_and_never_names(db_conn: sa.Connection) -> None:
    with capture_logs() as logs:
        CompanyMappingRepository(db_conn).enqueue_for_enrichment(
            [_request("甲公司"), _request("甲公司")]
        )

    [event] = [e for e in logs if e["event"] == "queue.enqueue_done"]
    assert (event["requests"], event["queued"], event["skipped"]) == (2, 1, 1)
    assert "甲公司" not in repr(logs)
