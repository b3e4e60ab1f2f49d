"""Enrichment worker throughput against the local EQC server over HTTP, on PostgreSQL.

Scenarios:
  * drain at 0 ms server latency (hits and misses, caching on);
  * drain at 200 ms latency with 32 concurrent lookups: not-found names, one HTTP call each,
    so the bound is 32 / 0.2 s = 160 requests/s;
  * three workers sharing the database rate limit: the largest number of calls the server
    saw in any window, against the limit.

Run: .venv/bin/python benchmarks/bench_worker.py  (WDH_TEST_DATABASE_URL or the default URL)
"""

from __future__ import annotations

import json
import os
import resource
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from work_data_hub.eqc_server.testing import EqcServerHandle, running_eqc_server
from work_data_hub.infrastructure.db import migrate, tables
from work_data_hub.infrastructure.db.engine import create_engine
from work_data_hub.infrastructure.enrichment.worker import process_enrichment_queue
from work_data_hub.infrastructure.eqc.client import EqcClient, EqcClientConfig
from work_data_hub.infrastructure.eqc.rate_limit import DatabaseRateLimiter, InProcessRateLimiter

PG_URL = os.environ.get(
    "WDH_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
RESULTS = Path(__file__).parent / "results" / "bench_worker.json"


def scratch_database() -> tuple[sa.Engine, str]:
    server = sa.make_url(PG_URL).set(drivername="postgresql+psycopg")
    name = f"wdh_bench_worker_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()
    engine = create_engine(server.set(database=name))
    migrate.upgrade(engine)
    return engine, name


def drop_database(name: str) -> None:
    server = sa.make_url(PG_URL).set(drivername="postgresql+psycopg")
    admin = sa.create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


def reset_queue(engine: sa.Engine, names: list[str]) -> None:
    with engine.begin() as conn:
        conn.execute(sa.delete(tables.enrichment_requests))
        conn.execute(
            sa.insert(tables.enrichment_requests),
            [
                {"raw_name": n, "normalized_name": n, "temp_id": f"IN{i:016d}"}
                for i, n in enumerate(names)
            ],
        )


def client(eqc: EqcServerHandle, limiter: Any = None) -> EqcClient:
    return EqcClient(
        eqc.base_url,
        eqc.token,
        config=EqcClientConfig(max_attempts=1),
        rate_limiter=limiter or InProcessRateLimiter(1_000_000, 1.0),
    )


def drain(engine: sa.Engine, eqc: EqcServerHandle, names: list[str], **kw: Any) -> dict[str, Any]:
    reset_queue(engine, names)
    with client(eqc) as finder:
        started = time.perf_counter()
        stats = process_enrichment_queue(engine, finder, **kw)
        elapsed = time.perf_counter() - started
    return {
        "requests": len(names),
        "done": stats.done,
        "elapsed_s": round(elapsed, 2),
        "requests_per_s": round(stats.done / elapsed, 1),
    }


def max_in_window(records: list[Any], window_s: float) -> int:
    """The most calls that arrived within any ``window_s`` seconds (sliding)."""
    moments = sorted(r.monotonic for r in records)
    best = start = 0
    for end, moment in enumerate(moments):
        while moment - moments[start] >= window_s:
            start += 1
        best = max(best, end - start + 1)
    return best


def shared_limit(
    engine: sa.Engine, eqc: EqcServerHandle, limit: int, window_s: float
) -> dict[str, Any]:
    names = [f"未登记基准对象第{i}号" for i in range(limit * 5)]
    reset_queue(engine, names)
    before = len(eqc.calls)
    finders = [client(eqc, DatabaseRateLimiter(engine, limit, window_s)) for _ in range(3)]
    started = time.perf_counter()
    threads = [
        threading.Thread(
            target=process_enrichment_queue,
            args=(engine, finder),
            kwargs={"batch_size": 5, "concurrency": 4, "cache": None},
        )
        for finder in finders
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    for finder in finders:
        finder.close()
    assert len(eqc.calls) - before == len(names)
    return {
        "workers": 3,
        "limit": limit,
        "window_s": window_s,
        "requests": len(names),
        "elapsed_s": round(elapsed, 2),
        "max_calls_in_any_window": max_in_window(eqc.calls.records()[before:], window_s),
    }


def main() -> None:
    engine, name = scratch_database()
    results: dict[str, Any] = {}
    try:
        with running_eqc_server() as eqc:
            hits = [c.full_name for c in eqc.registry.companies[:1500]]
            misses = [f"未登记基准对象甲{i}号" for i in range(500)]
            results["latency_0ms"] = drain(
                engine, eqc, hits + misses, batch_size=200, concurrency=8
            )
            results["latency_0ms"]["concurrency"] = 8
            print(f"0 ms latency, concurrency 8: {results['latency_0ms']}")

            eqc.faults.set(latency_ms=200)
            slow = [f"未登记基准对象乙{i}号" for i in range(1600)]
            res = drain(engine, eqc, slow, batch_size=200, concurrency=32, cache=None)
            res.update(
                concurrency=32,
                bound_per_s=160.0,
                share_of_bound=round(res["requests_per_s"] / 160, 3),
            )
            results["latency_200ms"] = res
            print(f"200 ms latency, concurrency 32: {res}")
            eqc.faults.set(latency_ms=0)

            results["shared_rate_limit"] = shared_limit(engine, eqc, limit=20, window_s=1.0)
            print(f"shared rate limit: {results['shared_rate_limit']}")
    finally:
        engine.dispose()
        drop_database(name)
    results["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    results["load_average_1m"] = round(os.getloadavg()[0], 2)
    print(f"peak RSS {results['peak_rss_mb']} MB, load average {results['load_average_1m']}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
