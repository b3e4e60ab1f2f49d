"""Client-side rate limits for EQC calls: the protocol and its implementations.

The EQC registry allows a fixed number of requests per time window (default 10 per 60 s).
:class:`EqcClient` takes any :class:`RateLimiter` and calls :meth:`RateLimiter.acquire`
before every HTTP request. One process uses :class:`InProcessRateLimiter`; workers on
several machines replace it with a limiter that shares its window through the database.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
import zlib
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

import sqlalchemy as sa

from work_data_hub.infrastructure.db import tables
from work_data_hub.infrastructure.db.errors import storage_errors

__all__ = [
    "DEFAULT_GUARD_S",
    "DEFAULT_MAX_REQUESTS",
    "DEFAULT_WINDOW_S",
    "DatabaseRateLimiter",
    "InProcessRateLimiter",
    "RateLimiter",
]

#: Requests allowed per window by default (the EQC contract).
DEFAULT_MAX_REQUESTS = 10
#: Length of the sliding window by default, in seconds.
DEFAULT_WINDOW_S = 60.0


def _check_window(max_requests: int, window_s: float) -> None:
    if max_requests < 1:
        raise ValueError("max_requests must be at least 1")
    if window_s <= 0:
        raise ValueError("window_s must be positive")


@runtime_checkable
class RateLimiter(Protocol):
    """Grants permission for one request at a time, at most N per sliding window."""

    def acquire(self, timeout: float | None = None) -> bool:
        """Block until a request may be sent; take the slot and return ``True``.

        ``timeout`` (seconds) bounds the wait: when no slot frees up in time, return
        ``False`` without taking one. ``None`` waits as long as needed.
        """
        ...


def _acquire(
    try_take: Callable[[], float],
    clock: Callable[[], float],
    sleep: Callable[[float], object],
    timeout: float | None,
) -> bool:
    """Take a slot, sleeping while the window is full; when the next free slot lies beyond
    ``timeout``, sleep out the timeout, try once more and return False if still full (so a
    caller that asks again straight away neither spins nor misses the slot's moment).
    ``try_take`` returns 0.0 or the seconds until a slot frees up."""
    deadline = None if timeout is None else clock() + max(0.0, timeout)
    while True:
        wait = try_take()
        if wait <= 0.0:
            return True
        if deadline is not None:
            left = deadline - clock()
            if left <= 0.0:
                return False
            if left < wait:
                sleep(left)
                return try_take() <= 0.0
        sleep(wait)


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
        _check_window(max_requests, window_s)
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
        return _acquire(lambda: self._try_take(self._clock()), self._clock, self._sleep, timeout)

    def in_window(self) -> int:
        """How many slots are taken in the current window (for statistics and tests)."""
        now = self._clock()
        with self._lock:
            return sum(1 for moment in self._taken if now - moment < self.window_s)


#: Extra seconds a database slot stays taken beyond the window. A request reaches the
#: server a little after its grant, and that delay varies (a busy machine can hold a process
#: for a few hundred milliseconds), so without a guard the server could see one request too
#: many in a window. Costs 0.4 % of throughput on the default 60 s window.
DEFAULT_GUARD_S = 0.25
#: Base of the PostgreSQL advisory-lock key; the bucket's CRC is added to it.
_ADVISORY_LOCK_BASE = 7_201_306_000_000


def _lock_bucket_stmt(bucket: str) -> sa.TextClause:
    # Transaction-level: released by the commit that records the slot.
    key = _ADVISORY_LOCK_BASE + zlib.crc32(bucket.encode("utf-8"))
    return sa.text("SELECT pg_advisory_xact_lock(:key)").bindparams(key=key)


def _prune_stmt(bucket: str, before: dt.datetime) -> sa.Delete:
    slots = tables.eqc_rate_slots
    return sa.delete(slots).where(slots.c.bucket == bucket, slots.c.granted_at < before)


def _window_stmt(bucket: str, since: dt.datetime) -> sa.Select[int, Any]:
    slots = tables.eqc_rate_slots
    return sa.select(sa.func.count(), sa.func.min(slots.c.granted_at)).where(
        slots.c.bucket == bucket, slots.c.granted_at >= since
    )


def _grant_stmt(bucket: str, now: dt.datetime) -> sa.Insert:
    return sa.insert(tables.eqc_rate_slots).values(bucket=bucket, granted_at=now)


def _as_utc(value: object) -> dt.datetime:
    moment = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
    assert isinstance(moment, dt.datetime)
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment


class DatabaseRateLimiter:
    """A sliding-window limiter shared through the database by every process and machine.

    Each granted request is one row in ``eqc_rate_slots``. Taking a slot is one short
    transaction that is serialized per bucket — a transaction-level advisory lock on
    PostgreSQL, the engine's ``BEGIN IMMEDIATE`` on SQLite — which prunes expired rows,
    counts the rows in the window and inserts a new one when fewer than ``max_requests``
    are there. On PostgreSQL the database clock (``clock_timestamp()``) is the time base,
    so machines with skewed clocks still share one window. ``sleep``, ``clock`` (seconds,
    for timeouts) and ``now`` (the window's time base, replacing the database clock) are
    seams for tests that drive the limiter with a controlled clock.
    """

    def __init__(
        self,
        engine: sa.Engine,
        max_requests: int = DEFAULT_MAX_REQUESTS,
        window_s: float = DEFAULT_WINDOW_S,
        *,
        bucket: str = "eqc",
        guard_s: float = DEFAULT_GUARD_S,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], dt.datetime] | None = None,
    ) -> None:
        _check_window(max_requests, window_s)
        if guard_s < 0:
            raise ValueError("guard_s must not be negative")
        self.max_requests = max_requests
        self.window_s = window_s
        self.bucket = bucket
        self._engine = engine
        self._span = dt.timedelta(seconds=window_s + guard_s)
        self._sleep = sleep
        self._clock = clock
        self._fixed_now = now

    def _now(self, conn: sa.Connection) -> dt.datetime:
        if self._fixed_now is not None:
            return self._fixed_now()
        if conn.dialect.name == "postgresql":
            return _as_utc(conn.execute(sa.text("SELECT clock_timestamp()")).scalar_one())
        return dt.datetime.now(dt.UTC)

    def _try_take(self) -> float:
        """Take a slot and return 0.0, or return the seconds until one frees up."""
        with storage_errors("rate limit slot"), self._engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(_lock_bucket_stmt(self.bucket))
            now = self._now(conn)
            since = now - self._span
            conn.execute(_prune_stmt(self.bucket, since))
            count, oldest = conn.execute(_window_stmt(self.bucket, since)).one()
            if int(count) < self.max_requests:
                conn.execute(_grant_stmt(self.bucket, now))
                return 0.0
        wait = (_as_utc(oldest) + self._span - now).total_seconds()
        return max(wait, 0.001)

    def acquire(self, timeout: float | None = None) -> bool:
        """See :meth:`RateLimiter.acquire`."""
        return _acquire(self._try_take, self._clock, self._sleep, timeout)

    def in_window(self) -> int:
        """How many slots are taken in the current window, across all processes."""
        with storage_errors("rate limit count"), self._engine.connect() as conn:
            since = self._now(conn) - self._span
            count, _oldest = conn.execute(_window_stmt(self.bucket, since)).one()
            return int(count)
