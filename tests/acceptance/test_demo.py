"""The README's main job: ``wdh-enrich demo`` end to end."""

from __future__ import annotations

import json
from typing import Any

import pytest

from .conftest import Cli


@pytest.mark.slow
def test_demo_resolves_works_the_queue_and_remaps(cli: Cli) -> None:
    workdir = cli.tmp / "demo"
    result: Any = cli("demo", "--workdir", str(workdir), "--rows", "1000", "--json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    before, resolved, remapped, next_run = data["stages"]
    assert {s["rows"] for s in data["stages"]} == {1000}
    assert data["first_run"]["rows_in"] == data["first_run"]["rows_out"] == 1000
    assert before["temp_ids"] == 0
    assert resolved["no_id"] == 0
    assert data["first_run"]["statistics"]["budget_consumed"] == 10
    assert data["worker"]["resolved"] > 0
    assert data["worker"]["not_found"] > 0
    assert remapped["temp_ids"] < resolved["temp_ids"]
    assert next_run["real_ids"] >= remapped["real_ids"]
    assert data["queue_after"]["counts"].get("pending", 0) <= 1
    assert (workdir / "annuity_2024_06.remapped.csv").exists()


@pytest.mark.slow
def test_demo_is_deterministic(cli: Cli) -> None:
    runs = [
        json.loads(
            cli("demo", "--workdir", str(cli.tmp / "demo"), "--rows", "500", "--json").stdout  # type: ignore[attr-defined]
        )["stages"]
        for _ in range(2)
    ]
    assert runs[0] == runs[1]


@pytest.mark.slow
def test_demo_prints_the_before_after_table(cli: Cli) -> None:
    result: Any = cli("demo", "--workdir", str(cli.tmp / "demo"), "--rows", "500")
    assert "before / after" in result.stdout
    assert "after queue work + remap" in result.stdout
    assert "queue work:" in result.stderr
