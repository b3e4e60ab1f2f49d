"""The enrichment worker: claims queued names, looks them up, records each outcome.

One run is a pipeline: up to ``concurrency`` lookups (threads, paced by the finder's rate
limiter) are kept in flight, and another batch is claimed under a lease whenever the
claims queued or in flight fall below a low-water mark, so no lookup waits for the slowest
one of a batch. Expired leases are recovered before claims, at least once a second. Each
request's outcome is committed in its own transaction as soon as its lookup completes
(by one of a few writer threads; the flow control lives in :mod:`_worker_pipeline`):

* hit → ``done`` with ``resolved_company_id``, the company and its mappings cached;
* not found → ``done`` with a null id;
* transient error (or any unexpected lookup error) → the retry policy: ``pending`` with
  ``next_retry_at``, or ``failed`` with ``last_error`` at the attempt limit;
* auth error → the run stops; claims not yet finished are released, attempts unchanged.

A background thread renews the lease of every request claimed and not finished. A stop
event (set by SIGINT/SIGTERM in :func:`run_worker`) or an auth error stops the claims, lets
in-flight lookups finish and releases the claims not started, attempts unchanged.
SQL lives in :mod:`.repository`; logs carry counts only, ``worker_id`` bound.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Protocol

import sqlalchemy as sa
import structlog

from work_data_hub.errors import EqcAuthError, StorageError
from work_data_hub.infrastructure.enrichment import company_ids
from work_data_hub.infrastructure.enrichment.queue import _leases as _worker_runtime
from work_data_hub.infrastructure.enrichment.queue import _pipeline as _worker_pipeline
from work_data_hub.infrastructure.enrichment.queue import repository as queue_repository
from work_data_hub.infrastructure.enrichment.queue import retry as retry_policy
from work_data_hub.infrastructure.enrichment.queue.repository import ClaimedRequest
from work_data_hub.infrastructure.eqc import parsing
from work_data_hub.infrastructure.eqc.types import CompanyInfo
from work_data_hub.utils import clock
from work_data_hub.utils.logging import get_logger

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_IDLE_SLEEP_S",
    "DEFAULT_LEASE",
    "CacheWriter",
    "CompanyFinder",
    "LeaseConfig",
    "WorkerRunStats",
    "cache_with_eqc_provider",
    "default_worker_id",
    "process_enrichment_queue",
    "run_worker",
]

DEFAULT_BATCH_SIZE = 50
DEFAULT_LEASE = dt.timedelta(minutes=5)
DEFAULT_IDLE_SLEEP_S = 5.0

#: Expired leases are recovered before a claim at least this often (and whenever the queue
#: looked empty), seconds.
_RECOVER_EVERY_S = 1.0


log = get_logger(__name__)


class CompanyFinder(Protocol):
    """Looks one name up; raises ``EqcAuthError`` / ``EqcTransientError`` (``EqcClient``)."""

    def find_company(self, name: str) -> CompanyInfo | None: ...


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
        return self.resolved + self.not_found

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "done": self.done}


def default_worker_id() -> str:
    """``host-pid-random``: unique per worker, readable in ``locked_by``."""
    return f"{socket.gethostname()[:80]}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True, kw_only=True)
class _Options:
    engine: sa.Engine
    finder: CompanyFinder
    worker_id: str
    batch_size: int
    concurrency: int
    lease: LeaseConfig
    retry: retry_policy.RetryConfig
    cache: CacheWriter | None
    now: Callable[[], dt.datetime]
    stop_event: threading.Event


@dataclass(frozen=True, slots=True)
class _Outcome:
    """What one lookup found (``info``, ``None``: no such company) or raised (``error``)."""

    claim: ClaimedRequest
    info: CompanyInfo | None = None
    error: Exception | None = None


class _Run:
    """State of one run; one instance per call of the public functions.

    Supplies the queue side of a :class:`_worker_pipeline.Pipeline`: claims (after a
    recovery of expired leases, at least once a second and whenever the queue looked
    empty), lookups, and outcome writes. Every claimed, unfinished id sits in ``_held``
    for the lease renewer and the final release.
    """

    def __init__(self, options: _Options) -> None:
        self.o = options
        self.stats = WorkerRunStats(worker_id=options.worker_id)
        self._stats_lock = threading.Lock()
        self._held = _worker_runtime.HeldClaims()
        self._auth_failed = threading.Event()
        self._last_recovery: float | None = None

    @property
    def stopping(self) -> bool:
        return self.o.stop_event.is_set() or self._auth_failed.is_set()

    def _count(self, field: str, amount: int = 1) -> None:
        with self._stats_lock:
            setattr(self.stats, field, getattr(self.stats, field) + amount)

    def pump(self, max_requests: int | None, idle_sleep_s: float | None) -> str:
        """Claim, look up and record until drained (or, with ``idle_sleep_s``, stopped),
        stopped, ``max_requests`` claimed or an auth error; returns the stop reason.

        In-flight lookups always finish and are recorded first; claims not started are
        then released. A database error is raised after that, claims still held.
        """
        o = self.o
        pipeline: _worker_pipeline.Pipeline[ClaimedRequest, _Outcome] = _worker_pipeline.Pipeline(
            o.engine,
            concurrency=o.concurrency,
            claim=self._claim,
            look_up=self._look_up,
            write=self._write,
            stopping=lambda: self.stopping,
            idle_wait=o.stop_event.wait,
        )
        with _worker_runtime.renewing_leases(
            self._held,
            engine=o.engine,
            worker_id=o.worker_id,
            duration=o.lease.duration,
            interval_s=o.lease.renew_interval_s,
            now=o.now,
        ):
            reason = pipeline.run(
                batch_size=o.batch_size, max_claims=max_requests, idle_sleep_s=idle_sleep_s
            )
        self._release_unfinished()
        if self._auth_failed.is_set():
            return "auth_error"
        return "stopped" if o.stop_event.is_set() else reason

    def _claim(self, limit: int, recover: bool) -> list[ClaimedRequest]:
        o, now, moment = self.o, self.o.now(), time.monotonic()
        last = self._last_recovery
        if recover or last is None or moment - last >= _RECOVER_EVERY_S:
            with o.engine.begin() as conn:
                recovered = queue_repository.QueueRepository(conn).recover_expired(
                    now, max_attempts=o.retry.max_attempts
                )
            self._last_recovery = moment
            self._count("recovered", recovered)
        with o.engine.begin() as conn:
            claims = queue_repository.QueueRepository(conn).claim_batch(
                o.worker_id, limit, o.lease.duration, now
            )
        if claims:
            self._held.add(claim.id for claim in claims)
            self._count("batches")
            self._count("claimed", len(claims))
            log.debug("worker.batch_claimed", claimed=len(claims), **self._counts())
        return claims

    def _counts(self) -> dict[str, int]:
        s = self.stats
        return {"resolved": s.resolved, "not_found": s.not_found, "retried": s.retried}

    def _look_up(self, claim: ClaimedRequest) -> _Outcome | None:
        try:
            return _Outcome(claim, info=self.o.finder.find_company(claim.raw_name))
        except EqcAuthError as exc:
            if not self._auth_failed.is_set():
                log.warning("worker.auth_failed", status_code=exc.status_code)
            self._auth_failed.set()
            return None  # released with the claims not started, attempts unchanged
        except Exception as exc:  # per request: any lookup failure goes to the retry policy
            return _Outcome(claim, error=exc)

    def _write(self, conn: sa.Connection, outcome: _Outcome) -> None:
        """Commit one outcome in its own transaction (a writer thread)."""
        o, claim, info, now = self.o, outcome.claim, outcome.info, self.o.now()
        repo = queue_repository.QueueRepository(conn)
        with conn.begin():
            if outcome.error is not None:
                counter, owned = self._record_failure(repo, claim, outcome.error, now)
            else:
                candidates = info.candidates if info is not None else ()
                company_id = None if info is None else company_ids.valid_company_id(info.company_id)
                if info is not None and company_id != info.company_id:
                    # EQC answered with an id the id rule refuses: recorded as not found.
                    self._count("invalid_ids")
                    info = None
                # A hit too weak to cache settles nothing: the name stays unknown, and the
                # answer's entries are kept with the request as review suggestions.
                settled = info is not None and info.confidence >= parsing.CACHE_MIN_CONFIDENCE
                counter = "resolved" if settled else "not_found"
                owned = repo.mark_done(
                    claim.id,
                    worker_id=o.worker_id,
                    company_id=company_id if settled else None,
                    now=now,
                    candidates=candidates,
                )
                if owned and settled and info is not None and o.cache is not None:
                    o.cache(conn, claim.normalized_name, info)
        self._held.discard(claim.id)
        self._count(counter if owned else "lost_leases")

    def _record_failure(
        self,
        repo: queue_repository.QueueRepository,
        claim: ClaimedRequest,
        error: Exception,
        now: dt.datetime,
    ) -> tuple[str, bool]:
        """The retry policy's verdict on a failed lookup: (counter, still owned)."""
        o = self.o
        self._count("lookup_errors")
        decision = retry_policy.decide_retry(claim.attempts + 1, now, o.retry)
        label = retry_policy.error_label(error)
        if decision.final:
            return "failed", repo.mark_failed(claim.id, worker_id=o.worker_id, error=label, now=now)
        assert decision.next_retry_at is not None
        retry_at = decision.next_retry_at
        owned = repo.mark_retry(
            claim.id, worker_id=o.worker_id, next_retry_at=retry_at, error=label, now=now
        )
        return "retried", owned

    def after_database_error(self, error: Exception) -> None:
        """A batch failed on the database: count it, give back what is still held (best
        effort; the lease expiry covers a failed release)."""
        self._count("database_errors")
        log.warning(
            "worker.database_error",
            error_type=getattr(error, "error_type", None) or type(error).__name__,
        )
        try:
            self._release_unfinished()
        except Exception as exc:  # the database may still be away; recovery covers it
            log.warning("worker.release_failed", error_type=type(exc).__name__)

    def _release_unfinished(self) -> None:
        unfinished = self._held.take_all()
        if unfinished:
            with self.o.engine.begin() as conn:
                released = queue_repository.QueueRepository(conn).release(
                    unfinished, worker_id=self.o.worker_id, now=self.o.now()
                )
            self._count("released", released)


