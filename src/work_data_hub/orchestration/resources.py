"""Dagster resources: the database and the EQC client, configured from the environment.

Fields left empty are taken from :class:`~work_data_hub.settings.Settings` when the
resource is used, so ``Definitions`` can be built without any environment present.
"""

from __future__ import annotations

import sqlalchemy as sa
from dagster import ConfigurableResource
from pydantic import Field

from work_data_hub.errors import ConfigError
from work_data_hub.infrastructure.db.engine import create_engine
from work_data_hub.infrastructure.eqc.client import EqcClient
from work_data_hub.infrastructure.eqc.rate_limit import DatabaseRateLimiter
from work_data_hub.settings import Settings

__all__ = ["DatabaseResource", "EqcResource", "load_settings"]


def load_settings() -> Settings:
    """Settings of this process (the environment Dagster runs the code in)."""
    return Settings.from_env()


class DatabaseResource(ConfigurableResource):  # type: ignore[type-arg]
    """The WorkDataHub database; ``database_url`` defaults to ``DATABASE_URL``."""

    database_url: str = ""

    def url(self) -> str:
        return self.database_url or load_settings().database_url

    def create_engine(self) -> sa.Engine:
        """A new engine; the caller disposes of it."""
        return create_engine(self.url())


class EqcResource(ConfigurableResource):  # type: ignore[type-arg]
    """The EQC registry; empty fields default to ``WDH_EQC_*`` settings.

    The client's rate limit is shared through the database by every worker.
    """

    base_url: str = ""
    token: str = Field(default="", repr=False)
    rate_limit: int = 0
    rate_window_s: float = 0.0

    def create_client(self, engine: sa.Engine) -> EqcClient:
        """A client paced by the database-shared limiter; the caller closes it."""
        settings = load_settings()
        base_url = self.base_url or settings.eqc_base_url
        token = self.token or settings.eqc_token
        if not base_url or not token:
            raise ConfigError(
                "WDH_EQC_BASE_URL and WDH_EQC_TOKEN must be set", variable="WDH_EQC_TOKEN"
            )
        limiter = DatabaseRateLimiter(
            engine,
            self.rate_limit or settings.eqc_rate_limit,
            self.rate_window_s or settings.eqc_rate_window_s,
        )
        return EqcClient(base_url, token, rate_limiter=limiter)
