"""Client-side rate limits for EQC calls: the protocol and its implementations.

The EQC registry allows a fixed number of requests per time window (default 10 per 60 s).
:class:`EqcClient` takes any :class:`RateLimiter` and calls :meth:`RateLimiter.acquire`
before every HTTP request. One process uses :class:`InProcessRateLimiter`; workers on
several machines replace it with a limiter that shares its window through the database.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Protocol, runtime_checkable

__all__ = [
    "DEFAULT_MAX_REQUESTS",
    "DEFAULT_WINDOW_S",
    "InProcessRateLimiter",
    "RateLimiter",
]

#: Requests allowed per window by default (the EQC contract).
DEFAULT_MAX_REQUESTS = 10
#: Length of the sliding window by default, in seconds.
DEFAULT_WINDOW_S = 60.0


@runtime_checkable
class RateLimiter(Protocol):
    """Grants permission for one request at a time, at most N per sliding window."""

    def acquire(self, timeout: float | None = None) -> bool:
        """Block until a request may be sent; take the slot and return ``True``.

        ``timeout`` (seconds) bounds the wait: when no slot frees up in time, return
        ``False`` without taking one. ``None`` waits as long as needed.
        """
        ...


class InProcessRateLimiter:
    """A sliding-window limiter shared by the threads of one process.

    It remembers when each of the last ``max_requests`` slots was taken; a new slot is free
    once the oldest of them is ``window_s`` seconds old. ``clock`` and ``sleep`` are seams
    for tests (a fake clock that advances when slept on).
    """

    def __init__(
        self,
        max_requests: int = DEFAULT_MAX_REQUESTS,
        window_s: float = DEFAULT_WINDOW_S,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if max_requests < 1:
            raise ValueError("max_requests must be at least 1")
        if window_s <= 0:
            raise ValueError("window_s must be positive")
        self.max_requests = max_requests
        self.window_s = window_s
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._taken: deque[float] = deque()

    def _try_take(self, now: float) -> float:
        """Take a slot and return 0.0, or return the seconds until one frees up."""
        with self._lock:
            while self._taken and now - self._taken[0] >= self.window_s:
                self._taken.popleft()
            if len(self._taken) < self.max_requests:
                self._taken.append(now)
                return 0.0
            return self._taken[0] + self.window_s - now

    def acquire(self, timeout: float | None = None) -> bool:
        """See :meth:`RateLimiter.acquire`."""
        deadline = None if timeout is None else self._clock() + max(0.0, timeout)
        while True:
            now = self._clock()
            wait = self._try_take(now)
            if wait <= 0.0:
                return True
            if deadline is not None:
                remaining = deadline - now
                if remaining < wait:
                    return False
            self._sleep(wait)

    def in_window(self) -> int:
        """How many slots are taken in the current window (for statistics and tests)."""
        now = self._clock()
        with self._lock:
            return sum(1 for moment in self._taken if now - moment < self.window_s)
