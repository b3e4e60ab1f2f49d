"""The worker's public value types: the finder it needs, its lease and its counts.

Kept apart from :mod:`worker` so the run loop reads on its own; :mod:`worker` re-exports
every name here.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Protocol

import sqlalchemy as sa

from work_data_hub.infrastructure.eqc.types import CompanyInfo

__all__ = [
    "DEFAULT_LEASE",
    "CacheWriter",
    "CompanyFinder",
    "LeaseConfig",
    "ProgressCallback",
    "WorkerRunStats",
    "cache_with_eqc_provider",
    "default_worker_id",
]

DEFAULT_LEASE = dt.timedelta(minutes=5)


class CompanyFinder(Protocol):
    """Looks one name up with one search (``EqcClient.search_company``); raises
    ``EqcAuthError``, ``EqcTransientError``, or ``EqcRateLimitWait`` when no slot came
    free within ``wait_s`` (nothing sent)."""

    def search_company(self, name: str, *, wait_s: float | None) -> CompanyInfo | None: ...


#: Writes a hit to the mapping cache inside the outcome's transaction.
CacheWriter = Callable[[sa.Connection, str, CompanyInfo], None]


def cache_with_eqc_provider(conn: sa.Connection, normalized_name: str, info: CompanyInfo) -> None:
    """Cache a hit the way the EQC provider does (company, ``eqc`` mappings, in a savepoint)."""
    # Imported on use: the provider is optional.
    from work_data_hub.infrastructure.enrichment import mapping_repository  # noqa: PLC0415
    from work_data_hub.infrastructure.enrichment.resolve import eqc_provider  # noqa: PLC0415

    if info.confidence < eqc_provider.DEFAULT_MIN_CONFIDENCE:
        return  # too weak to serve as a cache entry; the request still records the id
    repository = mapping_repository.CompanyMappingRepository(conn)
    eqc_provider.cache_company_info(repository, normalized_name, info)


@dataclass(frozen=True, kw_only=True, slots=True)
class LeaseConfig:
    """How long a claim is held, and how often the holder renews it."""

    duration: dt.timedelta = DEFAULT_LEASE
    renew_every: dt.timedelta | None = None  # default: a third of ``duration``

    def __post_init__(self) -> None:
        if self.duration <= dt.timedelta(0):
            raise ValueError("lease duration must be positive")

    @property
    def renew_interval_s(self) -> float:
        interval = self.renew_every or self.duration / 3
        return max(interval.total_seconds(), 0.01)


@dataclass(kw_only=True)
class WorkerRunStats:
    """Counts of one worker run."""

    worker_id: str = ""
    batches: int = 0
    claimed: int = 0
    resolved: int = 0
    not_found: int = 0
    retried: int = 0
    failed: int = 0
    cached: int = 0
    known_not_found: int = 0
    rate_waits: int = 0
    released: int = 0
    lost_leases: int = 0
    recovered: int = 0
    lookup_errors: int = 0
    database_errors: int = 0
    invalid_ids: int = 0
    auth_failed: bool = False
    stop_reason: str = "drained"
    elapsed_ms: float = 0.0

    @property
    def done(self) -> int:
        return self.resolved + self.not_found + self.cached + self.known_not_found

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "done": self.done}


#: Called with the run's counts after each request is settled (a progress bar).
ProgressCallback = Callable[[WorkerRunStats], None]


def default_worker_id() -> str:
    """``host-pid-random``: unique per worker, readable in ``locked_by``."""
    return f"{socket.gethostname()[:80]}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
