"""`export unknown --limit 100` with suggestions over 1,000,000 open requests.

Fills a scratch PostgreSQL database with 1,000,000 pending requests (50,000 names asked
twice, so the order is not trivial), their stored EQC candidates on some, and a mapping
cache of 100,000 company names; then times `wdh-enrich export unknown --limit 100 -o …`
end to end in a subprocess (median of three runs, with min and max), and the service's
steps in process: the database's pick of the top names, the candidates read, the aliases
read, the suggestion index and matching. Target: the command in at most 3 s.

Run with ``.venv/bin/python benchmarks/bench_export_unknown.py``; JSON goes to
``benchmarks/results/``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _results import write_results
from _scratch import scratch_database
from bench_suggestions import make_aliases
from work_data_hub.infrastructure.db import tables
from work_data_hub.infrastructure.db.engine import create_engine
from work_data_hub.infrastructure.enrichment.mapping_repository import (
    CompanyMappingRepository,
)
from work_data_hub.infrastructure.enrichment.queue.repository import QueueRepository
from work_data_hub.infrastructure.enrichment.review.suggestions import AliasIndex

PG_URL = os.environ.get(
    "WDH_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REQUESTS = 1_000_000
TWICE = 50_000
ALIASES = 100_000
LIMIT = 100
RUNS = 3

_FILL_REQUESTS = """
INSERT INTO enterprise.enrichment_requests (raw_name, normalized_name, temp_id, status,
    created_at, updated_at)
SELECT n, n, 'IN' || lpad(i::text, 16, '0'), 'pending', now() - (i || ' seconds')::interval,
    now()
FROM (
    SELECT i, '华信' || chr(19968 + i % 20000) || chr(19968 + i / 20000) || '科技有限公司' AS n
    FROM generate_series(1, :requests) AS i
) AS names
"""
_FILL_TWICE = """
INSERT INTO enterprise.enrichment_requests (raw_name, normalized_name, temp_id, status,
    eqc_candidates)
SELECT normalized_name, normalized_name, temp_id, 'failed',
    CAST(:candidates AS json)
FROM enterprise.enrichment_requests WHERE id % (:requests / :twice) = 0
"""


def _fill(url: str, request_count: int, twice: int, alias_count: int) -> None:
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(_FILL_REQUESTS), {"requests": request_count})
            candidates = [
                {"company_id": "1000000007", "full_name": "华信科技有限公司",
                 "match_type": "拼音", "confidence": 0.5},
            ]  # fmt: skip
            conn.execute(
                sa.text(_FILL_TWICE),
                {"requests": request_count, "twice": twice, "candidates": json.dumps(candidates)},
            )
        aliases, ids = make_aliases(alias_count)
        with engine.begin() as conn:
            conn.execute(
                sa.insert(tables.company_mapping),
                [
                    {"alias_name": a, "canonical_id": i, "match_type": "eqc", "priority": 6,
                     "source": "eqc", "confidence": 0.8}
                    for a, i in zip(aliases, ids, strict=True)
                ],
            )  # fmt: skip
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE enterprise.enrichment_requests")
            conn.exec_driver_sql("ANALYZE enterprise.company_mapping")
    finally:
        engine.dispose()


def _steps(url: str) -> dict[str, float]:
    engine = create_engine(url)
    timings: dict[str, float] = {}
    try:
        with engine.connect() as conn:
            started = time.perf_counter()
            requests = QueueRepository(conn).unknown_requests(limit=LIMIT)
            timings["top_names_ms"] = (time.perf_counter() - started) * 1000
            names = [r.normalized_name for r in requests]
            started = time.perf_counter()
            QueueRepository(conn).request_candidates(names)
            timings["candidates_ms"] = (time.perf_counter() - started) * 1000
            started = time.perf_counter()
            aliases, ids, sources = CompanyMappingRepository(conn).name_aliases()
            timings["aliases_read_ms"] = (time.perf_counter() - started) * 1000
        started = time.perf_counter()
        index = AliasIndex(aliases, ids, sources, focus=names)
        timings["index_ms"] = (time.perf_counter() - started) * 1000
        started = time.perf_counter()
        index.suggest(names)
        timings["suggest_ms"] = (time.perf_counter() - started) * 1000
    finally:
        engine.dispose()
    return {k: round(v, 1) for k, v in timings.items()}


def _cli(url: str, out: Path) -> float:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WDH_")}
    env.update(DATABASE_URL=url, WDH_LOG_LEVEL="WARNING", WDH_ALIAS_SALT="bench-salt")
    command = [str(Path(sys.executable).with_name("wdh-enrich"))]
    command += ["export", "unknown", "--limit", str(LIMIT), "-o", str(out)]
    started = time.perf_counter()
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def _startup() -> float:
    """The command's own start (imports, settings), for scale: `--help` of the same command."""
    command = [str(Path(sys.executable).with_name("wdh-enrich")), "export", "unknown", "--help"]
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def run(request_count: int, alias_count: int) -> dict[str, Any]:
    load_before = os.getloadavg()[0]
    with scratch_database(PG_URL, "export") as url:
        started = time.perf_counter()
        _fill(url, request_count, TWICE, alias_count)
        print(f"filled {request_count:,} requests and {alias_count:,} mappings in "
              f"{time.perf_counter() - started:.1f} s (not counted)")  # fmt: skip
        steps = _steps(url)
        print("steps in process (ms): " + ", ".join(f"{k} {v}" for k, v in steps.items()))
        with tempfile.TemporaryDirectory() as folder:
            seconds = [_cli(url, Path(folder) / "unknown.csv") for _ in range(RUNS)]
            lines = (Path(folder) / "unknown.csv").read_text(encoding="utf-8-sig").splitlines()
    median = statistics.median(seconds)
    startup = statistics.median([_startup() for _ in range(RUNS)])
    print(f"export unknown --limit {LIMIT} (with suggestions), {RUNS} runs: median {median:.2f} s"
          f" (min {min(seconds):.2f}, max {max(seconds):.2f}); target <= 3 s")  # fmt: skip
    print(f"of which the command's start (--help): {startup:.2f} s")
    print(f"rows written: {len(lines) - 1}")
    return {
        "benchmark": "export_unknown",
        "recorded_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "requests": request_count,
        "names_asked_twice": TWICE,
        "aliases": alias_count,
        "limit": LIMIT,
        "cli_seconds": [round(s, 3) for s in seconds],
        "cli_median_s": round(median, 3),
        "steps_ms": steps,
        "startup_s": round(startup, 3),
        "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "targets": {"cli_median_s": 3},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=REQUESTS)
    parser.add_argument("--aliases", type=int, default=ALIASES)
    args = parser.parse_args()
    result = run(args.requests, args.aliases)
    path = write_results("bench_export_unknown", result)
    print(f"results: {path}")


if __name__ == "__main__":
    main()
