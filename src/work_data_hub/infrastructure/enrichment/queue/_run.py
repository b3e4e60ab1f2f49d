"""One worker run's state: claims, lookups paced to the rate limit, outcome writes.

:class:`_Run` supplies the queue side of a :class:`_pipeline.Pipeline`; the public entry
points and the module's full story are in :mod:`worker`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa

from work_data_hub.errors import EqcAuthError, EqcRateLimitWait
from work_data_hub.infrastructure.enrichment import company_ids
from work_data_hub.infrastructure.enrichment.queue import _leases as _worker_runtime
from work_data_hub.infrastructure.enrichment.queue import _pipeline as _worker_pipeline
from work_data_hub.infrastructure.enrichment.queue import known
from work_data_hub.infrastructure.enrichment.queue import repository as queue_repository
from work_data_hub.infrastructure.enrichment.queue import retry as retry_policy
from work_data_hub.infrastructure.enrichment.queue.details import DetailsFetcher, fetch_details
from work_data_hub.infrastructure.enrichment.queue.pacing import WorkerPacing
from work_data_hub.infrastructure.enrichment.queue.repository import ClaimedRequest
from work_data_hub.infrastructure.enrichment.queue.worker_types import (
    CacheWriter,
    CompanyFinder,
    LeaseConfig,
    ProgressCallback,
    WorkerRunStats,
)
from work_data_hub.infrastructure.eqc import parsing
from work_data_hub.infrastructure.eqc.types import CompanyInfo
from work_data_hub.utils.logging import get_logger

__all__ = ["Options", "Outcome", "Run"]

#: Counters of settled requests (they move a progress bar).
_SETTLED = frozenset({"resolved", "not_found", "cached", "known_not_found", "retried", "failed"})

#: Expired leases are recovered before a claim at least this often (and whenever the queue
#: looked empty), seconds.
_RECOVER_EVERY_S = 1.0


log = get_logger(__name__)


@dataclass(frozen=True, kw_only=True)
class Options:
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
    pacing: WorkerPacing
    progress: ProgressCallback | None
    details: DetailsFetcher | None = None


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one lookup found (``info``, ``None``: no such company) or raised (``error``)."""

    claim: ClaimedRequest
    info: CompanyInfo | None = None
    error: Exception | None = None


