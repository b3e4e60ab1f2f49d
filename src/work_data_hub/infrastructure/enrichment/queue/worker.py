"""The enrichment worker: claims queued names, looks them up, records each outcome.

One run is a pipeline: up to ``concurrency`` lookups (threads, paced by the finder's rate
limiter) are kept in flight, and another batch is claimed under a lease whenever the
claims queued or in flight fall below a low-water mark, so no lookup waits for the slowest
one of a batch. Expired leases are recovered before claims, at least once a second. Each
request's outcome is committed in its own transaction as soon as its lookup completes
(by one of a few writer threads; the flow control lives in :mod:`_worker_pipeline`):

* already known (a mapping of the name, or an EQC "not found" within the memory window;
  :mod:`known`) → settled at claim time with no call: ``cached`` / ``known_not_found``;
* hit (one search call, with the normalized — cleanest — spelling) → ``done`` with
  ``resolved_company_id``, the company and its mappings cached; details come later;
* not found → ``done`` with a null id;
* no rate-limit slot yet → wait (:mod:`pacing`); never an attempt, never ``failed``;
* transient error (or any unexpected lookup error) → the retry policy: ``pending`` with
  ``next_retry_at``, or ``failed`` with ``last_error`` at the attempt limit;
* auth error → the run stops; claims not yet finished are released, attempts unchanged.

``max_seconds`` (:class:`pacing.WorkerPacing`) bounds a run the same way as a stop signal.

A background thread renews the lease of every request claimed and not finished. A stop
event (set by SIGINT/SIGTERM in :func:`run_worker`) or an auth error stops the claims, lets
in-flight lookups finish and releases the claims not started, attempts unchanged.
SQL lives in :mod:`queue_repository`; logs carry counts only, ``worker_id`` bound.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
import time
from collections.abc import Callable

import sqlalchemy as sa
import structlog

from work_data_hub.errors import StorageError
from work_data_hub.infrastructure.enrichment.queue import _leases as _worker_runtime
from work_data_hub.infrastructure.enrichment.queue import _run
from work_data_hub.infrastructure.enrichment.queue import retry as retry_policy
from work_data_hub.infrastructure.enrichment.queue.details import DetailsFetcher
from work_data_hub.infrastructure.enrichment.queue.pacing import WorkerPacing
from work_data_hub.infrastructure.enrichment.queue.worker_types import (
    DEFAULT_LEASE,
    CacheWriter,
    CompanyFinder,
    LeaseConfig,
    ProgressCallback,
    WorkerRunStats,
    cache_with_eqc_provider,
    default_worker_id,
)
from work_data_hub.utils import clock
from work_data_hub.utils.logging import get_logger

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_IDLE_SLEEP_S",
    "DEFAULT_LEASE",
    "CacheWriter",
    "CompanyFinder",
    "LeaseConfig",
    "ProgressCallback",
    "WorkerRunStats",
    "cache_with_eqc_provider",
    "default_worker_id",
    "process_enrichment_queue",
    "run_worker",
]

DEFAULT_BATCH_SIZE = 50
DEFAULT_IDLE_SLEEP_S = 5.0


log = get_logger(__name__)


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
    pacing: WorkerPacing | None,
    progress: ProgressCallback | None,
) -> _run.Options:
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    return _run.Options(
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
        pacing=pacing or WorkerPacing(),
        progress=progress,
    )


def _drain(run: _run.Run, max_requests: int | None, *, idle_sleep_s: float | None) -> None:
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


def _execute(run: _run.Run, max_requests: int | None, idle_sleep_s: float | None) -> WorkerRunStats:
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
            cached=stats.cached,
            known_not_found=stats.known_not_found,
            rate_waits=stats.rate_waits,
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
    pacing: WorkerPacing | None = None,
    progress: ProgressCallback | None = None,
) -> WorkerRunStats:
    """Drain the ready part of the queue once (or up to ``max_requests`` claims) and return,
    at the rate limit's pace (``pacing``; its ``max_seconds`` bounds the run).

    ``now`` replaces the clock (tests schedule retries with it); ``cache=None`` skips
    writing hits to the mapping cache; ``progress`` is called as requests are settled.
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
        pacing=pacing,
        progress=progress,
    )
    return _execute(_run.Run(options), max_requests, None)


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
    pacing: WorkerPacing | None = None,
    progress: ProgressCallback | None = None,
    details_when_idle: DetailsFetcher | None = None,
) -> WorkerRunStats:
    """Work until stopped: SIGINT/SIGTERM (or ``stop_event``) finish in-flight lookups,
    release the remaining claims and return; an auth error also ends the run.

    An idle queue is polled every ``idle_sleep_s`` seconds; a batch that fails on the
    database (restart, killed session) is counted in ``database_errors``, its claims are
    given back, and the worker tries again after the same pause. With
    ``details_when_idle`` (the EQC client) the idle pauses fetch company details — spare
    capacity only: requests never wait for details.
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
        pacing=pacing,
        progress=progress,
    )
    if details_when_idle is not None:
        options = dataclasses.replace(options, details=details_when_idle)
    with _worker_runtime.stop_on_signals(options.stop_event):
        return _execute(_run.Run(options), None, idle_sleep_s)
