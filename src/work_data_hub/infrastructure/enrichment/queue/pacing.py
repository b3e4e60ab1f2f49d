"""How a worker keeps to EQC's rate limit: waiting is not failing.

A worker never books a wait for the rate limiter as a failure. Each lookup asks the finder
to wait at most :attr:`WorkerPacing.rate_wait_s` for a slot; when none comes free in that
time (:class:`~work_data_hub.errors.EqcRateLimitWait`, nothing was sent) the lookup pauses
and asks again, for as long as the run goes on — the claim's lease is renewed meanwhile.
When the run stops (signal, auth error, ``max_seconds``) a claim still waiting is released
with its attempts unchanged.

Claims are paced too: a claim takes at most what the limit lets the worker start within
one lease (``max_starts_per_lease``), so a backlog is not held away from other workers.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from work_data_hub.infrastructure.enrichment.queue import known

__all__ = [
    "DEFAULT_RATE_WAIT_S",
    "WorkerPacing",
    "starts_per_lease",
]

#: Longest single wait for a rate-limit slot before the lookup looks at the stop signals
#: again, seconds. The limiter sleeps the slice out and grants a slot the moment it frees
#: within it, so a short slice costs no throughput.
DEFAULT_RATE_WAIT_S = 1.0


@dataclass(frozen=True, kw_only=True)
class WorkerPacing:
    """Pacing knobs of a worker run.

    ``sleep`` pauses between slot waits (default: the run's stop event, so a stop cuts
    the pause short) and ``monotonic`` measures ``max_seconds``: both are seams for tests
    that drive a run with a controlled clock. ``not_found_memory`` is how long an EQC
    "not found" is trusted (``None``: never). ``None`` for ``max_seconds`` or
    ``max_starts_per_lease`` means no bound.
    """

    rate_wait_s: float = DEFAULT_RATE_WAIT_S
    max_seconds: float | None = None
    max_starts_per_lease: int | None = None
    not_found_memory: dt.timedelta | None = known.DEFAULT_NOT_FOUND_MEMORY
    sleep: Callable[[float], object] | None = None
    monotonic: Callable[[], float] = time.monotonic

    def __post_init__(self) -> None:
        if self.rate_wait_s <= 0:
            raise ValueError("rate_wait_s must be positive")
        if self.max_seconds is not None and self.max_seconds < 0:
            raise ValueError("max_seconds must not be negative")
        if self.max_starts_per_lease is not None and self.max_starts_per_lease < 1:
            raise ValueError("max_starts_per_lease must be at least 1")


def starts_per_lease(max_requests: int, window_s: float, lease: dt.timedelta) -> int:
    """Lookups a limit of ``max_requests`` per ``window_s`` lets one worker start within
    ``lease`` at one call per lookup (at least 1)."""
    if max_requests < 1 or window_s <= 0:
        raise ValueError("a rate limit needs max_requests >= 1 and window_s > 0")
    return max(1, math.floor(max_requests * lease.total_seconds() / window_s))
