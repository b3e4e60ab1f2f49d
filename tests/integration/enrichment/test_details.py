"""Company details with spare capacity, over HTTP against the local EQC server."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa

from tests.helpers import insert_requests
from work_data_hub.eqc_server.app import DETAIL_PATH, LABELS_PATH, SEARCH_PATH
from work_data_hub.eqc_server.registry import Company
from work_data_hub.eqc_server.testing import EqcServerHandle, running_eqc_server
from work_data_hub.infrastructure.db import tables
from work_data_hub.infrastructure.enrichment.company_id_resolver import CompanyIdResolver
from work_data_hub.infrastructure.enrichment.mapping_repository import CompanyMappingRepository
from work_data_hub.infrastructure.enrichment.normalizer import normalize_for_temp_id
from work_data_hub.infrastructure.enrichment.queue.details import fetch_details
from work_data_hub.infrastructure.enrichment.queue.worker import process_enrichment_queue
from work_data_hub.infrastructure.enrichment.resolve.eqc_provider import EqcProvider
from work_data_hub.infrastructure.enrichment.types import ResolutionStrategy
from work_data_hub.infrastructure.eqc.client import EqcClient
from work_data_hub.infrastructure.eqc.rate_limit import InProcessRateLimiter

D = tables.eqc_company_details


@pytest.fixture
def eqc() -> Iterator[EqcServerHandle]:
    with running_eqc_server(registry_size=400) as handle:
        yield handle


def _client(eqc: EqcServerHandle) -> EqcClient:
    return EqcClient(eqc.base_url, eqc.token, rate_limiter=InProcessRateLimiter(1000, 1.0))


def _with_former_names(eqc: EqcServerHandle) -> Company:
    return next(
        c
        for c in eqc.registry.companies
        if c.former_names
        and all(
            normalize_for_temp_id(n) != normalize_for_temp_id(c.full_name) for n in c.former_names
        )
    )


def _found_by_worker(engine: sa.Engine, eqc: EqcServerHandle, company: Company) -> None:
    insert_requests(engine, [normalize_for_temp_id(company.full_name)])
    with _client(eqc) as client:
        stats = process_enrichment_queue(engine, client)
    assert stats.resolved == 1


def _details_rows(engine: sa.Engine) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(sa.select(D)))


def test_details_are_stored_with_their_raw_answers_at_two_calls_per_company(
    db_engine: sa.Engine, eqc: EqcServerHandle
) -> None:
    company = _with_former_names(eqc)
    _found_by_worker(db_engine, eqc, company)
    assert eqc.calls.count(DETAIL_PATH) == 0  # the search alone settled the request
    with _client(eqc) as client:
        stats = fetch_details(db_engine, client)
    assert (stats.companies, stats.fetched, stats.errors) == (1, 1, 0)
    assert eqc.calls.count(DETAIL_PATH) == eqc.calls.count(LABELS_PATH) == 1
    (row,) = _details_rows(db_engine)
    assert row.company_id == company.company_id
    assert row.legal_person_name == company.legal_person
    assert row.registered_capital == company.registered_capital
    assert row.detail_json["company_former_name"] == ",".join(company.former_names)
    assert {label["name"] for label in row.labels} >= set(company.labels)
    with _client(eqc) as client:
        again = fetch_details(db_engine, client)
    assert again.companies == 0  # fetched once, not again


def test_former_names_become_mappings_and_a_later_resolve_hits_the_cache(
    db_engine: sa.Engine, eqc: EqcServerHandle
) -> None:
    company = _with_former_names(eqc)
    _found_by_worker(db_engine, eqc, company)
    with _client(eqc) as client:
        stats = fetch_details(db_engine, client)
    assert stats.former_names == len({normalize_for_temp_id(n) for n in company.former_names})
    calls = len(eqc.calls)
    former = company.former_names[0]
    with _client(eqc) as client, db_engine.begin() as conn:
        repository = CompanyMappingRepository(conn)
        provider = EqcProvider(client, budget=5, mapping_repository=repository)
        resolver = CompanyIdResolver(mapping_repository=repository, eqc_provider=provider)
        result = resolver.resolve_batch(
            pd.DataFrame({"客户名称": [former]}), ResolutionStrategy(sync_lookup_budget=5)
        )
    assert result.data["company_id"].tolist() == [company.company_id]
    assert result.statistics.db_cache_hits == 1
    assert len(eqc.calls) == calls  # no call
    assert eqc.calls.count(SEARCH_PATH) == 1


def test_an_id_eqc_no_longer_knows_is_remembered_and_not_asked_again(
    db_engine: sa.Engine, eqc: EqcServerHandle
) -> None:
    with db_engine.begin() as conn:
        CompanyMappingRepository(conn).upsert_company(
            company_id="999999999", official_name="已注销的公司", source="eqc"
        )
    with _client(eqc) as client:
        first = fetch_details(db_engine, client)
        second = fetch_details(db_engine, client)
    assert (first.companies, first.gone) == (1, 1)
    assert second.companies == 0
    assert eqc.calls.count(DETAIL_PATH) == 1


def test_a_details_pass_stops_at_its_company_bound(
    db_engine: sa.Engine, eqc: EqcServerHandle
) -> None:
    with db_engine.begin() as conn:
        repository = CompanyMappingRepository(conn)
        for company in eqc.registry.companies[:3]:
            repository.upsert_company(
                company_id=company.company_id, official_name=company.full_name, source="eqc"
            )
    with _client(eqc) as client:
        stats = fetch_details(db_engine, client, max_companies=2)
    assert stats.companies == 2
    assert len(_details_rows(db_engine)) == 2
