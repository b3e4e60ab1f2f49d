"""Retry decisions for enrichment requests, as pure arithmetic.

A lookup that failed transiently goes back to ``pending`` with ``next_retry_at`` taken from
a backoff schedule, until the request has used ``max_attempts``; then it is ``failed``.
Nothing here touches the database or a clock: the caller passes ``now``.

Attempts are counted when an outcome is written (never at claim time), so ``attempts`` is
the number of lookups that ended for the request, including the one that just failed.
The *n*-th failure waits ``schedule[n - 1]`` (the last entry repeats when the schedule is
shorter than ``max_attempts``). With the defaults (3 attempts, 1/5/15 minutes) the first
failure waits 1 minute, the second 5 minutes, the third is final; the 15-minute step is
used as soon as ``max_attempts`` is raised to 4 or more.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

__all__ = [
    "DEFAULT_BACKOFF_SCHEDULE",
    "DEFAULT_MAX_ATTEMPTS",
    "RetryConfig",
    "RetryDecision",
    "decide_retry",
    "error_label",
]

DEFAULT_MAX_ATTEMPTS = 3
DEFAULT_BACKOFF_SCHEDULE: tuple[dt.timedelta, ...] = (
    dt.timedelta(minutes=1),
    dt.timedelta(minutes=5),
    dt.timedelta(minutes=15),
)


@dataclass(frozen=True, kw_only=True, slots=True)
class RetryConfig:
    """How often and how late a transiently failed request is tried again."""

    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    schedule: tuple[dt.timedelta, ...] = DEFAULT_BACKOFF_SCHEDULE

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if not self.schedule:
            raise ValueError("schedule must not be empty")
        if any(delay < dt.timedelta(0) for delay in self.schedule):
            raise ValueError("schedule delays must not be negative")

    def delay_after(self, attempts: int) -> dt.timedelta:
        """The wait after the ``attempts``-th failure (``attempts`` >= 1)."""
        if attempts < 1:
            raise ValueError("attempts must be at least 1")
        return self.schedule[min(attempts, len(self.schedule)) - 1]


@dataclass(frozen=True, kw_only=True, slots=True)
class RetryDecision:
    """What to write after a transient failure: ``pending`` + ``next_retry_at``, or ``failed``."""

    attempts: int
    final: bool
    next_retry_at: dt.datetime | None

    @property
    def status(self) -> str:
        """The request status the decision leads to (a ``RequestStatus`` value)."""
        return "failed" if self.final else "pending"


def decide_retry(
    attempts: int, now: dt.datetime, config: RetryConfig | None = None
) -> RetryDecision:
    """Decide the outcome of a transient failure.

    ``attempts`` counts the attempts used so far, including the one that just failed.
    """
    config = config or RetryConfig()
    if attempts < 1:
        raise ValueError("attempts must be at least 1")
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if attempts >= config.max_attempts:
        return RetryDecision(attempts=attempts, final=True, next_retry_at=None)
    return RetryDecision(
        attempts=attempts, final=False, next_retry_at=now + config.delay_after(attempts)
    )


def error_label(error: BaseException) -> str:
    """``last_error`` text for ``error``: its class and status code, never its message.

    Messages of foreign errors can quote names or URLs, so only facts carried as attributes
    are kept (``EqcTransientError status=503``).
    """
    status = getattr(error, "status_code", None)
    name = type(error).__name__
    return f"{name} status={status}" if isinstance(status, int) else name
