"""Writing the review file: formula-safe cells, drop-downs of suggested ids, CSV columns."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import openpyxl
import pytest

from work_data_hub import review
from work_data_hub.infrastructure.enrichment.review.suggestions import Suggestion
from work_data_hub.reporting import UnknownCompany

SEEN = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)


def _row(name: str, *ids: str) -> review.ReviewRow:
    return review.ReviewRow(
        company=UnknownCompany(
            company_name=name, temporary_id="INAAAAAAAAAAAAAAAA", first_seen=SEEN,
            occurrence_count=3,
        ),
        suggestions=tuple(
            Suggestion(company_id=i, name=f"=名{i}", source="cache:eqc", score=0.9) for i in ids
        ),
    )  # fmt: skip


def test_xlsx_cells_are_never_formulas_and_ids_drop_down(tmp_path: Path) -> None:
    path = tmp_path / "review.xlsx"
    review.write_review_file(path, [_row('=HYPERLINK("http://x","y")', "101", "102"), _row("乙")])
    sheet = openpyxl.load_workbook(path).active
    assert [c.value for c in sheet[1]] == list(review.REVIEW_COLUMNS)
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)
    assert sheet["A2"].value == '\'=HYPERLINK("http://x","y")'
    [validation] = sheet.data_validations.dataValidation
    assert validation.formula1 == '"101,102"'
    assert (
        str(validation.sqref)
        == f"{sheet.cell(row=2, column=len(review.REVIEW_COLUMNS)).coordinate}"
    )


def test_csv_has_blank_id_column_and_empty_suggestion_slots(tmp_path: Path) -> None:
    path = tmp_path / "review.csv"
    assert review.write_review_file(path, [_row("甲", "101")]) == 1
    with path.open(encoding="utf-8-sig", newline="") as handle:
        header, line = list(csv.reader(handle))
    record = dict(zip(header, line, strict=True))
    assert (record["suggestion_1_id"], record["suggestion_1_name"]) == ("101", "'=名101")
    assert record["suggestion_2_id"] == record["company_id"] == ""


def test_a_failed_write_leaves_the_previous_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "review.csv"
    path.write_text("previous\n", encoding="utf-8")

    def broken(*_args: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(review, "_write_csv", broken)
    with pytest.raises(OSError, match="disk full"):
        review.write_review_file(path, [_row("甲")])
    assert path.read_text(encoding="utf-8") == "previous\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["review.csv"]
