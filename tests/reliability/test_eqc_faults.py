"""EQC misbehaving while four workers drain the queue, and the sync tier with EQC down.

Every scenario ends the same way: after the faults, one clean pass (clock past every
retry) must leave each request ``done`` — nothing lost, nothing stuck in ``processing``.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pandas as pd
import pytest
import sqlalchemy as sa

from tests.helpers import insert_requests, status_counts
from work_data_hub.eqc_server.testing import EqcServerHandle, running_eqc_server
from work_data_hub.infrastructure.enrichment.company_id_resolver import CompanyIdResolver
from work_data_hub.infrastructure.enrichment.queue.worker import (
    WorkerRunStats,
    process_enrichment_queue,
)
from work_data_hub.infrastructure.enrichment.resolve.eqc_provider import EqcProvider
from work_data_hub.infrastructure.enrichment.types import ResolutionStrategy
from work_data_hub.infrastructure.eqc.client import EqcClient, EqcClientConfig
from work_data_hub.infrastructure.eqc.rate_limit import InProcessRateLimiter

from .conftest import free_port, request_rows

pytestmark = pytest.mark.chaos

T0 = dt.datetime(2026, 3, 3, 10, 0, tzinfo=dt.UTC)
WORKERS = 4
NAMES_PER_RUN = 24
FAST = EqcClientConfig(
    connect_timeout_s=0.5,
    read_timeout_s=0.3,
    deadline_s=1.5,
    max_attempts=3,
    backoff_base_s=0.01,
    backoff_cap_s=0.05,
)


@pytest.fixture(scope="module")
def eqc() -> Iterator[EqcServerHandle]:
    with running_eqc_server(registry_size=400, fault_seed=7) as handle:
        yield handle


@pytest.fixture
def server(eqc: EqcServerHandle) -> Iterator[EqcServerHandle]:
    eqc.faults.reset()
    eqc.calls.clear()
    yield eqc
    eqc.faults.reset()


def _client(handle: EqcServerHandle) -> EqcClient:
    return EqcClient(
        handle.base_url,
        handle.token,
        config=FAST,
        rate_limiter=InProcessRateLimiter(max_requests=100_000, window_s=1.0),
    )


def _four_workers(engine: sa.Engine, handle: EqcServerHandle, now: dt.datetime) -> list[Any]:
    """Four workers (threads, one client each) drain the ready queue once."""
    outcomes: list[Any] = []
    lock = threading.Lock()

    def work() -> None:
        with _client(handle) as client:
            try:
                stats: Any = process_enrichment_queue(engine, client, batch_size=4, now=lambda: now)
            except BaseException as exc:
                stats = exc
        with lock:
            outcomes.append(stats)

    threads = [threading.Thread(target=work) for _ in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return outcomes


def _names(handle: EqcServerHandle, start: int) -> list[str]:
    return [c.full_name for c in handle.registry.companies[start : start + NAMES_PER_RUN]]


def _finish_and_check(engine: sa.Engine, handle: EqcServerHandle, names: list[str]) -> None:
    """Faults off, clock past every retry: everything ends ``done`` with the right id."""
    handle.faults.reset()
    with _client(handle) as client:
        process_enrichment_queue(
            engine, client, batch_size=10, now=lambda: T0 + dt.timedelta(hours=2)
        )
    rows = request_rows(engine)
    assert len(rows) == len(names)
    assert status_counts(engine) == {"done": len(names)}
    expected = {c.full_name: c.company_id for c in handle.registry.companies}
    assert {r.raw_name: r.resolved_company_id for r in rows} == {n: expected[n] for n in names}


def _only_stats(outcomes: list[Any]) -> list[WorkerRunStats]:
    errors = [o for o in outcomes if not isinstance(o, WorkerRunStats)]
    assert errors == []
    assert len(outcomes) == WORKERS
    return outcomes


@pytest.mark.postgresql
def test_slow_eqc_four_workers_finish_every_request(
    server: EqcServerHandle, pg_engine: sa.Engine
) -> None:
    names = _names(server, 0)
    insert_requests(pg_engine, names)
    server.faults.set(latency_ms=40)
    stats = _only_stats(_four_workers(pg_engine, server, T0))
    assert sum(s.done for s in stats) == len(names)
    assert sum(s.claimed for s in stats) == len(names)  # no request claimed twice
    _finish_and_check(pg_engine, server, names)


@pytest.mark.postgresql
@pytest.mark.slow
def test_hanging_eqc_times_out_and_nothing_is_stuck(
    server: EqcServerHandle, pg_engine: sa.Engine
) -> None:
    names = _names(server, 30)
    insert_requests(pg_engine, names)
    server.faults.set(hang_rate=0.3)
    stats = _only_stats(_four_workers(pg_engine, server, T0))
    assert sum(s.claimed for s in stats) == len(names)
    assert sum(s.done + s.retried for s in stats) == len(names)
    assert status_counts(pg_engine).get("processing", 0) == 0
    _finish_and_check(pg_engine, server, names)


def test_flapping_eqc_loses_nothing(server: EqcServerHandle, any_engine: sa.Engine) -> None:
    names = _names(server, 60)
    insert_requests(any_engine, names)
    stop = threading.Event()

    def flap() -> None:
        down = False
        while not stop.wait(0.03):
            down = not down
            server.faults.set(error_rate=1.0 if down else 0.0)

    flapper = threading.Thread(target=flap)
    flapper.start()
    try:
        stats = _only_stats(_four_workers(any_engine, server, T0))
    finally:
        stop.set()
        flapper.join()
    assert sum(s.claimed for s in stats) == len(names)
    assert sum(s.done + s.retried + s.failed for s in stats) == len(names)
    _finish_and_check(any_engine, server, names)


@pytest.mark.postgresql
@pytest.mark.slow
def test_429_storm_is_retried_and_loses_nothing(
    server: EqcServerHandle, pg_engine: sa.Engine
) -> None:
    names = _names(server, 90)
    insert_requests(pg_engine, names)
    server.faults.set(rate_429=0.5, retry_after_s=0.01)
    stats = _only_stats(_four_workers(pg_engine, server, T0))
    assert server.calls.count(status=429) > 0
    assert sum(s.done + s.retried for s in stats) == len(names)
    _finish_and_check(pg_engine, server, names)


def test_expiring_token_stops_the_workers_without_spending_attempts(
    server: EqcServerHandle, any_engine: sa.Engine
) -> None:
    names = _names(server, 120)
    insert_requests(any_engine, names)
    server.faults.set(token_expires_after=12)
    stats = _only_stats(_four_workers(any_engine, server, T0))
    assert all(s.stop_reason == "auth_error" for s in stats if s.claimed)
    assert any(s.auth_failed for s in stats)
    rows = request_rows(any_engine)
    assert {r.status for r in rows} <= {"done", "pending"}
    assert all(r.attempts == 0 for r in rows if r.status == "pending")
    _finish_and_check(any_engine, server, names)


# -- the resolver's sync tier with EQC down -----------------------------------------------------


class _CountingTransport(httpx.HTTPTransport):
    def __init__(self) -> None:
        super().__init__()
        self.requests = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        return super().handle_request(request)


class _FakeTime:
    """The client's clock: advances only when the client sleeps (between retries)."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_sync_tier_with_eqc_down_stops_after_the_first_deadline() -> None:
    config = EqcClientConfig(
        connect_timeout_s=0.2,
        read_timeout_s=0.2,
        deadline_s=2.0,
        max_attempts=4,
        backoff_base_s=0.5,
        backoff_cap_s=4.0,
    )
    transport = _CountingTransport()
    fake = _FakeTime()
    client = EqcClient(
        f"http://127.0.0.1:{free_port()}",
        "tok-down-server",
        config=config,
        transport=transport,
        rate_limiter=InProcessRateLimiter(max_requests=1000, window_s=1.0),
        clock=fake.clock,
        sleep=fake.sleep,
    )
    provider = EqcProvider(client, budget=5)
    names = [f"服务中断测试{i:02d}有限公司" for i in range(20)]
    df = pd.DataFrame({"客户名称": names * 3})
    strategy = ResolutionStrategy(use_enrichment_service=True, sync_lookup_budget=5)
    with client:
        result = CompanyIdResolver(eqc_provider=provider, salt="s").resolve_batch(df, strategy)
    stats = result.statistics
    assert result.data["company_id"].notna().all()  # the run finished: temp ids for all
    assert stats.temp_ids_generated == len(df)
    assert stats.budget_consumed == 1  # unreachable: the tier stops after one lookup
    assert stats.eqc_sync_hits == 0
    assert stats.eqc_sync_unreachable == 1
    assert any("could not be reached" in warning for warning in stats.warnings)
    assert provider.errors == 1
    assert fake.now <= config.deadline_s  # one deadline, not one per name
    assert transport.requests <= stats.budget_consumed * config.max_attempts
