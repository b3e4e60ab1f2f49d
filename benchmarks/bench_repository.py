"""Mapping repository on real PostgreSQL: enqueue and batch lookup.

Figures (median ms of the repository call inside an open transaction; the commit is timed
apart): ``enqueue_for_enrichment`` of 100, 1,000 and 10,000 fresh requests, the same 100
again (all duplicates of pending requests), ``lookup_batch`` of 10,000 keys (half of them
stored) against a cache of 100,000 mappings, and ``insert_batch_with_conflict_check`` of
10,000 mappings. For comparison, the same enqueue as a multi-row ``VALUES`` insert with one
bound parameter per value (what a plain Core ``insert().values([...])`` does).

Targets: enqueue 100 in <= 5 ms (the story asks < 50 ms), 10,000 in <= 150 ms; lookup of
10,000 keys in <= 50 ms.

Run with ``.venv/bin/python benchmarks/bench_repository.py`` (PostgreSQL at
``WDH_TEST_DATABASE_URL`` or ``postgresql+psycopg://postgres@127.0.0.1:5432/test``; a scratch
database is created and dropped). ``--url sqlite:///path`` measures SQLite instead. JSON goes
to ``benchmarks/results/``.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import random
import resource
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from _results import write_results
from _scratch import scratch_database
from work_data_hub.infrastructure.db import bound_batches, tables
from work_data_hub.infrastructure.db.engine import create_engine
from work_data_hub.infrastructure.enrichment import _mapping_statements as statements
from work_data_hub.infrastructure.enrichment.mapping_repository import CompanyMappingRepository
from work_data_hub.infrastructure.enrichment.queue import _statements as queue_statements
from work_data_hub.infrastructure.enrichment.types import MappingRecord

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
CACHE_SIZE = 100_000
LOOKUP_KEYS = 10_000
TARGETS_MS = {"enqueue_100": 5.0, "enqueue_10000": 150.0, "lookup_10000": 50.0}
REPEATS = {100: 31, 1000: 15, 10_000: 7}
MATCH_TYPES = ["plan", "account", "hardcode", "name", "account_name", "eqc"]
_SYLLABLES = "华中国信达恒泰安宏盛丰源鑫瑞祥和金隆新辉光明德永昌兴远"
_REGIONS = ["北京", "上海", "深圳", "广州", "杭州", "南京", "成都", "武汉", "西安", "天津"]


def _name(rng: random.Random, serial: str) -> str:
    brand = "".join(rng.choice(_SYLLABLES) for _ in range(3))
    return f"{rng.choice(_REGIONS)}{brand}{serial}科技有限公司"


def _requests(rng: random.Random, count: int) -> list[dict[str, str]]:
    tag = uuid.uuid4().hex[:8]
    out = []
    for i in range(count):
        normalized = _name(rng, f"{tag}{i}")
        out.append(
            {
                "raw_name": f" {normalized}（已转出）",
                "normalized_name": normalized,
                "temp_id": f"IN{uuid.uuid4().hex[:16].upper()}",
            }
        )
    return out


def _timed(engine: sa.Engine, call: Callable[[sa.Connection], Any]) -> tuple[float, float]:
    """(ms of the call, ms of the commit) in a transaction of its own."""
    gc.collect()
    with engine.connect() as conn:
        conn.begin()
        started = time.perf_counter()
        call(conn)
        called = time.perf_counter()
        conn.commit()
        committed = time.perf_counter()
    return (called - started) * 1000, (committed - called) * 1000


def _repo(conn: sa.Connection) -> CompanyMappingRepository:
    return CompanyMappingRepository(conn)


def _summary(samples: list[tuple[float, float]], rows: int) -> dict[str, float]:
    calls = sorted(s[0] for s in samples)
    median = statistics.median(calls)
    return {
        "median_ms": round(median, 2),
        "min_ms": round(calls[0], 2),
        "max_ms": round(calls[-1], 2),
        "commit_median_ms": round(statistics.median(s[1] for s in samples), 2),
        "rows_per_s": round(rows / (median / 1000)) if median else 0,
        "repeats": len(samples),
    }


def _values_enqueue(conn: sa.Connection, requests: list[dict[str, str]]) -> int:
    """The comparison: one bound parameter per value, as ``insert().values([...])`` does."""
    table = tables.enrichment_requests
    stmt = (
        postgresql.insert(table)
        .values(requests)
        .on_conflict_do_nothing(
            index_elements=[table.c.normalized_name],
            index_where=sa.text("status IN ('pending', 'processing')"),
        )
        .returning(table.c.id)
    )
    return len(conn.execute(stmt).all())


def _explain_ms(conn: sa.Connection, statement: Any, params: dict[str, Any]) -> float:
    sql = str(statement.compile(dialect=conn.dialect))
    plan = conn.exec_driver_sql(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}", params).scalar()
    return round(float(plan[0]["Execution Time"]), 2)


def _server_side(
    engine: sa.Engine, keys: list[tuple[str, str]], requests: list[dict[str, str]]
) -> dict[str, float]:
    """Where the time goes: PostgreSQL's own execution time of the two 10,000-row
    statements (EXPLAIN ANALYZE, rolled back), and a machine-speed calibration."""
    with engine.connect() as conn:
        conn.begin()
        started = time.perf_counter()
        conn.exec_driver_sql("SELECT count(*) FROM generate_series(1, 1000000)").scalar()
        calibration = (time.perf_counter() - started) * 1000
        lookup = _explain_ms(
            conn,
            statements.lookup_batch("postgresql"),
            bound_batches.array_params("postgresql", "aliases", dict.fromkeys(a for a, _ in keys)),
        )
        rows = sorted((r["raw_name"], r["normalized_name"], r["temp_id"]) for r in requests)
        params = bound_batches.rows_params("postgresql", queue_statements.REQUEST_COLUMNS, rows)
        enqueue = _explain_ms(
            conn,
            queue_statements.enqueue("postgresql"),
            {**params, "now": datetime.now(UTC)},
        )
        conn.rollback()
    return {
        "lookup_10000_execution_ms": lookup,
        "enqueue_10000_execution_ms": enqueue,
        "count_1m_series_ms": round(calibration, 2),
    }


def _seed_cache(engine: sa.Engine, rng: random.Random) -> list[tuple[str, str]]:
    stored: list[tuple[str, str]] = []
    for start in range(0, CACHE_SIZE, 10_000):
        records = []
        for i in range(start, start + 10_000):
            kind = MATCH_TYPES[i % len(MATCH_TYPES)]
            alias = f"P{i:07d}" if kind in {"plan", "account"} else _name(rng, str(i))
            alias = f"P{i % 97:04d}|{alias}" if kind == "hardcode" else alias
            records.append(
                MappingRecord(alias_name=alias, canonical_id=f"6{i:08d}", match_type=kind)
            )
            stored.append((alias, kind))
        with engine.begin() as conn:
            CompanyMappingRepository(conn).insert_batch_with_conflict_check(records)
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql("ANALYZE enterprise.company_mapping")
        else:
            conn.exec_driver_sql("ANALYZE")
        conn.commit()
    return stored


def run(url: str) -> dict[str, Any]:
    rng = random.Random(20240601)
    results: dict[str, Any] = {}
    with scratch_database(url, "repo") as scratch:
        engine = create_engine(scratch)
        try:
            stored = _seed_cache(engine, rng)

            for size, repeats in REPEATS.items():
                samples = []
                for _ in range(repeats):
                    batch = _requests(rng, size)
                    samples.append(
                        _timed(engine, lambda c, b=batch: _repo(c).enqueue_for_enrichment(b))
                    )
                results[f"enqueue_{size}"] = _summary(samples, size)

            again = _requests(rng, 100)
            _timed(engine, lambda c: _repo(c).enqueue_for_enrichment(again))
            samples = [
                _timed(engine, lambda c: _repo(c).enqueue_for_enrichment(again)) for _ in range(31)
            ]
            results["enqueue_100_duplicates"] = _summary(samples, 100)

            hits = rng.sample(stored, LOOKUP_KEYS // 2)
            misses = [
                (f"{alias}-missing", kind) for alias, kind in rng.sample(stored, LOOKUP_KEYS // 2)
            ]
            keys = hits + misses
            rng.shuffle(keys)
            found: list[int] = []
            samples = []
            for _ in range(15):
                samples.append(
                    _timed(engine, lambda c: found.append(len(_repo(c).lookup_batch(keys))))
                )
            results["lookup_10000"] = {**_summary(samples, LOOKUP_KEYS), "hits": found[-1]}

            samples = []
            for round_ in range(5):
                records = [
                    MappingRecord(
                        alias_name=f"bench-{round_}-{i}",
                        canonical_id=f"7{i:08d}",
                        match_type="name",
                        source="pipeline_backflow",
                    )
                    for i in range(10_000)
                ]
                samples.append(
                    _timed(
                        engine, lambda c, b=records: _repo(c).insert_batch_with_conflict_check(b)
                    )
                )
            results["insert_batch_10000"] = _summary(samples, 10_000)

            if engine.dialect.name == "postgresql":
                for size in (100, 1000, 10_000):
                    samples = []
                    for _ in range(3):
                        batch = _requests(rng, size)
                        samples.append(_timed(engine, lambda c, b=batch: _values_enqueue(c, b)))
                    results[f"compare_values_enqueue_{size}"] = _summary(samples, size)
            if engine.dialect.name == "postgresql":
                results["server_side"] = _server_side(engine, keys, _requests(rng, 10_000))
            with engine.connect() as conn:
                results["server_version"] = conn.exec_driver_sql(
                    "SELECT version()"
                    if engine.dialect.name == "postgresql"
                    else "SELECT sqlite_version()"
                ).scalar()
        finally:
            engine.dispose()
    return results


def _peak_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=os.environ.get("WDH_TEST_DATABASE_URL", DEFAULT_URL))
    args = parser.parse_args()
    dialect = sa.make_url(args.url).get_backend_name()
    started = time.perf_counter()
    results = run(args.url)
    report = {
        "benchmark": "bench_repository",
        "dialect": dialect,
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "load_average_1m": round(os.getloadavg()[0], 2),
        "cache_size": CACHE_SIZE,
        "targets_ms": TARGETS_MS,
        "results": results,
        "peak_rss_mb": round(_peak_rss_mb(), 1),
        "elapsed_s": round(time.perf_counter() - started, 1),
    }
    print(f"mapping repository on {dialect} ({results.get('server_version', '')})")
    print(f"{'figure':32} {'median ms':>10} {'min ms':>9} {'rows/s':>10} {'commit ms':>10}  target")
    for name, figure in results.items():
        if not isinstance(figure, dict) or "median_ms" not in figure:
            continue
        target = TARGETS_MS.get(name)
        verdict = (
            ""
            if target is None
            else f"<= {target:g} ms " + ("met" if figure["median_ms"] <= target else "MISSED")
        )
        print(
            f"{name:32} {figure['median_ms']:>10.2f} {figure['min_ms']:>9.2f} "
            f"{figure['rows_per_s']:>10} {figure['commit_median_ms']:>10.2f}  {verdict}"
        )
    for name, value in results.get("server_side", {}).items():
        print(f"server side: {name} = {value}")
    print(f"peak RSS {report['peak_rss_mb']} MB; load average {report['load_average_1m']}")
    suffix = "" if dialect == "postgresql" else f"_{dialect}"
    out = write_results(f"bench_repository{suffix}", report)
    print(f"wrote {out.relative_to(out.parent.parent.parent)}")


if __name__ == "__main__":
    main()
