"""The resolver's EQC tier over real HTTP: local EQC server, real provider and repository."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa

from work_data_hub.eqc_server.testing import running_eqc_server
from work_data_hub.infrastructure.enrichment.company_id_resolver import CompanyIdResolver
from work_data_hub.infrastructure.enrichment.mapping_repository import CompanyMappingRepository
from work_data_hub.infrastructure.enrichment.normalizer import normalize_for_temp_id
from work_data_hub.infrastructure.enrichment.resolve.eqc_provider import EqcProvider
from work_data_hub.infrastructure.enrichment.types import ResolutionStrategy
from work_data_hub.infrastructure.eqc.client import SEARCH_PATH, EqcClient, EqcClientConfig
from work_data_hub.infrastructure.eqc.rate_limit import InProcessRateLimiter

UNKNOWN = ["查无此司甲贸易有限公司", "查无此司乙贸易有限公司"]


def _resolve(
    engine: sa.Engine, base_url: str, token: str, df: pd.DataFrame, budget: int
) -> pd.DataFrame:
    with (
        EqcClient(base_url, token, rate_limiter=InProcessRateLimiter(1000, 1.0)) as client,
        engine.begin() as conn,
    ):
        repository = CompanyMappingRepository(conn)
        provider = EqcProvider(client, budget=budget, mapping_repository=repository)
        resolver = CompanyIdResolver(mapping_repository=repository, eqc_provider=provider)
        result = resolver.resolve_batch(df, ResolutionStrategy(sync_lookup_budget=budget))
    return result.data


@pytest.mark.slow
@pytest.mark.parametrize("budget", [2, 10])
def test_budget_bounds_lookups_and_hits_are_cached_for_the_next_run(
    db_engine: sa.Engine, budget: int
) -> None:
    with running_eqc_server(registry_size=500) as eqc:
        known = [
            c.full_name
            for c in eqc.registry.companies
            if normalize_for_temp_id(c.full_name) == normalize_for_temp_id(c.full_name + " ")
            and eqc.registry.lookup_name(normalize_for_temp_id(c.full_name)) is not None
        ][:3]
        assert len(known) == 3
        # Known names are the most frequent, so they are looked up first.
        names = [n for n in known for _ in range(3)] + UNKNOWN
        df = pd.DataFrame({"客户名称": names})

        data = _resolve(db_engine, eqc.base_url, eqc.token, df, budget)
        searches = [r for r in eqc.calls.records() if r.path == SEARCH_PATH]
        assert len(searches) == min(budget, len(known) + len(UNKNOWN))
        hit_names = known[: min(budget, len(known))]
        ids = data["company_id"].tolist()
        expected = {n: eqc.registry.lookup_name(normalize_for_temp_id(n)) for n in hit_names}
        for name, company in expected.items():
            assert company is not None
            assert ids[names.index(name)] == company.company_id

        calls_before = len(eqc.calls.records())
        again = pd.DataFrame({"客户名称": hit_names})
        data = _resolve(db_engine, eqc.base_url, eqc.token, again, budget)
        assert len(eqc.calls.records()) == calls_before
        assert data["company_id"].tolist() == [expected[n].company_id for n in hit_names]  # type: ignore[union-attr]


def _resolve_stats(
    engine: sa.Engine, client: EqcClient, names: list[str], budget: int, wait_s: float
) -> Any:
    with engine.begin() as conn:
        repository = CompanyMappingRepository(conn)
        provider = EqcProvider(client, budget=budget, mapping_repository=repository)
        resolver = CompanyIdResolver(mapping_repository=repository, eqc_provider=provider)
        strategy = ResolutionStrategy(sync_lookup_budget=budget, sync_wait_s=wait_s)
        return resolver.resolve_batch(pd.DataFrame({"客户名称": names}), strategy).statistics


def test_an_exhausted_limit_spends_no_budget_and_the_statistics_warn(db_engine: sa.Engine) -> None:
    slept: list[float] = []
    limiter = InProcessRateLimiter(3, 3600.0, sleep=slept.append)
    with running_eqc_server(registry_size=200) as eqc:
        names = [*UNKNOWN, "查无此司丙", "查无此司丁", "查无此司戊"]
        with EqcClient(eqc.base_url, eqc.token, rate_limiter=limiter) as client:
            stats = _resolve_stats(db_engine, client, names, 10, 0.5)
        calls = len(eqc.calls)
    assert calls == 3  # the limit's three slots, then no waiting for the fourth
    assert sum(slept) <= 0.5  # waited at most --sync-wait, never for the hour-away slot
    assert stats.budget_consumed == 3
    assert stats.budget_remaining == 7
    assert stats.eqc_sync_not_looked_up == 2
    assert stats.temp_ids_generated == 5
    assert any("no rate-limit slot" in warning for warning in stats.warnings)


def test_an_unreachable_eqc_stops_the_tier_after_the_first_lookup(db_engine: sa.Engine) -> None:
    client = EqcClient(
        "http://127.0.0.1:9",  # discard port: nothing listens
        "tok",
        config=EqcClientConfig(max_attempts=1, connect_timeout_s=1.0),
        rate_limiter=InProcessRateLimiter(1000, 1.0),
    )
    with client:
        stats = _resolve_stats(db_engine, client, UNKNOWN, 10, 0.5)
    assert stats.budget_consumed == 1
    assert stats.eqc_sync_unreachable == 1
    assert any("could not be reached" in warning for warning in stats.warnings)
