"""Workers against the local EQC server over real HTTP: processes, crashes, faults, limits."""

from __future__ import annotations

import collections
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from tests.helpers import insert_requests, status_counts
from work_data_hub.eqc_server.testing import EqcServerHandle, running_eqc_server
from work_data_hub.infrastructure.db import tables
from work_data_hub.infrastructure.enrichment.queue.repository import QueueRepository
from work_data_hub.infrastructure.enrichment.queue.worker import process_enrichment_queue
from work_data_hub.infrastructure.eqc.client import EqcClient, EqcClientConfig
from work_data_hub.infrastructure.eqc.rate_limit import InProcessRateLimiter
from work_data_hub.utils.clock import utcnow

R = tables.enrichment_requests
T0 = dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.UTC)
ON_POSTGRESQL = pytest.mark.parametrize("dialect", ["postgresql"], indirect=True)

# A worker process: arguments as JSON in argv[1], the token in the environment.
CHILD = """
import datetime as dt, json, os, sys
from work_data_hub.infrastructure.db.engine import create_engine
from work_data_hub.infrastructure.enrichment.queue.worker import (
    LeaseConfig, process_enrichment_queue,
)
from work_data_hub.infrastructure.eqc.client import EqcClient, EqcClientConfig
from work_data_hub.infrastructure.eqc.rate_limit import DatabaseRateLimiter, InProcessRateLimiter
a = json.loads(sys.argv[1])
engine = create_engine(a["db_url"])
if a.get("shared_limit"):
    limiter = DatabaseRateLimiter(engine, a["shared_limit"], a["window_s"])
else:
    limiter = InProcessRateLimiter(1_000_000, 1.0)
config = EqcClientConfig(max_attempts=a.get("max_attempts", 4), deadline_s=30.0)
with EqcClient(a["base_url"], os.environ["EQC_TEST_TOKEN"], config=config,
               rate_limiter=limiter) as client:
    stats = process_enrichment_queue(
        engine, client, batch_size=a.get("batch_size", 50), concurrency=a.get("concurrency", 1),
        lease=LeaseConfig(duration=dt.timedelta(seconds=a.get("lease_s", 300))),
    )
print(json.dumps({**stats.to_dict(), "client_retries": client.retries}))
"""


@pytest.fixture
def eqc() -> Iterator[EqcServerHandle]:
    with running_eqc_server() as handle:
        yield handle


def start_worker(db_url: str, eqc: EqcServerHandle, **args: Any) -> subprocess.Popen[str]:
    env = {**os.environ, "EQC_TEST_TOKEN": eqc.token}
    payload = json.dumps({"db_url": db_url, "base_url": eqc.base_url, **args})
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, payload],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(process: subprocess.Popen[str]) -> dict[str, Any]:
    try:
        out, err = process.communicate(timeout=600)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise
    assert process.returncode == 0, err[-2000:]
    return json.loads(out.strip().splitlines()[-1])  # type: ignore[no-any-return]


def client(eqc: EqcServerHandle) -> EqcClient:
    return EqcClient(
        eqc.base_url,
        eqc.token,
        config=EqcClientConfig(max_attempts=1),
        rate_limiter=InProcessRateLimiter(1_000_000, 1.0),
    )


def names_for(eqc: EqcServerHandle, hits: int, misses: int) -> list[str]:
    known = [c.full_name for c in eqc.registry.companies[:hits]]
    return known + [f"未登记测试对象第{i}号" for i in range(misses)]


@pytest.mark.slow
@pytest.mark.postgresql
@ON_POSTGRESQL
def test_four_worker_processes_drain_5000_requests_each_name_once(
    db_url: str, db_engine: sa.Engine, eqc: EqcServerHandle
) -> None:
    insert_requests(db_engine, names_for(eqc, 4_000, 1_000))
    workers = [start_worker(db_url, eqc, batch_size=100, concurrency=4) for _ in range(4)]
    results = [finish(worker) for worker in workers]
    assert status_counts(db_engine) == {"done": 5_000}
    assert sum(r["done"] for r in results) == 5_000
    assert sum(1 for r in results if r["claimed"] > 0) >= 2
    keys = collections.Counter(eqc.calls.keys())
    assert len(keys) == 5_000
    # A name is searched once; a repeat may only be the client's own retry of a failed
    # request (a busy machine can time one out), never a second worker claiming the name.
    repeats = sum(keys.values()) - len(keys)
    assert repeats <= sum(r["client_retries"] for r in results)


