"""What every command needs: settings, logging and the engine, built once per call.

SQLAlchemy is imported when an engine is opened, not with the CLI: ``--help`` and usage
errors never pay for it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from work_data_hub.cli._console import warn
from work_data_hub.errors import ConfigError, StorageError
from work_data_hub.settings import Settings
from work_data_hub.utils.logging import configure_logging

if TYPE_CHECKING:
    import sqlalchemy as sa

__all__ = ["load_settings", "open_engine", "require_eqc", "warn_if_dev_salt"]


def load_settings() -> Settings:
    """Settings from the environment, with logging configured from them."""
    settings = Settings.from_env()
    configure_logging(
        level=settings.log_level,
        log_format=settings.log_format,
        secrets=(settings.eqc_token, None if settings.salt_is_default else settings.alias_salt),
    )
    return settings


@contextmanager
def open_engine(settings: Settings) -> Iterator[sa.Engine]:
    """The engine for ``settings.database_url``; a failure to connect is a StorageError."""
    import sqlalchemy as sa

    from work_data_hub.infrastructure.db import engine as db_engine
    from work_data_hub.infrastructure.db.errors import driver_error_type

    engine = db_engine.create_engine(settings.database_url)
    try:
        try:
            with engine.connect():
                pass
        except sa.exc.DBAPIError as exc:
            raise StorageError(
                f"cannot connect to the database at {db_engine.masked_url(settings.database_url)}",
                error_type=driver_error_type(exc),
            ) from exc
        yield engine
    finally:
        engine.dispose()


def warn_if_dev_salt(settings: Settings) -> None:
    """Temporary ids made with the development salt must not reach production data."""
    if settings.salt_is_default:
        warn(
            "WDH_ALIAS_SALT is not set: temporary ids use the development salt "
            "(set it before processing real data)"
        )


def require_eqc(settings: Settings, reason: str) -> tuple[str, str]:
    """``(base_url, token)``, or a ConfigError naming the missing variable."""
    if not settings.eqc_token:
        raise ConfigError(f"{reason} needs WDH_EQC_TOKEN to be set", variable="WDH_EQC_TOKEN")
    if not settings.eqc_base_url:
        raise ConfigError(f"{reason} needs WDH_EQC_BASE_URL to be set", variable="WDH_EQC_BASE_URL")
    return settings.eqc_base_url, settings.eqc_token
