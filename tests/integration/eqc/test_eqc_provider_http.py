"""EqcProvider over real HTTP: exact budget accounting, auth switch-off, caching on both DBs."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from work_data_hub.eqc_server.app import SEARCH_PATH
from work_data_hub.eqc_server.registry import Registry, build_registry
from work_data_hub.eqc_server.testing import EqcServerHandle, running_eqc_server
from work_data_hub.infrastructure.db import tables
from work_data_hub.infrastructure.enrichment.mapping_repository import CompanyMappingRepository
from work_data_hub.infrastructure.enrichment.normalizer import normalize_for_temp_id
from work_data_hub.infrastructure.enrichment.resolve.eqc_provider import (
    EqcProvider,
    cache_company_info,
)
from work_data_hub.infrastructure.enrichment.types import CompanyInfo
from work_data_hub.infrastructure.eqc.client import EqcClient, EqcClientConfig
from work_data_hub.infrastructure.eqc.rate_limit import InProcessRateLimiter

REGISTRY: Registry = build_registry()
FAST = EqcClientConfig(
    read_timeout_s=0.5, deadline_s=2.0, max_attempts=2, backoff_base_s=0.01, backoff_cap_s=0.02
)


@pytest.fixture
def eqc() -> Iterator[EqcServerHandle]:
    with running_eqc_server(registry=REGISTRY) as handle:
        yield handle


@pytest.fixture
def client(eqc: EqcServerHandle) -> Iterator[EqcClient]:
    with EqcClient(
        eqc.base_url, eqc.token, config=FAST, rate_limiter=InProcessRateLimiter(10_000, 1.0)
    ) as made:
        yield made


def _mappings(conn: sa.Connection, company_id: str) -> dict[str, float]:
    mapping = tables.company_mapping
    rows = conn.execute(
        sa.select(mapping.c.alias_name, mapping.c.confidence).where(
            mapping.c.canonical_id == company_id,
            mapping.c.match_type == "eqc",
            mapping.c.source == "eqc",
        )
    ).all()
    return {alias: round(float(confidence), 4) for alias, confidence in rows}


def _master(conn: sa.Connection, company_id: str) -> sa.Row[tuple[str, str | None, str]] | None:
    master = tables.company_master
    return conn.execute(
        sa.select(master.c.official_name, master.c.unified_credit_code, master.c.source).where(
            master.c.company_id == company_id
        )
    ).first()


# -- budget accounting ------------------------------------------------------------------


def test_hit_miss_and_error_each_spend_exactly_one(eqc: EqcServerHandle, client: EqcClient) -> None:
    company = REGISTRY.companies[30]
    broken = REGISTRY.companies[31]
    eqc.faults.add_rule(broken.full_name, status=503)
    provider = EqcProvider(client, budget=4)
    assert provider.lookup(company.full_name) is not None
    assert provider.lookup("查无此公司") is None
    assert provider.lookup(broken.full_name) is None
    assert (provider.hits, provider.misses, provider.errors) == (1, 1, 1)
    assert (provider.consumed, provider.remaining_budget) == (3, 1)
    assert eqc.calls.keys() == [company.full_name, "查无此公司", broken.full_name, broken.full_name]


def test_nothing_is_called_once_the_budget_is_spent(
    eqc: EqcServerHandle, client: EqcClient
) -> None:
    provider = EqcProvider(client, budget=2)
    for company in REGISTRY.companies[32:36]:
        provider.lookup(company.full_name)
    assert provider.consumed == 2
    assert eqc.calls.count(SEARCH_PATH) == 2


def test_token_expired_disables_the_provider_and_stops_spending(
    eqc: EqcServerHandle, client: EqcClient
) -> None:
    eqc.faults.set(token_expires_after=2)  # one lookup = search + detail
    provider = EqcProvider(client, budget=10)
    assert provider.lookup(REGISTRY.companies[40].full_name) is not None
    assert provider.lookup(REGISTRY.companies[41].full_name) is None
    calls_at_expiry = len(eqc.calls)
    for company in REGISTRY.companies[42:45]:
        assert provider.lookup(company.full_name) is None
    assert provider.disabled
    assert provider.consumed == 2
    assert provider.remaining_budget == 0
    assert len(eqc.calls) == calls_at_expiry == 3


def test_401_disables_the_provider_after_one_call(eqc: EqcServerHandle) -> None:
    with EqcClient(
        eqc.base_url, "wrong-token", config=FAST, rate_limiter=InProcessRateLimiter(100, 1.0)
    ) as bad:
        provider = EqcProvider(bad, budget=5)
        for company in REGISTRY.companies[46:49]:
            assert provider.lookup(company.full_name) is None
    assert provider.disabled
    assert (provider.consumed, provider.errors) == (1, 1)
    assert len(eqc.calls) == 1


# -- caching ----------------------------------------------------------------------------


def test_exact_hit_is_cached_with_former_names(client: EqcClient, db_conn: sa.Connection) -> None:
    company = next(c for c in REGISTRY.companies if len(c.former_names) == 2)
    provider = EqcProvider(client, budget=1, mapping_repository=CompanyMappingRepository(db_conn))
    info = provider.lookup(company.full_name)
    assert info is not None
    assert provider.cached == 1
    master = _master(db_conn, company.company_id)
    assert master is not None
    assert tuple(master) == (company.full_name, company.unite_code, "eqc")
    expected = {normalize_for_temp_id(company.full_name): 1.0}
    expected |= {normalize_for_temp_id(name): 0.9 for name in company.former_names}
    assert _mappings(db_conn, company.company_id) == expected


def test_fuzzy_hit_caches_the_looked_up_name_at_its_confidence(
    client: EqcClient, db_conn: sa.Connection
) -> None:
    company = next(c for c in REGISTRY.companies if len(c.former_names) == 2)
    provider = EqcProvider(client, budget=1, mapping_repository=CompanyMappingRepository(db_conn))
    info = provider.lookup(company.former_names[0])
    assert info is not None
    assert info.confidence == 0.8
    assert _mappings(db_conn, company.company_id) == {
        normalize_for_temp_id(company.former_names[0]): 0.8,
        normalize_for_temp_id(company.full_name): 1.0,
        normalize_for_temp_id(company.former_names[1]): 0.72,
    }


def test_cached_hit_is_found_by_the_db_cache_lookup(
    client: EqcClient, db_conn: sa.Connection, eqc: EqcServerHandle
) -> None:
    company = REGISTRY.companies[50]
    repository = CompanyMappingRepository(db_conn)
    EqcProvider(client, budget=1, mapping_repository=repository).lookup(company.full_name)
    calls = len(eqc.calls)
    found = repository.lookup_batch([(normalize_for_temp_id(company.full_name), "eqc")])
    assert [m.canonical_id for m in found] == [company.company_id]
    assert len(eqc.calls) == calls


def test_hit_below_min_confidence_is_returned_but_not_cached(
    eqc: EqcServerHandle, db_conn: sa.Connection
) -> None:
    company = REGISTRY.companies[51]
    variant = REGISTRY.homophone_variant(company)
    assert variant is not None
    with EqcClient(
        eqc.base_url,
        eqc.token,
        config=FAST,
        rate_limiter=InProcessRateLimiter(100, 1.0),
        confidence_overrides={"拼音": 0.5},
    ) as weak:
        provider = EqcProvider(weak, budget=1, mapping_repository=CompanyMappingRepository(db_conn))
        info = provider.lookup(variant)
    assert info is not None
    assert info.confidence == 0.5
    assert provider.cached == 0
    assert _master(db_conn, company.company_id) is None


def test_pinyin_hit_at_point_six_is_cached(client: EqcClient, db_conn: sa.Connection) -> None:
    company = REGISTRY.companies[52]
    variant = REGISTRY.homophone_variant(company)
    assert variant is not None
    provider = EqcProvider(client, budget=1, mapping_repository=CompanyMappingRepository(db_conn))
    assert provider.lookup(variant) is not None
    assert _mappings(db_conn, company.company_id)[normalize_for_temp_id(variant)] == 0.6


def test_failed_cache_write_rolls_back_to_the_savepoint_only(
    client: EqcClient, db_conn: sa.Connection
) -> None:
    company = REGISTRY.companies[53]
    repository = CompanyMappingRepository(db_conn)
    # Another company already holds this credit code: the upsert violates the unique key.
    repository.upsert_company(
        company_id="other", official_name="别的公司", unified_credit_code=company.unite_code
    )
    provider = EqcProvider(client, budget=1, mapping_repository=repository)
    assert provider.lookup(company.full_name) is not None
    assert (provider.cached, provider.cache_errors) == (0, 1)
    # The caller's transaction is still usable and kept its earlier write.
    assert _master(db_conn, "other") is not None
    assert _master(db_conn, company.company_id) is None
    assert _mappings(db_conn, company.company_id) == {}


def test_cache_never_overwrites_a_mapping_to_another_id(db_conn: sa.Connection) -> None:
    repository = CompanyMappingRepository(db_conn)
    first = CompanyInfo(company_id="A1", official_name="甲有限公司")
    cache_company_info(repository, "甲有限公司", first)
    result = cache_company_info(
        repository, "甲有限公司", CompanyInfo(company_id="B2", official_name="乙有限公司")
    )
    assert result.conflicts == 1
    assert _mappings(db_conn, "A1") == {"甲有限公司": 1.0}
