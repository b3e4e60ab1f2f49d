"""EQC collaborators built from settings: a client for workers, a provider for ``resolve``."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from work_data_hub.cli._context import require_eqc
from work_data_hub.cli._pipeline import ProviderFactory
from work_data_hub.infrastructure.enrichment.mapping_repository import CompanyMappingRepository
from work_data_hub.infrastructure.enrichment.resolve.eqc_provider import EqcProvider
from work_data_hub.infrastructure.enrichment.types import EqcProviderProtocol
from work_data_hub.infrastructure.eqc import rate_limit
from work_data_hub.infrastructure.eqc.client import EqcClient
from work_data_hub.settings import Settings

__all__ = ["make_client", "provider_factory"]


def make_client(settings: Settings, reason: str, *, engine: sa.Engine | None = None) -> EqcClient:
    """A client for ``WDH_EQC_BASE_URL``; with ``engine`` the rate limit is shared through it."""
    base_url, token = require_eqc(settings, reason)
    limiter: Any
    if engine is not None:
        limiter = rate_limit.DatabaseRateLimiter(
            engine, settings.eqc_rate_limit, settings.eqc_rate_window_s
        )
    else:
        limiter = rate_limit.InProcessRateLimiter(
            settings.eqc_rate_limit, settings.eqc_rate_window_s
        )
    return EqcClient(base_url, token, rate_limiter=limiter)


def provider_factory(client: EqcClient) -> ProviderFactory:
    """Per chunk, a provider over ``client`` with the run's remaining budget."""

    def build(
        repository: CompanyMappingRepository | None, budget: int
    ) -> EqcProviderProtocol | None:
        provider: EqcProviderProtocol = EqcProvider(
            client, budget=budget, mapping_repository=repository, commit_cache_writes=True
        )
        return provider

    return build
