"""What every command needs: settings, logging and the engine, built once per call."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

from work_data_hub.errors import StorageError
from work_data_hub.infrastructure.db import engine as db_engine
from work_data_hub.settings import Settings
from work_data_hub.utils.logging import configure_logging

__all__ = ["load_settings", "open_engine"]


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
    engine = db_engine.create_engine(settings.database_url)
    try:
        try:
            with engine.connect():
                pass
        except sa.exc.DBAPIError as exc:
            raise StorageError(
                f"cannot connect to the database at {db_engine.masked_url(settings.database_url)}",
                error_type=type(exc.orig).__name__,
            ) from exc
        yield engine
    finally:
        engine.dispose()
