"""Every statement on ``enrichment_requests`` except enqueue: claim, lease, finish, recover,
counts, and the reads behind remap and the unknown-companies export.

The repository consumes the caller's connection and never begins or commits; each public
method runs one statement, built by a private function named after it
(``claim_batch`` ↔ ``_claim_batch_stmt``) so tests can compile it per dialect.

Claims use ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so concurrent workers take disjoint
batches without waiting; SQLite renders no locking clause and relies on the engine's
``BEGIN IMMEDIATE`` write transaction instead. Every outcome write is guarded by
``locked_by = :worker`` and ``status = 'processing'``: a worker whose lease expired and was
taken over cannot overwrite the new owner's work (the write matches no row).

Attempts are counted when an outcome is written, never at claim time, so releasing a
claim gives the request back unchanged.

The operator services that run these statements in their own transactions (status,
retry-failed, purge) live in :mod:`queue_admin`; their old names here still work.
"""

from __future__ import annotations

import datetime as dt
import importlib
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import sqlalchemy as sa

from work_data_hub.errors import StorageError
from work_data_hub.infrastructure.db import tables

__all__ = [
    "LEASE_EXPIRED_ERROR",
    "MAX_ERROR_LENGTH",
    "MAX_IN_PARAMETERS",
    "ClaimedRequest",
    "QueueRepository",
    "UnknownRequest",
]

#: ``last_error`` of a request whose worker vanished while holding its lease.
LEASE_EXPIRED_ERROR = "LeaseExpired"
MAX_ERROR_LENGTH = 200
#: Values bound in one ``IN`` list; below both drivers' limits (SQLite 32,766, psycopg 65,535).
MAX_IN_PARAMETERS = 10_000

_R = tables.enrichment_requests
_PENDING = tables.RequestStatus.PENDING.value
_PROCESSING = tables.RequestStatus.PROCESSING.value
_DONE = tables.RequestStatus.DONE.value
_FAILED = tables.RequestStatus.FAILED.value
_T = TypeVar("_T")


@dataclass(frozen=True, kw_only=True, slots=True)
class ClaimedRequest:
    """A request a worker holds the lease of."""

    id: int
    raw_name: str
    normalized_name: str
    temp_id: str
    attempts: int

    @classmethod
    def from_row(cls, row: Any) -> ClaimedRequest:
        return cls(
            id=int(row.id),
            raw_name=row.raw_name,
            normalized_name=row.normalized_name,
            temp_id=row.temp_id,
            attempts=int(row.attempts),
        )


@dataclass(frozen=True, kw_only=True, slots=True)
class UnknownRequest:
    """A name no request resolved: first spelling and temporary id, first request, requests."""

    normalized_name: str
    raw_name: str
    temp_id: str
    first_seen: dt.datetime
    requests: int


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


def _unlocked(now: dt.datetime) -> dict[str, Any]:
    return {"locked_by": None, "locked_until": None, "updated_at": now}


def _claim_batch_stmt(
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


def _renew_lease_stmt(
    request_ids: Collection[int], worker_id: str, locked_until: dt.datetime
) -> sa.Update:
    return sa.update(_R).where(_owned(request_ids, worker_id)).values(locked_until=locked_until)


def _mark_done_stmt(
    request_id: int, worker_id: str, company_id: str | None, now: dt.datetime
) -> sa.Update:
    return (
        sa.update(_R)
        .where(_owned([request_id], worker_id))
        .values(
            status=_DONE,
            resolved_company_id=company_id,
            attempts=_R.c.attempts + 1,
            last_error=None,
            next_retry_at=None,
            **_unlocked(now),
        )
    )


def _mark_retry_stmt(
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
            **_unlocked(now),
        )
    )


def _mark_failed_stmt(request_id: int, worker_id: str, error: str, now: dt.datetime) -> sa.Update:
    return (
        sa.update(_R)
        .where(_owned([request_id], worker_id))
        .values(
            status=_FAILED,
            attempts=_R.c.attempts + 1,
            last_error=error[:MAX_ERROR_LENGTH],
            next_retry_at=None,
            **_unlocked(now),
        )
    )


def _release_stmt(request_ids: Collection[int], worker_id: str, now: dt.datetime) -> sa.Update:
    return (
        sa.update(_R)
        .where(_owned(request_ids, worker_id))
        .values(status=_PENDING, **_unlocked(now))
    )


def _recover_expired_stmt(now: dt.datetime, max_attempts: int) -> sa.Update:
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
            **_unlocked(now),
        )
    )


