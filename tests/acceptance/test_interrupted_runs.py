"""A resolve killed or interrupted mid-run leaves the previous outputs exactly as they were."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from work_data_hub.io import atomic

ROWS = 300_000
CHUNK = 100_000


def _command() -> list[str]:
    script = Path(sys.executable).with_name("wdh-enrich")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from work_data_hub.cli.app import main; main()"]


def _env(cli_env: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WDH_", "DATABASE_URL"))}
    env.update(cli_env)
    return env


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["sigint", "sigkill"])
def test_signal_in_the_second_chunk_keeps_previous_outputs(
    cli_env: dict[str, str], tmp_path: Path, sig: signal.Signals
) -> None:
    env = _env(cli_env)
    runs = tmp_path / "runs"
    runs.mkdir()
    out = runs / "out.csv"
    small = tmp_path / "small.csv"
    pd.DataFrame({"客户名称": ["甲公司", "乙公司"]}).to_csv(small, index=False)
    first = subprocess.run(
        [*_command(), "resolve", str(small), "-o", str(out)],
        env=env,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert first.returncode == 0, first.stderr
    before = _snapshot(runs)
    big = tmp_path / "big.csv"
    pd.DataFrame(
        {"客户名称": [f"公司{i % 5000}" for i in range(ROWS)], "计划代码": ["P1"] * ROWS}
    ).to_csv(big, index=False)
    process = subprocess.Popen(
        [*_command(), "resolve", str(big), "-o", str(out), "--chunk-rows", str(CHUNK)],
        env=env,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    assert process.stderr is not None
    for line in process.stderr:  # non-terminal progress: one line per chunk done
        if f": {CHUNK}" in line:
            break
    process.send_signal(sig)
    process.communicate(timeout=120)
    assert process.returncode != 0
    leftovers = [p.name for p in runs.iterdir() if p.name.endswith(atomic.PARTIAL_SUFFIX)]
    if sig is signal.SIGINT:
        assert leftovers == []  # cleaned up on the way out
    else:
        assert len(leftovers) <= 1  # a killed process cannot clean up: hidden, swept next run
        for name in leftovers:
            (runs / name).unlink()
    assert _snapshot(runs) == before
