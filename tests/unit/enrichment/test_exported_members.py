"""The package re-exports the contract names: complete, sorted, each from its module."""

from __future__ import annotations

import importlib

import pytest

from work_data_hub.infrastructure import enrichment

#: Public names of the contract, per module (spec sections 1-3 and the agreed interfaces).
CONTRACT = {
    "types": [
        "YAML_LEVELS",
        "CompanyInfo",
        "EnqueueResult",
        "EqcProviderProtocol",
        "InsertBatchResult",
        "MappingRecord",
        "MappingRepositoryProtocol",
        "MatchResult",
        "ResolutionResult",
        "ResolutionStatistics",
        "ResolutionStrategy",
    ],
    "company_id_resolver": ["CompanyIdResolver"],
    "normalizer": [
        "generate_temp_company_id",
        "normalize_for_temp_id",
        "normalize_series",
        "temp_ids_for_series",
    ],
    "mapping_repository": ["CompanyMappingRepository"],
    "resolve.overrides": ["load_company_id_overrides"],
    "resolve.eqc_provider": ["EqcProvider", "cache_company_info"],
}


def _sort_key(name: str) -> tuple[int, str]:
    # ruff's RUF022 order: SCREAMING_CASE, then CamelCase, then the rest.
    if name.isupper():
        return (0, name)
    return (1, name) if name[:1].isupper() else (2, name)


def test_all_is_sorted() -> None:
    assert enrichment.__all__ == sorted(enrichment.__all__, key=_sort_key)


def test_all_is_exactly_the_contract() -> None:
    expected = {name for names in CONTRACT.values() for name in names}
    assert set(enrichment.__all__) == expected
    assert len(enrichment.__all__) == len(expected)


@pytest.mark.parametrize(
    ("module", "name"), [(m, n) for m, names in CONTRACT.items() for n in names]
)
def test_each_export_is_the_modules_own_object(module: str, name: str) -> None:
    source = importlib.import_module(f"work_data_hub.infrastructure.enrichment.{module}")
    assert name in source.__all__
    assert getattr(enrichment, name) is getattr(source, name)


def test_every_export_is_bound_in_the_package_namespace() -> None:
    """Eager re-exports: each name is an attribute of the package itself, not a loader's."""
    assert all(name in vars(enrichment) for name in enrichment.__all__)
    assert "__getattr__" not in vars(enrichment)
