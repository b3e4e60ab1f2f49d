"""Plain helpers shared by several test suites (fixtures live in ``conftest.py``)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa

from work_data_hub.infrastructure.db import tables
from work_data_hub.infrastructure.enrichment.mapping_repository import CompanyMappingRepository
from work_data_hub.infrastructure.enrichment.normalizer import (
    generate_temp_company_id,
    normalize_for_temp_id,
)
from work_data_hub.infrastructure.enrichment.types import ResolutionStatistics

_REQUESTS = tables.enrichment_requests


def tier_total(stats: ResolutionStatistics) -> int:
    """Rows accounted for by a run: every tier's hits, exclusions and the unresolved."""
    return (
        sum(stats.yaml_hits.values())
        + stats.db_cache_hits
        + stats.existing_column_hits
        + stats.propagated_hits
        + stats.eqc_sync_hits
        + stats.temp_ids_generated
        + stats.excluded
        + stats.unresolved
    )


@contextmanager
def recorded_statements(conn: sa.Connection) -> Iterator[list[str]]:
    """The SQL text of every statement ``conn`` sends while the block runs."""
    seen: list[str] = []

    def record(*args: object) -> None:
        seen.append(str(args[2]))

    sa.event.listen(conn, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        sa.event.remove(conn, "before_cursor_execute", record)


def insert_requests(engine: sa.Engine, names: list[str], **values: Any) -> None:
    """Insert requests directly (normalized name = raw name) for worker scenarios."""
    with engine.begin() as conn:
        conn.execute(
            sa.insert(_REQUESTS),
            [
                {"raw_name": n, "normalized_name": n, "temp_id": f"IN{i:016d}", **values}
                for i, n in enumerate(names)
            ],
        )


def enqueue_names(engine: sa.Engine, names: list[str], salt: str) -> None:
    """Queue ``names`` the way the resolver does: normalized, with their temporary ids."""
    with engine.begin() as conn:
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


def status_counts(engine: sa.Engine) -> dict[str, int]:
    """Requests per status (statuses with none are absent)."""
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(_REQUESTS.c.status, sa.func.count()).group_by(_REQUESTS.c.status)
        )
        return {str(status): int(count) for status, count in rows}
