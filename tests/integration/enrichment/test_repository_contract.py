"""The repository's contract as the original's callers use it, on both databases."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from work_data_hub.infrastructure.enrichment import (
    CompanyMappingRepository,
    InsertBatchResult,
    MappingRecord,
    MappingRepositoryProtocol,
)


def test_the_repository_provides_everything_the_resolver_uses(db_conn: sa.Connection) -> None:
    assert isinstance(CompanyMappingRepository(db_conn), MappingRepositoryProtocol)


def test_insert_accepts_plain_mappings_beside_records(db_conn: sa.Connection) -> None:
    repo = CompanyMappingRepository(db_conn)
    result = repo.insert_batch_with_conflict_check(
        [
            {"alias_name": "甲公司", "canonical_id": "C1", "match_type": "name"},
            MappingRecord(alias_name="乙公司", canonical_id="C2", match_type="name"),
        ]
    )
    assert result == InsertBatchResult(inserted=2, skipped=0, conflicts=0)
    assert result.inserted_count == 2
    assert repo.lookup_ids({"name": ["甲公司", "乙公司"]}) == {
        "name": {"甲公司": "C1", "乙公司": "C2"}
    }


@pytest.mark.parametrize(
    "record",
    [
        {"alias_name": "甲公司", "company_id": "C1", "match_type": "name"},
        ("甲公司", "C1", "name"),
        "甲公司",
    ],
)
def test_a_bad_record_is_a_value_error_before_any_sql(
    db_conn: sa.Connection, record: object
) -> None:
    repo = CompanyMappingRepository(db_conn)
    with pytest.raises(ValueError, match="mapping 0"):
        repo.insert_batch_with_conflict_check([record])  # type: ignore[list-item]


def test_lookup_batch_refuses_bare_strings(db_conn: sa.Connection) -> None:
    repo = CompanyMappingRepository(db_conn)
    with pytest.raises(ValueError, match="pairs"):
        repo.lookup_batch(["中信"])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="pairs"):
        repo.lookup_batch("中信")  # type: ignore[arg-type]


def test_savepoint_rolls_back_only_its_own_writes(db_conn: sa.Connection) -> None:
    repo = CompanyMappingRepository(db_conn)
    repo.insert_batch_with_conflict_check(
        [MappingRecord(alias_name="甲公司", canonical_id="C1", match_type="name")]
    )

    def failing_optional_step() -> None:
        with repo.savepoint():
            repo.insert_batch_with_conflict_check(
                [MappingRecord(alias_name="乙公司", canonical_id="C2", match_type="name")]
            )
            raise RuntimeError("the optional step failed")

    with pytest.raises(RuntimeError):
        failing_optional_step()
    assert repo.lookup_ids({"name": ["甲公司", "乙公司"]}) == {"name": {"甲公司": "C1"}}
