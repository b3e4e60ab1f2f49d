"""Mapping cache reads and writes and company upserts, on PostgreSQL and SQLite."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.helpers import recorded_statements
from work_data_hub.errors import StorageError
from work_data_hub.infrastructure.db import tables
from work_data_hub.infrastructure.enrichment.mapping_repository import CompanyMappingRepository
from work_data_hub.infrastructure.enrichment.types import (
    InsertBatchResult,
    MappingRecord,
    MappingRepositoryProtocol,
    MatchResult,
)

MAPPING = tables.company_mapping
MASTER = tables.company_master


def _record(
    alias: str, company_id: str, match_type: str = "name", **extra: object
) -> MappingRecord:
    return MappingRecord(alias_name=alias, canonical_id=company_id, match_type=match_type, **extra)  # type: ignore[arg-type]


def _stored(conn: sa.Connection) -> dict[tuple[str, str], str]:
    rows = conn.execute(
        sa.select(MAPPING.c.alias_name, MAPPING.c.match_type, MAPPING.c.canonical_id)
    )
    return {(alias, kind): company for alias, kind, company in rows}


@pytest.fixture
def repository(db_conn: sa.Connection) -> CompanyMappingRepository:
    return CompanyMappingRepository(db_conn)


# -- insert_batch_with_conflict_check ---------------------------------------------------------


def test_insert_batch_writes_new_mappings_with_the_priority_of_their_type(
    repository: CompanyMappingRepository, db_conn: sa.Connection
) -> None:
    result = repository.insert_batch_with_conflict_check(
        [
            _record("P001", "600000001", "plan", source="pipeline_backflow"),
            _record("甲公司", "600000002", "name", confidence=0.9),
        ]
    )

    assert result == InsertBatchResult(inserted=2, skipped=0, conflicts=0)
    rows = db_conn.execute(
        sa.select(
            MAPPING.c.alias_name, MAPPING.c.priority, MAPPING.c.source, MAPPING.c.confidence
        ).order_by(MAPPING.c.priority)
    ).all()
    assert [tuple(r) for r in rows] == [
        ("P001", 1, "pipeline_backflow", 1.0),
        ("甲公司", 4, "internal", 0.9),
    ]


def test_insert_batch_counts_a_repeated_record_in_the_batch_as_skipped(
    repository: CompanyMappingRepository, db_conn: sa.Connection
) -> None:
    result = repository.insert_batch_with_conflict_check(
        [_record("甲", "600000001"), _record("甲", "600000001"), _record("甲", "600000001", "plan")]
    )

    assert result == InsertBatchResult(inserted=2, skipped=1, conflicts=0)
    assert len(_stored(db_conn)) == 2


def test_insert_batch_writes_none_of_an_alias_the_batch_maps_to_two_ids(
    repository: CompanyMappingRepository, db_conn: sa.Connection
) -> None:
    result = repository.insert_batch_with_conflict_check(
        [_record("甲", "600000001"), _record("甲", "600000002"), _record("乙", "600000003")]
    )

    assert result == InsertBatchResult(inserted=1, skipped=0, conflicts=2)
    assert _stored(db_conn) == {("乙", "name"): "600000003"}


def test_insert_batch_skips_a_mapping_that_already_exists_with_the_same_id(
    repository: CompanyMappingRepository,
) -> None:
    repository.insert_batch_with_conflict_check([_record("甲", "600000001")])

    result = repository.insert_batch_with_conflict_check([_record("甲", "600000001")])

    assert result == InsertBatchResult(inserted=0, skipped=1, conflicts=0)


def test_insert_batch_never_overwrites_an_alias_mapped_to_another_id(
    repository: CompanyMappingRepository, db_conn: sa.Connection
) -> None:
    repository.insert_batch_with_conflict_check([_record("甲", "600000001")])

    result = repository.insert_batch_with_conflict_check(
        [_record("甲", "600000009"), _record("乙", "600000002")]
    )

    assert result == InsertBatchResult(inserted=1, skipped=0, conflicts=1)
    assert _stored(db_conn)[("甲", "name")] == "600000001"


def test_insert_batch_skips_an_id_longer_than_the_column_and_writes_the_rest(
    db_conn: sa.Connection, repository: CompanyMappingRepository
) -> None:
    result = repository.insert_batch_with_conflict_check(
        [_record("甲", "X" * 65), _record("乙", "C" * 64)]
    )

    assert result == InsertBatchResult(inserted=1, skipped=1, conflicts=0)
    assert _stored(db_conn) == {("乙", "name"): "C" * 64}


def test_insert_batch_runs_one_insert_and_one_read_back(
    repository: CompanyMappingRepository, db_conn: sa.Connection
) -> None:
    repository.insert_batch_with_conflict_check([_record(f"甲{i}", "1") for i in range(0, 3000, 2)])

    with recorded_statements(db_conn) as seen:
        result = repository.insert_batch_with_conflict_check(
            [_record(f"甲{i}", "1") for i in range(3000)]
        )

    assert result == InsertBatchResult(inserted=1500, skipped=1500, conflicts=0)
    assert len(seen) == 2


def test_insert_batch_skips_the_read_back_when_everything_was_inserted(
    repository: CompanyMappingRepository, db_conn: sa.Connection
) -> None:
    with recorded_statements(db_conn) as seen:
        repository.insert_batch_with_conflict_check([_record("甲", "1"), _record("乙", "2")])

    assert len(seen) == 1


def test_insert_batch_of_nothing_runs_no_sql(
    repository: CompanyMappingRepository, db_conn: sa.Connection
) -> None:
    with recorded_statements(db_conn) as seen:
        result = repository.insert_batch_with_conflict_check([])

    assert result == InsertBatchResult()
    assert seen == []


@pytest.mark.parametrize(
    ("record", "message"),
    [
        (_record("甲", "1", "nickname"), "unknown match_type"),
        (_record("甲", "1", source="robot"), "unknown source"),
        (_record("", "1"), "empty 'alias_name'"),
        (_record("甲", " "), "empty 'canonical_id'"),
        (_record("甲", "1", confidence=1.5), "confidence must be between 0 and 1"),
    ],
)
def test_insert_batch_rejects_an_invalid_record_before_any_sql(
    repository: CompanyMappingRepository,
    db_conn: sa.Connection,
    record: MappingRecord,
    message: str,
) -> None:
    with recorded_statements(db_conn) as seen, pytest.raises(ValueError, match=message):
        repository.insert_batch_with_conflict_check([_record("乙", "2"), record])

    assert seen == []


# -- lookup_batch ------------------------------------------------------------------------------


def test_lookup_batch_returns_the_mappings_of_the_given_keys_only(
    repository: CompanyMappingRepository,
) -> None:
    repository.insert_batch_with_conflict_check(
        [
            _record("甲", "600000001", "name"),
            _record("甲", "600000002", "account_name"),
            _record("乙", "600000003", "name"),
            _record("P1|甲", "600000004", "hardcode"),
        ]
    )

    found = repository.lookup_batch([("甲", "name"), ("P1|甲", "hardcode"), ("丙", "name")])

    assert sorted(found, key=lambda m: m.priority) == [
        MatchResult(
            alias_name="P1|甲",
            canonical_id="600000004",
            match_type="hardcode",
            priority=3,
            source="internal",
            confidence=1.0,
        ),
        MatchResult(
            alias_name="甲",
            canonical_id="600000001",
            match_type="name",
            priority=4,
            source="internal",
            confidence=1.0,
        ),
    ]


def test_lookup_batch_returns_one_result_for_a_repeated_key(
    repository: CompanyMappingRepository,
) -> None:
    repository.insert_batch_with_conflict_check([_record("甲", "600000001")])

    found = repository.lookup_batch([("甲", "name")] * 3)

    assert [m.canonical_id for m in found] == ["600000001"]


def test_lookup_batch_of_many_keys_runs_one_statement(
    repository: CompanyMappingRepository, db_conn: sa.Connection
) -> None:
    repository.insert_batch_with_conflict_check(
        [_record(f"甲{i}", str(i)) for i in range(0, 4000, 4)]
    )

    with recorded_statements(db_conn) as seen:
        found = repository.lookup_batch([(f"甲{i}", "name") for i in range(4000)])

    assert len(found) == 1000
    assert len(seen) == 1


def test_lookup_batch_matches_aliases_with_quotes_and_backslashes_exactly(
    repository: CompanyMappingRepository,
) -> None:
    odd = ['甲"乙', "a\\b", "{x,y}", "NULL", "c'd"]
    repository.insert_batch_with_conflict_check([_record(a, str(i)) for i, a in enumerate(odd)])

    found = repository.lookup_batch([(a, "name") for a in [*odd, "a\\\\b", "NUL"]])

    assert sorted(m.alias_name for m in found) == sorted(odd)


def test_lookup_batch_of_no_keys_runs_no_sql(
    repository: CompanyMappingRepository, db_conn: sa.Connection
) -> None:
    with recorded_statements(db_conn) as seen:
        assert repository.lookup_batch([]) == []
    assert seen == []


# -- list_mappings -----------------------------------------------------------------------------


def test_list_mappings_yields_every_mapping_by_priority_then_alias(
    repository: CompanyMappingRepository,
) -> None:
    repository.insert_batch_with_conflict_check(
        [_record("name-b", "2", "name"), _record("name-a", "1", "name"), _record("P1", "3", "plan")]
    )

    listed = [(m.match_type, m.alias_name) for m in repository.list_mappings()]

    assert listed == [("plan", "P1"), ("name", "name-a"), ("name", "name-b")]


def test_list_mappings_filters_by_match_type(repository: CompanyMappingRepository) -> None:
    repository.insert_batch_with_conflict_check(
        [_record("甲", "1", "name"), _record("P1", "3", "plan"), _record("乙", "4", "manual")]
    )

    listed = [m.alias_name for m in repository.list_mappings(["manual", "plan"])]

    assert listed == ["乙", "P1"]


def test_list_mappings_rejects_an_unknown_match_type(repository: CompanyMappingRepository) -> None:
    with pytest.raises(ValueError, match="unknown match type"):
        repository.list_mappings(["nickname"])


# -- upsert_company ----------------------------------------------------------------------------


def _company(conn: sa.Connection, company_id: str) -> sa.Row[tuple[object, ...]]:
    return conn.execute(sa.select(MASTER).where(MASTER.c.company_id == company_id)).one()


def test_upsert_company_inserts_a_new_company(
    repository: CompanyMappingRepository, db_conn: sa.Connection
) -> None:
    repository.upsert_company(
        company_id="600000001",
        official_name="甲股份有限公司",
        unified_credit_code="91000000000000000X",
        aliases=["甲公司", "甲公司", ""],
    )

    row = _company(db_conn, "600000001")
    assert (row.official_name, row.unified_credit_code, row.aliases, row.source) == (
        "甲股份有限公司",
        "91000000000000000X",
        ["甲公司"],
        "eqc",
    )


def test_upsert_company_refreshes_name_and_keeps_what_the_update_omits(
    repository: CompanyMappingRepository, db_conn: sa.Connection
) -> None:
    repository.upsert_company(
        company_id="600000001", official_name="甲", unified_credit_code="U1", aliases=["旧甲"]
    )

    repository.upsert_company(company_id="600000001", official_name="新甲", source="manual")

    row = _company(db_conn, "600000001")
    assert (row.official_name, row.unified_credit_code, row.aliases, row.source) == (
        "新甲",
        "U1",
        ["旧甲"],
        "manual",
    )


def test_upsert_company_replaces_aliases_when_given(
    repository: CompanyMappingRepository, db_conn: sa.Connection
) -> None:
    repository.upsert_company(company_id="600000001", official_name="甲", aliases=["旧甲"])

    repository.upsert_company(company_id="600000001", official_name="甲", aliases=["新甲", "老甲"])

    assert _company(db_conn, "600000001").aliases == ["新甲", "老甲"]


def test_upsert_company_raises_storage_error_for_a_credit_code_of_another_company(
    repository: CompanyMappingRepository, db_conn: sa.Connection
) -> None:
    repository.upsert_company(company_id="1", official_name="甲", unified_credit_code="U1")

    with pytest.raises(StorageError) as raised, db_conn.begin_nested():
        repository.upsert_company(company_id="2", official_name="乙", unified_credit_code="U1")

    assert raised.value.error_type
    assert db_conn.scalar(sa.select(sa.func.count()).select_from(MASTER)) == 1


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"company_id": "", "official_name": "甲"}, "company_id must not be empty"),
        ({"company_id": "1", "official_name": " "}, "official_name must not be empty"),
        ({"company_id": "1", "official_name": "甲", "source": "robot"}, "unknown source"),
    ],
)
def test_upsert_company_rejects_invalid_fields(
    repository: CompanyMappingRepository, fields: dict[str, str], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        repository.upsert_company(**fields)


def test_repository_offers_what_the_resolver_needs_on_the_callers_connection(
    repository: CompanyMappingRepository, db_conn: sa.Connection
) -> None:
    assert isinstance(repository, MappingRepositoryProtocol)
    assert repository.connection is db_conn


# -- lookup_ids ----------------------------------------------------------------------------------


def test_lookup_ids_returns_the_ids_of_the_asked_keys_per_type(
    repository: CompanyMappingRepository,
) -> None:
    repository.insert_batch_with_conflict_check(
        [
            _record("甲", "600000001", "name"),
            _record("甲", "600000002", "account_name"),
            _record("甲", "600000005", "eqc"),
            _record("乙", "600000003", "name"),
            _record("P1|甲", "600000004", "hardcode"),
        ]
    )

    found = repository.lookup_ids({"name": ["甲", "丙"], "eqc": ["甲"], "hardcode": ["P1|甲"]})

    assert found == {
        "name": {"甲": "600000001"},
        "eqc": {"甲": "600000005"},
        "hardcode": {"P1|甲": "600000004"},
    }


def test_lookup_ids_sends_a_shared_alias_once_in_one_statement(
    repository: CompanyMappingRepository, db_conn: sa.Connection
) -> None:
    repository.insert_batch_with_conflict_check([_record("甲", "600000001")])
    names = [f"甲{i}" for i in range(3000)] + ["甲"]

    with recorded_statements(db_conn) as seen:
        found = repository.lookup_ids({"name": names, "eqc": names, "manual": names})

    assert found == {"name": {"甲": "600000001"}}
    assert len(seen) == 1


def test_lookup_ids_skips_aliases_the_database_cannot_store(
    repository: CompanyMappingRepository,
) -> None:
    repository.insert_batch_with_conflict_check([_record("甲", "600000001")])

    found = repository.lookup_ids({"name": ["甲", "乙\x00", "\ud800"]})

    assert found == {"name": {"甲": "600000001"}}


def test_lookup_ids_of_no_aliases_runs_no_sql(
    repository: CompanyMappingRepository, db_conn: sa.Connection
) -> None:
    with recorded_statements(db_conn) as seen:
        assert repository.lookup_ids({"name": []}) == {}
    assert seen == []


def test_lookups_find_a_numeric_alias_by_its_text(repository: CompanyMappingRepository) -> None:
    repository.insert_batch_with_conflict_check([_record("12345", "600000001", "account")])

    matches = repository.lookup_batch([(12345, "account")])  # type: ignore[list-item]
    ids = repository.lookup_ids({"account": [12345]})  # type: ignore[list-item]

    assert [(m.alias_name, m.canonical_id) for m in matches] == [("12345", "600000001")]
    assert ids == {"account": {"12345": "600000001"}}
