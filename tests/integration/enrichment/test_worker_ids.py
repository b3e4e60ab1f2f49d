"""EQC answers pass the one id rule in the worker too, on PostgreSQL and SQLite."""

from __future__ import annotations

import sqlalchemy as sa

from tests.helpers import insert_requests
from work_data_hub.infrastructure.db import tables
from work_data_hub.infrastructure.enrichment.queue.worker import process_enrichment_queue
from work_data_hub.infrastructure.enrichment.types import CompanyInfo

R = tables.enrichment_requests


class TableFinder:
    """Answers from a dict at the worker's lookup seam."""

    def __init__(self, answers: dict[str, CompanyInfo]) -> None:
        self.answers = answers

    def search_company(self, name: str, *, wait_s: float | None = None) -> CompanyInfo | None:
        return self.answers.get(name)


def test_an_eqc_answer_with_a_bad_id_is_counted_and_not_recorded(db_engine: sa.Engine) -> None:
    insert_requests(db_engine, ["甲公司", "乙公司"])
    finder = TableFinder(
        {
            "甲公司": CompanyInfo(company_id="=HYPERLINK(1)", official_name="甲公司"),
            "乙公司": CompanyInfo(company_id="600000002", official_name="乙公司"),
        }
    )
    stats = process_enrichment_queue(db_engine, finder)
    with db_engine.connect() as conn:
        outcome = dict(conn.execute(sa.select(R.c.raw_name, R.c.resolved_company_id)).all())
        cached = (
            conn.execute(sa.select(tables.company_mapping.c.canonical_id).distinct())
            .scalars()
            .all()
        )
    assert outcome == {"甲公司": None, "乙公司": "600000002"}
    assert (stats.invalid_ids, stats.resolved, stats.not_found) == (1, 1, 1)
    assert cached == ["600000002"]
