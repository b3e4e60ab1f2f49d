"""Settings read from the environment — the only module that looks at ``os.environ``.

Entry points (CLI, Dagster resources, benchmarks) build one :class:`Settings` with
:meth:`Settings.from_env`; everything below them receives values, not the environment.
A bad value raises :class:`~work_data_hub.errors.ConfigError` naming the variable.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from work_data_hub.errors import ConfigError

__all__ = [
    "DEFAULT_DATA_DIR",
    "DEFAULT_MAPPINGS_DIR",
    "DEV_ALIAS_SALT",
    "Settings",
]

DEFAULT_DATA_DIR = ".wdh"
DEFAULT_DATABASE_FILE = "wdh.sqlite3"
DEFAULT_MAPPINGS_DIR = "data/mappings"
DEFAULT_QUEUE_THRESHOLD = 1000
DEFAULT_EQC_RATE_LIMIT = 10
DEFAULT_EQC_RATE_WINDOW_S = 60.0
#: Days an EQC "not found" is trusted before the name is searched again.
DEFAULT_EQC_NOT_FOUND_DAYS = 30
#: Used outside production when ``WDH_ALIAS_SALT`` is unset; temp ids made with it are
#: stable for development but must never reach production data.
DEV_ALIAS_SALT = "wdh-development-salt-not-for-production"

_URL_SCHEMES = ("sqlite", "postgresql", "postgres")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}

Environment = Literal["development", "production"]
LogFormat = Literal["auto", "json", "console"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    """Validated configuration of one process."""

    database_url: str
    environment: Environment = "development"
    alias_salt: str = field(default=DEV_ALIAS_SALT, repr=False)
    salt_is_default: bool = True
    mappings_dir: Path = Path(DEFAULT_MAPPINGS_DIR)
    data_dir: Path = Path(DEFAULT_DATA_DIR)
    eqc_token: str | None = field(default=None, repr=False)
    eqc_base_url: str | None = None
    eqc_rate_limit: int = DEFAULT_EQC_RATE_LIMIT
    eqc_rate_window_s: float = DEFAULT_EQC_RATE_WINDOW_S
    eqc_not_found_days: int = DEFAULT_EQC_NOT_FOUND_DAYS
    async_enrichment_enabled: bool = True
    enrichment_queue_threshold: int = DEFAULT_QUEUE_THRESHOLD
    log_format: LogFormat = "auto"
    log_level: str = "INFO"

    @property
    def eqc_configured(self) -> bool:
        """Whether both EQC variables are set, so a provider can be built."""
        return bool(self.eqc_token and self.eqc_base_url)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Build settings from ``env`` (default: the process environment)."""
        env = os.environ if env is None else env
        environment = _choice(env, "WDH_ENV", ("development", "production"), "development")
        data_dir = Path(_text(env, "WDH_DATA_DIR") or DEFAULT_DATA_DIR)
        database_url = _text(env, "DATABASE_URL") or f"sqlite:///{data_dir / DEFAULT_DATABASE_FILE}"
        scheme = database_url.split(":", 1)[0].split("+", 1)[0].lower()
        if scheme not in _URL_SCHEMES or "://" not in database_url:
            raise ConfigError(
                "DATABASE_URL must be a sqlite:/// or postgresql:// URL", variable="DATABASE_URL"
            )
        salt = _text(env, "WDH_ALIAS_SALT")
        if salt is None and environment == "production":
            raise ConfigError(
                "WDH_ALIAS_SALT must be set when WDH_ENV=production", variable="WDH_ALIAS_SALT"
            )
        return cls(
            database_url=database_url,
            environment=environment,  # type: ignore[arg-type]
            alias_salt=salt or DEV_ALIAS_SALT,
            salt_is_default=salt is None,
            mappings_dir=Path(_text(env, "WDH_MAPPINGS_DIR") or DEFAULT_MAPPINGS_DIR),
            data_dir=data_dir,
            eqc_token=_text(env, "WDH_EQC_TOKEN"),
            eqc_base_url=_url(env, "WDH_EQC_BASE_URL"),
            eqc_rate_limit=_positive_int(env, "WDH_EQC_RATE_LIMIT", DEFAULT_EQC_RATE_LIMIT),
            eqc_rate_window_s=_positive_float(
                env, "WDH_EQC_RATE_WINDOW_S", DEFAULT_EQC_RATE_WINDOW_S
            ),
            eqc_not_found_days=_positive_int(
                env, "WDH_EQC_NOT_FOUND_DAYS", DEFAULT_EQC_NOT_FOUND_DAYS
            ),
            async_enrichment_enabled=_bool(env, "WDH_ASYNC_ENRICHMENT_ENABLED", default=True),
            enrichment_queue_threshold=_positive_int(
                env, "WDH_ENRICHMENT_QUEUE_THRESHOLD", DEFAULT_QUEUE_THRESHOLD
            ),
            log_format=_choice(env, "WDH_LOG_FORMAT", ("auto", "json", "console"), "auto"),  # type: ignore[arg-type]
            log_level=_choice(
                env, "WDH_LOG_LEVEL", ("DEBUG", "INFO", "WARNING", "ERROR"), "INFO", upper=True
            ),
        )


def _text(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name, "").strip()
    return value or None


def _choice(
    env: Mapping[str, str],
    name: str,
    allowed: tuple[str, ...],
    default: str,
    *,
    upper: bool = False,
) -> str:
    value = _text(env, name)
    if value is None:
        return default
    value = value.upper() if upper else value.lower()
    if value not in allowed:
        raise ConfigError(f"{name} must be one of: {', '.join(allowed)}", variable=name)
    return value


def _bool(env: Mapping[str, str], name: str, *, default: bool) -> bool:
    value = _text(env, name)
    if value is None:
        return default
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise ConfigError(f"{name} must be true or false", variable=name)


def _positive_int(env: Mapping[str, str], name: str, default: int) -> int:
    value = _text(env, name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number", variable=name) from None
    if number <= 0:
        raise ConfigError(f"{name} must be greater than zero", variable=name)
    return number


def _positive_float(env: Mapping[str, str], name: str, default: float) -> float:
    value = _text(env, name)
    if value is None:
        return default
    try:
        number = float(value)
    except ValueError:
        raise ConfigError(f"{name} must be a number", variable=name) from None
    if not number > 0:
        raise ConfigError(f"{name} must be greater than zero", variable=name)
    return number


def _url(env: Mapping[str, str], name: str) -> str | None:
    value = _text(env, name)
    if value is not None and not value.startswith(("http://", "https://")):
        raise ConfigError(f"{name} must start with http:// or https://", variable=name)
    return value.rstrip("/") if value else None
