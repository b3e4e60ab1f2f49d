"""Reports against real databases: unknown export, reviewed-mapping import, mappings export."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from tests.helpers import enqueue_names
from work_data_hub import reporting, review_import
from work_data_hub.errors import InputError
from work_data_hub.infrastructure.db import tables
from work_data_hub.infrastructure.enrichment.normalizer import (
    generate_temp_company_id,
    normalize_for_temp_id,
)
from work_data_hub.io import frames

SALT = "test-salt"


def _finish(engine: sa.Engine, name: str, company_id: str | None) -> None:
    requests = tables.enrichment_requests
    with engine.begin() as conn:
        conn.execute(
            sa.update(requests)
            .where(requests.c.normalized_name == normalize_for_temp_id(name))
            .values(status="done", resolved_company_id=company_id)
        )


def _manual(engine: sa.Engine) -> dict[str, str]:
    mapping = tables.company_mapping
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(mapping.c.alias_name, mapping.c.canonical_id).where(
                mapping.c.match_type == "manual"
            )
        ).all()
    return {r.alias_name: r.canonical_id for r in rows}


def test_unknown_export_lists_open_and_not_found_names_but_not_resolved_ones(
    db_engine: sa.Engine,
) -> None:
    enqueue_names(db_engine, ["甲公司", "乙公司", "丙公司"], SALT)
    _finish(db_engine, "乙公司", "600000001")
    _finish(db_engine, "丙公司", None)
    companies = reporting.unknown_from_database(db_engine)
    assert {c.company_name for c in companies} == {"甲公司", "丙公司"}
    assert all(c.occurrence_count == 1 for c in companies)
    assert all(c.first_seen.tzinfo is not None for c in companies)


def test_unknown_export_takes_occurrences_from_run_files_most_frequent_first(
    db_engine: sa.Engine, tmp_path: Path
) -> None:
    enqueue_names(db_engine, ["甲公司", "乙公司"], SALT)
    run_file = tmp_path / "out.unknown.csv"
    seen = dt.datetime(2024, 6, 1, tzinfo=dt.UTC)
    reporting.write_unknown_csv(
        run_file,
        [
            reporting.UnknownCompany(
                company_name="乙公司",
                temporary_id=generate_temp_company_id("乙公司", SALT),
                first_seen=seen,
                occurrence_count=42,
            )
        ],
    )
    counts = reporting.read_unknown_counts([run_file])
    companies = reporting.unknown_from_database(db_engine, run_counts=counts)
    assert [(c.company_name, c.occurrence_count) for c in companies] == [
        ("乙公司", 42),
        ("甲公司", 1),
    ]


def test_reviewed_file_becomes_manual_mappings(db_engine: sa.Engine, tmp_path: Path) -> None:
    path = tmp_path / "reviewed.csv"
    frames.write_frame(
        pd.DataFrame(
            {
                "company_name": ["中国平安(集团) -已转出", "招商银行"],
                "company_id": ["614810477", "600000036"],
            }
        ),
        path,
    )
    result = review_import.import_reviewed_mappings(db_engine, path)
    assert result.to_dict() == {
        "rows": 2,
        "inserted": 2,
        "skipped": 0,
        "replaced": 0,
        "requests_closed": 0,
        "ignored": 0,
        "accepted": 0,
        "dry_run": False,
    }
    assert _manual(db_engine) == {"中国平安": "614810477", "招商银行": "600000036"}


def test_reimporting_the_same_file_skips_every_row(db_engine: sa.Engine, tmp_path: Path) -> None:
    path = tmp_path / "reviewed.csv"
    frames.write_frame(pd.DataFrame({"客户名称": ["招商银行"], "公司代码": ["600000036"]}), path)
    review_import.import_reviewed_mappings(db_engine, path)
    result = review_import.import_reviewed_mappings(db_engine, path)
    assert (result.inserted, result.skipped) == (0, 1)


def test_bad_rows_are_reported_by_line_and_nothing_is_imported(
    db_engine: sa.Engine, tmp_path: Path
) -> None:
    path = tmp_path / "reviewed.csv"
    path.write_text(
        "company_name,company_id\n"
        "招商银行,600000036\n"
        ",600000001\n"
        "平安银行,N/A\n"
        "工商银行,INAAAAAAAAAAAAAAAA\n"
        "招商银行 ,600000099\n",
        encoding="utf-8",
    )
    with pytest.raises(InputError) as caught:
        review_import.import_reviewed_mappings(db_engine, path)
    message = str(caught.value)
    assert "4 bad row(s)" in message
    for line in ("line 3", "line 4", "line 5", "line 6"):
        assert line in message
    assert _manual(db_engine) == {}


def test_import_conflicting_with_a_stored_mapping_rolls_back_everything(
    db_engine: sa.Engine, tmp_path: Path
) -> None:
    first = tmp_path / "first.csv"
    frames.write_frame(pd.DataFrame({"company_name": ["招商银行"], "company_id": ["1"]}), first)
    review_import.import_reviewed_mappings(db_engine, first)
    second = tmp_path / "second.csv"
    frames.write_frame(
        pd.DataFrame({"company_name": ["平安银行", "招商银行"], "company_id": ["2", "3"]}), second
    )
    with pytest.raises(InputError, match="1 name\\(s\\) already map"):
        review_import.import_reviewed_mappings(db_engine, second)
    assert _manual(db_engine) == {"招商银行": "1"}


def test_import_without_an_id_column_lists_expected_and_found(
    db_engine: sa.Engine, tmp_path: Path
) -> None:
    path = tmp_path / "reviewed.csv"
    frames.write_frame(pd.DataFrame({"company_name": ["x"], "id": ["1"]}), path)
    with pytest.raises(InputError, match=r"expected one of: company_id.*found: company_name, id"):
        review_import.import_reviewed_mappings(db_engine, path)


def test_import_reads_excel(db_engine: sa.Engine, tmp_path: Path) -> None:
    path = tmp_path / "reviewed.xlsx"
    frames.write_frame(
        pd.DataFrame({"company_name": ["招商银行"], "company_id": ["00036"]}), path, sheet="审核"
    )
    review_import.import_reviewed_mappings(db_engine, path, sheet="审核")
    assert _manual(db_engine) == {"招商银行": "00036"}


def test_mappings_export_streams_stored_rows(db_engine: sa.Engine, tmp_path: Path) -> None:
    path = tmp_path / "reviewed.csv"
    frames.write_frame(pd.DataFrame({"company_name": ["招商银行"], "company_id": ["1"]}), path)
    review_import.import_reviewed_mappings(db_engine, path)
    rows = list(reporting.export_mappings(db_engine))
    assert rows == [
        {
            "alias_name": "招商银行",
            "canonical_id": "1",
            "match_type": "manual",
            "priority": 0,
            "source": "manual",
            "confidence": 1.0,
        }
    ]


def test_import_closes_the_requests_of_reviewed_names(db_engine: sa.Engine, tmp_path: Path) -> None:
    enqueue_names(db_engine, ["招商银行", "平安银行"], "reporting-salt")
    path = tmp_path / "reviewed.csv"
    frames.write_frame(pd.DataFrame({"客户名称": ["招商银行"], "公司代码": ["600000036"]}), path)
    result = review_import.import_reviewed_mappings(db_engine, path)
    assert result.requests_closed == 1
    unknown = reporting.unknown_from_database(db_engine)
    assert [c.company_name for c in unknown] == ["平安银行"]


def test_import_with_replace_corrects_a_reviewed_name(db_engine: sa.Engine, tmp_path: Path) -> None:
    path = tmp_path / "reviewed.csv"
    frames.write_frame(pd.DataFrame({"客户名称": ["招商银行"], "公司代码": ["600000036"]}), path)
    review_import.import_reviewed_mappings(db_engine, path)
    frames.write_frame(pd.DataFrame({"客户名称": ["招商银行"], "公司代码": ["600000099"]}), path)
    result = review_import.import_reviewed_mappings(db_engine, path, replace=True)
    assert (result.replaced, result.skipped, result.inserted) == (1, 0, 0)
    assert _manual(db_engine) == {"招商银行": "600000099"}
