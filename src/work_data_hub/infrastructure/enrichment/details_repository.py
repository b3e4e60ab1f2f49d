"""``eqc_company_details``: what EQC's detail and label answers said about a company.

Workers settle a request with one search call; the details are fetched later, with spare
capacity (:mod:`queue.details`), for the EQC companies that have none yet. Statements on a
caller-owned connection; the repository never begins or commits. It owns
``eqc_company_details`` and only reads ``company_master`` and ``company_mapping`` (to choose
what to fetch, and the hit's confidence); their writes stay in the mapping repository.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from work_data_hub.infrastructure.db import tables
from work_data_hub.infrastructure.db.bound_batches import dialect_insert
from work_data_hub.infrastructure.db.errors import storage_errors
from work_data_hub.infrastructure.eqc.types import CompanyDetails

__all__ = ["CompanyDetailsRepository"]

_D = tables.eqc_company_details
_M = tables.company_master
_MAP = tables.company_mapping


def _without_details_stmt(limit: int) -> sa.Select[Any]:
    fetched = sa.exists().where(_D.c.company_id == _M.c.company_id)
    return (
        sa.select(_M.c.company_id)
        .where(_M.c.source == tables.MappingSource.EQC.value, ~fetched)
        .order_by(_M.c.created_at, _M.c.company_id)
        .limit(limit)
    )


def _hit_confidence_stmt(company_id: str) -> sa.Select[Any]:
    # The confidence of the search hit that brought the company in: its best ``eqc``
    # mapping other than former names (those are cached at a share of it).
    return sa.select(sa.func.max(_MAP.c.confidence)).where(
        _MAP.c.canonical_id == company_id, _MAP.c.match_type == tables.MatchType.EQC.value
    )


def _save_stmt(dialect: str, values: dict[str, Any]) -> Any:
    insert = dialect_insert(dialect)(_D).values(**values)
    updates = {key: insert.excluded[key] for key in values if key != "company_id"}
    return insert.on_conflict_do_update(index_elements=[_D.c.company_id], set_=updates)


class CompanyDetailsRepository:
    """Statements on ``eqc_company_details`` (and the reads that choose what to fetch)."""

    def __init__(self, connection: sa.Connection) -> None:
        self._conn = connection

    def _execute(self, statement: sa.Executable) -> sa.CursorResult[Any]:
        with storage_errors("company details statement"):
            return self._conn.execute(statement)

    def companies_without_details(self, limit: int) -> list[str]:
        """Ids of EQC companies whose details were never fetched, oldest first."""
        if limit < 1:
            return []
        return [str(row.company_id) for row in self._execute(_without_details_stmt(limit))]

    def hit_confidence(self, company_id: str) -> float | None:
        """The best confidence of the company's ``eqc`` mappings, ``None`` without any."""
        value = self._execute(_hit_confidence_stmt(company_id)).scalar_one()
        return None if value is None else float(value)

    def save(
        self,
        details: CompanyDetails,
        *,
        labels: Sequence[Any] | None,
        detail_json: Any,
        labels_json: Any,
        now: dt.datetime,
    ) -> None:
        """Insert or replace the company's details with the raw answers they came from."""
        values = {
            "company_id": details.company_id,
            "legal_person_name": details.legal_person_name,
            "registered_capital": details.registered_capital,
            "registered_date": details.registered_date,
            "registered_status": details.registered_status,
            "province": details.province,
            "organization_code": details.organization_code,
            "company_en_name": details.company_en_name,
            "labels": None if labels is None else list(labels),
            "detail_json": detail_json,
            "labels_json": labels_json,
            "fetched_at": now,
        }
        self._execute(_save_stmt(self._conn.dialect.name, values))
