"""The statements on ``enrichment_requests``, one builder per :class:`~.repository.QueueRepository`
method, named after it (``claim_batch`` ↔ :meth:`~.repository.QueueRepository.claim_batch`),
so tests can compile each for either database.

Claims use ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so concurrent workers take disjoint
batches without waiting; SQLite renders no locking clause and relies on the engine's
``BEGIN IMMEDIATE`` write transaction instead. Every outcome write is guarded by
``locked_by = :worker`` and ``status = 'processing'``.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Collection, Sequence
from typing import Any

import sqlalchemy as sa

from work_data_hub.infrastructure.db import tables
from work_data_hub.infrastructure.db.bound_batches import Columns, dialect_insert, rows_source
from work_data_hub.infrastructure.enrichment.queue.requests import (
    LEASE_EXPIRED_ERROR,
    MAX_ERROR_LENGTH,
)

_R = tables.enrichment_requests
_PENDING = tables.RequestStatus.PENDING.value
_PROCESSING = tables.RequestStatus.PROCESSING.value
_DONE = tables.RequestStatus.DONE.value
_FAILED = tables.RequestStatus.FAILED.value

#: The columns of an enqueue batch, in the order of a checked request.
REQUEST_COLUMNS: Columns = (
    ("raw_name", sa.Text()),
    ("normalized_name", sa.Text()),
    ("temp_id", sa.Text()),
)


@functools.cache
def enqueue(dialect: str) -> Any:
    requests = tables.enrichment_requests
    rows = rows_source(dialect, REQUEST_COLUMNS)
    now = sa.bindparam("now", type_=tables.UtcDateTime())
    # WHERE true: SQLite cannot otherwise tell "SELECT … ON CONFLICT" from a join's ON.
    select = sa.select(rows.c.raw_name, rows.c.normalized_name, rows.c.temp_id, now, now).where(
        sa.true()
    )
    return (
        dialect_insert(dialect)(requests)
        .from_select(["raw_name", "normalized_name", "temp_id", "created_at", "updated_at"], select)
        .on_conflict_do_nothing(
            # The partial unique index's own predicate, as literal SQL, so ON CONFLICT
            # infers that index: with bound values PostgreSQL could not prove at planning
            # time that the conflict target implies the index predicate.
            index_elements=[requests.c.normalized_name],
            index_where=sa.text(tables.OPEN_REQUEST_PREDICATE),
        )
        .returning(requests.c.id)
    )


def _ready(now: dt.datetime) -> sa.ColumnElement[bool]:
    return sa.and_(
        _R.c.status == _PENDING,
        sa.or_(_R.c.next_retry_at.is_(None), _R.c.next_retry_at <= now),
    )


def _owned(request_ids: Collection[int], worker_id: str) -> sa.ColumnElement[bool]:
    return sa.and_(
        _R.c.id.in_(list(request_ids)),
        _R.c.locked_by == worker_id,
        _R.c.status == _PROCESSING,
    )


def unlocked(now: dt.datetime) -> dict[str, Any]:
    return {"locked_by": None, "locked_until": None, "updated_at": now}


def claim_batch(
    worker_id: str, limit: int, locked_until: dt.datetime, now: dt.datetime
) -> sa.Update:
    ready = (
        sa.select(_R.c.id)
        .where(_ready(now))
        .order_by(_R.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return (
        sa.update(_R)
        .where(_R.c.id.in_(ready))
        .values(status=_PROCESSING, locked_by=worker_id, locked_until=locked_until, updated_at=now)
        .returning(_R.c.id, _R.c.raw_name, _R.c.normalized_name, _R.c.temp_id, _R.c.attempts)
    )


def renew_lease(
    request_ids: Collection[int], worker_id: str, locked_until: dt.datetime
) -> sa.Update:
    return sa.update(_R).where(_owned(request_ids, worker_id)).values(locked_until=locked_until)


def mark_done(
    request_id: int,
    worker_id: str,
    company_id: str | None,
    now: dt.datetime,
    candidates: list[dict[str, Any]] | None = None,
    *,
    looked_up: bool = True,
    note: str | None = None,
) -> sa.Update:
    return (
        sa.update(_R)
        .where(_owned([request_id], worker_id))
        .values(
            status=_DONE,
            resolved_company_id=company_id,
            # SQL NULL, not JSON null: the partial index and the export skip these rows.
            eqc_candidates=candidates if candidates else sa.null(),
            attempts=_R.c.attempts + 1 if looked_up else _R.c.attempts,
            last_error=note,
            next_retry_at=None,
            **unlocked(now),
        )
    )


def mark_retry(
    request_id: int, worker_id: str, next_retry_at: dt.datetime, error: str, now: dt.datetime
) -> sa.Update:
    return (
        sa.update(_R)
        .where(_owned([request_id], worker_id))
        .values(
            status=_PENDING,
            attempts=_R.c.attempts + 1,
            last_error=error[:MAX_ERROR_LENGTH],
            next_retry_at=next_retry_at,
            **unlocked(now),
        )
    )


def mark_failed(request_id: int, worker_id: str, error: str, now: dt.datetime) -> sa.Update:
    return (
        sa.update(_R)
        .where(_owned([request_id], worker_id))
        .values(
            status=_FAILED,
            attempts=_R.c.attempts + 1,
            last_error=error[:MAX_ERROR_LENGTH],
            next_retry_at=None,
            **unlocked(now),
        )
    )


def release(request_ids: Collection[int], worker_id: str, now: dt.datetime) -> sa.Update:
    return (
        sa.update(_R).where(_owned(request_ids, worker_id)).values(status=_PENDING, **unlocked(now))
    )


def recover_expired(now: dt.datetime, max_attempts: int) -> sa.Update:
    at_limit = _R.c.attempts + 1 >= max_attempts
    return (
        sa.update(_R)
        .where(
            _R.c.status == _PROCESSING,
            sa.or_(_R.c.locked_until.is_(None), _R.c.locked_until < now),
        )
        .values(
            status=sa.case((at_limit, _FAILED), else_=_PENDING),
            attempts=_R.c.attempts + 1,
            last_error=LEASE_EXPIRED_ERROR,
            next_retry_at=None,
            **unlocked(now),
        )
    )


def status_counts() -> sa.Select[Any]:
    return sa.select(_R.c.status, sa.func.count().label("n")).group_by(_R.c.status)


def ready_pending_count(now: dt.datetime, cap: int | None) -> sa.Select[Any]:
    ready = sa.select(_R.c.id).where(_ready(now))
    if cap is not None:
        # Counting stops at the cap: the sensor only needs "more than the threshold".
        ready = ready.limit(cap)
    return sa.select(sa.func.count()).select_from(ready.subquery())


def oldest_pending() -> sa.Select[Any]:
    return sa.select(sa.func.min(_R.c.created_at)).where(_R.c.status == _PENDING)


def next_retry(now: dt.datetime) -> sa.Select[Any]:
    return sa.select(sa.func.min(_R.c.next_retry_at)).where(
        _R.c.status == _PENDING, _R.c.next_retry_at > now
    )


def retry_failed(now: dt.datetime) -> sa.Update:
    # One failed request per name is reopened, and only when the name has no open request:
    # the partial unique index allows a single pending/processing row per normalized name.
    other = _R.alias("other")
    latest_failed = (
        sa.select(sa.func.max(_R.c.id)).where(_R.c.status == _FAILED).group_by(_R.c.normalized_name)
    )
    open_same_name = sa.exists().where(
        other.c.normalized_name == _R.c.normalized_name,
        other.c.status.in_(tables.OPEN_REQUEST_STATUSES),
    )
    return (
        sa.update(_R)
        .where(_R.c.id.in_(latest_failed), ~open_same_name)
        .values(
            status=_PENDING,
            attempts=0,
            last_error=None,
            next_retry_at=None,
            **unlocked(now),
        )
    )


def _remembered(since: dt.datetime) -> sa.ColumnElement[bool]:
    """A "not found" that EQC itself answered after ``since`` (requests closed from the
    memory carry a note in ``last_error`` and do not extend it)."""
    return sa.and_(
        _R.c.status == _DONE,
        _R.c.resolved_company_id.is_(None),
        _R.c.last_error.is_(None),
        _R.c.updated_at >= since,
    )


def remembered_not_found(names: Sequence[str], since: dt.datetime) -> sa.Select[Any]:
    return (
        sa.select(_R.c.normalized_name)
        .where(_remembered(since), _R.c.normalized_name.in_(list(names)))
        .distinct()
    )


def reopen_not_found(since: dt.datetime, now: dt.datetime) -> sa.Update:
    # As retry_failed: one request per name, only when the name has no open request.
    other = _R.alias("other")
    latest = (
        sa.select(sa.func.max(_R.c.id)).where(_remembered(since)).group_by(_R.c.normalized_name)
    )
    open_same_name = sa.exists().where(
        other.c.normalized_name == _R.c.normalized_name,
        other.c.status.in_(tables.OPEN_REQUEST_STATUSES),
    )
    return (
        sa.update(_R)
        .where(_R.c.id.in_(latest), ~open_same_name)
        .values(status=_PENDING, attempts=0, last_error=None, next_retry_at=None, updated_at=now)
    )


def forget_not_found(since: dt.datetime, now: dt.datetime, note: str) -> sa.Update:
    return sa.update(_R).where(_remembered(since)).values(last_error=note, updated_at=now)


def purge(older_than: dt.datetime, statuses: Sequence[str]) -> sa.Delete:
    # The newest request of each temporary id stays: remap reads the name from it.
    newer = _R.alias("newer")
    superseded = sa.exists().where(newer.c.temp_id == _R.c.temp_id, newer.c.id > _R.c.id)
    return sa.delete(_R).where(
        _R.c.status.in_(list(statuses)), _R.c.updated_at < older_than, superseded
    )
