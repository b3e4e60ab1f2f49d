"""The library's contract: environment defaults as the CLI has them, the original's shapes."""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd
import pytest
import structlog

from work_data_hub.errors import ConfigError
from work_data_hub.infrastructure.enrichment import (
    CompanyIdResolver,
    EnqueueResult,
    InsertBatchResult,
    MatchResult,
    ResolutionStatistics,
    generate_temp_company_id,
)
from work_data_hub.infrastructure.enrichment.resolve import overrides
from work_data_hub.settings import DEV_ALIAS_SALT

NAME = "中国平安保险股份有限公司"


def _ids(resolver: CompanyIdResolver, *names: str) -> list[object]:
    frame = pd.DataFrame({"客户名称": list(names)})
    return resolver.resolve_batch(frame).data["company_id"].tolist()


def test_salt_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WDH_ALIAS_SALT", "salt-from-env")
    assert _ids(CompanyIdResolver(), NAME) == [generate_temp_company_id(NAME, "salt-from-env")]


def test_production_without_salt_refuses(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WDH_ENV", "production")
    with pytest.raises(ConfigError) as caught:
        CompanyIdResolver()
    assert caught.value.variable == "WDH_ALIAS_SALT"


def test_development_without_salt_uses_the_dev_salt_and_warns_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from work_data_hub.infrastructure.enrichment import company_id_resolver

    monkeypatch.setattr(company_id_resolver, "_dev_salt_warned", False)
    with structlog.testing.capture_logs() as logs:
        first, second = CompanyIdResolver(), CompanyIdResolver()
    assert (
        _ids(first, NAME) == _ids(second, NAME) == [generate_temp_company_id(NAME, DEV_ALIAS_SALT)]
    )
    warnings = [e for e in logs if e["event"] == "resolver.development_salt"]
    assert len(warnings) == 1
    assert warnings[0]["log_level"] == "warning"


def test_an_explicit_salt_wins_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WDH_ALIAS_SALT", "salt-from-env")
    resolver = CompanyIdResolver(yaml_overrides={}, salt="given")
    assert _ids(resolver, NAME) == [generate_temp_company_id(NAME, "given")]


@pytest.fixture
def mappings_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """WDH_MAPPINGS_DIR with a name override excluding ``保留账户管理``."""
    (tmp_path / overrides.override_file_name("name")).write_text(
        "保留账户管理: __EMPTY__\n", encoding="utf-8"
    )
    monkeypatch.setenv("WDH_MAPPINGS_DIR", str(tmp_path))
    return tmp_path


@pytest.mark.usefixtures("mappings_dir")
def test_no_overrides_argument_loads_the_mappings_dir() -> None:
    result = CompanyIdResolver(salt="s").resolve_batch(pd.DataFrame({"客户名称": ["保留账户管理"]}))
    assert result.data["company_id"].isna().all()
    assert result.statistics.excluded == 1


@pytest.mark.usefixtures("mappings_dir")
def test_empty_overrides_mean_none_even_with_a_mappings_dir() -> None:
    result = CompanyIdResolver(yaml_overrides={}, salt="s").resolve_batch(
        pd.DataFrame({"客户名称": ["保留账户管理"]})
    )
    assert result.statistics.excluded == 0
    assert result.statistics.temp_ids_generated == 1


def test_a_dict_given_as_repository_is_a_type_error_naming_the_parameter() -> None:
    with pytest.raises(TypeError, match="mapping_repository"):
        CompanyIdResolver({}, {"name": {"甲": "1"}}, salt="s")  # type: ignore[arg-type]


def test_an_object_that_is_no_provider_is_a_type_error_naming_the_parameter() -> None:
    with pytest.raises(TypeError, match="eqc_provider"):
        CompanyIdResolver({}, None, object(), salt="s")  # type: ignore[arg-type]


def test_a_hardcode_key_without_plan_and_name_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="hardcode"):
        CompanyIdResolver({"hardcode": {"中信": "1"}}, salt="s")


def test_result_types_accept_positional_fields() -> None:
    assert EnqueueResult(2, 0) == EnqueueResult(queued_count=2, skipped_count=0)
    assert InsertBatchResult(3, 1, 0) == InsertBatchResult(inserted=3, skipped=1, conflicts=0)
    match = MatchResult("甲", "C1", "name", 4, "internal", 1.0)
    assert match.canonical_id == "C1"


def test_insert_batch_result_has_the_original_count_names() -> None:
    result = InsertBatchResult(inserted=3, skipped=1, conflicts=2)
    assert (result.inserted_count, result.skipped_count) == (3, 1)


def test_match_result_company_id_is_the_canonical_id() -> None:
    assert MatchResult("甲", "C1", "name", 4, "internal", 1.0).company_id == "C1"


def test_statistics_dict_has_the_original_derived_keys() -> None:
    stats = ResolutionStatistics(
        yaml_hits={"plan": 2, "name": 3}, backflow_stats={"inserted": 1, "skipped": 0}
    )
    as_dict = stats.to_dict()
    assert as_dict["yaml_hits_total"] == 5
    assert as_dict["backflow"] == {"inserted": 1, "skipped": 0}


def test_the_override_loader_keeps_the_original_import_path() -> None:
    from work_data_hub.config.mapping_loader import load_company_id_overrides

    assert load_company_id_overrides is overrides.load_company_id_overrides


def test_a_host_logging_handler_receives_the_resolver_events_with_counts_only(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="work_data_hub")
    CompanyIdResolver(yaml_overrides={}, salt="s").resolve_batch(
        pd.DataFrame({"客户名称": [NAME, NAME]})
    )
    records = [r for r in caplog.records if r.name.startswith("work_data_hub.")]
    events = {r.msg["event"] for r in records if isinstance(r.msg, dict)}
    assert "resolver.batch_resolved" in events
    assert all(NAME not in r.getMessage() for r in records)
    assert all(generate_temp_company_id(NAME, "s") not in r.getMessage() for r in records)


def test_events_below_the_host_level_are_not_delivered(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="work_data_hub")
    CompanyIdResolver(yaml_overrides={}, salt="s").resolve_batch(pd.DataFrame({"客户名称": [NAME]}))
    assert not [r for r in caplog.records if r.name.startswith("work_data_hub.")]
