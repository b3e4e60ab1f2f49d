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
retry-failed, purge) live in :mod:`.admin`.
"""

from __future__ import annotations

import datetime as dt
import itertools
import time
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any, TypeVar

import sqlalchemy as sa

from work_data_hub.infrastructure.db import tables
from work_data_hub.infrastructure.db.bound_batches import (
    all_storable,
    rows_params,
    storable,
)
from work_data_hub.infrastructure.db.errors import storage_errors
from work_data_hub.infrastructure.enrichment.queue import _review_statements as review_statements
from work_data_hub.infrastructure.enrichment.queue import _statements as statements
from work_data_hub.infrastructure.enrichment.queue.requests import (
    LEASE_EXPIRED_ERROR,
    MAX_ERROR_LENGTH,
    ClaimedRequest,
    RequestName,
    UnknownRequest,
    checked_requests,
)
from work_data_hub.infrastructure.enrichment.types import EnqueueResult
from work_data_hub.infrastructure.eqc import parsing
from work_data_hub.infrastructure.eqc.types import EqcCandidate
from work_data_hub.utils import clock
from work_data_hub.utils.logging import get_logger

__all__ = [
    "LEASE_EXPIRED_ERROR",
    "MAX_ERROR_LENGTH",
    "MAX_IN_PARAMETERS",
    "ClaimedRequest",
    "QueueRepository",
    "RequestName",
    "UnknownRequest",
]

log = get_logger(__name__)

#: Values bound in one ``IN`` list; below both drivers' limits (SQLite 32,766, psycopg 65,535).
MAX_IN_PARAMETERS = 10_000

_DONE = tables.RequestStatus.DONE.value
_FAILED = tables.RequestStatus.FAILED.value
_T = TypeVar("_T")


def _chunks(values: Sequence[_T], size: int) -> Iterable[Sequence[_T]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


class QueueRepository:
    """Queue statements on a caller-owned connection (never begins or commits)."""

    def __init__(self, connection: sa.Connection) -> None:
        self._conn = connection

    @property
    def connection(self) -> sa.Connection:
        """The caller's connection (remap reads the mappings on it too)."""
        return self._conn

    def _execute(self, statement: sa.Executable) -> sa.CursorResult[Any]:
        with storage_errors("enrichment queue statement"):
            return self._conn.execute(statement)

    def enqueue(self, requests: list[dict[str, str]]) -> EnqueueResult:
        """Queue names for asynchronous enrichment: one ``INSERT … ON CONFLICT DO NOTHING``.

        ``requests`` are ``{raw_name, normalized_name, temp_id}`` dicts. A name that
        already has an open (``pending``/``processing``) request is skipped by the partial
        unique index; repeats of a name inside the batch are skipped before the insert
        (the first one is kept). ``queued_count`` is the number of rows really inserted
        (counted with ``RETURNING``), ``skipped_count`` the rest of the batch.

        An empty list returns ``EnqueueResult(0, 0)`` without touching the database. A
        request that is not a mapping, misses a key, holds a non-string value or an empty
        ``normalized_name`` raises ``ValueError`` before any SQL runs. Text a database cannot
        store must not fail the whole batch: NUL is dropped from ``raw_name`` and lone
        surrogates become U+FFFD; a request whose ``normalized_name`` or ``temp_id`` holds
        either is skipped (counted in ``skipped_count``). Database and connection failures
        propagate as :class:`StorageError`.
        """
        if not requests:
            return EnqueueResult(queued_count=0, skipped_count=0)
        checked = checked_requests(requests)
        if not all_storable(itertools.chain.from_iterable(checked)):
            checked = [
                (storable(raw_name), normalized_name, temp_id)
                for raw_name, normalized_name, temp_id in checked
                # a key the database cannot hold is skipped, not the whole batch
                if storable(normalized_name) == normalized_name and storable(temp_id) == temp_id
            ]
        # The first request of each name is kept: reversed, it is the last one written.
        unique = {row[1]: row for row in reversed(checked)}
        if not unique:
            return EnqueueResult(queued_count=0, skipped_count=len(requests))
        # Sorted by name so that concurrent enqueues take index locks in the same order
        # and cannot deadlock each other.
        rows = [unique[name] for name in sorted(unique)]
        dialect = self._conn.dialect.name
        params = rows_params(dialect, statements.REQUEST_COLUMNS, rows)
        params["now"] = clock.utcnow()
        started = time.perf_counter()
        with storage_errors("enqueue_for_enrichment"):
            queued = len(self._conn.execute(statements.enqueue(dialect), params).all())
        result = EnqueueResult(queued_count=queued, skipped_count=len(requests) - queued)
        log.debug(
            "queue.enqueue_done",
            requests=len(requests),
            queued=result.queued_count,
            skipped=result.skipped_count,
            elapsed_ms=clock.ms_since(started),
        )
        return result

    def claim_batch(
        self, worker_id: str, limit: int, lease: dt.timedelta, now: dt.datetime
    ) -> list[ClaimedRequest]:
        """Take up to ``limit`` ready requests (oldest id first) under a lease for ``worker_id``."""
        if limit < 1:
            raise ValueError("limit must be at least 1")
        rows = self._execute(statements.claim_batch(worker_id, limit, now + lease, now)).all()
        return sorted((ClaimedRequest.from_row(row) for row in rows), key=lambda r: r.id)

    def renew_lease(
        self, worker_id: str, request_ids: Collection[int], lease: dt.timedelta, now: dt.datetime
    ) -> int:
        """Push the lease of the requests ``worker_id`` still holds; returns how many."""
        if not request_ids:
            return 0
        return self._execute(statements.renew_lease(request_ids, worker_id, now + lease)).rowcount

    def mark_done(
        self,
        request_id: int,
        *,
        worker_id: str,
        company_id: str | None,
        now: dt.datetime,
        candidates: Sequence[EqcCandidate] = (),
        looked_up: bool = True,
        note: str | None = None,
    ) -> bool:
        """``done`` with ``company_id`` (``None``: no such company, or none good enough) and
        the search answer's ``candidates``; False if no longer held.

        ``looked_up=False`` (settled from stored answers, no call) leaves the attempts as
        they are; ``note`` goes to ``last_error`` (how it was settled)."""
        stored = [c.to_dict() for c in candidates] or None
        statement = statements.mark_done(
            request_id, worker_id, company_id, now, stored, looked_up=looked_up, note=note
        )
        return self._execute(statement).rowcount == 1

    def remembered_not_found(self, names: Collection[str], since: dt.datetime) -> set[str]:
        """The names among ``names`` that EQC answered "not found" after ``since``."""
        distinct = sorted(set(names))
        if not distinct:
            return set()
        rows = self._execute(statements.remembered_not_found(distinct, since))
        return {str(row.normalized_name) for row in rows}

    def reopen_not_found(self, since: dt.datetime, now: dt.datetime, *, note: str) -> int:
        """Reopen one remembered "not found" request per name (none open); mark the other
        remembered answers with ``note`` (forgotten). Returns how many were reopened."""
        reopened = self._execute(statements.reopen_not_found(since, now)).rowcount
        self._execute(statements.forget_not_found(since, now, note))
        return int(reopened)

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
        statement = statements.mark_retry(request_id, worker_id, next_retry_at, error, now)
        return self._execute(statement).rowcount == 1

    def mark_failed(self, request_id: int, *, worker_id: str, error: str, now: dt.datetime) -> bool:
        """``failed`` with ``last_error`` (class and status code only), one attempt spent."""
        return (
            self._execute(statements.mark_failed(request_id, worker_id, error, now)).rowcount == 1
        )

    def release(self, request_ids: Collection[int], *, worker_id: str, now: dt.datetime) -> int:
        """Give held requests back to ``pending`` without spending an attempt."""
        if not request_ids:
            return 0
        return self._execute(statements.release(request_ids, worker_id, now)).rowcount

    def recover_expired(self, now: dt.datetime, *, max_attempts: int) -> int:
        """Expired leases → ``pending`` (attempt counted), or ``failed`` at ``max_attempts``."""
        return self._execute(statements.recover_expired(now, max_attempts)).rowcount

    def status_counts(self) -> dict[str, int]:
        """Requests per status; every status is present."""
        counts = {status.value: 0 for status in tables.RequestStatus}
        for row in self._execute(statements.status_counts()):
            counts[str(row.status)] = int(row.n)
        return counts

    def ready_pending_count(self, now: dt.datetime, *, cap: int | None = None) -> int:
        """Pending requests due now, counted up to ``cap`` (cheap enough for a sensor)."""
        return int(self._execute(statements.ready_pending_count(now, cap)).scalar_one())

    def oldest_pending_age(self, now: dt.datetime) -> dt.timedelta | None:
        """How long the oldest pending request has waited, or ``None`` when none is pending."""
        # min() keeps the column's type, so the value comes back aware and in UTC.
        oldest: dt.datetime | None = self._execute(statements.oldest_pending()).scalar_one()
        if oldest is None:
            return None
        return max(now - oldest, dt.timedelta(0))

    def next_retry_at(self, now: dt.datetime) -> dt.datetime | None:
        """When the next postponed request becomes due, or ``None``."""
        moment: dt.datetime | None = self._execute(statements.next_retry(now)).scalar_one()
        return moment

    def retry_failed(self, now: dt.datetime) -> int:
        """Reopen failed requests with fresh attempts; returns how many were reopened."""
        return self._execute(statements.retry_failed(now)).rowcount

    def purge(
        self,
        older_than: dt.datetime,
        *,
        statuses: Sequence[str] = (_DONE, _FAILED),
    ) -> int:
        """Delete finished requests last touched before ``older_than`` that a newer
        request of the same temporary id supersedes; returns how many.

        The newest request of each temporary id is kept whatever its age: remap finds the
        name of a temporary id through it.
        """
        if set(statuses) & set(tables.OPEN_REQUEST_STATUSES):
            raise ValueError("only finished requests (done, failed) can be purged")
        if not statuses:
            return 0
        return self._execute(statements.purge(older_than, statuses)).rowcount

    def request_names(self, temp_ids: Iterable[str]) -> dict[str, RequestName]:
        """Per temporary id, the name and outcome of its newest request (any status)."""
        distinct = sorted(set(temp_ids))
        found: dict[str, RequestName] = {}
        for chunk in _chunks(distinct, MAX_IN_PARAMETERS):
            for row in self._execute(review_statements.request_names(chunk)):
                found[str(row.temp_id)] = RequestName(
                    normalized_name=str(row.normalized_name),
                    resolved_company_id=row.resolved_company_id,
                )
        return found

    def close_requests(self, ids_by_name: Mapping[str, str], now: dt.datetime) -> int:
        """Close the open, failed and not-found requests of the given normalized names as
        ``done`` with the given id (a reviewed mapping answers them); one statement.

        A worker holding one of them loses it: its outcome write matches no row.
        """
        return self._by_name(review_statements.close_requests, ids_by_name, now)

    def reopen_requests(self, ids_by_name: Mapping[str, str], now: dt.datetime) -> int:
        """Give the names whose mapping to the given id was deleted back to the queue:
        their newest request ``done`` with that id goes back to ``pending`` with fresh
        attempts (unless the name has an open request already); one statement.

        Otherwise remap would still apply the id of a mapping deleted as wrong.
        """
        return self._by_name(review_statements.reopen_requests, ids_by_name, now)

    def _by_name(self, builder: Any, ids_by_name: Mapping[str, str], now: dt.datetime) -> int:
        if not ids_by_name:
            return 0
        dialect = self._conn.dialect.name
        params = rows_params(
            dialect, review_statements.NAME_ID_COLUMNS, sorted(ids_by_name.items())
        )
        with storage_errors("enrichment queue statement"):
            return int(self._conn.execute(builder(dialect, now), params).rowcount)

    def resolved_temp_ids(self, temp_ids: Iterable[str]) -> dict[str, str]:
        """``temp_id → resolved_company_id`` for the given ids whose request is ``done``."""
        distinct = sorted(set(temp_ids))
        resolved: dict[str, str] = {}
        for chunk in _chunks(distinct, MAX_IN_PARAMETERS):
            for row in self._execute(review_statements.resolved_temp_ids(chunk)):
                resolved[str(row.temp_id)] = str(row.resolved_company_id)
        return resolved

    def unknown_requests(self, *, limit: int | None = None) -> list[UnknownRequest]:
        """One entry per name that no request resolved, most requested first, then first
        seen, then temporary id.

        With ``limit``, only that many, picked by the database without grouping the whole
        queue: the names that have a finished request are grouped (at most ``limit`` come
        back), every other name is a single open request, read in order of age (at most
        ``limit`` again); the best ``limit`` of both are returned.
        """
        if limit is None:
            return self._unknown(review_statements.unknown_requests())
        if limit < 1:
            raise ValueError("limit must be at least 1")
        found = self._unknown(review_statements.unknown_with_finished(limit))
        found += self._unknown(review_statements.unknown_open_only(limit))
        found.sort(key=lambda r: (-r.requests, r.first_seen, r.temp_id))
        return found[:limit]

    def _unknown(self, statement: sa.Select[Any]) -> list[UnknownRequest]:
        return [
            UnknownRequest(
                normalized_name=str(row.normalized_name),
                raw_name=str(row.raw_name),
                temp_id=str(row.temp_id),
                first_seen=row.first_seen,
                requests=int(row.requests),
            )
            for row in self._execute(statement)
        ]

    def request_candidates(
        self, normalized_names: Iterable[str]
    ) -> dict[str, tuple[EqcCandidate, ...]]:
        """The EQC candidates last stored for each name (names without any are left out)."""
        distinct = sorted(set(normalized_names))
        found: dict[str, tuple[EqcCandidate, ...]] = {}
        for chunk in _chunks(distinct, MAX_IN_PARAMETERS):
            for row in self._execute(review_statements.request_candidates(chunk)):
                name = str(row.normalized_name)
                if name not in found:
                    found[name] = parsing.candidates_from_json(row.eqc_candidates)
        return found