def _status_counts_stmt() -> sa.Select[Any]:
    return sa.select(_R.c.status, sa.func.count().label("n")).group_by(_R.c.status)


def _ready_pending_count_stmt(now: dt.datetime, cap: int | None) -> sa.Select[Any]:
    ready = sa.select(_R.c.id).where(_ready(now))
    if cap is not None:
        # Counting stops at the cap: the sensor only needs "more than the threshold".
        ready = ready.limit(cap)
    return sa.select(sa.func.count()).select_from(ready.subquery())


def _oldest_pending_stmt() -> sa.Select[Any]:
    return sa.select(sa.func.min(_R.c.created_at)).where(_R.c.status == _PENDING)


def _next_retry_stmt(now: dt.datetime) -> sa.Select[Any]:
    return sa.select(sa.func.min(_R.c.next_retry_at)).where(
        _R.c.status == _PENDING, _R.c.next_retry_at > now
    )


def _retry_failed_stmt(now: dt.datetime) -> sa.Update:
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
            **_unlocked(now),
        )
    )


def _purge_stmt(older_than: dt.datetime, statuses: Sequence[str]) -> sa.Delete:
    return sa.delete(_R).where(_R.c.status.in_(list(statuses)), _R.c.updated_at < older_than)


def _resolved_temp_ids_stmt(temp_ids: Sequence[str]) -> sa.Select[Any]:
    return (
        sa.select(_R.c.temp_id, _R.c.resolved_company_id)
        .where(
            _R.c.temp_id.in_(list(temp_ids)),
            # The partial index's own predicate, as literal SQL: with bound values a
            # prepared (generic) plan could not prove the index applies.
            sa.text(tables.RESOLVED_REQUEST_PREDICATE),
        )
        .order_by(_R.c.id)
    )


def _unknown_requests_stmt() -> sa.Select[Any]:
    # Names not resolved (open, failed, or done without an id), leaving out names that some
    # other request of theirs did resolve.
    resolved = sa.select(_R.c.normalized_name).where(_R.c.resolved_company_id.is_not(None))
    unresolved = sa.or_(_R.c.status != _DONE, _R.c.resolved_company_id.is_(None))
    return (
        sa.select(
            _R.c.normalized_name,
            sa.func.min(_R.c.raw_name).label("raw_name"),
            sa.func.min(_R.c.temp_id).label("temp_id"),
            sa.func.min(_R.c.created_at).label("first_seen"),
            sa.func.count().label("requests"),
        )
        .where(unresolved, _R.c.normalized_name.not_in(resolved.scalar_subquery()))
        .group_by(_R.c.normalized_name)
    )