class Run:
    """State of one run; one instance per call of the public functions.

    Supplies the queue side of a :class:`_worker_pipeline.Pipeline`: claims (after a
    recovery of expired leases, at least once a second and whenever the queue looked
    empty), lookups, and outcome writes. Every claimed, unfinished id sits in ``_held``
    for the lease renewer and the final release.
    """

    def __init__(self, options: Options) -> None:
        self.o = options
        self.stats = WorkerRunStats(worker_id=options.worker_id)
        self._stats_lock = threading.Lock()
        self._held = _worker_runtime.HeldClaims()
        self._auth_failed = threading.Event()
        self._last_recovery: float | None = None
        pacing = options.pacing
        self._ends_at = (
            None if pacing.max_seconds is None else pacing.monotonic() + pacing.max_seconds
        )
        self._pause = pacing.sleep or options.stop_event.wait

    @property
    def out_of_time(self) -> bool:
        return self._ends_at is not None and self.o.pacing.monotonic() >= self._ends_at

    @property
    def stopping(self) -> bool:
        return self.o.stop_event.is_set() or self._auth_failed.is_set() or self.out_of_time

    def _count(self, field: str, amount: int = 1) -> None:
        with self._stats_lock:
            setattr(self.stats, field, getattr(self.stats, field) + amount)
        if self.o.progress is not None and field in _SETTLED:
            self.o.progress(self.stats)

    def pump(self, max_requests: int | None, idle_sleep_s: float | None) -> str:
        """Claim, look up and record until drained (or, with ``idle_sleep_s``, stopped),
        stopped, ``max_requests`` claimed or an auth error; returns the stop reason.

        In-flight lookups always finish and are recorded first; claims not started are
        then released. A database error is raised after that, claims still held.
        """
        o = self.o
        pipeline: _worker_pipeline.Pipeline[ClaimedRequest, Outcome] = _worker_pipeline.Pipeline(
            o.engine,
            concurrency=o.concurrency,
            claim=self._claim,
            look_up=self._look_up,
            write=self._write,
            stopping=lambda: self.stopping,
            idle_wait=self._idle,
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
        if o.stop_event.is_set():
            return "stopped"
        return "max_seconds" if self.out_of_time else reason

    def _idle(self, seconds: float) -> None:
        """Nothing is ready: spend the pause on company details (spare capacity), if the
        run has a details fetcher, then wait out what is left of it."""
        o = self.o
        started = o.pacing.monotonic()
        if o.details is not None:
            bounded = dataclasses.replace(o.pacing, max_seconds=seconds)
            fetch_details(o.engine, o.details, pacing=bounded, stop_event=o.stop_event, now=o.now)
        left = seconds - (o.pacing.monotonic() - started)
        if left > 0:
            o.stop_event.wait(left)

    def _claim(self, limit: int, recover: bool) -> list[ClaimedRequest]:
        o, now, moment = self.o, self.o.now(), time.monotonic()
        if o.pacing.max_starts_per_lease is not None:
            limit = min(limit, o.pacing.max_starts_per_lease)
        last = self._last_recovery
        if recover or last is None or moment - last >= _RECOVER_EVERY_S:
            with o.engine.begin() as conn:
                recovered = queue_repository.QueueRepository(conn).recover_expired(
                    now, max_attempts=o.retry.max_attempts
                )
            self._last_recovery = moment
            self._count("recovered", recovered)
        # Claims settled from stored answers need no lookup: claim again until some need
        # one or the queue is empty, so a batch of known names never reads as "drained".
        while not self.stopping:
            with o.engine.begin() as conn:
                claims = queue_repository.QueueRepository(conn).claim_batch(
                    o.worker_id, limit, o.lease.duration, now
                )
            if not claims:
                return []
            self._held.add(claim.id for claim in claims)
            self._count("batches")
            self._count("claimed", len(claims))
            log.debug("worker.batch_claimed", claimed=len(claims), **self._counts())
            to_look_up = self._settle_known(claims)
            if to_look_up:
                return to_look_up
        return []

    def _settle_known(self, claims: list[ClaimedRequest]) -> list[ClaimedRequest]:
        """Close the claims whose answer is stored (a mapping, a recent "not found") with
        no call; returns the others, to look up."""
        o, now = self.o, self.o.now()
        memory = o.pacing.not_found_memory
        open_claims: list[ClaimedRequest] = []
        with o.engine.begin() as conn:
            answers = known.known_answers(
                conn,
                [claim.normalized_name for claim in claims],
                not_found_since=None if memory is None else now - memory,
            )
            if not answers.ids and not answers.not_found:
                return claims
            repo = queue_repository.QueueRepository(conn)
            settled: list[tuple[int, str]] = []
            for claim in claims:
                company_id = answers.ids.get(claim.normalized_name)
                if company_id is not None:
                    owned = repo.mark_done(
                        claim.id,
                        worker_id=o.worker_id,
                        company_id=company_id,
                        now=now,
                        looked_up=False,
                    )
                    settled.append((claim.id, "cached" if owned else "lost_leases"))
                elif claim.normalized_name in answers.not_found:
                    owned = repo.mark_done(
                        claim.id,
                        worker_id=o.worker_id,
                        company_id=None,
                        now=now,
                        looked_up=False,
                        note=known.REMEMBERED,
                    )
                    settled.append((claim.id, "known_not_found" if owned else "lost_leases"))
                else:
                    open_claims.append(claim)
        for request_id, counter in settled:
            self._held.discard(request_id)
            self._count(counter)
        return open_claims

    def _counts(self) -> dict[str, int]:
        s = self.stats
        return {"resolved": s.resolved, "not_found": s.not_found, "retried": s.retried}

    def _look_up(self, claim: ClaimedRequest) -> Outcome | None:
        # The normalized name is the cleanest spelling (status markers, stray spaces and
        # width differences gone): every raw spelling of the name asks EQC the same thing.
        name = claim.normalized_name or claim.raw_name
        pacing = self.o.pacing
        try:
            while True:
                if self.stopping:
                    return None  # released with the claims not started, attempts unchanged
                asked = pacing.monotonic()
                try:
                    info = self.o.finder.search_company(name, wait_s=pacing.rate_wait_s)
                except EqcRateLimitWait:
                    self._count("rate_waits")
                    # The limiter normally waits the slice out itself; pause only if it
                    # came back at once, so the loop never spins.
                    waited = pacing.monotonic() - asked
                    if waited < pacing.rate_wait_s / 2:
                        self._pause(pacing.rate_wait_s - waited)
                    continue
                return Outcome(claim, info=info)
        except EqcAuthError as exc:
            if not self._auth_failed.is_set():
                log.warning("worker.auth_failed", status_code=exc.status_code)
            self._auth_failed.set()
            return None  # released with the claims not started, attempts unchanged
        except Exception as exc:  # per request: any lookup failure goes to the retry policy
            return Outcome(claim, error=exc)

    def _write(self, conn: sa.Connection, outcome: Outcome) -> None:
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
