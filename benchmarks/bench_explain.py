"""What ``explain`` (per-row provenance: tier, mapping source, confidence) costs a resolve.

The frame of ``bench_resolver`` (30 % YAML, 30 % DB-cache, 10 % existing ids, 30 % unseen
names; every row with plan, account and account name) is resolved with and without
``ResolutionStrategy(explain=True)`` against a scratch PostgreSQL database, alternating the
two in ABBA order (so that a change of machine load hits both alike) with a ``VACUUM``
before each run (rolled-back writes leave dead index entries behind). Each resolve runs in
a transaction that is rolled back. Figures: median wall ms of each, and the overhead of
``explain`` in per cent of the plain run (target: at most 10 % at 1,000,000 rows), and the
same for the client process's CPU time, which a loaded machine disturbs less.

Run: ``.venv/bin/python benchmarks/bench_explain.py [--rows 1000000] [--repeats 5]``;
JSON goes to ``benchmarks/results/bench_explain.json``.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import time
from datetime import UTC, datetime
from typing import Any

from _results import write_results
from _scratch import scratch_database
from bench_resolver import SALT, build_frame, seed_cache
from work_data_hub.infrastructure.db.engine import create_engine
from work_data_hub.infrastructure.enrichment.company_id_resolver import CompanyIdResolver
from work_data_hub.infrastructure.enrichment.mapping_repository import CompanyMappingRepository
from work_data_hub.infrastructure.enrichment.types import ResolutionStrategy

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
TARGET_OVERHEAD_PCT = 10.0


def _vacuum(engine: Any) -> None:
    if engine.dialect.name != "postgresql":
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM enterprise.company_mapping, enterprise.enrichment_requests")


def measure(url: str, rows: int, repeats: int) -> dict[str, Any]:
    engine = create_engine(url)
    df, plan = build_frame(rows)
    seed_cache(engine, plan["cache"])
    timings: dict[bool, list[float]] = {False: [], True: []}
    cpu: dict[bool, list[float]] = {False: [], True: []}
    tiers: dict[str, int] = {}
    # ABBA order, and a VACUUM before each run: every rolled-back backflow and enqueue
    # leaves dead index entries behind, which would otherwise slow whichever run comes
    # second in a pair.
    order = [False, True, True, False] * ((repeats + 1) // 2 + 1)
    for index, explain in enumerate(order[: repeats * 2 + 2]):
        _vacuum(engine)
        with engine.connect() as conn:
            trans = conn.begin()
            resolver = CompanyIdResolver(
                yaml_overrides=plan["yaml"],
                mapping_repository=CompanyMappingRepository(conn),
                salt=SALT,
            )
            gc.collect()
            started, cpu_started = time.perf_counter(), time.process_time()
            result = resolver.resolve_batch(df, ResolutionStrategy(explain=explain))
            elapsed = (time.perf_counter() - started) * 1000
            cpu_ms = (time.process_time() - cpu_started) * 1000
            trans.rollback()
        if index >= 2:  # the first pair warms caches up
            timings[explain].append(elapsed)
            cpu[explain].append(cpu_ms)
        if explain:
            tiers = {
                str(k): int(v)
                for k, v in result.data["company_id_tier"].value_counts().items()
                if v
            }
        del result
    engine.dispose()
    plain, explained = statistics.median(timings[False]), statistics.median(timings[True])
    plain_cpu, explained_cpu = statistics.median(cpu[False]), statistics.median(cpu[True])
    return {
        "rows": rows,
        "repeats": repeats,
        "plain_median_ms": round(plain, 1),
        "explain_median_ms": round(explained, 1),
        "overhead_pct": round((explained / plain - 1) * 100, 1),
        "plain_cpu_ms": round(plain_cpu, 1),
        "explain_cpu_ms": round(explained_cpu, 1),
        "cpu_overhead_pct": round((explained_cpu / plain_cpu - 1) * 100, 1),
        "target_overhead_pct": TARGET_OVERHEAD_PCT,
        "rows_per_tier": tiers,
        "load_average_1m": round(os.getloadavg()[0], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--url", default=os.environ.get("WDH_TEST_DATABASE_URL", DEFAULT_URL))
    args = parser.parse_args()
    with scratch_database(args.url, "explain") as url:
        figures = measure(url, args.rows, args.repeats)
    figures["measured_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    print(
        f"{figures['rows']:>9,} rows: plain {figures['plain_median_ms']:.0f} ms, "
        f"explain {figures['explain_median_ms']:.0f} ms, "
        f"overhead {figures['overhead_pct']:+.1f} % (target <= {TARGET_OVERHEAD_PCT:.0f} %), "
        f"load {figures['load_average_1m']}"
    )
    print(
        f"client CPU: plain {figures['plain_cpu_ms']:.0f} ms, explain "
        f"{figures['explain_cpu_ms']:.0f} ms, overhead {figures['cpu_overhead_pct']:+.1f} % "
        "(the database's share of a run is not in it; steadier under load than wall time)"
    )
    print(f"rows per tier: {figures['rows_per_tier']}")
    write_results("bench_explain", figures)


if __name__ == "__main__":
    main()
