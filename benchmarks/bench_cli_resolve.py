"""Peak memory and throughput of ``wdh-enrich resolve`` on a large CSV, against PostgreSQL.

Generates a sample annuity CSV (default 2,000,000 rows) in a temporary folder, creates a
scratch database on the test server, migrates it, then runs ``wdh-enrich resolve`` in a
child process and samples that process's resident memory (psutil) until it exits.
Target: peak RSS under 1 GiB. Prints the figures and writes JSON to benchmarks/results/.

    .venv/bin/python benchmarks/bench_cli_resolve.py [--rows N] [--chunk-rows N]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from _scratch import scratch_database
from work_data_hub import sample_data
from work_data_hub.io import frames

PG_URL = os.environ.get(
    "WDH_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
RESULTS = Path(__file__).parent / "results"
GIB = 1024**3


def _command() -> list[str]:
    script = Path(sys.executable).with_name("wdh-enrich")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from work_data_hub.cli.app import main; main()"]


def _peak_rss(process: subprocess.Popen[bytes]) -> int:
    watched = psutil.Process(process.pid)
    peak = 0
    while process.poll() is None:
        try:
            peak = max(peak, watched.memory_info().rss)
        except psutil.NoSuchProcess:
            break
        time.sleep(0.05)
    return peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--chunk-rows", type=int, default=frames.DEFAULT_CHUNK_ROWS)
    args = parser.parse_args()

    with scratch_database(PG_URL, "cli") as url, tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "annuity.csv"
        started = time.perf_counter()
        sample_data.write_sample_file(source, sample_data.SampleConfig(rows=args.rows))
        generate_s = time.perf_counter() - started
        size_mb = source.stat().st_size / 1024**2
        output = Path(tmp) / "resolved.csv"
        env = {k: v for k, v in os.environ.items() if not k.startswith("WDH_")}
        env.update(
            DATABASE_URL=url,
            WDH_ALIAS_SALT="benchmark-salt",
            WDH_LOG_LEVEL="WARNING",
            WDH_MAPPINGS_DIR=str(Path(tmp) / "mappings"),
        )
        command = [
            *_command(),
            "resolve",
            str(source),
            "-o",
            str(output),
            "--chunk-rows",
            str(args.chunk_rows),
            "--json",
        ]
        started = time.perf_counter()
        process = subprocess.Popen(
            command, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
        )
        peak = _peak_rss(process)
        stdout, _ = process.communicate()
        elapsed_s = time.perf_counter() - started
        if process.returncode != 0:
            raise SystemExit(f"resolve failed with exit code {process.returncode}")
        report = json.loads(stdout)

    result = {
        "rows": args.rows,
        "chunk_rows": args.chunk_rows,
        "csv_mb": round(size_mb, 1),
        "generate_s": round(generate_s, 2),
        "resolve_s": round(elapsed_s, 2),
        "rows_per_s": round(args.rows / elapsed_s),
        "peak_rss_mb": round(peak / 1024**2, 1),
        "under_1_gib": peak < GIB,
        "rows_in": report["rows_in"],
        "rows_out": report["rows_out"],
        "timings_ms": report["timings_ms"],
        "temp_ids_generated": report["statistics"]["temp_ids_generated"],
        "async_queued": report["statistics"]["async_queued"],
    }
    print(
        f"resolve {args.rows:,} rows ({size_mb:.0f} MB CSV, chunks of {args.chunk_rows:,}): "
        f"{elapsed_s:.1f} s, {result['rows_per_s']:,} rows/s, peak RSS {result['peak_rss_mb']} MB "
        f"({'under' if result['under_1_gib'] else 'OVER'} 1 GiB); "
        f"rows in {report['rows_in']:,} = out {report['rows_out']:,}"
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / "bench_cli_resolve.json"
    path.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