def _options(
    engine: sa.Engine,
    finder: CompanyFinder,
    *,
    worker_id: str | None,
    batch_size: int,
    concurrency: int,
    lease: LeaseConfig | None,
    retry: retry_policy.RetryConfig | None,
    stop_event: threading.Event | None,
    cache: CacheWriter | None,
    now: Callable[[], dt.datetime] | None,
) -> _Options:
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    return _Options(
        engine=engine,
        finder=finder,
        worker_id=(worker_id or default_worker_id())[:128],
        batch_size=batch_size,
        concurrency=concurrency,
        lease=lease or LeaseConfig(),
        retry=retry or retry_policy.RetryConfig(),
        cache=cache,
        now=now or clock.utcnow,
        stop_event=stop_event or threading.Event(),
    )


def _drain(run: _Run, max_requests: int | None, *, idle_sleep_s: float | None) -> None:
    """Pump until drained, stopped or capped; a long-running worker (``idle_sleep_s``)
    survives database errors and starts the pump again after a pause."""
    while True:
        if run.o.stop_event.is_set():
            run.stats.stop_reason = "stopped"
            return
        try:
            reason = run.pump(max_requests, idle_sleep_s)
        except (StorageError, sa.exc.SQLAlchemyError) as exc:
            # Claims still held are given back (best effort; their lease expiry covers it).
            run.after_database_error(exc)
            if idle_sleep_s is None:
                raise  # a one-off drain stops; the next scheduled run picks the rest up
            # Long-running: the database went away (restart, killed session); reconnect
            # on the next pump instead of ending the worker.
            run.o.stop_event.wait(idle_sleep_s)
            continue
        run.stats.auth_failed = reason == "auth_error"
        run.stats.stop_reason = reason
        return


