"""structlog set-up: ``get_logger``, routing into standard ``logging``, and redaction.

Every module holds ``log = get_logger(__name__)``, a lazy structlog proxy: it is bound on
use, so a set-up made after import (CLI, tests, a host) applies. Events pass our processor
chain — context variables, level, timestamp, :func:`redact_sensitive` — and are then handed
to the standard ``logging`` logger of the module's name, so a host (Dagster, Airflow, a
notebook) captures and filters them with its own handlers, like any library's records.
:func:`configure_logging` is for processes we own (the CLI): one handler on the
``work_data_hub`` logger rendering JSON or console lines to a stream.

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
    "PACKAGE_LOGGER",
    "REDACTED",
    "SENSITIVE_KEYS",
    "configure_logging",
    "get_logger",
    "mask_url_password",
    "redact_sensitive",
    "register_secret",
    "route_to_standard_logging",
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


#: The standard ``logging`` logger above every module of the package.
PACKAGE_LOGGER = "work_data_hub"


def _shared_processors() -> list[Any]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_logger_name,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        redact_sensitive,
    ]


def route_to_standard_logging() -> None:
    """Configure structlog to hand redacted events to standard ``logging``.

    ``filter_by_level`` comes first, so an event below the logger's level costs one
    ``isEnabledFor`` call and nothing more.
    """
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *_shared_processors(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )


class _OwnHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The handler :func:`configure_logging` installs, so a second call replaces it."""


def configure_logging(
    *,
    level: str = "INFO",
    log_format: Literal["auto", "json", "console"] = "auto",
    stream: TextIO | None = None,
    secrets: Iterable[str | None] = (),
) -> None:
    """Render the package's events to ``stream`` (default stderr) at ``level``.

    JSON when not on a terminal, else console lines. Only the ``work_data_hub`` logger gets
    the handler: other libraries' records (an HTTP client logs request URLs, which carry
    company names) are left to whoever configures the root logger.
    """
    out = stream if stream is not None else sys.stderr
    json_output = log_format == "json" or (log_format == "auto" and not out.isatty())
    for secret in secrets:
        register_secret(secret)
    route_to_standard_logging()
    renderer: Any = (
        structlog.processors.JSONRenderer(ensure_ascii=False)
        if json_output
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    handler = _OwnHandler(out)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
            foreign_pre_chain=_shared_processors(),
        )
    )
    package = logging.getLogger(PACKAGE_LOGGER)
    for old in [h for h in package.handlers if isinstance(h, _OwnHandler)]:
        package.removeHandler(old)
    package.addHandler(handler)
    package.setLevel(logging.getLevelNamesMapping().get(level.upper(), logging.INFO))
    package.propagate = False


def get_logger(name: str) -> Any:
    """The lazy structlog logger of module ``name``, routed to standard ``logging``.

    When nobody has configured structlog yet, events go to standard ``logging`` (where a
    host's handlers, or Python's last-resort handler for warnings, take them).
    """
    if not structlog.is_configured():
        route_to_standard_logging()
    return structlog.stdlib.get_logger(name)
