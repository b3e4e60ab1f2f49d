"""The worker against real databases, with an in-process finder at the lookup seam."""

from __future__ import annotations

import datetime as dt
import os
import signal
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from structlog.testing import capture_logs

from tests.helpers import insert_requests
from work_data_hub.errors import EqcAuthError, EqcTransientError, StorageError
from work_data_hub.infrastructure.db import tables
from work_data_hub.infrastructure.enrichment.queue import worker as worker_module
from work_data_hub.infrastructure.enrichment.queue.retry import RetryConfig
from work_data_hub.infrastructure.enrichment.queue.worker import (
    LeaseConfig,
    process_enrichment_queue,
    run_worker,
)
from work_data_hub.infrastructure.enrichment.types import CompanyInfo

R = tables.enrichment_requests
T0 = dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.UTC)


class FakeFinder:
    """Answers from a table: a CompanyInfo, None (not found) or an exception to raise."""

    def __init__(self, answers: dict[str, Any] | None = None, default: Any = None) -> None:
        self.answers = answers or {}
        self.default = default
        self.calls: list[str] = []
        self.before: Callable[[str], None] | None = None
        self._lock = threading.Lock()

    def search_company(self, name: str, *, wait_s: float | None = None) -> CompanyInfo | None:
        with self._lock:
            self.calls.append(name)
        if self.before is not None:
            self.before(name)
        answer = self.answers.get(name, self.default)
        if isinstance(answer, BaseException):
            raise answer
        return answer  # type: ignore[no-any-return]


def info(company_id: str) -> CompanyInfo:
    return CompanyInfo(company_id=company_id, official_name=f"{company_id}有限公司")


def rows(engine: sa.Engine) -> dict[str, Any]:
    with engine.connect() as conn:
        return {r.raw_name: r for r in conn.execute(sa.select(R).order_by(R.c.id))}


class Clock:
    def __init__(self, moment: dt.datetime) -> None:
        self.moment = moment

    def __call__(self) -> dt.datetime:
        return self.moment


def test_hits_and_misses_end_done(db_engine: sa.Engine) -> None:
    insert_requests(db_engine, ["甲公司", "乙公司"])
    finder = FakeFinder({"甲公司": info("C1")})
    stats = process_enrichment_queue(db_engine, finder, cache=None)
    result = rows(db_engine)
    assert (result["甲公司"].status, result["甲公司"].resolved_company_id) == ("done", "C1")
    assert (result["乙公司"].status, result["乙公司"].resolved_company_id) == ("done", None)
    assert (stats.resolved, stats.not_found, stats.done, stats.stop_reason) == (1, 1, 2, "drained")


def test_every_name_is_looked_up_once_across_batches(db_engine: sa.Engine) -> None:
    names = [f"公司{i:03d}" for i in range(25)]
    insert_requests(db_engine, names)
    finder = FakeFinder(default=info("C"))
    stats = process_enrichment_queue(db_engine, finder, batch_size=7, cache=None)
    assert sorted(finder.calls) == names
    assert stats.batches == 4
    assert {r.status for r in rows(db_engine).values()} == {"done"}


def test_concurrent_lookups_drain_the_queue_once_each(db_engine: sa.Engine) -> None:
    names = [f"公司{i:03d}" for i in range(120)]
    insert_requests(db_engine, names)
    finder = FakeFinder(default=info("C"))
    stats = process_enrichment_queue(db_engine, finder, batch_size=40, concurrency=8, cache=None)
    assert sorted(finder.calls) == names
    assert stats.resolved == 120
    assert {r.status for r in rows(db_engine).values()} == {"done"}


def test_transient_error_schedules_a_retry(db_engine: sa.Engine) -> None:
    insert_requests(db_engine, ["甲公司"])
    finder = FakeFinder(default=EqcTransientError("甲公司 busy", status_code=503))
    stats = process_enrichment_queue(db_engine, finder, cache=None, now=Clock(T0))
    request = rows(db_engine)["甲公司"]
    assert (request.status, request.attempts) == ("pending", 1)
    assert request.next_retry_at == T0 + dt.timedelta(minutes=1)
    assert request.last_error == "EqcTransientError status=503"
    assert stats.retried == 1


