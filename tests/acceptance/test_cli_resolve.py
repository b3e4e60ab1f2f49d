"""``wdh-enrich resolve`` through typer's runner: outputs, report, unknowns, clear errors."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from work_data_hub import sample_data
from work_data_hub.io import frames

from .conftest import Cli


def _sample(tmp: Path, name: str = "in.csv", rows: int = 300) -> Path:
    return sample_data.write_sample_file(tmp / name, sample_data.SampleConfig(rows=rows, seed=5))


def test_resolve_writes_output_report_and_unknowns_with_matching_row_counts(cli: Cli) -> None:
    path = _sample(cli.tmp)
    result: Any = cli("resolve", str(path), "-o", str(cli.tmp / "out.csv"), "--chunk-rows", "128")
    assert result.exit_code == 0, result.stderr
    out = frames.read_frame(cli.tmp / "out.csv")
    report = json.loads((cli.tmp / "out.report.json").read_text())
    unknown = pd.read_csv(cli.tmp / "out.unknown.csv", encoding="utf-8-sig")
    assert len(out) == 300
    assert out["company_id"].notna().all()
    assert report["rows_in"] == report["rows_out"] == 300
    assert report["chunks"] == 3
    assert report["statistics"]["total_rows"] == 300
    assert list(unknown.columns) == [
        "company_name",
        "temporary_id",
        "first_seen",
        "occurrence_count",
    ]
    assert unknown["occurrence_count"].sum() == report["statistics"]["temp_ids_generated"]
    assert "rows in" in result.stdout


def test_resolve_keeps_leading_zeros_of_ids(cli: Cli) -> None:
    path = cli.tmp / "in.csv"
    path.write_text("客户名称,公司代码\n招商银行,00123\n", encoding="utf-8")
    assert cli("resolve", str(path)).exit_code == 0  # type: ignore[attr-defined]
    with (cli.tmp / "in.resolved.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[1] == ["招商银行", "00123", "00123"]


def test_resolve_json_prints_the_report(cli: Cli) -> None:
    result: Any = cli("resolve", str(_sample(cli.tmp)), "--json")
    assert json.loads(result.stdout)["rows_match"] is True


def test_second_run_enqueues_nothing_new(cli: Cli) -> None:
    path = _sample(cli.tmp)
    cli("resolve", str(path))
    result: Any = cli("resolve", str(path), "--json")
    assert json.loads(result.stdout)["statistics"]["async_queued"] == 0


def test_no_queue_enqueues_nothing(cli: Cli) -> None:
    result: Any = cli("resolve", str(_sample(cli.tmp)), "--no-queue", "--json")
    assert json.loads(result.stdout)["statistics"]["async_queued"] == 0


def test_column_map_reads_names_from_another_column(cli: Cli) -> None:
    path = cli.tmp / "in.csv"
    path.write_text("Customer\n招商银行\n平安银行\n", encoding="utf-8")
    result: Any = cli("resolve", str(path), "--column-map", "客户名称=Customer", "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["statistics"]["temp_ids_generated"] == 2


def test_bad_column_map_is_a_usage_error(cli: Cli) -> None:
    result: Any = cli("resolve", str(_sample(cli.tmp)), "--column-map", "nonsense")
    assert result.exit_code == 2


def test_missing_required_column_lists_expected_and_found(cli: Cli) -> None:
    path = cli.tmp / "in.csv"
    path.write_text("Customer,Plan\nx,y\n", encoding="utf-8")
    result: Any = cli("resolve", str(path))
    assert result.exit_code == 1
    assert "missing required column '客户名称'" in result.stderr
    assert "expected: 客户名称 (required)" in result.stderr
    assert "found: Customer, Plan" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_file_is_one_error_line(cli: Cli) -> None:
    result: Any = cli("resolve", str(cli.tmp / "absent.csv"))
    assert result.exit_code == 1
    assert result.stderr.strip().startswith("error: input file not found")
    assert len(result.stderr.strip().splitlines()) == 1


def test_unreadable_file_is_an_error(cli: Cli) -> None:
    path = cli.tmp / "broken.xlsx"
    path.write_bytes(b"not a workbook")
    result: Any = cli("resolve", str(path))
    assert result.exit_code == 1
    assert "error: cannot read broken.xlsx" in result.stderr


def test_undecodable_csv_is_an_error(cli: Cli) -> None:
    path = cli.tmp / "in.csv"
    path.write_bytes("客户名称\n".encode() + b"\x80\xff\n")
    result: Any = cli("resolve", str(path))
    assert result.exit_code == 1
    assert "not valid UTF-8" in result.stderr


def test_wrong_sheet_lists_the_sheets(cli: Cli) -> None:
    path = cli.tmp / "in.xlsx"
    frames.write_frame(pd.DataFrame({"客户名称": ["x"]}), path, sheet="明细")
    result: Any = cli("resolve", str(path), "--sheet", "汇总")
    assert result.exit_code == 1
    assert "sheet '汇总' not found in in.xlsx; sheets: 明细" in result.stderr


def test_unreachable_database_shows_the_url_without_password(cli: Cli) -> None:
    url = "postgresql+psycopg://wdh:s3cret-pw@127.0.0.1:1/wdh"
    result: Any = cli("resolve", str(_sample(cli.tmp)), DATABASE_URL=url)
    assert result.exit_code == 0  # degraded run: temporary ids, a warning
    assert "cannot connect to the database at postgresql+psycopg://wdh:***@127.0.0.1:1/wdh" in (
        result.stderr
    )
    assert "s3cret-pw" not in result.stderr + result.stdout


def test_production_without_salt_is_a_config_error(cli: Cli) -> None:
    result: Any = cli("resolve", str(_sample(cli.tmp)), WDH_ENV="production", WDH_ALIAS_SALT="")
    assert result.exit_code == 1
    assert "WDH_ALIAS_SALT must be set when WDH_ENV=production" in result.stderr


def test_development_salt_is_warned_about(cli: Cli) -> None:
    result: Any = cli("resolve", str(_sample(cli.tmp)), WDH_ALIAS_SALT="")
    assert result.exit_code == 0
    assert "warning: WDH_ALIAS_SALT is not set" in result.stderr


def test_budget_without_eqc_token_is_a_config_error(cli: Cli) -> None:
    result: Any = cli("resolve", str(_sample(cli.tmp)), "--sync-budget", "5")
    assert result.exit_code == 1
    assert "--sync-budget needs WDH_EQC_TOKEN" in result.stderr


def test_debug_shows_the_traceback(cli: Cli) -> None:
    with pytest.raises(Exception, match="input file not found"):
        cli("--debug", "resolve", str(cli.tmp / "absent.csv"))


def test_output_must_not_overwrite_the_input(cli: Cli) -> None:
    path = _sample(cli.tmp)
    result: Any = cli("resolve", str(path), "-o", str(path))
    assert result.exit_code == 1
    assert "is the input file" in result.stderr


def test_plain_progress_lines_when_not_a_terminal(cli: Cli) -> None:
    result: Any = cli("resolve", str(_sample(cli.tmp)), "--chunk-rows", "100")
    assert "resolving in.csv: 300 rows" in result.stderr
