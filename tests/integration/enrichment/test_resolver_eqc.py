"""The resolver's EQC tier over real HTTP: local EQC server, real provider and repository."""

from __future__ import annotations

import pandas as pd
import pytest
import sqlalchemy as sa

from work_data_hub.eqc_server.testing import running_eqc_server
from work_data_hub.infrastructure.enrichment.company_id_resolver import CompanyIdResolver
from work_data_hub.infrastructure.enrichment.mapping_repository import CompanyMappingRepository
from work_data_hub.infrastructure.enrichment.normalizer import normalize_for_temp_id
from work_data_hub.infrastructure.enrichment.resolve.eqc_provider import EqcProvider
from work_data_hub.infrastructure.enrichment.types import ResolutionStrategy
from work_data_hub.infrastructure.eqc.client import SEARCH_PATH, EqcClient
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
