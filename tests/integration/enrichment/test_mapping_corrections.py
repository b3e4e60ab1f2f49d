"""Corrections with a record, reviewed names closing their requests, remap through names
and a purge that keeps what remap needs — on PostgreSQL and SQLite."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
import sqlalchemy as sa

from work_data_hub.infrastructure.db import tables
from work_data_hub.infrastructure.enrichment.mapping_corrections import MappingCorrections
from work_data_hub.infrastructure.enrichment.mapping_repository import CompanyMappingRepository
from work_data_hub.infrastructure.enrichment.normalizer import (
    generate_temp_company_id,
    normalize_for_temp_id,
)
from work_data_hub.infrastructure.enrichment.queue.remap import remap_temp_ids
from work_data_hub.infrastructure.enrichment.queue.repository import QueueRepository
from work_data_hub.infrastructure.enrichment.types import MappingRecord
from work_data_hub.utils import clock

R = tables.enrichment_requests
SALT = "corrections-salt"


def enqueue_names(conn: sa.Connection, names: list[str], salt: str) -> None:
    CompanyMappingRepository(conn).enqueue_for_enrichment(
        [
            {
                "raw_name": name,
                "normalized_name": normalize_for_temp_id(name),
                "temp_id": generate_temp_company_id(name, salt),
            }
            for name in names
        ]
    )


def _manual(alias: str, company_id: str) -> MappingRecord:
    return MappingRecord(
        alias_name=alias, canonical_id=company_id, match_type="manual", source="manual"
    )


def _seed(conn: sa.Connection, *records: MappingRecord) -> None:
    assert CompanyMappingRepository(conn).insert_batch_with_conflict_check(records).inserted


def _ids(conn: sa.Connection) -> dict[tuple[str, str], str]:
    m = tables.company_mapping
    rows = conn.execute(sa.select(m.c.alias_name, m.c.match_type, m.c.canonical_id)).all()
    return {(str(r.alias_name), str(r.match_type)): str(r.canonical_id) for r in rows}


def _statuses(conn: sa.Connection) -> dict[str, tuple[str, str | None]]:
    rows = conn.execute(sa.select(R.c.normalized_name, R.c.status, R.c.resolved_company_id))
    return {str(r.normalized_name): (str(r.status), r.resolved_company_id) for r in rows}


def test_replace_changes_the_id_and_records_the_old_one(db_conn: sa.Connection) -> None:
    _seed(db_conn, _manual("甲公司", "600000001"), _manual("乙公司", "600000002"))
    corrections = MappingCorrections(db_conn)
    before = corrections.replace([_manual("甲公司", "600000009"), _manual("乙公司", "600000002")])
    assert [(m.alias_name, m.canonical_id) for m in before] == [("甲公司", "600000001")]
    assert _ids(db_conn)[("甲公司", "manual")] == "600000009"
    [entry] = corrections.history()
    assert (entry.alias_name, entry.match_type, entry.old_id, entry.new_id, entry.action) == (
        "甲公司",
        "manual",
        "600000001",
        "600000009",
        "replace",
    )
    assert entry.changed_at.tzinfo is not None


def test_delete_by_key_removes_one_mapping_with_a_record(db_conn: sa.Connection) -> None:
    _seed(
        db_conn,
        _manual("甲公司", "600000001"),
        MappingRecord(alias_name="甲公司", canonical_id="600000001", match_type="name"),
    )
    deleted = MappingCorrections(db_conn).delete(keys=[("甲公司", "manual")])
    assert [(m.alias_name, m.match_type) for m in deleted] == [("甲公司", "manual")]
    assert _ids(db_conn) == {("甲公司", "name"): "600000001"}
    [entry] = MappingCorrections(db_conn).history(alias_name="甲公司")
    assert (entry.action, entry.old_id, entry.new_id, entry.source) == (
        "delete",
        "600000001",
        None,
        "manual",
    )


def test_delete_by_source_and_match_type_filters(db_conn: sa.Connection) -> None:
    backflow = "pipeline_backflow"
    _seed(
        db_conn,
        MappingRecord(alias_name="P1", canonical_id="1", match_type="plan", source=backflow),
        MappingRecord(alias_name="P2", canonical_id="2", match_type="plan", source="internal"),
        MappingRecord(alias_name="甲", canonical_id="3", match_type="name", source=backflow),
    )
    corrections = MappingCorrections(db_conn)
    planned = corrections.delete(source=backflow, match_type="plan", dry_run=True)
    assert [m.alias_name for m in planned] == ["P1"]
    assert len(_ids(db_conn)) == 3
    assert corrections.history() == []
    corrections.delete(source=backflow, match_type="plan")
    assert set(_ids(db_conn)) == {("P2", "plan"), ("甲", "name")}
    assert [e.alias_name for e in corrections.history()] == ["P1"]


def test_delete_without_keys_or_filter_is_refused(db_conn: sa.Connection) -> None:
    with pytest.raises(ValueError, match="needs keys"):
        MappingCorrections(db_conn).delete()
    with pytest.raises(ValueError, match="unknown source"):
        MappingCorrections(db_conn).delete(source="bogus")


def test_closing_requests_answers_open_failed_and_not_found_ones(db_conn: sa.Connection) -> None:
    enqueue_names(db_conn, ["甲公司", "乙公司", "丙公司", "丁公司"], SALT)
    db_conn.execute(sa.update(R).where(R.c.normalized_name == "乙公司").values(status="failed"))
    db_conn.execute(sa.update(R).where(R.c.normalized_name == "丙公司").values(status="done"))
    closed = QueueRepository(db_conn).close_requests(
        {"甲公司": "1", "乙公司": "2", "丙公司": "3"}, clock.utcnow()
    )
    assert closed == 3
    assert _statuses(db_conn) == {
        "甲公司": ("done", "1"),
        "乙公司": ("done", "2"),
        "丙公司": ("done", "3"),
        "丁公司": ("pending", None),
    }


def test_remap_prefers_a_manual_mapping_to_the_request_s_own_id(db_conn: sa.Connection) -> None:
    enqueue_names(db_conn, ["甲公司", "乙公司"], SALT)
    db_conn.execute(sa.update(R).values(status="done", resolved_company_id="600000001"))
    _seed(db_conn, _manual("甲公司", "600000009"))
    temps = [generate_temp_company_id(n, SALT) for n in ("甲公司", "乙公司")]
    out, stats = remap_temp_ids(pd.DataFrame({"c": temps}), "c", db_conn)
    assert out["c"].tolist() == ["600000009", "600000001"]
    assert stats.remapped_rows == 2


def test_remap_resolves_through_a_name_mapping_of_an_open_request(db_conn: sa.Connection) -> None:
    enqueue_names(db_conn, ["甲公司"], SALT)
    _seed(db_conn, MappingRecord(alias_name="甲公司", canonical_id="600000007", match_type="name"))
    temp = generate_temp_company_id("甲公司", SALT)
    out, _ = remap_temp_ids(pd.DataFrame({"c": [temp]}), "c", db_conn)
    assert out["c"].tolist() == ["600000007"]


def test_purge_keeps_the_newest_request_of_each_temporary_id(db_conn: sa.Connection) -> None:
    enqueue_names(db_conn, ["甲公司"], SALT)
    db_conn.execute(sa.update(R).values(status="done"))
    enqueue_names(db_conn, ["甲公司", "乙公司"], SALT)
    db_conn.execute(sa.update(R).values(status="done"))
    later = clock.utcnow() + dt.timedelta(days=1)
    assert QueueRepository(db_conn).purge(later) == 1
    names = sorted(db_conn.execute(sa.select(R.c.normalized_name)).scalars())
    assert names == ["乙公司", "甲公司"]


def test_deleting_a_reviewed_name_reopens_its_request(db_engine: sa.Engine) -> None:
    from work_data_hub import mapping_review

    with db_engine.begin() as conn:
        enqueue_names(conn, ["甲公司"], SALT)
        QueueRepository(conn).close_requests({"甲公司": "600000001"}, clock.utcnow())
        _seed(conn, _manual("甲公司", "600000001"))
    mapping_review.delete_mappings(db_engine, keys=[("甲公司", "manual")])
    with db_engine.connect() as conn:
        assert _statuses(conn) == {"甲公司": ("pending", None)}
        temp = generate_temp_company_id("甲公司", SALT)
        out, _ = remap_temp_ids(pd.DataFrame({"c": [temp]}), "c", conn)
    assert out["c"].tolist() == [temp]
