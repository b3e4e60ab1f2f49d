"""InProcessRateLimiter: sliding window, timeouts, thread safety (fake clock)."""

from __future__ import annotations

import threading

import pytest

from work_data_hub.infrastructure.eqc.rate_limit import (
    DEFAULT_MAX_REQUESTS,
    DEFAULT_WINDOW_S,
    InProcessRateLimiter,
    RateLimiter,
)


class FakeClock:
    """A monotonic clock that only moves when slept on."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def _limiter(clock: FakeClock, n: int = 3, window: float = 10.0) -> InProcessRateLimiter:
    return InProcessRateLimiter(n, window, clock=clock, sleep=clock.sleep)


def test_defaults_are_ten_requests_per_minute() -> None:
    limiter = InProcessRateLimiter()
    assert (limiter.max_requests, limiter.window_s) == (DEFAULT_MAX_REQUESTS, DEFAULT_WINDOW_S)
    assert (DEFAULT_MAX_REQUESTS, DEFAULT_WINDOW_S) == (10, 60.0)


def test_satisfies_the_protocol() -> None:
    assert isinstance(InProcessRateLimiter(), RateLimiter)


def test_grants_up_to_the_limit_without_waiting() -> None:
    clock = FakeClock()
    limiter = _limiter(clock)
    assert all(limiter.acquire() for _ in range(3))
    assert clock.sleeps == []
    assert limiter.in_window() == 3


def test_blocks_until_the_oldest_slot_leaves_the_window() -> None:
    clock = FakeClock()
    limiter = _limiter(clock)
    for _ in range(3):
        limiter.acquire()
        clock.now += 1.0
    assert limiter.acquire()
    assert clock.sleeps == [pytest.approx(7.0)]


def test_returns_false_when_no_slot_frees_before_the_timeout() -> None:
    clock = FakeClock()
    limiter = _limiter(clock)
    for _ in range(3):
        limiter.acquire()
    assert limiter.acquire(timeout=5.0) is False
    assert limiter.in_window() == 3


def test_timeout_long_enough_gets_a_slot() -> None:
    clock = FakeClock()
    limiter = _limiter(clock)
    for _ in range(3):
        limiter.acquire()
    assert limiter.acquire(timeout=10.0) is True


def test_window_slides_rather_than_resetting() -> None:
    clock = FakeClock()
    limiter = _limiter(clock, n=2, window=10.0)
    limiter.acquire()
    clock.now += 6.0
    limiter.acquire()
    clock.now += 5.0  # first slot is 11 s old, second 5 s
    assert limiter.in_window() == 1
    assert limiter.acquire(timeout=0.0)
    assert limiter.acquire(timeout=0.0) is False


def test_rejects_nonsense_configuration() -> None:
    with pytest.raises(ValueError, match="max_requests"):
        InProcessRateLimiter(0)
    with pytest.raises(ValueError, match="window_s"):
        InProcessRateLimiter(1, 0)


def test_threads_never_exceed_the_limit() -> None:
    clock = FakeClock()
    limiter = _limiter(clock, n=50, window=1000.0)
    granted: list[bool] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(20):
            ok = limiter.acquire(timeout=0.0)
            with lock:
                granted.append(ok)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(granted) == 50
