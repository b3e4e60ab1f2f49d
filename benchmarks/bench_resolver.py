"""End-to-end speed and memory of ``CompanyIdResolver.resolve_batch`` on real PostgreSQL.

Frames of 1,000 / 10,000 / 100,000 / 1,000,000 rows, distinct customer names about 5 % of
the rows, mixed as 30 % YAML hits (name level), 30 % DB-cache hits (``name`` mappings
stored in ``company_mapping``), 10 % existing company ids (learned by the backflow) and
30 % unseen names (temporary id + enqueue). Every row also carries a plan code, an account
number and an account name, so the DB-cache query holds all seven match types.

Each size runs in its own process (so peak RSS belongs to that size) against a scratch
database created from ``WDH_TEST_DATABASE_URL`` (default: the local test server) and
dropped at the end. Each timed resolve runs in a transaction that is rolled back, so every
repetition sees the same database. The timed runs are cold: the per-process memo of name
keys and temp ids (``resolve.key_cache``) is emptied before each; as many warm runs follow
(names already seen by the process, as in a file's later chunks) and are printed apart.
Figures: median wall ms with min and max, rows/s, the client process's CPU ms (the machine
may be shared: the 1-minute load average is recorded too), peak RSS, peak RSS growth over
the baseline with the frame loaded, and that growth relative to the frame's own memory
(``DataFrame.memory_usage(deep=True)``), the steps of the last run and a checksum of the
sorted output (equal before and after a change that must not alter results; it depends on
the database's content, so compare runs of the same ``--sizes``). Targets: 1,000 rows
<= 30 ms; 1,000,000 rows <= 1.5 s with growth <= 3x the frame.

Run: ``.venv/bin/python benchmarks/bench_resolver.py [--sizes 1000 10000 ...]``;
JSON goes to ``benchmarks/results/bench_resolver.json``.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
import psutil
import sqlalchemy as sa

from _results import write_results
from _scratch import scratch_database
from work_data_hub.infrastructure.db.engine import create_engine
from work_data_hub.infrastructure.enrichment.company_id_resolver import CompanyIdResolver
from work_data_hub.infrastructure.enrichment.mapping_repository import CompanyMappingRepository
from work_data_hub.infrastructure.enrichment.types import MappingRecord

try:
    from work_data_hub.infrastructure.enrichment.resolve import key_cache
except ImportError:  # a version without the per-process key memo
    key_cache = None

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
SIZES = (1_000, 10_000, 100_000, 1_000_000)
DISTINCT_SHARE = 0.05
MIX = {"yaml": 0.30, "cache": 0.30, "existing": 0.10, "unseen": 0.30}
PLANS = 200
SALT = "benchmark-salt"
TARGET_MS = {1_000: 30.0, 1_000_000: 1_500.0}
TARGET_MEMORY_RATIO = 3.0

_SYLLABLES = "华中国信达恒泰安宏盛丰源鑫瑞祥和金隆新辉光明德永昌兴远"
_REGIONS = ["北京", "上海", "深圳", "广州", "杭州", "南京", "成都", "武汉", "西安", "天津"]
_FORMS = ["有限公司", "股份有限公司", "集团有限公司", "有限责任公司"]
_NOISE = [" -已转出", "（集团）", "(终止)", "  "]


def company_name(group: str, serial: int) -> str:
    """A deterministic, realistic customer name; 20 % carry spelling noise."""
    digits = [int(c) for c in f"{serial:07d}"]
    brand = "".join(_SYLLABLES[(d * 3 + i * 7) % len(_SYLLABLES)] for i, d in enumerate(digits))
    region = _REGIONS[serial % len(_REGIONS)]
    form = _FORMS[serial % len(_FORMS)]
    name = f"{region}{brand}{group[:1].upper()}{form}"
    if serial % 5 == 0:
        name += _NOISE[serial // 5 % len(_NOISE)]
    return name


def company_id(group: str, serial: int) -> str:
    return f"{group[:1].upper()}{600_000_000 + serial}"


def build_frame(rows: int, seed: int = 20240601) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The benchmark frame and what to seed: YAML overrides and DB-cache mappings."""
    rng = np.random.default_rng(seed)
    distinct = max(len(MIX), round(rows * DISTINCT_SHARE))
    groups: list[str] = []
    names: list[str] = []
    ids: list[str] = []
    for group, share in MIX.items():
        count = max(1, round(distinct * share))
        for serial in range(count):
            groups.append(group)
            names.append(company_name(group, serial))
            ids.append(company_id(group, serial))
    group_of = np.asarray(groups, dtype=object)
    # Every distinct name appears at least once; the rest follow the row mix.
    row_names = np.arange(len(names))
    extra = rows - len(names)
    shares = np.asarray([MIX[g] for g in groups], dtype=float)
    per_group = {g: (group_of == g).sum() for g in MIX}
    weights = shares / np.asarray([per_group[g] for g in groups], dtype=float)
    picks = rng.choice(len(names), size=extra, p=weights / weights.sum())
    order = np.concatenate([row_names, picks])[:rows]
    rng.shuffle(order)
    name_arr = np.asarray(names, dtype=object)
    id_arr = np.asarray(ids, dtype=object)
    row_groups = group_of[order]
    existing = np.where(row_groups == "existing", id_arr[order], None)
    df = pd.DataFrame(
        {
            "计划代码": np.asarray([f"P{i % PLANS:04d}" for i in range(len(names))], object)[order],
            "客户名称": name_arr[order],
            "年金账户名": name_arr[order],
            "年金账户号": np.asarray([f"A{i:08d}" for i in range(len(names))], object)[order],
            "公司代码": existing,
        }
    )
    yaml_names = {n: i for n, i, g in zip(names, ids, groups, strict=True) if g == "yaml"}
    cache = {n: i for n, i, g in zip(names, ids, groups, strict=True) if g == "cache"}
    return df, {"yaml": {"name": yaml_names}, "cache": cache, "distinct": len(names)}


