"""The review loop through the CLI, end to end on SQLite with the local EQC server:
resolve, export unknown, import reviewed names, work the queue, remap, purge, correct,
delete, audit — and bad ids refused where they enter."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from work_data_hub.eqc_server.testing import running_eqc_server
from work_data_hub.infrastructure.enrichment.company_id_resolver import explain_columns
from work_data_hub.io import frames

from .conftest import Cli

REVIEWED = {"甲审阅有限公司": "600000101", "乙审阅有限公司": "600000102"}


def _json(result: Any) -> Any:
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def _unknown_names(cli: Cli) -> set[str]:
    return {row["company_name"] for row in _json(cli("export", "unknown", "--json"))}


def _write_reviewed(cli: Cli, rows: dict[str, str], name: str = "reviewed.csv") -> Path:
    path = cli.tmp / name
    frames.write_frame(
        pd.DataFrame({"company_name": list(rows), "company_id": list(rows.values())}), path
    )
    return path


def test_the_review_round_trip_fixes_written_files(cli: Cli, db_url: str) -> None:
    """On both databases: the CLI runs against the parametrized fresh database."""
    cli.env["DATABASE_URL"] = db_url
    with running_eqc_server(registry_size=200) as eqc:
        eqc_env = {
            "WDH_EQC_TOKEN": eqc.token,
            "WDH_EQC_BASE_URL": eqc.base_url,
            "WDH_EQC_RATE_LIMIT": "1000",
            "WDH_EQC_RATE_WINDOW_S": "1",
        }
        names = [*REVIEWED, "丙未知有限公司"]
        source = cli.tmp / "annuity.csv"
        frames.write_frame(pd.DataFrame({"客户名称": names * 2}), source)
        resolved = cli.tmp / "resolved.csv"
        _json(cli("resolve", str(source), "-o", str(resolved), "--json"))
        assert _unknown_names(cli) == set(names)

        imported = _json(cli("mappings", "import", str(_write_reviewed(cli, REVIEWED)), "--json"))
        assert (imported["inserted"], imported["requests_closed"]) == (2, 2)
        assert _unknown_names(cli) == {"丙未知有限公司"}

        worked = _json(cli("queue", "work", "--once", "--json", **eqc_env))
        assert worked["claimed"] == 1
        assert set(eqc.calls.keys()) == {"丙未知有限公司"}

        def remapped() -> list[str]:
            out = cli.tmp / "remapped.csv"
            _json(cli("remap", str(resolved), "-o", str(out), "--json"))
            return frames.read_frame(out)["company_id"].tolist()[:2]

        assert remapped() == list(REVIEWED.values())
        purged: Any = cli("queue", "purge", "--older-than", "0d")
        assert purged.exit_code == 0
        assert remapped() == list(REVIEWED.values())


def test_a_correction_and_a_deletion_are_in_the_history(cli: Cli, db_url: str) -> None:
    cli.env["DATABASE_URL"] = db_url
    first: Any = cli("mappings", "import", str(_write_reviewed(cli, {"甲公司": "600000001"})))
    assert first.exit_code == 0
    corrected = _write_reviewed(cli, {"甲公司": "600000009"}, "corrected.csv")
    refused: Any = cli("mappings", "import", str(corrected))
    assert refused.exit_code == 1
    assert "--replace" in refused.stderr
    replaced = _json(cli("mappings", "import", str(corrected), "--replace", "--json"))
    assert replaced["replaced"] == 1
    exported: Any = cli("mappings", "export", "--match-type", "manual")
    assert "甲公司,600000009,manual" in exported.stdout

    dry = _json(
        cli("mappings", "delete", "甲公司", "--match-type", "manual", "--dry-run", "--json")
    )
    assert [m["canonical_id"] for m in dry["mappings"]] == ["600000009"]
    deleted: Any = cli("mappings", "delete", " 甲公司 ", "--match-type", "manual")
    assert deleted.exit_code == 0
    assert "deleted 1" in deleted.stdout

    history = _json(cli("mappings", "history", "--json"))
    assert [(h["action"], h["old_id"], h["new_id"]) for h in history] == [
        ("delete", "600000009", ""),
        ("replace", "600000001", "600000009"),
    ]
    table: Any = cli("mappings", "history", "甲公司")
    assert "mapping history (2)" in table.stdout


def test_delete_needs_a_match_type_for_an_alias(cli: Cli) -> None:
    result: Any = cli("mappings", "delete", "甲公司")
    assert result.exit_code == 2


@pytest.mark.parametrize(
    ("company_id", "reason"),
    [
        ('=HYPERLINK("http://x","600000001")', "starts with =, +, -, @ or '"),
        ("6000 00001", "holds whitespace or a control character"),
        ("3.5", "is a fractional number"),
        ("N/A", "is empty or a placeholder"),
    ],
)
def test_import_refuses_a_bad_id_naming_the_line(cli: Cli, company_id: str, reason: str) -> None:
    path = _write_reviewed(cli, {"甲公司": "600000001", "乙公司": company_id})
    result: Any = cli("mappings", "import", str(path))
    assert result.exit_code == 1
    assert f"line 3: company id {reason}" in result.stderr


def test_import_reads_integral_floats_from_excel_as_digits(cli: Cli) -> None:
    path = cli.tmp / "reviewed.xlsx"
    frames.write_frame(
        pd.DataFrame({"company_name": ["甲公司"], "company_id": [600000001.0]}), path
    )
    _json(cli("mappings", "import", str(path), "--json"))
    exported: Any = cli("mappings", "export", "--match-type", "manual")
    assert "甲公司,600000001,manual" in exported.stdout


def test_yaml_refuses_a_bad_id_naming_the_file_and_key(cli: Cli) -> None:
    mappings = Path(cli.env["WDH_MAPPINGS_DIR"])
    mappings.mkdir()
    (mappings / "company_id_overrides_name.yml").write_text("甲公司: '=1+1'\n", encoding="utf-8")
    source = cli.tmp / "annuity.csv"
    frames.write_frame(pd.DataFrame({"客户名称": ["甲公司"]}), source)
    result: Any = cli("resolve", str(source))
    assert result.exit_code == 1
    assert "company_id_overrides_name.yml" in result.stderr
    assert "'甲公司': company id starts with =" in result.stderr


def test_audit_lists_and_fixes_a_plan_learned_from_a_shared_plan(cli: Cli) -> None:
    # A plan mapping learned before the evidence rule: stored as pipeline_backflow.
    from work_data_hub.infrastructure.db.engine import create_engine
    from work_data_hub.infrastructure.enrichment.mapping_repository import (
        CompanyMappingRepository,
    )
    from work_data_hub.infrastructure.enrichment.types import MappingRecord

    engine = create_engine(cli.env["DATABASE_URL"])
    try:
        with engine.begin() as conn:
            CompanyMappingRepository(conn).insert_batch_with_conflict_check(
                [
                    MappingRecord(
                        alias_name="P9",
                        canonical_id="600000001",
                        match_type="plan",
                        source="pipeline_backflow",
                    )
                ]
            )
    finally:
        engine.dispose()
    month = cli.tmp / "month.csv"
    frames.write_frame(
        pd.DataFrame({"计划代码": ["P9", "P9", "P9"], "客户名称": ["甲公司", "乙公司", "乙公司"]}),
        month,
    )
    listed = _json(cli("mappings", "audit", str(month), "--json"))
    assert [(f["alias_name"], f["rows"], f["removed"]) for f in listed] == [("P9", 3, False)]
    fixed = _json(cli("mappings", "audit", str(month), "--fix", "--json"))
    assert fixed[0]["removed"] is True
    assert _json(cli("mappings", "audit", str(month), "--json")) == []
    history = _json(cli("mappings", "history", "P9", "--json"))
    assert [h["action"] for h in history] == ["delete"]


def test_resolve_explain_writes_the_provenance_columns(cli: Cli) -> None:
    source = cli.tmp / "annuity.csv"
    frames.write_frame(
        pd.DataFrame({"客户名称": ["甲公司", "甲公司"], "公司代码": ["600000001", None]}), source
    )
    out = cli.tmp / "explained.csv"
    report = _json(cli("resolve", str(source), "-o", str(out), "--explain", "--json"))
    tier, source_col, confidence = explain_columns("company_id")
    frame = frames.read_frame(out)
    assert frame[tier].tolist() == ["existing", "propagated"]
    assert {source_col, confidence} <= set(frame.columns)
    assert report["statistics"]["propagated_hits"] == 1


def test_a_plan_mapping_that_contradicts_a_name_mapping_is_warned_about(cli: Cli) -> None:
    from work_data_hub.infrastructure.db.engine import create_engine
    from work_data_hub.infrastructure.enrichment.mapping_repository import (
        CompanyMappingRepository,
    )
    from work_data_hub.infrastructure.enrichment.types import MappingRecord

    engine = create_engine(cli.env["DATABASE_URL"])
    try:
        with engine.begin() as conn:
            CompanyMappingRepository(conn).insert_batch_with_conflict_check(
                [
                    MappingRecord(alias_name="P9", canonical_id="600000001", match_type="plan"),
                    MappingRecord(alias_name="乙公司", canonical_id="600000002", match_type="name"),
                ]
            )
    finally:
        engine.dispose()
    source = cli.tmp / "month.csv"
    frames.write_frame(
        pd.DataFrame({"计划代码": ["P9", "P9"], "客户名称": ["甲公司", "乙公司"]}), source
    )
    result: Any = cli("resolve", str(source), "--json")
    report = _json(result)
    assert report["statistics"]["plan_name_conflicts"] == 1
    assert report["statistics"]["db_cache_hits_by_type"]["plan"] == 2
    assert "1 row(s) got a plan mapping's id while their name maps to another id" in result.stderr
