"""``queue work`` at the rate limit: bounded runs, auth failures, remembered answers."""

from __future__ import annotations

import json
from typing import Any

from tests.helpers import enqueue_names
from work_data_hub.eqc_server.app import SEARCH_PATH
from work_data_hub.eqc_server.testing import running_eqc_server
from work_data_hub.infrastructure.db.engine import create_engine
from work_data_hub.infrastructure.eqc.rate_limit import DatabaseRateLimiter

from .conftest import Cli

SALT = "acceptance-salt"


def _enqueue(cli: Cli, *names: str) -> None:
    engine = create_engine(cli.env["DATABASE_URL"])
    try:
        enqueue_names(engine, list(names), SALT)
    finally:
        engine.dispose()


def test_queue_work_stopped_by_an_auth_failure_exits_1_with_one_error_line(cli: Cli) -> None:
    with running_eqc_server(registry_size=200) as eqc:
        _enqueue(cli, "甲公司", "乙公司")
        result: Any = cli(
            "queue",
            "work",
            "--once",
            WDH_EQC_TOKEN="wrong-token",
            WDH_EQC_BASE_URL=eqc.base_url,
        )
    assert result.exit_code == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1
    assert "rejected the token" in errors[0]
    assert "Traceback" not in result.stderr


def test_max_seconds_stops_the_run_and_prints_what_is_left(cli: Cli) -> None:
    with running_eqc_server(registry_size=200) as eqc:
        names = [c.full_name for c in eqc.registry.companies[:5]]
        _enqueue(cli, *names)
        result: Any = cli(
            "queue",
            "work",
            "--once",
            "--max-seconds",
            "0",
            WDH_EQC_TOKEN=eqc.token,
            WDH_EQC_BASE_URL=eqc.base_url,
        )
        calls = len(eqc.calls)
    assert result.exit_code == 0, result.stderr
    assert calls == 0
    assert "5 ready request(s) left" in result.stderr
    status: Any = cli("queue", "status", "--json")
    assert json.loads(status.stdout)["ready_pending"] == 5  # given back, attempts unchanged


def test_retry_failed_can_include_names_eqc_did_not_know(cli: Cli) -> None:
    env = {"WDH_EQC_RATE_LIMIT": "1000", "WDH_EQC_RATE_WINDOW_S": "1"}
    with running_eqc_server(registry_size=200) as eqc:
        env.update(WDH_EQC_TOKEN=eqc.token, WDH_EQC_BASE_URL=eqc.base_url)
        _enqueue(cli, "完全不存在的某某公司")
        assert cli("queue", "work", "--once", **env).exit_code == 0  # type: ignore[attr-defined]
        result: Any = cli("queue", "retry-failed", "--include-not-found")
        assert "reopened 1 request(s) EQC had answered 'not found'" in result.stdout
        again: Any = cli("queue", "work", "--once", "--json", **env)
        assert json.loads(again.stdout)["not_found"] == 1
        assert eqc.calls.count(SEARCH_PATH) == 2


def test_queue_work_details_fetches_details_of_found_companies(cli: Cli) -> None:
    env = {"WDH_EQC_RATE_LIMIT": "1000", "WDH_EQC_RATE_WINDOW_S": "1"}
    with running_eqc_server(registry_size=200) as eqc:
        env.update(WDH_EQC_TOKEN=eqc.token, WDH_EQC_BASE_URL=eqc.base_url)
        _enqueue(cli, eqc.registry.companies[0].full_name)
        assert cli("queue", "work", "--once", **env).exit_code == 0  # type: ignore[attr-defined]
        result: Any = cli("queue", "work", "--details", "--json", **env)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["fetched"] == 1


def test_resolve_with_the_limit_exhausted_spends_no_budget_and_warns(cli: Cli) -> None:
    source = cli.tmp / "in.csv"
    source.write_text("客户名称\n查无此司甲\n查无此司乙\n", encoding="utf-8")
    engine = create_engine(cli.env["DATABASE_URL"])
    try:
        assert DatabaseRateLimiter(engine, 1, 3600.0).acquire(timeout=0)  # the one slot
    finally:
        engine.dispose()
    with running_eqc_server(registry_size=200) as eqc:
        result: Any = cli(
            "resolve",
            str(source),
            "--sync-budget",
            "5",
            "--sync-wait",
            "0.2",
            "--json",
            WDH_EQC_TOKEN=eqc.token,
            WDH_EQC_BASE_URL=eqc.base_url,
            WDH_EQC_RATE_LIMIT="1",
            WDH_EQC_RATE_WINDOW_S="3600",
        )
        calls = len(eqc.calls)
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert calls == 0
    assert report["statistics"]["budget_consumed"] == 0
    assert report["statistics"]["budget_remaining"] == 5
    assert any("no rate-limit slot" in w for w in report["warnings"])
    assert "no rate-limit slot" in result.stderr
