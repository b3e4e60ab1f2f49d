"""Run-report arithmetic and the per-run unknown tally (no database)."""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path

import pandas as pd

from work_data_hub import reporting
from work_data_hub.infrastructure.enrichment.normalizer import generate_temp_company_id
from work_data_hub.infrastructure.enrichment.types import ResolutionStatistics

SALT = "test-salt"
START = dt.datetime(2024, 6, 1, 8, 0, tzinfo=dt.UTC)


def test_statistics_of_chunks_are_summed_and_budget_left_is_the_last() -> None:
    total: dict[str, object] = {}
    reporting.merge_statistics(
        total,
        ResolutionStatistics(
            total_rows=10, temp_ids_generated=3, yaml_hits={"plan": 2}, budget_remaining=5
        ),
    )
    reporting.merge_statistics(
        total,
        ResolutionStatistics(
            total_rows=5, temp_ids_generated=1, yaml_hits={"plan": 1, "name": 1}, budget_remaining=2
        ),
    )
    assert total["total_rows"] == 15
    assert total["temp_ids_generated"] == 4
    assert total["yaml_hits"] == {"plan": 3, "name": 1}
    assert total["budget_remaining"] == 2


def test_hit_rates_split_rows_into_real_temporary_and_none() -> None:
    report = reporting.RunReport(
        input_path="in.csv", output_path="out.csv", file_format="csv", started_at=START
    )
    report.statistics = {
        "total_rows": 10,
        "temp_ids_generated": 3,
        "unresolved": 1,
        "excluded": 1,
        "db_cache_hits": 5,
    }
    rates = report.hit_rates
    assert rates["real_id"] == 0.5
    assert rates["temporary_id"] == 0.3
    assert rates["db_cache"] == 0.5


def test_report_json_says_whether_row_counts_match(tmp_path: Path) -> None:
    report = reporting.RunReport(
        input_path="in.csv", output_path="out.csv", file_format="csv", started_at=START
    )
    report.rows_in, report.rows_out = 3, 3
    report.add_time("resolve", 1.5)
    report.add_time("resolve", 1.0)
    path = tmp_path / "r.json"
    report.write_json(path)
    data = json.loads(path.read_text())
    assert data["rows_match"] is True
    assert data["timings_ms"] == {"resolve": 2.5}


def test_unknown_tally_counts_rows_per_temporary_id_most_frequent_first() -> None:
    tally = reporting.UnknownTally(seen_at=START)
    names = pd.Series(["甲公司", " 甲公司", "乙公司", "丙公司", None], dtype="string")
    temp_a = generate_temp_company_id("甲公司", SALT)
    temp_b = generate_temp_company_id("乙公司", SALT)
    output = pd.Series([temp_a, temp_a, temp_b, "600000001", None], dtype="string")
    tally.add(names, output)
    tally.add(names.iloc[:1], output.iloc[:1])
    companies = tally.companies()
    assert [(c.company_name, c.temporary_id, c.occurrence_count) for c in companies] == [
        ("甲公司", temp_a, 3),
        ("乙公司", temp_b, 1),
    ]
    assert len(tally) == 2


def test_unknown_csv_has_the_four_columns(tmp_path: Path) -> None:
    path = tmp_path / "u.csv"
    company = reporting.UnknownCompany(
        company_name="甲", temporary_id="IN" + "A" * 16, first_seen=START, occurrence_count=2
    )
    assert reporting.write_unknown_csv(path, [company]) == 1
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    assert lines == [
        "company_name,temporary_id,first_seen,occurrence_count",
        f"甲,{'IN' + 'A' * 16},2024-06-01T08:00:00+00:00,2",
    ]


def test_tally_writes_the_bytes_of_the_unknown_export() -> None:
    tally = reporting.UnknownTally(seen_at=START)
    names = pd.Series(["=甲公司", "乙公司", "乙公司", "+1", "@丙"], dtype="string")
    output = pd.Series([generate_temp_company_id(n, SALT) for n in names.tolist()], dtype="string")
    tally.add(names, output)
    expected, got = io.StringIO(newline=""), io.StringIO(newline="")
    rows = reporting.write_unknown_rows(expected, tally.companies())
    assert tally.write(got) == rows == 4
    assert got.getvalue() == expected.getvalue()
    assert "'=甲公司" in got.getvalue()
