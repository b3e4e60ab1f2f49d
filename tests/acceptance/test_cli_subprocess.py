"""Real processes: ``wdh-enrich resolve`` on CSV, Excel and Parquet; rows in equal rows out."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from work_data_hub import sample_data
from work_data_hub.eqc_server.testing import running_eqc_server
from work_data_hub.io import frames

ROWS = 1_500


def _command() -> list[str]:
    script = Path(sys.executable).with_name("wdh-enrich")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from work_data_hub.cli.app import main; main()"]


@pytest.mark.slow
@pytest.mark.parametrize("suffix", [".csv", ".xlsx", ".parquet"])
def test_resolve_in_a_subprocess_keeps_every_row(
    cli_env: dict[str, str], tmp_path: Path, suffix: str
) -> None:
    source = sample_data.write_sample_file(
        tmp_path / f"annuity{suffix}", sample_data.SampleConfig(rows=ROWS, seed=11)
    )
    output = tmp_path / f"resolved{suffix}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WDH_", "DATABASE_URL"))}
    env.update(cli_env)
    env["WDH_TEST_DATABASE_URL"] = os.environ.get("WDH_TEST_DATABASE_URL", "")
    completed = subprocess.run(
        [*_command(), "resolve", str(source), "-o", str(output), "--chunk-rows", "400", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    report = json.loads(completed.stdout)
    out = frames.read_frame(output)
    assert report["rows_in"] == report["rows_out"] == len(out) == ROWS
    assert out["company_id"].notna().all()
    assert list(out.columns) == [*sample_data.SAMPLE_COLUMNS, "company_id"]
    assert (tmp_path / "resolved.report.json").exists()
    assert (tmp_path / "resolved.unknown.csv").exists()


def _start(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*_command(), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _finish(process: subprocess.Popen[str], timeout: float = 240) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=timeout)
    return process.returncode, out, err


@pytest.mark.slow
def test_a_long_sync_resolve_on_sqlite_blocks_no_other_command(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    names = [f"查无此司第{i}号贸易有限公司" for i in range(150)]
    slow_file = tmp_path / "slow.csv"
    slow_file.write_text("客户名称\n" + "\n".join(names) + "\n", encoding="utf-8")
    other = sample_data.write_sample_file(
        tmp_path / "other.csv", sample_data.SampleConfig(rows=300, seed=5)
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WDH_", "DATABASE_URL"))}
    env.update(cli_env, WDH_EQC_RATE_LIMIT="1000", WDH_EQC_RATE_WINDOW_S="1")
    with running_eqc_server(registry_size=300, latency_ms=400) as eqc:
        env.update(WDH_EQC_TOKEN=eqc.token, WDH_EQC_BASE_URL=eqc.base_url)
        slow = _start(env, "resolve", str(slow_file), "--sync-budget", "150", "--json")
        # Wait until its EQC tier is under way, then run the others beside it.
        while eqc.calls.count() < 3 and slow.poll() is None:
            time.sleep(0.2)
        results = [
            _finish(_start(env, "resolve", str(other), "-o", str(tmp_path / "o.csv"))),
            _finish(_start(env, "queue", "work", "--once", "--max-seconds", "20")),
            _finish(_start(env, "queue", "status")),
        ]
        results.append(_finish(slow))
    for code, _out, err in results:
        assert code == 0, err
    report = json.loads(results[-1][1])
    assert report["statistics"]["budget_consumed"] == 150