def test_retries_follow_the_schedule_then_fail(db_engine: sa.Engine) -> None:
    insert_requests(db_engine, ["甲公司"])
    finder = FakeFinder(default=EqcTransientError(status_code=502))
    clock = Clock(T0)

    def run_at(moment: dt.datetime) -> None:
        clock.moment = moment
        process_enrichment_queue(db_engine, finder, cache=None, now=clock)

    run_at(T0)
    run_at(T0 + dt.timedelta(seconds=59))  # not due yet
    assert len(finder.calls) == 1
    run_at(T0 + dt.timedelta(minutes=1))
    assert rows(db_engine)["甲公司"].next_retry_at == T0 + dt.timedelta(minutes=6)
    run_at(T0 + dt.timedelta(minutes=5, seconds=59))
    assert len(finder.calls) == 2
    run_at(T0 + dt.timedelta(minutes=6))
    request = rows(db_engine)["甲公司"]
    assert len(finder.calls) == 3
    assert (request.status, request.attempts, request.next_retry_at) == ("failed", 3, None)
    assert request.last_error == "EqcTransientError status=502"


def test_configured_schedule_and_attempts_are_used(db_engine: sa.Engine) -> None:
    insert_requests(db_engine, ["甲公司"])
    retry = RetryConfig(max_attempts=2, schedule=(dt.timedelta(seconds=10),))
    finder = FakeFinder(default=EqcTransientError(status_code=500))
    process_enrichment_queue(db_engine, finder, cache=None, retry=retry, now=Clock(T0))
    assert rows(db_engine)["甲公司"].next_retry_at == T0 + dt.timedelta(seconds=10)
    later = Clock(T0 + dt.timedelta(seconds=10))
    process_enrichment_queue(db_engine, finder, cache=None, retry=retry, now=later)
    assert rows(db_engine)["甲公司"].status == "failed"


def test_unexpected_lookup_error_goes_to_the_retry_policy(db_engine: sa.Engine) -> None:
    insert_requests(db_engine, ["甲公司"])
    finder = FakeFinder(default=KeyError("甲公司"))
    process_enrichment_queue(db_engine, finder, cache=None)
    request = rows(db_engine)["甲公司"]
    assert (request.status, request.last_error) == ("pending", "KeyError")


def test_auth_error_stops_the_run_with_attempts_unchanged(db_engine: sa.Engine) -> None:
    names = [f"公司{i}" for i in range(6)]
    insert_requests(db_engine, names, attempts=1)
    finder = FakeFinder({"公司0": info("C0"), "公司1": EqcAuthError(status_code=401)})
    stats = process_enrichment_queue(db_engine, finder, batch_size=3, cache=None)
    result = rows(db_engine)
    assert finder.calls == ["公司0", "公司1"]
    assert stats.auth_failed
    assert stats.stop_reason == "auth_error"
    assert (stats.resolved, stats.released) == (1, 2)
    assert result["公司0"].status == "done"
    assert all((result[n].status, result[n].attempts) == ("pending", 1) for n in names[1:])


def test_auth_error_under_concurrency_leaves_nothing_processing(db_engine: sa.Engine) -> None:
    names = [f"公司{i:02d}" for i in range(40)]
    insert_requests(db_engine, names)
    finder = FakeFinder({"公司05": EqcAuthError(status_code=401)}, default=info("C"))
    stats = process_enrichment_queue(db_engine, finder, batch_size=40, concurrency=4, cache=None)
    statuses = [r.status for r in rows(db_engine).values()]
    assert stats.auth_failed
    assert "processing" not in statuses
    assert statuses.count("done") == stats.resolved
    assert all(r.attempts == 0 for r in rows(db_engine).values() if r.status == "pending")


def test_max_requests_caps_the_claims(db_engine: sa.Engine) -> None:
    insert_requests(db_engine, [f"公司{i}" for i in range(10)])
    stats = process_enrichment_queue(
        db_engine, FakeFinder(), batch_size=3, max_requests=4, cache=None
    )
    assert (stats.claimed, stats.stop_reason) == (4, "max_requests")
    assert [r.status for r in rows(db_engine).values()].count("pending") == 6


