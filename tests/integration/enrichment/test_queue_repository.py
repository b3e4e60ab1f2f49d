"""Queue statements on real PostgreSQL and SQLite: claim, lease, outcomes, recovery, counts."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from work_data_hub.errors import StorageError
from work_data_hub.infrastructure.db import tables
from work_data_hub.infrastructure.enrichment.queue import _statements as queue_statements
from work_data_hub.infrastructure.enrichment.queue import admin as queue_admin
from work_data_hub.infrastructure.enrichment.queue import repository as qr
from work_data_hub.infrastructure.enrichment.queue.repository import QueueRepository

NOW = dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.UTC)
LEASE = dt.timedelta(minutes=5)
R = tables.enrichment_requests


def add(conn: sa.Connection, name: str, **values: Any) -> int:
    row = {
        "raw_name": name,
        "normalized_name": name,
        "temp_id": "IN" + hashlib.sha1(name.encode()).hexdigest()[:16].upper(),
        "created_at": NOW - dt.timedelta(hours=1),
        "updated_at": NOW - dt.timedelta(hours=1),
        **values,
    }
    return int(conn.execute(sa.insert(R).values(**row).returning(R.c.id)).scalar_one())


def row(conn: sa.Connection, request_id: int) -> Any:
    return conn.execute(sa.select(R).where(R.c.id == request_id)).one()


def test_claim_takes_ready_requests_oldest_id_first(db_conn: sa.Connection) -> None:
    ids = [add(db_conn, f"公司{i}") for i in range(5)]
    claimed = QueueRepository(db_conn).claim_batch("w1", 3, LEASE, NOW)
    assert [c.id for c in claimed] == ids[:3]
    assert claimed[0].raw_name == "公司0"


def test_claim_marks_processing_with_owner_and_lease(db_conn: sa.Connection) -> None:
    request_id = add(db_conn, "甲公司")
    QueueRepository(db_conn).claim_batch("w1", 10, LEASE, NOW)
    claimed = row(db_conn, request_id)
    assert (claimed.status, claimed.locked_by) == ("processing", "w1")
    assert claimed.locked_until == NOW + LEASE
    assert claimed.attempts == 0


def test_claim_skips_retries_not_yet_due(db_conn: sa.Connection) -> None:
    add(db_conn, "甲公司", next_retry_at=NOW + dt.timedelta(seconds=1))
    due = add(db_conn, "乙公司", next_retry_at=NOW)
    claimed = QueueRepository(db_conn).claim_batch("w1", 10, LEASE, NOW)
    assert [c.id for c in claimed] == [due]


def test_claim_ignores_requests_that_are_not_pending(db_conn: sa.Connection) -> None:
    for status in ("processing", "done", "failed"):
        add(db_conn, f"{status}公司", status=status)
    assert QueueRepository(db_conn).claim_batch("w1", 10, LEASE, NOW) == []


def test_claim_rejects_a_limit_below_one(db_conn: sa.Connection) -> None:
    with pytest.raises(ValueError):
        QueueRepository(db_conn).claim_batch("w1", 0, LEASE, NOW)


def test_claim_statement_skips_locked_rows_on_postgresql() -> None:
    stmt = queue_statements.claim_batch("w1", 10, NOW + LEASE, NOW)
    assert "FOR UPDATE SKIP LOCKED" in str(stmt.compile(dialect=postgresql.dialect()))


def test_claim_statement_has_no_locking_clause_on_sqlite() -> None:
    stmt = queue_statements.claim_batch("w1", 10, NOW + LEASE, NOW)
    assert "FOR UPDATE" not in str(stmt.compile(dialect=sqlite.dialect()))


@pytest.mark.postgresql
@pytest.mark.parametrize("dialect", ["postgresql"], indirect=True)
def test_concurrent_claims_on_postgresql_take_disjoint_batches(db_engine: sa.Engine) -> None:
    with db_engine.begin() as conn:
        for i in range(6):
            add(conn, f"公司{i}")
    with db_engine.connect() as first, db_engine.connect() as second:
        first.begin()
        second.begin()
        a = QueueRepository(first).claim_batch("w1", 4, LEASE, NOW)
        b = QueueRepository(second).claim_batch("w2", 4, LEASE, NOW)  # does not wait
        first.commit()
        second.commit()
    assert len(a) == 4
    assert len(b) == 2
    assert not {c.id for c in a} & {c.id for c in b}


def test_renew_lease_moves_only_the_owners_leases(db_conn: sa.Connection) -> None:
    mine, theirs = add(db_conn, "甲公司"), add(db_conn, "乙公司")
    repo = QueueRepository(db_conn)
    repo.claim_batch("w1", 1, LEASE, NOW)
    repo.claim_batch("w2", 1, LEASE, NOW)
    later = NOW + dt.timedelta(minutes=3)
    assert repo.renew_lease("w1", [mine, theirs], LEASE, later) == 1
    assert row(db_conn, mine).locked_until == later + LEASE
    assert row(db_conn, theirs).locked_until == NOW + LEASE


def test_renew_lease_of_nothing_is_zero(db_conn: sa.Connection) -> None:
    assert QueueRepository(db_conn).renew_lease("w1", [], LEASE, NOW) == 0


def test_mark_done_records_company_and_unlocks(db_conn: sa.Connection) -> None:
    request_id = add(db_conn, "甲公司")
    repo = QueueRepository(db_conn)
    repo.claim_batch("w1", 1, LEASE, NOW)
    assert repo.mark_done(request_id, worker_id="w1", company_id="C001", now=NOW)
    done = row(db_conn, request_id)
    assert (done.status, done.resolved_company_id, done.attempts) == ("done", "C001", 1)
    assert (done.locked_by, done.locked_until) == (None, None)


def test_mark_done_without_company_means_not_found(db_conn: sa.Connection) -> None:
    request_id = add(db_conn, "甲公司")
    repo = QueueRepository(db_conn)
    repo.claim_batch("w1", 1, LEASE, NOW)
    repo.mark_done(request_id, worker_id="w1", company_id=None, now=NOW)
    assert (row(db_conn, request_id).status, row(db_conn, request_id).resolved_company_id) == (
        "done",
        None,
    )


def test_outcome_of_a_worker_that_lost_its_lease_is_ignored(db_conn: sa.Connection) -> None:
    request_id = add(db_conn, "甲公司")
    repo = QueueRepository(db_conn)
    repo.claim_batch("w1", 1, LEASE, NOW)
    later = NOW + LEASE + dt.timedelta(seconds=1)
    repo.recover_expired(later, max_attempts=3)
    repo.claim_batch("w2", 1, LEASE, later)
    assert not repo.mark_done(request_id, worker_id="w1", company_id="C1", now=later)
    assert not repo.mark_failed(request_id, worker_id="w1", error="X", now=later)
    current = row(db_conn, request_id)
    assert (current.status, current.locked_by) == ("processing", "w2")


def test_mark_retry_postpones_with_error_and_counts_the_attempt(db_conn: sa.Connection) -> None:
    request_id = add(db_conn, "甲公司")
    repo = QueueRepository(db_conn)
    repo.claim_batch("w1", 1, LEASE, NOW)
    retry_at = NOW + dt.timedelta(minutes=1)
    repo.mark_retry(
        request_id,
        worker_id="w1",
        next_retry_at=retry_at,
        error="EqcTransientError status=503",
        now=NOW,
    )
    retried = row(db_conn, request_id)
    assert (retried.status, retried.attempts, retried.next_retry_at) == ("pending", 1, retry_at)
    assert retried.last_error == "EqcTransientError status=503"
    assert retried.locked_by is None


def test_mark_failed_keeps_a_truncated_error(db_conn: sa.Connection) -> None:
    request_id = add(db_conn, "甲公司")
    repo = QueueRepository(db_conn)
    repo.claim_batch("w1", 1, LEASE, NOW)
    repo.mark_failed(request_id, worker_id="w1", error="E" * 500, now=NOW)
    failed = row(db_conn, request_id)
    assert (failed.status, failed.attempts) == ("failed", 1)
    assert len(failed.last_error) == qr.MAX_ERROR_LENGTH


def test_release_returns_requests_without_spending_attempts(db_conn: sa.Connection) -> None:
    ids = [add(db_conn, "甲公司", attempts=1), add(db_conn, "乙公司")]
    repo = QueueRepository(db_conn)
    repo.claim_batch("w1", 2, LEASE, NOW)
    assert repo.release(ids, worker_id="w1", now=NOW) == 2
    assert [(row(db_conn, i).status, row(db_conn, i).attempts) for i in ids] == [
        ("pending", 1),
        ("pending", 0),
    ]
    assert repo.release([], worker_id="w1", now=NOW) == 0


def test_recover_expired_requeues_with_the_attempt_counted(db_conn: sa.Connection) -> None:
    request_id = add(db_conn, "甲公司")
    repo = QueueRepository(db_conn)
    repo.claim_batch("w1", 1, LEASE, NOW)
    assert repo.recover_expired(NOW + LEASE + dt.timedelta(seconds=1), max_attempts=3) == 1
    recovered = row(db_conn, request_id)
    assert (recovered.status, recovered.attempts, recovered.locked_by) == ("pending", 1, None)
    assert recovered.last_error == qr.LEASE_EXPIRED_ERROR


def test_recover_expired_fails_a_request_at_the_attempt_limit(db_conn: sa.Connection) -> None:
    request_id = add(db_conn, "甲公司", attempts=2)
    repo = QueueRepository(db_conn)
    repo.claim_batch("w1", 1, LEASE, NOW)
    repo.recover_expired(NOW + LEASE + dt.timedelta(seconds=1), max_attempts=3)
    assert (row(db_conn, request_id).status, row(db_conn, request_id).attempts) == ("failed", 3)


def test_recover_expired_leaves_live_leases_alone(db_conn: sa.Connection) -> None:
    request_id = add(db_conn, "甲公司")
    repo = QueueRepository(db_conn)
    repo.claim_batch("w1", 1, LEASE, NOW)
    assert repo.recover_expired(NOW + LEASE - dt.timedelta(seconds=1), max_attempts=3) == 0
    assert row(db_conn, request_id).status == "processing"


def test_status_counts_cover_every_status(db_conn: sa.Connection) -> None:
    add(db_conn, "甲公司")
    add(db_conn, "乙公司", status="done")
    add(db_conn, "丙公司", status="done")
    assert QueueRepository(db_conn).status_counts() == {
        "pending": 1,
        "processing": 0,
        "done": 2,
        "failed": 0,
    }


def test_ready_pending_count_excludes_postponed_and_stops_at_the_cap(
    db_conn: sa.Connection,
) -> None:
    for i in range(4):
        add(db_conn, f"公司{i}")
    add(db_conn, "later公司", next_retry_at=NOW + dt.timedelta(minutes=1))
    repo = QueueRepository(db_conn)
    assert repo.ready_pending_count(NOW) == 4
    assert repo.ready_pending_count(NOW, cap=2) == 2


def test_oldest_pending_age_and_next_retry(db_conn: sa.Connection) -> None:
    repo = QueueRepository(db_conn)
    assert repo.oldest_pending_age(NOW) is None
    assert repo.next_retry_at(NOW) is None
    add(db_conn, "甲公司", created_at=NOW - dt.timedelta(minutes=30))
    add(db_conn, "乙公司", next_retry_at=NOW + dt.timedelta(minutes=5))
    add(db_conn, "丙公司", next_retry_at=NOW + dt.timedelta(minutes=1))
    assert repo.oldest_pending_age(NOW) == dt.timedelta(hours=1)
    assert repo.next_retry_at(NOW) == NOW + dt.timedelta(minutes=1)


def test_status_snapshot_serializes(db_conn: sa.Connection) -> None:
    add(db_conn, "甲公司", next_retry_at=NOW + dt.timedelta(minutes=1))
    snapshot = queue_admin.snapshot(QueueRepository(db_conn), NOW).to_dict()
    assert snapshot["counts"]["pending"] == 1
    assert snapshot["ready_pending"] == 0
    assert snapshot["oldest_pending_age_s"] == 3600.0
    assert snapshot["next_retry_at"] == (NOW + dt.timedelta(minutes=1)).isoformat()


def test_retry_failed_reopens_one_request_per_name(db_conn: sa.Connection) -> None:
    add(db_conn, "甲公司", status="failed", attempts=3, last_error="X")
    latest = add(db_conn, "甲公司", status="failed", attempts=3, last_error="X")
    assert QueueRepository(db_conn).retry_failed(NOW) == 1
    reopened = row(db_conn, latest)
    assert (reopened.status, reopened.attempts, reopened.last_error) == ("pending", 0, None)


def test_retry_failed_skips_names_with_an_open_request(db_conn: sa.Connection) -> None:
    failed = add(db_conn, "甲公司", status="failed", attempts=3)
    add(db_conn, "甲公司")
    assert QueueRepository(db_conn).retry_failed(NOW) == 0
    assert row(db_conn, failed).status == "failed"


def test_purge_deletes_only_old_finished_superseded_requests(db_conn: sa.Connection) -> None:
    add(db_conn, "甲公司", status="done")
    add(db_conn, "乙公司", status="failed")
    add(db_conn, "丙公司", status="done")
    add(db_conn, "丁公司", status="done", updated_at=NOW)
    # Newer requests of the same names: 甲, 乙 and 丁 are superseded, 丙 is not.
    add(db_conn, "甲公司", status="done")
    add(db_conn, "乙公司")
    add(db_conn, "丁公司", status="done")
    repo = QueueRepository(db_conn)
    assert repo.purge(NOW - dt.timedelta(minutes=1)) == 2  # 甲 and 乙; 丁 is too recent
    assert repo.status_counts() == {"pending": 1, "processing": 0, "done": 4, "failed": 0}


def test_purge_keeps_the_only_request_of_a_temporary_id(db_conn: sa.Connection) -> None:
    add(db_conn, "甲公司", status="done", resolved_company_id="C1")
    add(db_conn, "乙公司", status="failed")
    assert QueueRepository(db_conn).purge(NOW) == 0


def test_purge_refuses_open_statuses(db_conn: sa.Connection) -> None:
    with pytest.raises(ValueError):
        QueueRepository(db_conn).purge(NOW, statuses=("pending",))
    assert QueueRepository(db_conn).purge(NOW, statuses=()) == 0


def test_resolved_temp_ids_lists_only_done_requests_with_a_company(
    db_conn: sa.Connection,
) -> None:
    add(db_conn, "甲公司", temp_id="INAAAAAAAAAAAAAAAA", status="done", resolved_company_id="C1")
    add(db_conn, "乙公司", temp_id="INBBBBBBBBBBBBBBBB", status="done")
    add(db_conn, "丙公司", temp_id="INCCCCCCCCCCCCCCCC")
    resolved = QueueRepository(db_conn).resolved_temp_ids(
        ["INAAAAAAAAAAAAAAAA", "INBBBBBBBBBBBBBBBB", "INCCCCCCCCCCCCCCCC", "INAAAAAAAAAAAAAAAA"]
    )
    assert resolved == {"INAAAAAAAAAAAAAAAA": "C1"}


def test_resolved_temp_ids_splits_long_lists(
    db_conn: sa.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(qr, "MAX_IN_PARAMETERS", 2)
    for i in range(5):
        add(db_conn, f"公司{i}", temp_id=f"IN{i:016d}", status="done", resolved_company_id=f"C{i}")
    resolved = QueueRepository(db_conn).resolved_temp_ids(f"IN{i:016d}" for i in range(5))
    assert resolved == {f"IN{i:016d}": f"C{i}" for i in range(5)}


def test_database_errors_become_storage_errors(
    db_conn: sa.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        queue_statements, "status_counts", lambda: sa.text("SELECT * FROM no_such_table")
    )
    with pytest.raises(StorageError) as caught:
        QueueRepository(db_conn).status_counts()
    assert caught.value.error_type


def test_service_functions_commit(db_engine: sa.Engine) -> None:
    with db_engine.begin() as conn:
        add(conn, "甲公司", status="failed")
        add(conn, "乙公司", status="done")
        add(conn, "乙公司", status="done")  # supersedes the first one
    assert queue_admin.retry_failed_requests(db_engine, NOW) == 1
    assert queue_admin.purge_requests(db_engine, NOW) == 1
    status = queue_admin.queue_status(db_engine, NOW)
    assert status.counts == {"pending": 1, "processing": 0, "done": 1, "failed": 0}


def test_unknown_requests_leave_out_names_some_request_resolved(db_conn: sa.Connection) -> None:
    add(db_conn, "甲公司")
    add(db_conn, "乙公司", status="done", resolved_company_id="600000001")
    add(db_conn, "乙公司", status="failed")
    add(db_conn, "丙公司", status="done")
    unknown = QueueRepository(db_conn).unknown_requests()
    assert sorted(u.normalized_name for u in unknown) == ["丙公司", "甲公司"]


def test_unknown_requests_count_requests_and_keep_the_first_seen(db_conn: sa.Connection) -> None:
    add(db_conn, "甲公司", status="failed", created_at=NOW - dt.timedelta(days=2))
    add(db_conn, "甲公司")
    [unknown] = QueueRepository(db_conn).unknown_requests()
    assert (unknown.requests, unknown.first_seen) == (2, NOW - dt.timedelta(days=2))
    assert unknown.first_seen.tzinfo is not None
