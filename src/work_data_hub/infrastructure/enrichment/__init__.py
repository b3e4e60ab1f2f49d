"""Company enrichment: normalizer, overrides, repositories, resolver, workers, remap.

The contract names are re-exported here (``from work_data_hub.infrastructure.enrichment
import CompanyIdResolver``); the modules they come from are the contract paths too.
"""

from __future__ import annotations

from work_data_hub.infrastructure.enrichment.company_id_resolver import CompanyIdResolver
from work_data_hub.infrastructure.enrichment.mapping_repository import CompanyMappingRepository
from work_data_hub.infrastructure.enrichment.normalizer import (
    generate_temp_company_id,
    normalize_for_temp_id,
    normalize_series,
    temp_ids_for_series,
)
from work_data_hub.infrastructure.enrichment.resolve.eqc_provider import (
    EqcProvider,
    cache_company_info,
)
from work_data_hub.infrastructure.enrichment.resolve.overrides import load_company_id_overrides
from work_data_hub.infrastructure.enrichment.types import (
    YAML_LEVELS,
    CompanyInfo,
    EnqueueResult,
    EqcProviderProtocol,
    InsertBatchResult,
    MappingRecord,
    MappingRepositoryProtocol,
    MatchResult,
    ResolutionResult,
    ResolutionStatistics,
    ResolutionStrategy,
)

__all__ = [
    "YAML_LEVELS",
    "CompanyIdResolver",
    "CompanyInfo",
    "CompanyMappingRepository",
    "EnqueueResult",
    "EqcProvider",
    "EqcProviderProtocol",
    "InsertBatchResult",
    "MappingRecord",
    "MappingRepositoryProtocol",
    "MatchResult",
    "ResolutionResult",
    "ResolutionStatistics",
    "ResolutionStrategy",
    "cache_company_info",
    "generate_temp_company_id",
    "load_company_id_overrides",
    "normalize_for_temp_id",
    "normalize_series",
    "temp_ids_for_series",
]