def test_stop_event_finishes_in_flight_and_releases_the_rest(db_engine: sa.Engine) -> None:
    insert_requests(db_engine, [f"公司{i}" for i in range(5)])
    stop = threading.Event()
    finder = FakeFinder(default=info("C"))
    finder.before = lambda name: stop.set() if name == "公司1" else None
    stats = process_enrichment_queue(db_engine, finder, stop_event=stop, cache=None)
    statuses = [r.status for r in rows(db_engine).values()]
    assert statuses == ["done", "done", "pending", "pending", "pending"]
    assert (stats.released, stats.stop_reason) == (3, "stopped")


def test_expired_leases_are_recovered_and_processed(db_engine: sa.Engine) -> None:
    insert_requests(
        db_engine,
        ["甲公司"],
        status="processing",
        locked_by="gone",
        locked_until=T0 - dt.timedelta(seconds=1),
    )
    stats = process_enrichment_queue(
        db_engine, FakeFinder(default=info("C1")), cache=None, now=Clock(T0)
    )
    request = rows(db_engine)["甲公司"]
    assert (stats.recovered, stats.resolved) == (1, 1)
    assert (request.status, request.attempts) == ("done", 2)


def test_lease_is_renewed_while_a_lookup_runs(db_engine: sa.Engine) -> None:
    insert_requests(db_engine, ["甲公司"])
    renewed = threading.Event()
    first_lease: list[dt.datetime] = []

    def wait_for_renewal(_name: str) -> None:
        with db_engine.connect() as conn:
            first_lease.append(conn.execute(sa.select(R.c.locked_until)).scalar_one())
        for _ in range(200):
            with db_engine.connect() as conn:
                if conn.execute(sa.select(R.c.locked_until)).scalar_one() > first_lease[0]:
                    renewed.set()
                    return
            time.sleep(0.02)

    finder = FakeFinder(default=info("C1"))
    finder.before = wait_for_renewal
    lease = LeaseConfig(duration=dt.timedelta(seconds=30), renew_every=dt.timedelta(seconds=0.05))
    process_enrichment_queue(db_engine, finder, lease=lease, cache=None)
    assert renewed.is_set()
    assert rows(db_engine)["甲公司"].status == "done"


def test_a_worker_that_lost_its_lease_writes_nothing(db_engine: sa.Engine) -> None:
    insert_requests(db_engine, ["甲公司"])
    cached: list[str] = []

    def steal(_name: str) -> None:
        with db_engine.begin() as conn:
            conn.execute(sa.update(R).values(locked_by="other-worker"))

    finder = FakeFinder(default=info("C1"))
    finder.before = steal
    stats = process_enrichment_queue(
        db_engine, finder, cache=lambda _c, name, _i: cached.append(name)
    )
    request = rows(db_engine)["甲公司"]
    assert (stats.lost_leases, stats.resolved, cached) == (1, 0, [])
    assert (request.status, request.locked_by) == ("processing", "other-worker")


def test_hits_are_cached_in_the_outcome_transaction(db_engine: sa.Engine) -> None:
    insert_requests(db_engine, ["甲公司", "乙公司"])
    cached: list[tuple[str, str]] = []

    def cache(conn: sa.Connection, name: str, company: CompanyInfo) -> None:
        assert conn.in_transaction()
        cached.append((name, company.company_id))

    process_enrichment_queue(db_engine, FakeFinder({"甲公司": info("C1")}), cache=cache)
    assert cached == [("甲公司", "C1")]


def test_logs_carry_counts_and_worker_id_but_no_names(db_engine: sa.Engine) -> None:
    insert_requests(db_engine, ["甲公司", "乙公司"])
    finder = FakeFinder({"甲公司": EqcTransientError(status_code=503)})
    with capture_logs() as logs:
        process_enrichment_queue(db_engine, finder, worker_id="w-logs", cache=None)
    done = next(e for e in logs if e["event"] == "worker.run_done")
    assert (done["claimed"], done["retried"], done["not_found"]) == (2, 1, 1)
    assert "甲公司" not in repr(logs)
    assert "IN0000000000000000" not in repr(logs)


def test_worker_id_is_bound_to_every_log_line(db_engine: sa.Engine) -> None:
    import structlog

    insert_requests(db_engine, ["甲公司"])
    seen: list[Any] = []
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            lambda _l, _m, event: seen.append(dict(event)) or event,
            structlog.processors.JSONRenderer(),
        ],
        logger_factory=structlog.ReturnLoggerFactory(),
    )
    process_enrichment_queue(db_engine, FakeFinder(), worker_id="w-ctx", cache=None)
    assert seen
    assert all(event.get("worker_id") == "w-ctx" for event in seen)


