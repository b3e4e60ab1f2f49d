"""Enrichment worker throughput against the local EQC server over HTTP, on PostgreSQL.

Scenarios:
  * drain at 0 ms server latency (hits and misses, caching on);
  * drain at 200 ms latency with 32 concurrent lookups: not-found names, one HTTP call each,
    so the bound is 32 / 0.2 s = 160 requests/s; three runs, the median is reported;
  * three workers sharing the database rate limit: the largest number of calls the server
    saw in any window, against the limit;
  * at the limit: a backlog of findable names three times the limit, drained through the
    database-shared limiter — the drain rate in steady state (resolved ids per window,
    against the limit: the target is 95 % of it at one call per id) and the EQC calls the
    server saw per resolved id.

The two throughput scenarios talk to the EQC server in a child process (the
``wdh-enrich eqc-server`` entry point, ``run_server``), so the figures measure the worker:
an in-process server would share the interpreter lock with it and bill its own request
handling to the worker. The rate-limit scenario reads the server's call log, so it runs
the server in process; it measures the limit, not speed. Each drain also reports the
worker's CPU time per request (the process's, so lookups, outcome writes and caching):
on a shared machine it is the steadier figure when the load average moves the rates.

Run: .venv/bin/python benchmarks/bench_worker.py [--only at_limit]
(WDH_TEST_DATABASE_URL or the default URL)
"""

from __future__ import annotations

import os
import resource
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from _results import write_results
from _scratch import scratch_database
from work_data_hub.eqc_server.registry import build_registry
from work_data_hub.eqc_server.testing import running_eqc_server
from work_data_hub.infrastructure.db import tables
from work_data_hub.infrastructure.db.engine import create_engine
from work_data_hub.infrastructure.enrichment.queue.worker import process_enrichment_queue
from work_data_hub.infrastructure.eqc.client import EqcClient, EqcClientConfig
from work_data_hub.infrastructure.eqc.rate_limit import DatabaseRateLimiter, InProcessRateLimiter

PG_URL = os.environ.get(
    "WDH_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)

# The server process: latency in argv[1], the token in the environment; prints its URL.
SERVER = """
import os, sys
from work_data_hub.eqc_server.app import FaultSwitches
from work_data_hub.eqc_server.server import run_server
run_server("127.0.0.1", 0, token=os.environ["EQC_BENCH_TOKEN"],
           faults=FaultSwitches(latency_ms=float(sys.argv[1])),
           on_ready=lambda server: print(server.base_url, flush=True))
"""


@dataclass(frozen=True)
class Server:
    base_url: str
    token: str


@contextmanager
def server_process(latency_ms: float) -> Iterator[Server]:
    """The local EQC server (default registry) in a child process."""
    token = f"tok-{secrets.token_hex(12)}"
    process = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(latency_ms)],
        env={**os.environ, "EQC_BENCH_TOKEN": token},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        yield Server(process.stdout.readline().strip(), token)
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)


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


def client(eqc: Any, limiter: Any = None) -> EqcClient:
    return EqcClient(
        eqc.base_url,
        eqc.token,
        config=EqcClientConfig(max_attempts=1),
        rate_limiter=limiter or InProcessRateLimiter(1_000_000, 1.0),
    )