class PeakRss:
    """Samples this process's RSS every millisecond while active."""

    def __init__(self) -> None:
        self._process = psutil.Process()
        self.peak = self._process.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._process.memory_info().rss)
            time.sleep(0.001)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._process.memory_info().rss)


def seed_cache(engine: sa.Engine, cache: dict[str, str]) -> None:
    from work_data_hub.infrastructure.enrichment.normalizer import normalize_for_temp_id

    records = [
        MappingRecord(alias_name=normalize_for_temp_id(name), canonical_id=cid, match_type="name")
        for name, cid in cache.items()
    ]
    with engine.begin() as conn:
        CompanyMappingRepository(conn).insert_batch_with_conflict_check(records)


def output_checksum(data: pd.DataFrame) -> str:
    """SHA-256 over the sorted per-row hashes of the output frame (every column as text):
    the same rows give the same checksum whatever their order."""
    hashes = np.sort(pd.util.hash_pandas_object(data.astype("string"), index=False).to_numpy())
    digest = hashlib.sha256(str(list(data.columns)).encode("utf-8"))
    digest.update(hashes.tobytes())
    return digest.hexdigest()[:16]


def measure(url: str, rows: int, repeats: int) -> dict[str, Any]:
    """Run in the child process: build, seed, warm up, then time ``repeats`` resolves."""
    engine = create_engine(url)
    df, plan = build_frame(rows)
    seed_cache(engine, plan["cache"])
    started = time.perf_counter()
    resolver = CompanyIdResolver(yaml_overrides=plan["yaml"], salt=SALT)
    construct_ms = (time.perf_counter() - started) * 1000
    warm, _ = build_frame(1_000, seed=1)
    with engine.connect() as conn, conn.begin() as trans:
        CompanyIdResolver(mapping_repository=CompanyMappingRepository(conn)).resolve_batch(warm)
        trans.rollback()
    gc.collect()
    frame_bytes = int(df.memory_usage(deep=True).sum())
    baseline = psutil.Process().memory_info().rss
    timings: list[float] = []
    cpu: list[float] = []
    last: dict[str, Any] = {}
    checksums: set[str] = set()
    warm: list[float] = []
    with PeakRss() as peak:
        for run in range(2 * repeats if key_cache is not None else repeats):
            cold = run < repeats
            if cold and key_cache is not None:
                key_cache.clear()  # the first run of a process: nothing remembered
            with engine.connect() as conn:
                trans = conn.begin()
                resolver = CompanyIdResolver(
                    yaml_overrides=plan["yaml"],
                    mapping_repository=CompanyMappingRepository(conn),
                    salt=SALT,
                )
                started, cpu_started = time.perf_counter(), time.process_time()
                result = resolver.resolve_batch(df)
                if cold:
                    timings.append((time.perf_counter() - started) * 1000)
                    cpu.append((time.process_time() - cpu_started) * 1000)
                else:
                    warm.append((time.perf_counter() - started) * 1000)
                trans.rollback()
            if cold:
                last = result.statistics.to_dict()
            checksums.add(output_checksum(result.data))
            del result
            gc.collect()
    engine.dispose()
    median_ms = statistics.median(timings)
    growth = peak.peak - baseline
    return {
        "rows": rows,
        "distinct_names": plan["distinct"],
        "repeats": repeats,
        "median_ms": round(median_ms, 1),
        "min_ms": round(min(timings), 1),
        "max_ms": round(max(timings), 1),
        "warm_median_ms": round(statistics.median(warm), 1) if warm else None,
        "warm_min_ms": round(min(warm), 1) if warm else None,
        "warm_max_ms": round(max(warm), 1) if warm else None,
        "median_cpu_ms": round(statistics.median(cpu), 1),
        "load_avg_1m": round(os.getloadavg()[0], 1),
        "rows_per_s": round(rows / (median_ms / 1000)),
        "resolver_construct_ms": round(construct_ms, 1),
        "frame_mb": round(frame_bytes / 2**20, 1),
        "baseline_rss_mb": round(baseline / 2**20, 1),
        "peak_rss_mb": round(peak.peak / 2**20, 1),
        "peak_growth_mb": round(growth / 2**20, 1),
        "growth_over_frame": round(growth / frame_bytes, 2),
        "tier_ms": last["timings_ms"],
        "checksum": sorted(checksums),
        "hits": {
            "yaml": sum(last["yaml_hits"].values()),
            "db_cache": last["db_cache_hits"],
            "existing": last["existing_column_hits"],
            "temp": last["temp_ids_generated"],
            "unresolved": last["unresolved"],
            "queued": last["async_queued"],
            "backflow_inserted": last["backflow_stats"]["inserted"],
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=list(SIZES))
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        repeats = 7 if args.child <= 10_000 else 5
        print(json.dumps(measure(args.url, args.child, repeats)))
        return

    server_url = os.environ.get("WDH_TEST_DATABASE_URL", DEFAULT_URL)
    results: list[dict[str, Any]] = []
    with scratch_database(server_url, "resolver") as url:
        for size in args.sizes:
            child = subprocess.run(
                [sys.executable, __file__, "--child", str(size), "--url", url],
                check=True,
                capture_output=True,
                text=True,
            )
            figures = json.loads(child.stdout.strip().splitlines()[-1])
            results.append(figures)
            target = TARGET_MS.get(size)
            verdict = (
                "" if target is None else (" ok" if figures["median_ms"] <= target else " SLOW")
            )
            print(
                f"{size:>9,} rows  {figures['median_ms']:>9.1f} ms{verdict:5}"
                f" (min {figures['min_ms']:.1f}, max {figures['max_ms']:.1f})"
                f"  {figures['rows_per_s']:>9,} rows/s"
                f"  (client CPU {figures['median_cpu_ms']:>8.1f} ms, load {figures['load_avg_1m']})"
                f"  peak RSS {figures['peak_rss_mb']:>7.1f} MB"
                f"  growth {figures['peak_growth_mb']:>6.1f} MB"
                f" = {figures['growth_over_frame']:.2f}x frame ({figures['frame_mb']} MB)"
            )
            if figures["warm_median_ms"] is not None:
                print(
                    f"{'':>11}warm (names seen before in this process): "
                    f"{figures['warm_median_ms']:.1f} ms (min {figures['warm_min_ms']:.1f}, "
                    f"max {figures['warm_max_ms']:.1f})"
                )
            steps = ", ".join(f"{tier} {ms:.0f}" for tier, ms in figures["tier_ms"].items())
            print(f"{'':>11}steps ms (last run): {steps}")
            print(f"{'':>11}checksum of sorted output: {', '.join(figures['checksum'])}")
    report = {
        "benchmark": "resolver",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "mix": MIX,
        "distinct_share": DISTINCT_SHARE,
        "targets": {"ms": TARGET_MS, "growth_over_frame": TARGET_MEMORY_RATIO},
        "results": results,
    }
    write_results("bench_resolver", report)


if __name__ == "__main__":
    main()
