"""Company enrichment: normalizer, overrides, repositories, resolver, workers, remap.

The contract names are re-exported here (``from work_data_hub.infrastructure.enrichment
import CompanyIdResolver``). They load on first access, so importing one submodule does
not import them all (and the EQC client, which uses :mod:`types`, cannot form a cycle).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from work_data_hub.infrastructure.enrichment.company_id_resolver import CompanyIdResolver
    from work_data_hub.infrastructure.enrichment.mapping_repository import (
        CompanyMappingRepository,
    )
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

#: Which submodule defines each exported name.
_SOURCES = {
    "CompanyIdResolver": "company_id_resolver",
    "EqcProvider": "resolve.eqc_provider",
    "cache_company_info": "resolve.eqc_provider",
    "CompanyMappingRepository": "mapping_repository",
    "generate_temp_company_id": "normalizer",
    "normalize_for_temp_id": "normalizer",
    "normalize_series": "normalizer",
    "temp_ids_for_series": "normalizer",
    "load_company_id_overrides": "resolve.overrides",
    "YAML_LEVELS": "types",
    "CompanyInfo": "types",
    "EnqueueResult": "types",
    "EqcProviderProtocol": "types",
    "InsertBatchResult": "types",
    "MappingRecord": "types",
    "MappingRepositoryProtocol": "types",
    "MatchResult": "types",
    "ResolutionResult": "types",
    "ResolutionStatistics": "types",
    "ResolutionStrategy": "types",
}


def __getattr__(name: str) -> Any:
    source = _SOURCES.get(name)
    if source is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{source}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
