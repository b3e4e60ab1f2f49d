"""The README's main job: ``wdh-enrich demo`` end to end."""

from __future__ import annotations

import json
from typing import Any

import pytest

from .conftest import Cli


@pytest.mark.slow
def test_demo_resolves_works_the_queue_and_remaps(cli: Cli) -> None:
    workdir = cli.tmp / "demo"
    result: Any = cli("demo", "--workdir", str(workdir), "--rows", "5000", "--json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    before, resolved, remapped, next_run = data["stages"]
    assert {s["rows"] for s in data["stages"]} == {5000}
    assert data["first_run"]["rows_in"] == data["first_run"]["rows_out"] == 5000
    assert before["temp_ids"] == 0
    assert resolved["no_id"] == 0
    assert data["first_run"]["statistics"]["budget_consumed"] == 10
    worker = data["worker"]
    # Names whose mapping was learned after they were queued are closed without a call.
    assert worker["resolved"] + worker["cached"] > 0
    assert worker["done"] == worker["claimed"]
    assert remapped["temp_ids"] < resolved["temp_ids"]
    assert next_run["real_ids"] >= remapped["real_ids"]
    # Only names EQC did not know are queued again by the next run.
    assert data["queue_after"]["counts"].get("pending", 0) <= data["worker"]["not_found"]
    assert data["first_run"]["statistics"]["propagated_hits"] > 0
    assert (workdir / "annuity_2024_06.remapped.csv").exists()
    review = data["review"]
    assert 0 < review["still_unknown"] <= review["new_spellings"]
    assert 0 <= review["top1"] <= review["top3"] <= review["still_unknown"]
    assert review["top3_rate"] == round(review["top3"] / review["still_unknown"], 4)


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
    assert "right company first" in result.stderr


@pytest.mark.slow
def test_demo_counts_no_wrong_id_as_a_hit(cli: Cli) -> None:
    """The sample keeps collective plans shared by many employers; every stage is checked
    against the generator's ground truth, and none may hold another company's id."""
    result: Any = cli("demo", "--workdir", str(cli.tmp / "demo"), "--rows", "2000", "--json")
    stages = json.loads(result.stdout)["stages"]
    assert [s["wrong_ids"] for s in stages] == [0, 0, 0, 0]
    assert all(s["real_ids"] + s["temp_ids"] + s["no_id"] == 2000 for s in stages)
