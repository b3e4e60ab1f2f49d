"""The migrations create, drop and recreate the schema on both dialects."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from work_data_hub.infrastructure.db import migrate, tables
from work_data_hub.infrastructure.db.engine import is_postgresql

TABLES = {"company_master", "company_mapping", "enrichment_requests"}


def _table_names(engine: sa.Engine) -> set[str]:
    schema = "enterprise" if is_postgresql(engine) else None
    return set(sa.inspect(engine).get_table_names(schema=schema)) & (TABLES | {"x"})


def _insert_request(conn: sa.Connection, name: str, status: str = "pending") -> None:
    conn.execute(
        sa.insert(tables.enrichment_requests).values(
            raw_name=name, normalized_name=name, temp_id="INAAAAAAAAAAAAAAAA", status=status
        )
    )


def test_fresh_database_is_at_head(db_engine: sa.Engine) -> None:
    assert migrate.current_revision(db_engine) == migrate.head_revision()
    assert _table_names(db_engine) == TABLES


def test_downgrade_to_base_then_upgrade_again(db_engine: sa.Engine) -> None:
    migrate.downgrade(db_engine, "base")
    assert migrate.current_revision(db_engine) is None
    assert _table_names(db_engine) == set()
    migrate.upgrade(db_engine)
    assert _table_names(db_engine) == TABLES


def test_upgrade_twice_is_a_no_op(db_engine: sa.Engine) -> None:
    with db_engine.begin() as conn:
        _insert_request(conn, "甲公司")
    migrate.upgrade(db_engine)
    with db_engine.connect() as conn:
        count = conn.scalar(sa.select(sa.func.count()).select_from(tables.enrichment_requests))
    assert count == 1


def test_migrated_columns_match_table_definitions(db_engine: sa.Engine) -> None:
    schema = "enterprise" if is_postgresql(db_engine) else None
    inspector = sa.inspect(db_engine)
    for table in tables.metadata.sorted_tables:
        migrated = {c["name"] for c in inspector.get_columns(table.name, schema=schema)}
        assert migrated == {c.name for c in table.columns}, table.name


def test_partial_unique_index_rejects_second_open_request(db_engine: sa.Engine) -> None:
    with db_engine.begin() as conn:
        _insert_request(conn, "甲公司")
    with pytest.raises(sa.exc.IntegrityError), db_engine.begin() as conn:
        _insert_request(conn, "甲公司", status="processing")


def test_partial_unique_index_accepts_new_request_after_done(db_engine: sa.Engine) -> None:
    with db_engine.begin() as conn:
        _insert_request(conn, "甲公司", status="done")
        _insert_request(conn, "甲公司", status="failed")
        _insert_request(conn, "甲公司")
        count = conn.scalar(sa.select(sa.func.count()).select_from(tables.enrichment_requests))
    assert count == 3


def test_check_constraint_rejects_unknown_status(db_conn: sa.Connection) -> None:
    with pytest.raises(sa.exc.IntegrityError):
        _insert_request(db_conn, "乙公司", status="lost")


def test_check_constraint_rejects_priority_not_matching_match_type(
    db_conn: sa.Connection,
) -> None:
    with pytest.raises(sa.exc.IntegrityError):
        db_conn.execute(
            sa.insert(tables.company_mapping).values(
                alias_name="甲",
                canonical_id="C1",
                match_type="plan",
                priority=4,
                source="internal",
            )
        )


@pytest.mark.parametrize(
    ("column", "value"),
    [("match_type", "fuzzy"), ("source", "guess")],
)
def test_check_constraint_rejects_unknown_mapping_values(
    db_conn: sa.Connection, column: str, value: str
) -> None:
    values = {
        "alias_name": "甲",
        "canonical_id": "C1",
        "match_type": "name",
        "priority": 4,
        "source": "internal",
        column: value,
    }
    with pytest.raises(sa.exc.IntegrityError):
        db_conn.execute(sa.insert(tables.company_mapping).values(**values))


def test_timestamps_round_trip_as_aware_utc(db_conn: sa.Connection) -> None:
    moment = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    _insert_request(db_conn, "丙公司")
    db_conn.execute(sa.update(tables.enrichment_requests).values(next_retry_at=moment))
    requests = tables.enrichment_requests
    row = db_conn.execute(sa.select(requests.c.next_retry_at, requests.c.created_at)).one()
    assert row.next_retry_at == moment
    assert row.next_retry_at.tzinfo is not None
    assert row.created_at.tzinfo is not None


def _index_names(engine: sa.Engine, table: str) -> set[str]:
    schema = "enterprise" if is_postgresql(engine) else None
    indexes = sa.inspect(engine).get_indexes(table, schema=schema)
    # A unique constraint's own index is the constraint's, not a declared index.
    return {ix["name"] for ix in indexes if not ix.get("duplicates_constraint")}


def test_migrated_indexes_match_table_definitions(db_engine: sa.Engine) -> None:
    for table in tables.metadata.sorted_tables:
        declared = {ix.name for ix in table.indexes}
        assert _index_names(db_engine, table.name) == declared, table.name


def test_key_columns_compare_bytewise_on_postgresql(db_engine: sa.Engine) -> None:
    if not is_postgresql(db_engine):
        pytest.skip("SQLite compares text byte by byte by default")
    with db_engine.connect() as conn:
        collations = dict(
            conn.execute(
                sa.text(
                    "SELECT table_name || '.' || column_name, collation_name"
                    " FROM information_schema.columns WHERE table_schema = 'enterprise'"
                    " AND column_name IN ('alias_name', 'normalized_name')"
                )
            ).all()
        )
    assert collations == {
        "company_mapping.alias_name": "C",
        "company_mapping_history.alias_name": "C",
        "enrichment_requests.normalized_name": "C",
    }


def test_downgrade_to_0002_restores_the_old_indexes(db_engine: sa.Engine) -> None:
    migrate.downgrade(db_engine, "0002_rate_limit")
    assert "ix_enrichment_requests_temp_id" in _index_names(db_engine, "enrichment_requests")
    assert "ix_company_mapping_canonical_id" in _index_names(db_engine, "company_mapping")
    migrate.upgrade(db_engine)
    assert migrate.current_revision(db_engine) == migrate.head_revision()
    indexes = _index_names(db_engine, "enrichment_requests")
    assert "ix_enrichment_requests_temp_id" in indexes
    assert "ix_enrichment_requests_resolved_temp_id" not in indexes


def test_downgrade_to_0003_drops_the_history_and_restores_the_partial_index(
    db_engine: sa.Engine,
) -> None:
    migrate.downgrade(db_engine, "0003_lean_write_indexes")
    indexes = _index_names(db_engine, "enrichment_requests")
    assert "ix_enrichment_requests_resolved_temp_id" in indexes
    assert "ix_enrichment_requests_temp_id" not in indexes
    schema = "enterprise" if db_engine.dialect.name == "postgresql" else None
    assert not sa.inspect(db_engine).has_table("company_mapping_history", schema=schema)
    migrate.upgrade(db_engine)
    assert sa.inspect(db_engine).has_table("company_mapping_history", schema=schema)


def test_remap_name_lookup_uses_the_temp_id_index(db_conn: sa.Connection) -> None:
    from work_data_hub.infrastructure.enrichment.queue import _review_statements as _statements

    if db_conn.dialect.name != "postgresql":
        pytest.skip("SQLite plans every statement with its values")
    temp_id = "INAAAAAAAAAAAAAAAA"
    sql = str(
        _statements.request_names([temp_id]).compile(
            dialect=db_conn.dialect, compile_kwargs={"literal_binds": True}
        )
    )
    db_conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
    plan = "\n".join(db_conn.exec_driver_sql(f"EXPLAIN {sql}").scalars())
    assert "ix_enrichment_requests_temp_id" in plan
