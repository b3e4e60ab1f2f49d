"""The repository's statements, compiled per dialect: one statement per batch, ON CONFLICT."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from work_data_hub.infrastructure.enrichment import _mapping_statements as statements
from work_data_hub.infrastructure.enrichment import mapping_repository as repo
from work_data_hub.infrastructure.enrichment.queue import _statements as queue_statements

DIALECTS = {"postgresql": postgresql.psycopg.dialect(), "sqlite": sqlite.dialect()}
OPEN_CONFLICT = "ON CONFLICT (normalized_name) WHERE status IN ('pending', 'processing') DO NOTHING"


def _sql(statement: Any, dialect: str) -> str:
    return " ".join(str(statement.compile(dialect=DIALECTS[dialect])).split())


def _row_source(dialect: str) -> str:
    return "unnest(" if dialect == "postgresql" else "json_each("


def test_enqueue_statement_relies_on_the_partial_unique_index(dialect: str) -> None:
    sql = _sql(queue_statements.enqueue(dialect), dialect)

    assert sql.startswith("INSERT INTO enterprise.enrichment_requests")
    assert OPEN_CONFLICT in sql
    assert " RETURNING " in sql
    assert _row_source(dialect) in sql


def test_enqueue_statement_binds_a_constant_number_of_parameters(dialect: str) -> None:
    compiled = queue_statements.enqueue(dialect).compile(dialect=DIALECTS[dialect])

    names = set(compiled.params)
    expected = (
        {"raw_name", "normalized_name", "temp_id", "now"}
        if dialect == "postgresql"
        else {
            "rows",
            "now",
        }
    )
    assert expected <= names
    assert len(names) <= 8


def test_insert_batch_statement_never_updates_an_existing_alias(dialect: str) -> None:
    sql = _sql(statements.insert_batch_with_conflict_check(dialect), dialect)

    assert "ON CONFLICT (alias_name, match_type) DO NOTHING" in sql
    assert "DO UPDATE" not in sql
    assert "RETURNING" in sql
    assert _row_source(dialect) in sql


def test_lookup_statement_tests_aliases_against_one_bound_array(dialect: str) -> None:
    sql = _sql(statements.lookup_batch(dialect), dialect)

    assert sql.startswith("SELECT ")
    assert " JOIN " not in sql
    if dialect == "postgresql":
        # Untyped, so the server reads a constant text[] it can hash (not a VARCHAR cast
        # per execution, which it would scan linearly for every row).
        assert "alias_name = ANY (CAST(%(aliases)s AS TEXT[]))" in sql
    else:
        assert "alias_name IN (SELECT anon_1.value FROM json_each(?)" in sql


def test_upsert_company_statement_updates_on_the_primary_key(dialect: str) -> None:
    sql = _sql(statements.upsert_company(dialect, replace_aliases=False), dialect)

    assert "ON CONFLICT (company_id) DO UPDATE" in sql
    assert "aliases = excluded.aliases" not in sql
    assert "aliases = excluded.aliases" in _sql(
        statements.upsert_company(dialect, replace_aliases=True), dialect
    )


def test_list_mappings_statement_orders_by_priority(dialect: str) -> None:
    sql = _sql(statements.list_mappings(filtered=True), dialect)

    assert (
        "ORDER BY enterprise.company_mapping.priority, enterprise.company_mapping.alias_name" in sql
    )
    assert "match_type IN" in sql


def test_repository_refuses_other_databases() -> None:
    engine = sa.create_engine("sqlite://")
    with engine.connect() as conn:
        conn.dialect.name = "mysql"  # type: ignore[misc]
        with pytest.raises(ValueError, match="PostgreSQL and SQLite only"):
            repo.CompanyMappingRepository(conn)
    engine.dispose()
