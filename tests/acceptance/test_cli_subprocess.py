"""Real processes: ``wdh-enrich resolve`` on CSV, Excel and Parquet; rows in equal rows out."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from work_data_hub import sample_data
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
