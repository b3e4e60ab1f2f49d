"""Workers at EQC's rate limit: waiting is not failing, known names cost no call.

The local EQC server answers over HTTP; a controlled clock drives the shared database rate
limiter, the client, the worker's pauses and the server's call log, so a 40 s window
passes in no real time and the call log is the evidence.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from tests.helpers import insert_requests
from work_data_hub.eqc_server.app import SEARCH_PATH
from work_data_hub.eqc_server.testing import EqcServerHandle, running_eqc_server
from work_data_hub.infrastructure.db import tables
from work_data_hub.infrastructure.enrichment.mapping_repository import CompanyMappingRepository
from work_data_hub.infrastructure.enrichment.queue import known
from work_data_hub.infrastructure.enrichment.queue.pacing import WorkerPacing, starts_per_lease
from work_data_hub.infrastructure.enrichment.queue.worker import (
    LeaseConfig,
    process_enrichment_queue,
)
from work_data_hub.infrastructure.enrichment.types import MappingRecord
from work_data_hub.infrastructure.eqc.client import EqcClient
from work_data_hub.infrastructure.eqc.rate_limit import DatabaseRateLimiter

R = tables.enrichment_requests
T0 = dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.UTC)


class ControlledClock:
    """Seconds since T0 that move only when someone sleeps; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._t = 0.0

    def monotonic(self) -> float:
        with self._lock:
            return self._t

    def now(self) -> dt.datetime:
        return T0 + dt.timedelta(seconds=self.monotonic())

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self._t += max(0.0, seconds)

    def advance(self, delta: dt.timedelta) -> None:
        self.sleep(delta.total_seconds())


@pytest.fixture
def fake_clock() -> ControlledClock:
    return ControlledClock()


@pytest.fixture
def eqc(fake_clock: ControlledClock) -> Iterator[EqcServerHandle]:
    with running_eqc_server(clock=fake_clock.monotonic) as handle:
        yield handle


def _limited_client(
    engine: sa.Engine, eqc: EqcServerHandle, clock: ControlledClock, limit: int, window_s: float
) -> EqcClient:
    limiter = DatabaseRateLimiter(
        engine, limit, window_s, clock=clock.monotonic, sleep=clock.sleep, now=clock.now
    )
    # The default client deadline (30 s) is shorter than the window: waiting must not count.
    return EqcClient(
        eqc.base_url, eqc.token, rate_limiter=limiter, clock=clock.monotonic, sleep=clock.sleep
    )


def _pacing(clock: ControlledClock, **kw: Any) -> WorkerPacing:
    return WorkerPacing(sleep=clock.sleep, monotonic=clock.monotonic, **kw)


def _rows(engine: sa.Engine) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(sa.select(R).order_by(R.c.id)))


def _work(engine: sa.Engine, client: EqcClient, clock: ControlledClock, **kw: Any) -> Any:
    lease = LeaseConfig(duration=dt.timedelta(minutes=5), renew_every=dt.timedelta(seconds=0.05))
    pacing = kw.pop("pacing", None) or _pacing(
        clock, max_starts_per_lease=starts_per_lease(4, 40.0, lease.duration)
    )
    return process_enrichment_queue(engine, client, lease=lease, now=clock.now, pacing=pacing, **kw)


def test_forty_requests_at_four_calls_per_forty_seconds_all_finish_on_one_attempt(
    db_engine: sa.Engine, eqc: EqcServerHandle, fake_clock: ControlledClock
) -> None:
    names = [company.full_name for company in eqc.registry.companies[:40]]
    insert_requests(db_engine, names)
    with _limited_client(db_engine, eqc, fake_clock, 4, 40.0) as client:
        stats = _work(db_engine, client, fake_clock)
    rows = _rows(db_engine)
    assert {row.status for row in rows} == {"done"}
    assert all(row.resolved_company_id for row in rows)
    assert max(row.attempts for row in rows) == 1
    assert stats.failed == stats.retried == 0
    assert stats.rate_waits > 0  # it did wait, and the waits cost nothing
    assert eqc.calls.count(SEARCH_PATH) == 40  # one call per new id
    assert len(eqc.calls) == 40
    assert eqc.calls.max_in_window(40.0) <= 4


def test_a_name_mapped_after_it_was_queued_is_closed_without_a_call(
    db_engine: sa.Engine, eqc: EqcServerHandle, fake_clock: ControlledClock
) -> None:
    insert_requests(db_engine, ["人工确认的公司", "另一家公司"])
    with db_engine.begin() as conn:
        CompanyMappingRepository(conn).insert_batch_with_conflict_check(
            [
                MappingRecord(
                    alias_name="人工确认的公司",
                    canonical_id="914401010000000009",
                    match_type="manual",
                    source="manual",
                )
            ]
        )
    with _limited_client(db_engine, eqc, fake_clock, 100, 1.0) as client:
        stats = _work(db_engine, client, fake_clock)
    by_name = {row.raw_name: row for row in _rows(db_engine)}
    assert by_name["人工确认的公司"].resolved_company_id == "914401010000000009"
    assert by_name["人工确认的公司"].status == "done"
    assert by_name["人工确认的公司"].attempts == 0
    assert eqc.calls.keys() == ["另一家公司"]
    assert stats.cached == 1