def _chunks(values: Sequence[_T], size: int) -> Iterable[Sequence[_T]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


class QueueRepository:
    """Queue statements on a caller-owned connection (never begins or commits)."""

    def __init__(self, connection: sa.Connection) -> None:
        self._conn = connection

    def _execute(self, statement: sa.Executable) -> sa.CursorResult[Any]:
        try:
            return self._conn.execute(statement)
        except sa.exc.DBAPIError as exc:
            raise StorageError(
                "enrichment queue statement failed", error_type=type(exc.orig).__name__
            ) from exc

    def claim_batch(
        self, worker_id: str, limit: int, lease: dt.timedelta, now: dt.datetime
    ) -> list[ClaimedRequest]:
        """Take up to ``limit`` ready requests (oldest id first) under a lease for ``worker_id``."""
        if limit < 1:
            raise ValueError("limit must be at least 1")
        rows = self._execute(_claim_batch_stmt(worker_id, limit, now + lease, now)).all()
        return sorted((ClaimedRequest.from_row(row) for row in rows), key=lambda r: r.id)

    def renew_lease(
        self, worker_id: str, request_ids: Collection[int], lease: dt.timedelta, now: dt.datetime
    ) -> int:
        """Push the lease of the requests ``worker_id`` still holds; returns how many."""
        if not request_ids:
            return 0
        return self._execute(_renew_lease_stmt(request_ids, worker_id, now + lease)).rowcount

    def mark_done(
        self, request_id: int, *, worker_id: str, company_id: str | None, now: dt.datetime
    ) -> bool:
        """``done`` with ``company_id`` (``None``: no such company); False if no longer held."""
        return self._execute(_mark_done_stmt(request_id, worker_id, company_id, now)).rowcount == 1

    def mark_retry(
        self,
        request_id: int,
        *,
        worker_id: str,
        next_retry_at: dt.datetime,
        error: str,
        now: dt.datetime,
    ) -> bool:
        """Back to ``pending`` until ``next_retry_at``, one attempt spent."""
        statement = _mark_retry_stmt(request_id, worker_id, next_retry_at, error, now)
        return self._execute(statement).rowcount == 1

    def mark_failed(self, request_id: int, *, worker_id: str, error: str, now: dt.datetime) -> bool:
        """``failed`` with ``last_error`` (class and status code only), one attempt spent."""
        return self._execute(_mark_failed_stmt(request_id, worker_id, error, now)).rowcount == 1

    def release(self, request_ids: Collection[int], *, worker_id: str, now: dt.datetime) -> int:
        """Give held requests back to ``pending`` without spending an attempt."""
        if not request_ids:
            return 0
        return self._execute(_release_stmt(request_ids, worker_id, now)).rowcount

    def recover_expired(self, now: dt.datetime, *, max_attempts: int) -> int:
        """Expired leases → ``pending`` (attempt counted), or ``failed`` at ``max_attempts``."""
        return self._execute(_recover_expired_stmt(now, max_attempts)).rowcount

    def status_counts(self) -> dict[str, int]:
        """Requests per status; every status is present."""
        counts = {status.value: 0 for status in tables.RequestStatus}
        for row in self._execute(_status_counts_stmt()):
            counts[str(row.status)] = int(row.n)
        return counts

    def ready_pending_count(self, now: dt.datetime, *, cap: int | None = None) -> int:
        """Pending requests due now, counted up to ``cap`` (cheap enough for a sensor)."""
        return int(self._execute(_ready_pending_count_stmt(now, cap)).scalar_one())

    def oldest_pending_age(self, now: dt.datetime) -> dt.timedelta | None:
        """How long the oldest pending request has waited, or ``None`` when none is pending."""
        # min() keeps the column's type, so the value comes back aware and in UTC.
        oldest: dt.datetime | None = self._execute(_oldest_pending_stmt()).scalar_one()
        if oldest is None:
            return None
        return max(now - oldest, dt.timedelta(0))

    def next_retry_at(self, now: dt.datetime) -> dt.datetime | None:
        """When the next postponed request becomes due, or ``None``."""
        moment: dt.datetime | None = self._execute(_next_retry_stmt(now)).scalar_one()
        return moment

    def retry_failed(self, now: dt.datetime) -> int:
        """Reopen failed requests with fresh attempts; returns how many were reopened."""
        return self._execute(_retry_failed_stmt(now)).rowcount

    def purge(
        self,
        older_than: dt.datetime,
        *,
        statuses: Sequence[str] = (_DONE, _FAILED),
    ) -> int:
        """Delete finished requests last touched before ``older_than``; returns how many.

        Purged ``done`` requests can no longer remap their temporary ids.
        """
        if set(statuses) & set(tables.OPEN_REQUEST_STATUSES):
            raise ValueError("only finished requests (done, failed) can be purged")
        if not statuses:
            return 0
        return self._execute(_purge_stmt(older_than, statuses)).rowcount

    def resolved_temp_ids(self, temp_ids: Iterable[str]) -> dict[str, str]:
        """``temp_id → resolved_company_id`` for the given ids whose request is ``done``."""
        distinct = sorted(set(temp_ids))
        resolved: dict[str, str] = {}
        for chunk in _chunks(distinct, MAX_IN_PARAMETERS):
            for row in self._execute(_resolved_temp_ids_stmt(chunk)):
                resolved[str(row.temp_id)] = str(row.resolved_company_id)
        return resolved

    def unknown_requests(self) -> list[UnknownRequest]:
        """One entry per name that no request resolved (in no particular order)."""
        return [
            UnknownRequest(
                normalized_name=str(row.normalized_name),
                raw_name=str(row.raw_name),
                temp_id=str(row.temp_id),
                first_seen=row.first_seen,
                requests=int(row.requests),
            )
            for row in self._execute(_unknown_requests_stmt())
        ]


#: Names that moved to :mod:`queue_admin`, still importable from here.
_MOVED_TO_ADMIN = frozenset(
    {"QueueStatus", "purge_requests", "queue_status", "retry_failed_requests"}
)


def __getattr__(name: str) -> Any:
    if name in _MOVED_TO_ADMIN:
        # Imported on use: queue_admin imports this module.
        admin = importlib.import_module("work_data_hub.infrastructure.enrichment.queue.admin")
        return getattr(admin, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