@pytest.mark.slow
@pytest.mark.postgresql
@ON_POSTGRESQL
def test_killed_worker_loses_nothing_once_its_lease_expires(
    db_url: str, db_engine: sa.Engine, eqc: EqcServerHandle
) -> None:
    insert_requests(db_engine, names_for(eqc, 150, 50))
    eqc.faults.set(latency_ms=20)
    victim = start_worker(db_url, eqc, batch_size=100, lease_s=2)
    deadline = time.monotonic() + 60
    while status_counts(db_engine).get("done", 0) < 10 and time.monotonic() < deadline:
        time.sleep(0.05)
    os.kill(victim.pid, signal.SIGKILL)
    victim.communicate()  # reaps the process and closes its pipes
    stranded = status_counts(db_engine).get("processing", 0)
    assert stranded > 0  # killed in the middle of a batch
    with db_engine.begin() as conn:  # the lease is still running: nothing is recovered yet
        assert QueueRepository(conn).recover_expired(utcnow(), max_attempts=3) == 0
    eqc.faults.set(latency_ms=0)
    started = utcnow()
    after_lease = utcnow() + dt.timedelta(seconds=3)  # a controlled clock past the lease
    with client(eqc) as finder:
        stats = process_enrichment_queue(
            db_engine, finder, cache=None, now=lambda: after_lease + (utcnow() - started)
        )
    assert stats.recovered == stranded
    assert status_counts(db_engine) == {"done": 200}


@pytest.mark.postgresql
@ON_POSTGRESQL
def test_server_errors_retry_on_schedule_then_fail(
    db_engine: sa.Engine, eqc: EqcServerHandle
) -> None:
    insert_requests(db_engine, names_for(eqc, 3, 0))
    eqc.faults.set(error_rate=1.0, error_status=503)
    calls: list[int] = []
    with client(eqc) as finder:
        for moment in (T0, T0 + dt.timedelta(minutes=1), T0 + dt.timedelta(minutes=6)):
            process_enrichment_queue(db_engine, finder, now=lambda m=moment: m)
            calls.append(len(eqc.calls))
            with db_engine.connect() as conn:
                retry_at = set(conn.scalars(sa.select(R.c.next_retry_at)))
            if moment == T0:
                assert retry_at == {T0 + dt.timedelta(minutes=1)}
            elif moment == T0 + dt.timedelta(minutes=1):
                assert retry_at == {T0 + dt.timedelta(minutes=6)}
        early = process_enrichment_queue(
            db_engine, finder, now=lambda: T0 + dt.timedelta(minutes=30)
        )
    assert calls == [3, 6, 9]
    assert early.claimed == 0
    with db_engine.connect() as conn:
        rows = conn.execute(sa.select(R.c.status, R.c.attempts, R.c.last_error)).all()
    assert set(rows) == {("failed", 3, "EqcTransientError status=503")}


@pytest.mark.postgresql
@ON_POSTGRESQL
def test_token_expiry_mid_run_stops_with_attempts_unchanged(
    db_engine: sa.Engine, eqc: EqcServerHandle
) -> None:
    insert_requests(db_engine, names_for(eqc, 0, 20))
    eqc.faults.set(token_expires_after=5)
    with client(eqc) as finder:
        stats = process_enrichment_queue(db_engine, finder, batch_size=10)
    assert stats.auth_failed
    assert (stats.not_found, stats.released) == (5, 5)
    with db_engine.connect() as conn:
        rows = conn.execute(sa.select(R.c.status, R.c.attempts)).all()
    assert collections.Counter(rows) == {("done", 1): 5, ("pending", 0): 15}


@pytest.mark.slow
@pytest.mark.postgresql
@ON_POSTGRESQL
def test_shared_rate_limit_holds_across_three_worker_processes(
    db_url: str, db_engine: sa.Engine, eqc: EqcServerHandle
) -> None:
    insert_requests(db_engine, names_for(eqc, 0, 24))
    workers = [
        start_worker(db_url, eqc, batch_size=3, concurrency=2, shared_limit=5, window_s=1.0)
        for _ in range(3)
    ]
    results = [finish(worker) for worker in workers]
    assert status_counts(db_engine) == {"done": 24}
    assert sum(1 for r in results if r["claimed"] > 0) >= 2
    assert len(eqc.calls) == 24
    assert eqc.calls.max_in_window(1.0) <= 5


@pytest.mark.parametrize("dialect", ["sqlite"], indirect=True)
def test_one_worker_drains_a_sqlite_queue(db_engine: sa.Engine, eqc: EqcServerHandle) -> None:
    names = names_for(eqc, 60, 20)
    insert_requests(db_engine, names)
    with client(eqc) as finder:
        stats = process_enrichment_queue(db_engine, finder, batch_size=25, concurrency=4)
    assert status_counts(db_engine) == {"done": 80}
    assert stats.resolved >= 60
    assert sorted(eqc.calls.keys()) == sorted(names)
    with db_engine.connect() as conn:
        cached = conn.scalar(
            sa.select(sa.func.count())
            .select_from(tables.company_mapping)
            .where(tables.company_mapping.c.alias_name.in_(names[:60]))
        )
    assert cached == 60
