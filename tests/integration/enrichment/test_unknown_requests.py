"""The unknown names of the queue: a limited read picks the same top names as a full one."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from work_data_hub.infrastructure.db import tables
from work_data_hub.infrastructure.enrichment.queue.repository import QueueRepository

R = tables.enrichment_requests
T0 = dt.datetime(2026, 5, 1, tzinfo=dt.UTC)


def _request(
    name: str, minutes: int, status: str = "pending", **values: object
) -> dict[str, object]:
    moment = T0 + dt.timedelta(minutes=minutes)
    return {
        "raw_name": name, "normalized_name": name, "temp_id": f"IN{sum(map(ord, name)):016d}",
        "status": status, "created_at": moment, "updated_at": moment,
        "resolved_company_id": None, **values,
    }  # fmt: skip


@pytest.fixture
def queue(db_conn: sa.Connection) -> QueueRepository:
    rows = [_request(f"单{i}公司", minutes=i + 2) for i in range(12)]
    rows += [
        _request("两次甲", 30, "failed"), _request("两次甲", 40),  # asked twice, open again
        _request("三次乙", 50, "done"), _request("三次乙", 51, "failed"), _request("三次乙", 52),
        _request("未找到丙", 1, "done"),  # done without an id, nothing open: once, oldest
        _request("已解决丁", 0, "failed"),
        _request("已解决丁", 2, "done", resolved_company_id="600000001"),
        _request("早到戊", -5),
    ]  # fmt: skip
    db_conn.execute(sa.insert(R), rows)
    return QueueRepository(db_conn)


def test_limited_read_equals_the_head_of_the_full_list(queue: QueueRepository) -> None:
    full = queue.unknown_requests()
    for limit in (1, 3, 5, 20):
        assert queue.unknown_requests(limit=limit) == full[:limit]


def test_order_is_most_requested_then_first_seen(queue: QueueRepository) -> None:
    top = queue.unknown_requests(limit=5)
    assert [(r.normalized_name, r.requests) for r in top] == [
        ("三次乙", 3),
        ("两次甲", 2),
        ("早到戊", 1),
        ("未找到丙", 1),
        ("单0公司", 1),
    ]
    assert top[1].first_seen == T0 + dt.timedelta(minutes=30)
    assert "已解决丁" not in {r.normalized_name for r in queue.unknown_requests()}


def test_limit_must_be_positive(queue: QueueRepository) -> None:
    with pytest.raises(ValueError, match="limit"):
        queue.unknown_requests(limit=0)