def test_a_name_eqc_did_not_know_is_not_searched_again_within_the_window(
    db_engine: sa.Engine, eqc: EqcServerHandle, fake_clock: ControlledClock
) -> None:
    insert_requests(db_engine, ["查无此公司甲"])
    with _limited_client(db_engine, eqc, fake_clock, 100, 1.0) as client:
        first = _work(db_engine, client, fake_clock)
        assert first.not_found == 1
        fake_clock.advance(dt.timedelta(days=20))  # next month's file queues it again
        insert_requests(db_engine, ["查无此公司甲"])
        second = _work(db_engine, client, fake_clock)
        assert second.known_not_found == 1
        assert eqc.calls.count(SEARCH_PATH) == 1
        fake_clock.advance(dt.timedelta(days=31))  # the memory has run out
        insert_requests(db_engine, ["查无此公司甲"])
        third = _work(db_engine, client, fake_clock)
    assert third.not_found == 1
    assert eqc.calls.count(SEARCH_PATH) == 2


def test_retry_failed_with_not_found_searches_remembered_names_again(
    db_engine: sa.Engine, eqc: EqcServerHandle, fake_clock: ControlledClock
) -> None:
    insert_requests(db_engine, ["查无此公司乙"])
    with _limited_client(db_engine, eqc, fake_clock, 100, 1.0) as client:
        _work(db_engine, client, fake_clock)
        with db_engine.begin() as conn:
            since = fake_clock.now() - known.DEFAULT_NOT_FOUND_MEMORY
            reopened = known.forget_not_found(conn, since=since, now=fake_clock.now())
        assert reopened == 1
        again = _work(db_engine, client, fake_clock)
    assert again.not_found == 1
    assert eqc.calls.count(SEARCH_PATH) == 2


def test_the_search_uses_the_cleanest_spelling_of_the_name(
    db_engine: sa.Engine, eqc: EqcServerHandle, fake_clock: ControlledClock
) -> None:
    company = eqc.registry.companies[3]
    with db_engine.begin() as conn:
        conn.execute(
            sa.insert(R).values(
                raw_name=f" {company.full_name}(待转出) ",
                normalized_name=company.full_name,
                temp_id="IN0000000000000001",
            )
        )
    with _limited_client(db_engine, eqc, fake_clock, 100, 1.0) as client:
        stats = _work(db_engine, client, fake_clock)
    assert stats.resolved == 1
    assert eqc.calls.keys() == [company.full_name]


def test_max_seconds_releases_unstarted_claims_with_their_attempts_unchanged(
    db_engine: sa.Engine, eqc: EqcServerHandle, fake_clock: ControlledClock
) -> None:
    names = [company.full_name for company in eqc.registry.companies[:10]]
    insert_requests(db_engine, names)
    pacing = _pacing(fake_clock, max_seconds=100.0)
    with _limited_client(db_engine, eqc, fake_clock, 2, 40.0) as client:
        stats = _work(db_engine, client, fake_clock, pacing=pacing)
    rows = _rows(db_engine)
    done = [row for row in rows if row.status == "done"]
    pending = [row for row in rows if row.status == "pending"]
    assert stats.stop_reason == "max_seconds"
    assert len(done) == len(eqc.calls) == 6  # 2 per window in 100 s: t=0, 40.25, 80.5
    assert len(pending) == 4
    assert all(row.attempts == 0 and row.locked_by is None for row in pending)


def test_a_batch_of_names_all_mapped_already_does_not_end_the_drain(
    db_engine: sa.Engine, eqc: EqcServerHandle, fake_clock: ControlledClock
) -> None:
    mapped = [f"已映射公司{i:02d}" for i in range(12)]
    insert_requests(db_engine, [*mapped, "另一家公司"])
    with db_engine.begin() as conn:
        CompanyMappingRepository(conn).insert_batch_with_conflict_check(
            [
                MappingRecord(
                    alias_name=name,
                    canonical_id=f"9144{i:014d}",
                    match_type="name",
                    source="internal",
                )
                for i, name in enumerate(mapped)
            ]
        )
    with _limited_client(db_engine, eqc, fake_clock, 100, 1.0) as client:
        stats = _work(db_engine, client, fake_clock, batch_size=5)
    assert stats.cached == 12
    assert {row.status for row in _rows(db_engine)} == {"done"}
    assert eqc.calls.keys() == ["另一家公司"]