def test_invalid_arguments_are_rejected(db_engine: sa.Engine) -> None:
    with pytest.raises(ValueError):
        process_enrichment_queue(db_engine, FakeFinder(), batch_size=0)
    with pytest.raises(ValueError):
        process_enrichment_queue(db_engine, FakeFinder(), concurrency=0)
    with pytest.raises(ValueError):
        LeaseConfig(duration=dt.timedelta(0))


def test_default_worker_ids_are_unique() -> None:
    assert worker_module.default_worker_id() != worker_module.default_worker_id()


def test_long_running_worker_polls_until_stopped(db_engine: sa.Engine) -> None:
    stop = threading.Event()
    finder = FakeFinder(default=info("C"))
    insert_requests(db_engine, ["甲公司"])

    def later_request(_name: str) -> None:
        finder.before = None
        threading.Timer(0.1, stop.set).start()

    finder.before = later_request
    stats = run_worker(db_engine, finder, stop_event=stop, idle_sleep_s=0.02, cache=None)
    assert (stats.resolved, stats.stop_reason) == (1, "stopped")


def test_sigterm_finishes_in_flight_releases_the_rest_and_returns(db_engine: sa.Engine) -> None:
    insert_requests(db_engine, [f"公司{i}" for i in range(4)])
    finder = FakeFinder(default=info("C"))
    finder.before = lambda name: os.kill(os.getpid(), signal.SIGTERM) if name == "公司0" else None
    previous = signal.getsignal(signal.SIGTERM)
    stats = run_worker(db_engine, finder, idle_sleep_s=0.01, cache=None)
    statuses = [r.status for r in rows(db_engine).values()]
    assert statuses == ["done", "pending", "pending", "pending"]
    assert (stats.released, stats.stop_reason) == (3, "stopped")
    assert signal.getsignal(signal.SIGTERM) is previous


def test_a_slow_lookup_does_not_hold_back_the_next_batch(db_engine: sa.Engine) -> None:
    names = [f"公司{i}" for i in range(6)]
    insert_requests(db_engine, names)
    later_batch_seen = threading.Event()
    waited: list[bool] = []

    def before(name: str) -> None:
        if name == "公司4":  # claimed in the third batch of two
            later_batch_seen.set()
        elif name == "公司0":  # a batch-synchronous worker only gets past this by timing out
            waited.append(later_batch_seen.wait(timeout=10))

    finder = FakeFinder(default=info("C"))
    finder.before = before
    stats = process_enrichment_queue(db_engine, finder, batch_size=2, concurrency=2, cache=None)
    assert waited == [True]
    assert (stats.resolved, stats.batches) == (6, 3)


def test_max_requests_is_exact_under_concurrency(db_engine: sa.Engine) -> None:
    insert_requests(db_engine, [f"公司{i:02d}" for i in range(30)])
    finder = FakeFinder(default=info("C"))
    stats = process_enrichment_queue(
        db_engine, finder, batch_size=3, concurrency=4, max_requests=10, cache=None
    )
    statuses = [r.status for r in rows(db_engine).values()]
    assert (stats.claimed, stats.resolved, len(finder.calls)) == (10, 10, 10)
    assert (statuses.count("done"), statuses.count("pending")) == (10, 20)
    assert stats.stop_reason == "max_requests"


def test_a_failed_outcome_write_releases_the_claims_and_raises(db_engine: sa.Engine) -> None:
    names = [f"公司{i:02d}" for i in range(20)]
    insert_requests(db_engine, names)

    def cache(_conn: sa.Connection, name: str, _company: CompanyInfo) -> None:
        if name == "公司03":
            raise StorageError("mapping write failed", error_type="OperationalError")

    with pytest.raises(StorageError):
        process_enrichment_queue(
            db_engine, FakeFinder(default=info("C")), batch_size=5, concurrency=2, cache=cache
        )
    result = rows(db_engine)
    assert "processing" not in {r.status for r in result.values()}
    assert result["公司03"].status == "pending"
    assert all(r.attempts == 0 for r in result.values() if r.status == "pending")
