"""Queue, review-loop and remap commands through typer's runner on SQLite."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from tests.helpers import enqueue_names
from work_data_hub.eqc_server.testing import running_eqc_server
from work_data_hub.infrastructure.db.engine import create_engine
from work_data_hub.infrastructure.enrichment.normalizer import (
    generate_temp_company_id,
)
from work_data_hub.io import frames

from .conftest import Cli

SALT = "acceptance-salt"


def _enqueue(cli: Cli, *names: str) -> None:
    engine = create_engine(cli.env["DATABASE_URL"])
    try:
        enqueue_names(engine, list(names), SALT)
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["resolve"],
        ["remap"],
        ["queue"],
        ["queue", "status"],
        ["queue", "work"],
        ["queue", "retry-failed"],
        ["queue", "purge"],
        ["export", "unknown"],
        ["mappings", "import"],
        ["mappings", "export"],
        ["mappings", "delete"],
        ["mappings", "history"],
        ["mappings", "audit"],
        ["eqc-server"],
        ["db", "upgrade"],
        ["db", "current"],
        ["demo"],
    ],
    ids=lambda c: "-".join(c) or "root",
)
def test_every_command_has_help(cli: Cli, command: list[str]) -> None:
    result: Any = cli(*command, "--help")
    assert result.exit_code == 0
    assert "Usage:" in result.stdout


def test_unknown_option_is_a_usage_error(cli: Cli) -> None:
    result: Any = cli("queue", "status", "--nope")
    assert result.exit_code == 2


def test_queue_status_counts_requests(cli: Cli) -> None:
    _enqueue(cli, "甲公司", "乙公司")
    result: Any = cli("queue", "status", "--json")
    data = json.loads(result.stdout)
    assert data["counts"]["pending"] == 2
    assert data["ready_pending"] == 2


def test_queue_status_table(cli: Cli) -> None:
    _enqueue(cli, "甲公司")
    result: Any = cli("queue", "status")
    assert "enrichment queue" in result.stdout
    assert "oldest pending" in result.stdout


def test_queue_status_in_a_fresh_process_loads_no_frame_libraries(cli: Cli) -> None:
    """The whole command (settings, engine, counts, the table) starts without pandas."""
    _enqueue(cli, "甲公司")
    script = (
        "import json, sys\n"
        "from work_data_hub.cli.app import app\n"
        "try:\n"
        "    app(['queue', 'status'])\n"
        "except SystemExit as exc:\n"
        "    assert not exc.code, exc.code\n"
        "print(json.dumps(sorted(m for m in ('pandas', 'numpy', 'pyarrow') if m in sys.modules)))"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WDH_", "DATABASE_URL"))}
    done = subprocess.run(
        [sys.executable, "-c", script],
        env={**env, **cli.env},
        check=True,
        capture_output=True,
        text=True,
    )
    assert "oldest pending" in done.stdout
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []


def test_queue_work_once_drains_against_the_local_server(cli: Cli) -> None:
    with running_eqc_server(registry_size=500) as eqc:
        known = eqc.registry.companies[0].full_name
        _enqueue(cli, known, "完全不存在的某某公司")
        result: Any = cli(
            "queue",
            "work",
            "--once",
            "--json",
            WDH_EQC_TOKEN=eqc.token,
            WDH_EQC_BASE_URL=eqc.base_url,
            WDH_EQC_RATE_LIMIT="1000",
            WDH_EQC_RATE_WINDOW_S="1",
        )
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert (data["resolved"], data["not_found"]) == (1, 1)


def test_queue_work_without_token_is_a_config_error(cli: Cli) -> None:
    result: Any = cli("queue", "work", "--once")
    assert result.exit_code == 1
    assert "needs WDH_EQC_TOKEN" in result.stderr


def test_retry_failed_and_purge_report_counts(cli: Cli) -> None:
    assert "reopened 0" in cli("queue", "retry-failed").stdout  # type: ignore[attr-defined]
    result: Any = cli("queue", "purge", "--older-than", "30d")
    assert "purged 0" in result.stdout


def test_purge_with_a_bad_age_is_a_usage_error(cli: Cli) -> None:
    result: Any = cli("queue", "purge", "--older-than", "thirty days")
    assert result.exit_code == 2


def test_export_unknown_writes_the_four_columns_then_suggestions(cli: Cli) -> None:
    _enqueue(cli, "甲公司", "乙公司")
    out = cli.tmp / "unknown.csv"
    result: Any = cli("export", "unknown", "-o", str(out))
    frame = pd.read_csv(out, encoding="utf-8-sig")
    assert result.exit_code == 0
    columns = list(frame.columns)
    assert columns[:4] == ["company_name", "temporary_id", "first_seen", "occurrence_count"]
    assert columns[4:8] == [
        "suggestion_1_id",
        "suggestion_1_name",
        "suggestion_1_source",
        "suggestion_1_score",
    ]
    assert columns[-1] == "company_id"
    assert frame["company_id"].isna().all()
    assert set(frame["company_name"]) == {"甲公司", "乙公司"}


def test_export_unknown_json_uses_run_counts(cli: Cli) -> None:
    _enqueue(cli, "甲公司")
    run = cli.tmp / "run.unknown.csv"
    run.write_text(
        "company_name,temporary_id,first_seen,occurrence_count\n"
        f"甲公司,{generate_temp_company_id('甲公司', SALT)},2024-06-01T00:00:00+00:00,7\n",
        encoding="utf-8",
    )
    result: Any = cli("export", "unknown", "--runs", str(run), "--json")
    assert json.loads(result.stdout)[0]["occurrence_count"] == 7


def test_mappings_import_then_export(cli: Cli) -> None:
    reviewed = cli.tmp / "reviewed.csv"
    frames.write_frame(
        pd.DataFrame({"company_name": ["招商银行"], "company_id": ["600000036"]}), reviewed
    )
    imported: Any = cli("mappings", "import", str(reviewed))
    exported: Any = cli("mappings", "export", "--match-type", "manual")
    assert imported.exit_code == 0
    assert "招商银行,600000036,manual,0,manual,1.0" in exported.stdout


def test_mappings_import_json_prints_the_counts(cli: Cli) -> None:
    reviewed = cli.tmp / "reviewed.csv"
    frames.write_frame(
        pd.DataFrame({"company_name": ["招商银行"], "company_id": ["600000036"]}), reviewed
    )
    result: Any = cli("mappings", "import", str(reviewed), "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {
        "rows": 1,
        "inserted": 1,
        "skipped": 0,
        "replaced": 0,
        "requests_closed": 0,
        "ignored": 0,
        "accepted": 0,
        "dry_run": False,
        "accepted_rows": [],
    }


def test_mappings_import_bad_rows_exit_1_with_line_numbers(cli: Cli) -> None:
    reviewed = cli.tmp / "reviewed.csv"
    reviewed.write_text("company_name,company_id\n招商银行,\n", encoding="utf-8")
    result: Any = cli("mappings", "import", str(reviewed))
    assert result.exit_code == 1
    assert "line 2: company id is empty or a placeholder" in result.stderr


def test_mappings_export_to_file(cli: Cli) -> None:
    out = cli.tmp / "mappings.csv"
    result: Any = cli("mappings", "export", "-o", str(out))
    assert result.exit_code == 0
    assert out.read_text(encoding="utf-8-sig").startswith("alias_name,canonical_id")


def test_mappings_export_rejects_unknown_match_type(cli: Cli) -> None:
    assert cli("mappings", "export", "--match-type", "bogus").exit_code == 2  # type: ignore[attr-defined]


def test_remap_replaces_resolved_temporary_ids(cli: Cli) -> None:
    _enqueue(cli, "甲公司")
    engine = create_engine(cli.env["DATABASE_URL"])
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql(
                "UPDATE enrichment_requests SET status='done', resolved_company_id='600000001'"
            )
    finally:
        engine.dispose()
    temp = generate_temp_company_id("甲公司", SALT)
    other = generate_temp_company_id("乙公司", SALT)
    source = cli.tmp / "resolved.parquet"
    frames.write_frame(
        pd.DataFrame({"客户名称": ["甲公司", "乙公司"], "company_id": [temp, other]}), source
    )
    out = cli.tmp / "remapped.parquet"
    result: Any = cli("remap", str(source), "-o", str(out), "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == {
        "rows": 2,
        "temp_ids_seen": 2,
        "replaced": 1,
        "temp_ids_left": 1,
    }
    assert frames.read_frame(out)["company_id"].tolist() == ["600000001", other]


def test_remap_missing_column_is_an_error(cli: Cli, tmp_path: Path) -> None:
    source = tmp_path / "x.csv"
    source.write_text("a\n1\n", encoding="utf-8")
    result: Any = cli("remap", str(source), "-o", str(tmp_path / "y.csv"))
    assert result.exit_code == 1
    assert "missing required column 'company_id'" in result.stderr
