"""structlog set-up: ``get_logger``, JSON or console rendering, and redaction.

Log events carry counts, timings, status codes and error types. Redaction is the safety
net behind that rule, not the method: :func:`redact_sensitive` drops the values of keys
that could hold a company name, a temporary id or a secret, masks passwords in URLs, and
masks any secret value registered with :func:`register_secret` wherever it appears.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable, MutableMapping
from typing import Any, Literal, TextIO

import structlog

__all__ = [
    "REDACTED",
    "SENSITIVE_KEYS",
    "configure_logging",
    "get_logger",
    "mask_url_password",
    "redact_sensitive",
    "register_secret",
]

REDACTED = "[redacted]"
#: Keys whose values are never rendered, whatever the caller passes.
SENSITIVE_KEYS = frozenset(
    {
        "raw_name",
        "normalized_name",
        "name",
        "names",
        "company_name",
        "customer_name",
        "alias_name",
        "temp_id",
        "temp_ids",
        "token",
        "salt",
        "alias_salt",
        "password",
        "secret",
    }
)
_URL_PASSWORD = re.compile(r"(?P<head>[a-zA-Z][a-zA-Z0-9+.-]*://[^:/@\s]*:)[^@\s/]+(?=@)")
_secrets: set[str] = set()


def register_secret(value: str | None) -> None:
    """Mask ``value`` wherever it appears in a log event (token, salt, password)."""
    if value and len(value) >= 4:
        _secrets.add(value)


def mask_url_password(text: str) -> str:
    """``postgresql://u:pw@h/db`` → ``postgresql://u:***@h/db``; other text unchanged."""
    return _URL_PASSWORD.sub(r"\g<head>***", text)


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        text = mask_url_password(value)
        for secret in _secrets:
            if secret in text:
                text = text.replace(secret, "***")
        return text
    if isinstance(value, dict):
        return {
            key: REDACTED if key in SENSITIVE_KEYS else _scrub(item) for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [_scrub(item) for item in value]
    return value


def redact_sensitive(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: drop sensitive values, mask URL passwords and secrets."""
    for key in list(event_dict):
        if key in SENSITIVE_KEYS:
            event_dict[key] = REDACTED
        else:
            event_dict[key] = _scrub(event_dict[key])
    return event_dict


def _processors(json_output: bool) -> list[Any]:
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        redact_sensitive,
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer(ensure_ascii=False)
        if json_output
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    return [*shared, renderer]


def configure_logging(
    *,
    level: str = "INFO",
    log_format: Literal["auto", "json", "console"] = "auto",
    stream: TextIO | None = None,
    secrets: Iterable[str | None] = (),
) -> None:
    """Configure structlog once per process: JSON when not on a terminal, else console."""
    out = stream if stream is not None else sys.stderr
    json_output = log_format == "json" or (log_format == "auto" and not out.isatty())
    for secret in secrets:
        register_secret(secret)
    structlog.configure(
        processors=_processors(json_output),
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
        ),
        logger_factory=structlog.PrintLoggerFactory(file=out),
        cache_logger_on_first_use=False,
    )


def get_logger(name: str) -> Any:
    """A bound logger for module ``name``; configures defaults on first use."""
    if not structlog.is_configured():
        configure_logging(level="WARNING")
    return structlog.get_logger().bind(logger=name)
