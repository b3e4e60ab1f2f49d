"""Start-up of ``wdh-enrich``: ``--help`` and ``queue status``, wall clock per process.

Every command pays its imports before it does anything, so these two bound what a user
waits for the smallest command (targets: ``--help`` <= 0.3 s, ``queue status`` <= 0.6 s).
``queue status`` runs against a scratch PostgreSQL database on the test server
(``WDH_TEST_DATABASE_URL``). Prints median, min and max of ``--repeats`` runs (default 7)
and the 1-minute load average; JSON goes to ``benchmarks/results/bench_cli_start.json``.

    .venv/bin/python benchmarks/bench_cli_start.py [--repeats N]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from _scratch import scratch_database

PG_URL = os.environ.get(
    "WDH_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
RESULTS = Path(__file__).parent / "results"
TARGETS_S = {"--help": 0.3, "queue status": 0.6}


def _command() -> list[str]:
    script = Path(sys.executable).with_name("wdh-enrich")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from work_data_hub.cli.app import main; main()"]


def _time(args: list[str], env: dict[str, str], repeats: int) -> list[float]:
    times: list[float] = []
    for _ in range(repeats):
        started = time.perf_counter()
        subprocess.run([*_command(), *args], env=env, check=True, capture_output=True)
        times.append(time.perf_counter() - started)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    results: dict[str, dict[str, float]] = {}
    with scratch_database(PG_URL, "start") as url:
        env = {k: v for k, v in os.environ.items() if not k.startswith("WDH_")}
        env.update(DATABASE_URL=url, WDH_LOG_LEVEL="WARNING")
        for label, command in (("--help", ["--help"]), ("queue status", ["queue", "status"])):
            times = _time(command, env, args.repeats)
            median = statistics.median(times)
            results[label] = {
                "median_s": round(median, 3),
                "min_s": round(min(times), 3),
                "max_s": round(max(times), 3),
            }
            verdict = "ok" if median <= TARGETS_S[label] else "SLOW"
            print(
                f"wdh-enrich {label:<13} {median:.3f} s {verdict:4} "
                f"(min {min(times):.3f}, max {max(times):.3f}; target {TARGETS_S[label]} s)"
            )
    load = round(os.getloadavg()[0], 1)
    print(f"load average (1 min): {load}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / "bench_cli_start.json"
    path.write_text(json.dumps({"load_avg_1m": load, "results": results}, indent=2) + "\n")


if __name__ == "__main__":
    main()
