"""The review file through the CLI: export with suggestions, accept above a score."""

from __future__ import annotations

import json
from typing import Any

import openpyxl

from tests.helpers import enqueue_names
from work_data_hub.infrastructure.db.engine import create_engine
from work_data_hub.infrastructure.enrichment.mapping_repository import CompanyMappingRepository
from work_data_hub.infrastructure.enrichment.normalizer import normalize_for_temp_id
from work_data_hub.infrastructure.enrichment.types import MappingRecord

from .conftest import Cli

PARENT = "远宏(太原)实业有限公司"
BRANCH = "远宏(太原)实业有限公司北京分公司"


def _prepare(cli: Cli) -> None:
    engine = create_engine(cli.env["DATABASE_URL"])
    try:
        with engine.begin() as conn:
            CompanyMappingRepository(conn).insert_batch_with_conflict_check(
                [
                    MappingRecord(
                        alias_name=normalize_for_temp_id(PARENT),
                        canonical_id="914401010000000001",
                        match_type="eqc",
                        source="eqc",
                    )
                ]
            )
        enqueue_names(engine, [BRANCH, "无关名称商行"], cli.env["WDH_ALIAS_SALT"])
    finally:
        engine.dispose()


def test_export_json_lists_suggestions(cli: Cli) -> None:
    _prepare(cli)
    result: Any = cli("export", "unknown", "--json")
    by_name = {row["company_name"]: row["suggestions"] for row in json.loads(result.stdout)}
    assert by_name[BRANCH][0]["company_id"] == "914401010000000001"
    assert by_name[BRANCH][0]["source"] == "cache:eqc"
    assert by_name["无关名称商行"] == []


def test_no_suggestions_leaves_the_columns_empty(cli: Cli) -> None:
    _prepare(cli)
    result: Any = cli("export", "unknown", "--no-suggestions", "--json")
    assert all(row["suggestions"] == [] for row in json.loads(result.stdout))


def test_accept_above_lists_then_imports(cli: Cli) -> None:
    _prepare(cli)
    out = cli.tmp / "review.xlsx"
    assert cli("export", "unknown", "-o", str(out)).exit_code == 0  # type: ignore[attr-defined]
    sheet = openpyxl.load_workbook(out).active
    assert sheet.max_row == 3

    dry: Any = cli("mappings", "import", str(out), "--accept-above", "0.9", "--dry-run")
    assert dry.exit_code == 0
    assert "dry run: nothing imported" in dry.stdout
    assert "914401010000000001" in dry.stdout

    done: Any = cli("mappings", "import", str(out), "--accept-above", "0.9", "--json")
    counts = json.loads(done.stdout)
    assert (counts["inserted"], counts["ignored"], counts["accepted"]) == (1, 1, 1)
    assert counts["accepted_rows"][0]["company_id"] == "914401010000000001"


def test_accept_above_out_of_range_is_a_usage_error(cli: Cli) -> None:
    result: Any = cli("mappings", "import", "x.csv", "--accept-above", "1.5")
    assert result.exit_code == 2
