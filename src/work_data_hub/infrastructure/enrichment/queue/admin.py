"""Operator services on the enrichment queue: status snapshot, retry failed, purge.

Each function takes the engine and runs in its own transaction (the CLI and Dagster call
them); the statements are :class:`~.repository.QueueRepository`'s, which never begins
or commits.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from work_data_hub.infrastructure.db import tables
from work_data_hub.infrastructure.enrichment.queue.repository import QueueRepository

__all__ = ["QueueStatus", "purge_requests", "queue_status", "retry_failed_requests", "snapshot"]

_FINISHED = (tables.RequestStatus.DONE.value, tables.RequestStatus.FAILED.value)


@dataclass(frozen=True, kw_only=True, slots=True)
class QueueStatus:
    """A snapshot of the queue for operators (CLI ``status``, Dagster metadata)."""

    counts: Mapping[str, int]
    ready_pending: int
    oldest_pending_age_s: float | None
    next_retry_at: dt.datetime | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "counts": dict(self.counts),
            "ready_pending": self.ready_pending,
            "oldest_pending_age_s": self.oldest_pending_age_s,
            "next_retry_at": self.next_retry_at.isoformat() if self.next_retry_at else None,
        }


def snapshot(repository: QueueRepository, now: dt.datetime) -> QueueStatus:
    """A :class:`QueueStatus` read through ``repository`` (the caller's transaction)."""
    age = repository.oldest_pending_age(now)
    return QueueStatus(
        counts=repository.status_counts(),
        ready_pending=repository.ready_pending_count(now),
        oldest_pending_age_s=age.total_seconds() if age is not None else None,
        next_retry_at=repository.next_retry_at(now),
    )


def queue_status(engine: sa.Engine, now: dt.datetime) -> QueueStatus:
    """Queue snapshot in its own read transaction."""
    with engine.connect() as conn:
        return snapshot(QueueRepository(conn), now)


def retry_failed_requests(engine: sa.Engine, now: dt.datetime) -> int:
    """Reopen failed requests and commit; returns how many."""
    with engine.begin() as conn:
        return QueueRepository(conn).retry_failed(now)


def purge_requests(
    engine: sa.Engine, older_than: dt.datetime, *, statuses: Sequence[str] = _FINISHED
) -> int:
    """Delete finished requests older than ``older_than`` and commit; returns how many."""
    with engine.begin() as conn:
        return QueueRepository(conn).purge(older_than, statuses=statuses)
