"""Knobs of :class:`~work_data_hub.infrastructure.eqc.client.EqcClient`: timeouts, deadline,
retry schedule and rate-limit wait, as a keyword-only config with named defaults, and the
pure arithmetic of retries (backoff, ``Retry-After``). Re-exported by ``client``.
"""

from __future__ import annotations

import email.utils
import math
import time
from dataclasses import dataclass

__all__ = [
    "DEFAULT_BACKOFF_BASE_S",
    "DEFAULT_BACKOFF_CAP_S",
    "DEFAULT_CONNECT_TIMEOUT_S",
    "DEFAULT_DEADLINE_S",
    "DEFAULT_JITTER",
    "DEFAULT_MAX_ATTEMPTS",
    "DEFAULT_MAX_CONNECTIONS",
    "DEFAULT_RATE_WAIT_S",
    "DEFAULT_READ_TIMEOUT_S",
    "EqcClientConfig",
    "backoff_delay",
    "parse_retry_after",
]

DEFAULT_CONNECT_TIMEOUT_S = 5.0
DEFAULT_READ_TIMEOUT_S = 15.0
#: Overall budget of one lookup (all attempts, waits and both requests of find_company).
DEFAULT_DEADLINE_S = 30.0
DEFAULT_MAX_ATTEMPTS = 4
DEFAULT_BACKOFF_BASE_S = 0.5
DEFAULT_BACKOFF_CAP_S = 8.0
#: Share of each backoff delay that is random (0 = none, 1 = "full jitter").
DEFAULT_JITTER = 0.5
#: Longest wait for a rate-limit slot per call by default; ``None`` waits as long as needed.
DEFAULT_RATE_WAIT_S: float | None = None
#: Connections kept open to the registry; above a worker's usual concurrency so that
#: concurrent lookups reuse connections instead of opening one per request.
DEFAULT_MAX_CONNECTIONS = 64


@dataclass(frozen=True, kw_only=True, slots=True)
class EqcClientConfig:
    """Timeouts, deadline and retry schedule of :class:`EqcClient` (seconds)."""

    connect_timeout_s: float = DEFAULT_CONNECT_TIMEOUT_S
    read_timeout_s: float = DEFAULT_READ_TIMEOUT_S
    deadline_s: float = DEFAULT_DEADLINE_S
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    backoff_base_s: float = DEFAULT_BACKOFF_BASE_S
    backoff_cap_s: float = DEFAULT_BACKOFF_CAP_S
    jitter: float = DEFAULT_JITTER
    max_connections: int = DEFAULT_MAX_CONNECTIONS
    rate_wait_s: float | None = DEFAULT_RATE_WAIT_S

    def __post_init__(self) -> None:
        for name in ("connect_timeout_s", "read_timeout_s", "deadline_s"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.backoff_base_s < 0 or self.backoff_cap_s < 0:
            raise ValueError("backoff delays must not be negative")
        if not 0.0 <= self.jitter <= 1.0:
            raise ValueError("jitter must be between 0 and 1")
        if self.max_connections < 1:
            raise ValueError("max_connections must be at least 1")
        if self.rate_wait_s is not None and self.rate_wait_s < 0:
            raise ValueError("rate_wait_s must not be negative")


def backoff_delay(attempt: int, config: EqcClientConfig, random_value: float) -> float:
    """Delay before attempt ``attempt + 1``: base x 2^(attempt-1), capped, minus jitter.

    ``random_value`` in [0, 1) removes up to ``jitter`` of the delay, so clients that
    failed together do not retry together.
    """
    delay = min(config.backoff_cap_s, config.backoff_base_s * 2.0 ** max(0, attempt - 1))
    return float(delay * (1.0 - config.jitter * random_value))


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or HTTP date); ``None`` if unusable."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            moment = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
        seconds = moment.timestamp() - (time.time() if now is None else now)
    if math.isnan(seconds) or math.isinf(seconds):
        return None
    return max(0.0, seconds)
