"""Settings come from the environment and fail with one line naming the variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from work_data_hub.errors import ConfigError
from work_data_hub.settings import DEV_ALIAS_SALT, Settings


def test_defaults_use_embedded_sqlite_in_data_folder() -> None:
    settings = Settings.from_env({})
    assert settings.database_url == "sqlite:///.wdh/wdh.sqlite3"
    assert settings.mappings_dir == Path("data/mappings")
    assert settings.alias_salt == DEV_ALIAS_SALT
    assert settings.salt_is_default
    assert not settings.eqc_configured


def test_salt_and_token_are_hidden_from_repr() -> None:
    settings = Settings.from_env({"WDH_ALIAS_SALT": "s3cret-salt", "WDH_EQC_TOKEN": "tok-123"})
    assert "s3cret-salt" not in repr(settings)
    assert "tok-123" not in repr(settings)


def test_production_requires_salt() -> None:
    with pytest.raises(ConfigError) as info:
        Settings.from_env({"WDH_ENV": "production"})
    assert info.value.variable == "WDH_ALIAS_SALT"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DATABASE_URL", "mysql://x"),
        ("DATABASE_URL", "not a url"),
        ("WDH_ENV", "staging"),
        ("WDH_EQC_BASE_URL", "ftp://eqc"),
        ("WDH_EQC_RATE_LIMIT", "ten"),
        ("WDH_EQC_RATE_LIMIT", "0"),
        ("WDH_EQC_RATE_WINDOW_S", "-1"),
        ("WDH_EQC_RATE_WINDOW_S", "soon"),
        ("WDH_EQC_NOT_FOUND_DAYS", "0"),
        ("WDH_ASYNC_ENRICHMENT_ENABLED", "maybe"),
        ("WDH_LOG_FORMAT", "xml"),
    ],
)
def test_invalid_value_names_the_variable(variable: str, value: str) -> None:
    with pytest.raises(ConfigError) as info:
        Settings.from_env({variable: value})
    assert info.value.variable == variable
    assert variable in str(info.value)


def test_explicit_values_are_read() -> None:
    settings = Settings.from_env(
        {
            "DATABASE_URL": "postgresql://u:p@h/db",
            "WDH_EQC_TOKEN": "t",
            "WDH_EQC_BASE_URL": "http://127.0.0.1:9/",
            "WDH_ASYNC_ENRICHMENT_ENABLED": "false",
            "WDH_ENRICHMENT_QUEUE_THRESHOLD": "5",
            "WDH_LOG_LEVEL": "debug",
        }
    )
    assert settings.eqc_configured
    assert settings.eqc_base_url == "http://127.0.0.1:9"
    assert settings.async_enrichment_enabled is False
    assert settings.enrichment_queue_threshold == 5
    assert settings.log_level == "DEBUG"


def test_not_found_memory_defaults_to_thirty_days_and_is_read() -> None:
    base = {"DATABASE_URL": "sqlite:///x.db"}
    assert Settings.from_env(base).eqc_not_found_days == 30
    assert Settings.from_env({**base, "WDH_EQC_NOT_FOUND_DAYS": "7"}).eqc_not_found_days == 7
