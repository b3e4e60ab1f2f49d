"""Lookups per second through EqcClient / EqcProvider against the local EQC server.

Figures, at 0 ms and 50 ms of server latency: ``find_company`` lookups/s (each is two
HTTP requests: search + detail) from one thread and from 8 threads sharing one client,
with p50/p95 ms per lookup; and, at 0 ms, provider lookups/s with every hit cached in a
savepoint on PostgreSQL (a scratch database, created and dropped here). The client-side
rate limit is lifted for the measurement: in production the default 10 requests / 60 s,
not the client, bounds throughput (5 lookups per minute).

Run with ``.venv/bin/python benchmarks/bench_eqc.py``; PostgreSQL from
``WDH_TEST_DATABASE_URL`` or ``postgresql+psycopg://postgres@127.0.0.1:5432/test``;
JSON goes to ``benchmarks/results/bench_eqc.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import sys
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from _scratch import scratch_database
from work_data_hub.eqc_server.registry import build_registry
from work_data_hub.eqc_server.testing import EqcServerHandle, running_eqc_server
from work_data_hub.infrastructure.db.engine import create_engine
from work_data_hub.infrastructure.enrichment.mapping_repository import CompanyMappingRepository
from work_data_hub.infrastructure.enrichment.resolve.eqc_provider import EqcProvider
from work_data_hub.infrastructure.eqc.client import EqcClient
from work_data_hub.infrastructure.eqc.rate_limit import InProcessRateLimiter

RESULTS_DIR = Path(__file__).resolve().parent / "results"
DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
THREADS = 8


def _peak_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def _client(eqc: EqcServerHandle) -> EqcClient:
    return EqcClient(eqc.base_url, eqc.token, rate_limiter=InProcessRateLimiter(10_000_000, 1.0))


def _summary(
    label: str, durations: Sequence[float], elapsed: float, threads: int
) -> dict[str, Any]:
    ordered = sorted(durations)
    result = {
        "scenario": label,
        "threads": threads,
        "lookups": len(ordered),
        "elapsed_s": round(elapsed, 3),
        "lookups_per_s": round(len(ordered) / elapsed, 1),
        "p50_ms": round(statistics.median(ordered) * 1000, 2),
        "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))] * 1000, 2),
    }
    print(
        f"{label:<34} threads={threads:<2} lookups={result['lookups']:<5} "
        f"{result['lookups_per_s']:>8.1f} lookups/s  p50={result['p50_ms']:.1f} ms  "
        f"p95={result['p95_ms']:.1f} ms"
    )
    return result


def _lookups(client: EqcClient, names: Sequence[str], out: list[float]) -> None:
    for name in names:
        started = time.perf_counter()
        info = client.find_company(name)
        out.append(time.perf_counter() - started)
        assert info is not None


def run_client(
    eqc: EqcServerHandle, names: Sequence[str], threads: int, label: str
) -> dict[str, Any]:
    durations: list[float] = []
    with _client(eqc) as client:
        client.find_company(names[0])  # warm the connection pool
        started = time.perf_counter()
        if threads == 1:
            _lookups(client, names, durations)
        else:
            parts = [list(names[i::threads]) for i in range(threads)]
            workers = [
                threading.Thread(target=_lookups, args=(client, part, durations)) for part in parts
            ]
            for worker in workers:
                worker.start()
            for worker in workers:
                worker.join()
        elapsed = time.perf_counter() - started
    return _summary(label, durations, elapsed, threads)


def run_provider(eqc: EqcServerHandle, names: Sequence[str], url: str) -> dict[str, Any]:
    with scratch_database(url, "eqc") as scratch:
        engine = create_engine(scratch)
        try:
            durations: list[float] = []
            with _client(eqc) as client, engine.begin() as conn:
                provider = EqcProvider(
                    client, budget=len(names), mapping_repository=CompanyMappingRepository(conn)
                )
                started = time.perf_counter()
                for name in names:
                    before = time.perf_counter()
                    provider.lookup(name)
                    durations.append(time.perf_counter() - before)
                elapsed = time.perf_counter() - started
                assert provider.cached == len(names), provider.statistics()
            with engine.connect() as conn:
                rows = conn.execute(sa.text("SELECT count(*) FROM enterprise.company_mapping"))
                mappings = int(rows.scalar_one())
        finally:
            engine.dispose()
    result = _summary("provider + PostgreSQL cache, 0 ms", durations, elapsed, 1)
    result["mappings_written"] = mappings
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--url", default=os.environ.get("WDH_TEST_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--lookups", type=int, default=600, help="lookups at 0 ms latency")
    parser.add_argument("--slow-lookups", type=int, default=40, help="lookups at 50 ms, 1 thread")
    args = parser.parse_args()

    build_started = time.perf_counter()
    registry = build_registry()
    build_s = time.perf_counter() - build_started
    print(f"registry: {len(registry)} companies built in {build_s * 1000:.0f} ms")
    names = [company.full_name for company in registry.companies]
    results: list[dict[str, Any]] = []
    with running_eqc_server(registry=registry) as eqc:
        results.append(run_client(eqc, names[: args.lookups], 1, "client, 0 ms latency"))
        results.append(run_client(eqc, names[: args.lookups], THREADS, "client, 0 ms latency"))
        eqc.faults.set(latency_ms=50)
        results.append(run_client(eqc, names[: args.slow_lookups], 1, "client, 50 ms latency"))
        results.append(
            run_client(eqc, names[: args.slow_lookups * THREADS], THREADS, "client, 50 ms latency")
        )
        eqc.faults.set(latency_ms=0)
        results.append(run_provider(eqc, names[1000 : 1000 + args.lookups // 2], args.url))
    peak = _peak_rss_mb()
    print(f"peak RSS {peak:.1f} MB")
    report = {
        "benchmark": "bench_eqc",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "registry_companies": len(registry),
        "registry_build_ms": round(build_s * 1000, 1),
        "http_requests_per_lookup": 2,
        "results": results,
        "peak_rss_mb": round(peak, 1),
    }
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    out = RESULTS_DIR / "bench_eqc.json"
    out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {out.name}")


if __name__ == "__main__":
    main()