def _execute(run: _Run, max_requests: int | None, idle_sleep_s: float | None) -> WorkerRunStats:
    started = time.perf_counter()
    with structlog.contextvars.bound_contextvars(worker_id=run.o.worker_id):
        try:
            _drain(run, max_requests, idle_sleep_s=idle_sleep_s)
        finally:
            run.stats.elapsed_ms = clock.ms_since(started, 1)
        stats = run.stats
        log.info(
            "worker.run_done",
            claimed=stats.claimed,
            done=stats.done,
            resolved=stats.resolved,
            not_found=stats.not_found,
            retried=stats.retried,
            failed=stats.failed,
            released=stats.released,
            lost_leases=stats.lost_leases,
            recovered=stats.recovered,
            stop_reason=stats.stop_reason,
            elapsed_ms=stats.elapsed_ms,
        )
    return stats


def process_enrichment_queue(
    engine: sa.Engine,
    finder: CompanyFinder,
    *,
    worker_id: str | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    max_requests: int | None = None,
    concurrency: int = 1,
    lease: LeaseConfig | None = None,
    retry: retry_policy.RetryConfig | None = None,
    stop_event: threading.Event | None = None,
    cache: CacheWriter | None = cache_with_eqc_provider,
    now: Callable[[], dt.datetime] | None = None,
) -> WorkerRunStats:
    """Drain the ready part of the queue once (or up to ``max_requests`` claims) and return.

    ``now`` replaces the clock (tests schedule retries with it); ``cache=None`` skips
    writing hits to the mapping cache.
    """
    options = _options(
        engine,
        finder,
        worker_id=worker_id,
        batch_size=batch_size,
        concurrency=concurrency,
        lease=lease,
        retry=retry,
        stop_event=stop_event,
        cache=cache,
        now=now,
    )
    return _execute(_Run(options), max_requests, None)


def run_worker(
    engine: sa.Engine,
    finder: CompanyFinder,
    *,
    worker_id: str | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    concurrency: int = 1,
    lease: LeaseConfig | None = None,
    retry: retry_policy.RetryConfig | None = None,
    stop_event: threading.Event | None = None,
    cache: CacheWriter | None = cache_with_eqc_provider,
    idle_sleep_s: float = DEFAULT_IDLE_SLEEP_S,
    now: Callable[[], dt.datetime] | None = None,
) -> WorkerRunStats:
    """Work until stopped: SIGINT/SIGTERM (or ``stop_event``) finish in-flight lookups,
    release the remaining claims and return; an auth error also ends the run.

    An idle queue is polled every ``idle_sleep_s`` seconds; a batch that fails on the
    database (restart, killed session) is counted in ``database_errors``, its claims are
    given back, and the worker tries again after the same pause.
    """
    options = _options(
        engine,
        finder,
        worker_id=worker_id,
        batch_size=batch_size,
        concurrency=concurrency,
        lease=lease,
        retry=retry,
        stop_event=stop_event,
        cache=cache,
        now=now,
    )
    with _worker_runtime.stop_on_signals(options.stop_event):
        return _execute(_Run(options), None, idle_sleep_s)
