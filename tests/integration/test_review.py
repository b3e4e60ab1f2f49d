"""The review file on both databases: EQC's weak answers and cache matches as suggestions,
the .xlsx round trip through openpyxl, and the import of a review file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
import sqlalchemy as sa

from tests.helpers import enqueue_names
from work_data_hub import review
from work_data_hub.eqc_server.registry import Registry, build_registry
from work_data_hub.eqc_server.testing import EqcServerHandle, running_eqc_server
from work_data_hub.errors import InputError
from work_data_hub.infrastructure.db import tables
from work_data_hub.infrastructure.enrichment.mapping_repository import CompanyMappingRepository
from work_data_hub.infrastructure.enrichment.normalizer import (
    generate_temp_company_id,
    normalize_for_temp_id,
)
from work_data_hub.infrastructure.enrichment.queue import remap
from work_data_hub.infrastructure.enrichment.queue.repository import QueueRepository
from work_data_hub.infrastructure.enrichment.queue.worker import process_enrichment_queue
from work_data_hub.infrastructure.enrichment.types import MappingRecord
from work_data_hub.infrastructure.eqc.client import EqcClient, EqcClientConfig
from work_data_hub.infrastructure.eqc.rate_limit import InProcessRateLimiter
from work_data_hub.review_import import import_reviewed_mappings

SALT = "review-test-salt"
REGISTRY: Registry = build_registry()
FAST = EqcClientConfig(
    read_timeout_s=0.5, deadline_s=2.0, max_attempts=2, backoff_base_s=0.01, backoff_cap_s=0.02
)
#: Pinyin answers below the caching threshold: EQC's answer settles nothing.
WEAK_PINYIN = {"拼音": 0.5}


@pytest.fixture
def eqc() -> Iterator[EqcServerHandle]:
    with running_eqc_server(registry=REGISTRY) as handle:
        yield handle


def _client(eqc: EqcServerHandle) -> EqcClient:
    return EqcClient(
        eqc.base_url,
        eqc.token,
        config=FAST,
        rate_limiter=InProcessRateLimiter(10_000, 1.0),
        confidence_overrides=WEAK_PINYIN,
    )


def _map(engine: sa.Engine, pairs: dict[str, str], source: str = "eqc") -> None:
    match_type = "eqc" if source == "eqc" else "manual"
    with engine.begin() as conn:
        CompanyMappingRepository(conn).insert_batch_with_conflict_check(
            [
                MappingRecord(
                    alias_name=normalize_for_temp_id(name),
                    canonical_id=company_id,
                    match_type=match_type,
                    source=source,
                )
                for name, company_id in pairs.items()
            ]
        )


def _homophone() -> tuple[str, str]:
    """A spelling the registry only knows by sound, and the company it sounds like."""
    for company in REGISTRY.companies:
        variant = REGISTRY.homophone_variant(company)
        if variant is not None and REGISTRY.lookup_name(variant) is None:
            hits = REGISTRY.search(variant)
            if hits and all(match == "拼音" for _, match in hits):
                return variant, company.company_id
    raise AssertionError("the registry has no pinyin-only spelling")


def _unknown_names(engine: sa.Engine) -> set[str]:
    with engine.connect() as conn:
        return {r.normalized_name for r in QueueRepository(conn).unknown_requests()}


def test_weak_eqc_answer_is_kept_and_exported_without_a_new_call(
    db_engine: sa.Engine, eqc: EqcServerHandle
) -> None:
    variant, company_id = _homophone()
    enqueue_names(db_engine, [variant], SALT)
    with _client(eqc) as client:
        stats = process_enrichment_queue(db_engine, client)
    assert (stats.resolved, stats.not_found) == (0, 1)
    calls_after_worker = len(eqc.calls)

    rows = review.unknown_for_review(db_engine)

    assert len(eqc.calls) == calls_after_worker  # the export asked EQC nothing
    [row] = rows
    assert row.company.company_name == variant
    top = row.suggestions[0]
    assert (top.company_id, top.source, top.score) == (company_id, "eqc:拼音", 0.5)
    with db_engine.connect() as conn:
        stored = QueueRepository(conn).request_candidates([normalize_for_temp_id(variant)])
    assert stored[normalize_for_temp_id(variant)][0].company_id == company_id


def test_strong_eqc_answer_still_settles_the_request_and_keeps_candidates(
    db_engine: sa.Engine, eqc: EqcServerHandle
) -> None:
    company = REGISTRY.companies[0]
    enqueue_names(db_engine, [company.full_name], SALT)
    with _client(eqc) as client:
        stats = process_enrichment_queue(db_engine, client)
    assert stats.resolved == 1
    assert _unknown_names(db_engine) == set()
    with db_engine.connect() as conn:
        stored = conn.execute(sa.select(tables.enrichment_requests.c.eqc_candidates)).scalar_one()
    assert stored[0]["company_id"] == company.company_id
    assert stored[0]["match_type"] == "全称精确匹配"
    assert len(stored) <= 5


def test_branch_name_gets_its_mapped_parent(db_engine: sa.Engine) -> None:
    _map(db_engine, {"远宏(太原)实业有限公司": "914401010000000001"})
    enqueue_names(db_engine, ["远宏(太原)实业有限公司北京分公司"], SALT)

    [row] = review.unknown_for_review(db_engine)

    top = row.suggestions[0]
    assert (top.company_id, top.name, top.source) == (
        "914401010000000001",
        normalize_for_temp_id("远宏(太原)实业有限公司"),
        "cache:eqc",
    )
    assert top.score >= 0.95


def test_limit_is_picked_by_the_database_most_requested_first(db_engine: sa.Engine) -> None:
    enqueue_names(db_engine, ["甲公司", "乙公司", "丙公司"], SALT)
    with db_engine.begin() as conn:  # 乙公司 asked twice: an older request failed
        conn.execute(
            sa.insert(tables.enrichment_requests).values(
                raw_name="乙公司",
                normalized_name="乙公司",
                temp_id=generate_temp_company_id("乙公司", SALT),
                status="failed",
            )
        )
    rows = review.unknown_for_review(db_engine, limit=1, suggestions=False)
    assert [(r.company.company_name, r.company.occurrence_count) for r in rows] == [("乙公司", 2)]


def _pick_from_dropdowns(path: Path) -> dict[str, str]:
    """Choose, in each row that offers a drop-down, its first id (as a reviewer would)."""
    book = openpyxl.load_workbook(path)
    sheet = book.active
    header = [cell.value for cell in sheet[1]]
    id_column = header.index("company_id") + 1
    name_column = header.index("company_name") + 1
    picked: dict[str, str] = {}
    for validation in sheet.data_validations.dataValidation:
        assert validation.type == "list"
        choices = validation.formula1.strip('"').split(",")
        for cell_range in validation.sqref.ranges:
            for (row,) in sheet.iter_rows(
                min_row=cell_range.min_row, max_row=cell_range.max_row, min_col=id_column,
                max_col=id_column,
            ):  # fmt: skip
                row.value = choices[0]
                picked[sheet.cell(row=row.row, column=name_column).value] = choices[0]
    book.save(path)
    return picked


def test_xlsx_round_trip_picks_import_and_leave_the_unknown_list(
    db_engine: sa.Engine, tmp_path: Path
) -> None:
    _map(
        db_engine,
        {"远宏(太原)实业有限公司": "914401010000000001", "上海华信科技股份有限公司": "1002"},
    )
    names = ["远宏(太原)实业有限公司北京分公司", "华信(上海)科技股份有限公司", "无关名称商行"]
    enqueue_names(db_engine, names, SALT)
    path = tmp_path / "review.xlsx"

    written = review.write_review_file(path, review.unknown_for_review(db_engine))
    picked = _pick_from_dropdowns(path)

    assert written == 3
    assert picked == {names[0]: "914401010000000001", names[1]: "1002"}
    result = import_reviewed_mappings(db_engine, path)
    assert (result.rows, result.inserted, result.ignored) == (3, 2, 1)
    with db_engine.connect() as conn:
        found = CompanyMappingRepository(conn).lookup_ids(
            {"manual": [normalize_for_temp_id(n) for n in names]}
        )
    assert found["manual"] == {
        normalize_for_temp_id(names[0]): "914401010000000001",
        normalize_for_temp_id(names[1]): "1002",
    }
    # The picked names leave the unknown list; the one left blank stays.
    assert _unknown_names(db_engine) == {normalize_for_temp_id(names[2])}
    # Data written with their temporary ids is fixed by remap through the reviewed ids.
    written = pd.DataFrame({"company_id": [generate_temp_company_id(n, SALT) for n in names]})
    with db_engine.connect() as conn:
        remapped, stats = remap.remap_temp_ids(written, "company_id", conn)
    assert remapped["company_id"].tolist()[:2] == ["914401010000000001", "1002"]
    assert remapped["company_id"].tolist()[2] == generate_temp_company_id(names[2], SALT)
    assert stats.remapped_rows == 2


def _review_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    columns = list(review.REVIEW_COLUMNS)
    frame = pd.DataFrame([{c: row.get(c, "") for c in columns} for row in rows], columns=columns)
    frame.to_csv(path, index=False, encoding="utf-8-sig")
    return path


def test_accept_above_takes_first_suggestions_dry_run_imports_nothing(
    db_engine: sa.Engine, tmp_path: Path
) -> None:
    path = _review_csv(
        tmp_path / "review.csv",
        [
            {"company_name": "甲公司", "temporary_id": "x", "suggestion_1_id": "101",
             "suggestion_1_score": "0.97"},
            {"company_name": "乙公司", "temporary_id": "x", "suggestion_1_id": "102",
             "suggestion_1_score": "0.7"},
            {"company_name": "丙公司", "temporary_id": "x", "company_id": "103"},
        ],
    )  # fmt: skip
    dry = import_reviewed_mappings(db_engine, path, accept_above=0.9, dry_run=True)
    assert [(a.line, a.company_id) for a in dry.accepted] == [(2, "101")]
    assert (dry.inserted, dry.ignored) == (0, 1)
    with db_engine.connect() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(tables.company_mapping)) == 0

    done = import_reviewed_mappings(db_engine, path, accept_above=0.9)
    assert (done.inserted, done.ignored) == (2, 1)


def test_review_file_errors_name_the_file_lines_and_import_nothing(
    db_engine: sa.Engine, tmp_path: Path
) -> None:
    path = _review_csv(
        tmp_path / "review.csv",
        [
            {"company_name": "甲公司", "temporary_id": "x", "company_id": "101"},
            {"company_name": "乙公司", "temporary_id": "x"},
            {"company_name": "丙公司", "temporary_id": "x", "company_id": "N/A"},
        ],
    )
    with pytest.raises(InputError, match="line 4: company id is empty or a placeholder"):
        import_reviewed_mappings(db_engine, path)
    with db_engine.connect() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(tables.company_mapping)) == 0


def test_accept_above_needs_a_review_file(db_engine: sa.Engine, tmp_path: Path) -> None:
    path = tmp_path / "plain.csv"
    pd.DataFrame({"company_name": ["甲公司"], "company_id": ["1"]}).to_csv(path, index=False)
    with pytest.raises(InputError, match="export unknown"):
        import_reviewed_mappings(db_engine, path, accept_above=0.5)


def test_listing_logs_counts_only(db_engine: sa.Engine) -> None:
    from structlog.testing import capture_logs

    _map(db_engine, {"远宏(太原)实业有限公司": "914401010000000001"})
    enqueue_names(db_engine, ["远宏(太原)实业有限公司北京分公司"], SALT)
    with capture_logs() as logs:
        review.unknown_for_review(db_engine)
    [event] = [e for e in logs if e["event"] == "review.unknown_listed"]
    assert (event["listed"], event["with_suggestions"], event["with_eqc_candidates"]) == (1, 1, 0)
    assert set(event) <= {"event", "log_level", "listed", "with_suggestions",
                          "with_eqc_candidates", "elapsed_ms"}  # fmt: skip


def test_a_name_eqc_does_not_know_stores_sql_null(
    db_engine: sa.Engine, eqc: EqcServerHandle
) -> None:
    enqueue_names(db_engine, ["QQQ完全没有的名称ZZZ"], SALT)
    with _client(eqc) as client:
        assert process_enrichment_queue(db_engine, client).not_found == 1
    requests = tables.enrichment_requests
    with db_engine.connect() as conn:
        nulls = conn.scalar(
            sa.select(sa.func.count()).where(requests.c.eqc_candidates.is_(sa.null()))
        )
    assert nulls == 1