def drain(engine: sa.Engine, eqc: Server, names: list[str], **kw: Any) -> dict[str, Any]:
    reset_queue(engine, names)
    with client(eqc) as finder:
        cpu, started = time.process_time(), time.perf_counter()
        stats = process_enrichment_queue(engine, finder, **kw)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    assert stats.done == len(names), stats
    return {
        "requests": len(names),
        "resolved": stats.resolved,
        "done": stats.done,
        "elapsed_s": round(elapsed, 2),
        "requests_per_s": round(stats.done / elapsed, 1),
        "worker_cpu_ms_per_request": round(cpu * 1000 / len(names), 2),
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


def shared_limit(engine: sa.Engine, eqc: Any, limit: int, window_s: float) -> dict[str, Any]:
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


def at_limit(
    engine: sa.Engine, eqc: Any, limit: int, window_s: float, backlog: int
) -> dict[str, Any]:
    """Drain ``backlog`` findable names at ``limit`` calls per ``window_s`` (shared limiter).

    The first window's burst is free (the window starts empty), so the steady rate counts
    the ids resolved after it over the time from that burst's last call to the very last
    call: like positions in consecutive windows, whatever the shape of a burst.
    """
    # The last companies of the registry: the earlier scenarios cache the first ones, and a
    # name with a mapping is closed without a call (it would measure nothing here).
    names = [c.full_name for c in eqc.registry.companies[-backlog:]]
    reset_queue(engine, names)
    before = len(eqc.calls)
    limiter = DatabaseRateLimiter(engine, limit, window_s)
    with EqcClient(eqc.base_url, eqc.token, rate_limiter=limiter) as finder:
        started = time.perf_counter()
        stats = process_enrichment_queue(engine, finder, batch_size=50, concurrency=4)
        elapsed = time.perf_counter() - started
    records = eqc.calls.records()[before:]
    moments = sorted(r.monotonic for r in records)
    span = moments[-1] - moments[limit - 1] if len(moments) > limit else 0.0
    resolved = stats.resolved
    steady = (resolved - limit) * window_s / span if span > 0 else float("nan")
    return {
        "limit": limit,
        "window_s": window_s,
        "backlog": backlog,
        "resolved": resolved,
        "eqc_calls": len(records),
        "eqc_calls_per_resolved_id": round(len(records) / resolved, 3) if resolved else None,
        "elapsed_s": round(elapsed, 2),
        "ids_per_window_steady": round(steady, 1),
        "share_of_limit": round(steady / limit, 3),
        "max_calls_in_any_window": max_in_window(records, window_s),
    }


def main() -> None:
    results: dict[str, Any] = {}
    only = sys.argv[2] if len(sys.argv) > 2 and sys.argv[1] == "--only" else None
    if only == "at_limit":
        with scratch_database(PG_URL, "worker") as url, running_eqc_server() as eqc:
            engine = create_engine(url)
            try:
                res = at_limit(engine, eqc, limit=100, window_s=10.0, backlog=300)
            finally:
                engine.dispose()
        print(f"at the limit (100 calls / 10 s, backlog 300 findable names): {res}")
        write_results("bench_worker_at_limit", res)
        return
    with scratch_database(PG_URL, "worker") as url:
        engine = create_engine(url)
        try:
            registry = build_registry()  # the child's registry: same default size and seed
            hits = [c.full_name for c in registry.companies[:1500]]
            misses = [f"未登记基准对象甲{i}号" for i in range(500)]
            with server_process(latency_ms=0) as eqc:
                res = drain(engine, eqc, hits + misses, batch_size=200, concurrency=8)
            res.update(concurrency=8, load_average_1m=round(os.getloadavg()[0], 2))
            results["latency_0ms"] = res
            print(f"0 ms latency, concurrency 8: {res}")

            # A shared machine's load moves single runs by ±15%: three runs, the median counts.
            runs = []
            with server_process(latency_ms=200) as eqc:
                for run in range(3):
                    slow = [f"未登记基准对象乙{run}-{i}号" for i in range(1600)]
                    res = drain(engine, eqc, slow, batch_size=200, concurrency=32, cache=None)
                    res["load_average_1m"] = round(os.getloadavg()[0], 2)
                    runs.append(res)
                    print(f"200 ms latency, concurrency 32, run {run + 1}: {res}")
            median = sorted(runs, key=lambda r: r["requests_per_s"])[1]
            results["latency_200ms"] = {
                **median,
                "concurrency": 32,
                "bound_per_s": 160.0,
                "share_of_bound": round(median["requests_per_s"] / 160, 3),
                "runs_requests_per_s": [r["requests_per_s"] for r in runs],
            }
            print(f"200 ms latency, concurrency 32, median: {results['latency_200ms']}")

            with running_eqc_server() as in_process:
                results["shared_rate_limit"] = shared_limit(
                    engine, in_process, limit=20, window_s=1.0
                )
            print(f"shared rate limit: {results['shared_rate_limit']}")

            with running_eqc_server() as in_process:
                results["at_limit"] = at_limit(
                    engine, in_process, limit=100, window_s=10.0, backlog=300
                )
            print(f"at the limit (100 calls / 10 s, backlog 300): {results['at_limit']}")
        finally:
            engine.dispose()
    results["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    results["load_average_1m"] = round(os.getloadavg()[0], 2)
    print(f"peak RSS {results['peak_rss_mb']} MB, load average {results['load_average_1m']}")
    write_results("bench_worker", results)


if __name__ == "__main__":
    main()
