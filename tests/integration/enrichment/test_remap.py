"""Remapping temporary ids on frames against done requests, on both dialects."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa

from work_data_hub.errors import InputError
from work_data_hub.infrastructure.db import tables
from work_data_hub.infrastructure.enrichment.queue.remap import remap_temp_ids
from work_data_hub.infrastructure.enrichment.queue.repository import QueueRepository

R = tables.enrichment_requests
T_DONE = "INAAAAAAAAAAAAAAAA"
T_MISS = "INBBBBBBBBBBBBBBBB"
T_OPEN = "INCCCCCCCCCCCCCCCC"


def add(conn: sa.Connection, temp_id: str, **values: Any) -> None:
    conn.execute(
        sa.insert(R).values(raw_name=temp_id, normalized_name=temp_id, temp_id=temp_id, **values)
    )


@pytest.fixture
def queue(db_conn: sa.Connection) -> sa.Connection:
    add(db_conn, T_DONE, status="done", resolved_company_id="614810477")
    add(db_conn, T_MISS, status="done")
    add(db_conn, T_OPEN)
    return db_conn


def test_resolved_temp_ids_are_replaced(queue: sa.Connection) -> None:
    df = pd.DataFrame({"company_id": [T_DONE, "C42", T_OPEN, T_DONE, None], "n": range(5)})
    out, stats = remap_temp_ids(df, "company_id", queue)
    assert out["company_id"].tolist()[:4] == ["614810477", "C42", T_OPEN, "614810477"]
    assert pd.isna(out["company_id"].iloc[4])
    assert out["n"].tolist() == list(range(5))
    assert (stats.remapped_rows, stats.unresolved_rows, stats.temp_id_rows) == (2, 1, 3)
    assert (stats.distinct_temp_ids, stats.resolved_temp_ids, stats.total_rows) == (2, 1, 5)


def test_input_frame_is_not_modified(queue: sa.Connection) -> None:
    df = pd.DataFrame({"company_id": [T_DONE]})
    remap_temp_ids(df, "company_id", queue)
    assert df["company_id"].tolist() == [T_DONE]


def test_not_found_requests_keep_their_temp_id(queue: sa.Connection) -> None:
    out, stats = remap_temp_ids(pd.DataFrame({"c": [T_MISS]}), "c", queue)
    assert out["c"].tolist() == [T_MISS]
    assert stats.remapped_rows == 0


def test_accepts_a_repository(queue: sa.Connection) -> None:
    out, _ = remap_temp_ids(pd.DataFrame({"c": [T_DONE]}), "c", QueueRepository(queue))
    assert out["c"].tolist() == ["614810477"]


def test_string_dtype_is_preserved(queue: sa.Connection) -> None:
    df = pd.DataFrame({"c": pd.array([T_DONE, pd.NA], dtype="string")})
    out, _ = remap_temp_ids(df, "c", queue)
    assert out["c"].dtype == "string"
    assert out["c"].tolist()[0] == "614810477"


def test_frame_without_temp_ids_issues_no_query(queue: sa.Connection) -> None:
    class NoQueries(QueueRepository):
        def request_names(self, temp_ids: Any) -> dict[str, Any]:
            raise AssertionError("no query expected")

    out, stats = remap_temp_ids(pd.DataFrame({"c": ["C1", 7]}), "c", NoQueries(queue))
    assert out["c"].tolist() == ["C1", 7]
    assert stats.temp_id_rows == 0


def test_one_query_for_many_rows(queue: sa.Connection) -> None:
    calls: list[int] = []

    class Counting(QueueRepository):
        def request_names(self, temp_ids: Any) -> dict[str, Any]:
            ids = list(temp_ids)
            calls.append(len(ids))
            return super().request_names(ids)

    df = pd.DataFrame({"c": [T_DONE, T_OPEN] * 500})
    _out, stats = remap_temp_ids(df, "c", Counting(queue))
    assert calls == [2]
    assert stats.remapped_rows == 500


def test_missing_column_is_an_input_error(queue: sa.Connection) -> None:
    with pytest.raises(InputError):
        remap_temp_ids(pd.DataFrame({"a": []}), "company_id", queue)
