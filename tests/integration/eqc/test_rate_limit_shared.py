"""The database-shared rate limiter on PostgreSQL and SQLite."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from work_data_hub.infrastructure.db import tables
from work_data_hub.infrastructure.db.engine import create_engine
from work_data_hub.infrastructure.eqc.rate_limit import DatabaseRateLimiter, RateLimiter


def test_database_limiter_satisfies_the_protocol(db_engine: sa.Engine) -> None:
    assert isinstance(DatabaseRateLimiter(db_engine), RateLimiter)


def test_grants_up_to_the_limit_then_refuses_without_waiting(db_engine: sa.Engine) -> None:
    limiter = DatabaseRateLimiter(db_engine, 3, 60.0)
    assert [limiter.acquire(timeout=0) for _ in range(4)] == [True, True, True, False]
    assert limiter.in_window() == 3


def test_two_engines_share_one_window(db_url: str, db_engine: sa.Engine) -> None:
    other = create_engine(db_url)
    try:
        first = DatabaseRateLimiter(db_engine, 2, 60.0)
        second = DatabaseRateLimiter(other, 2, 60.0)
        assert first.acquire(timeout=0)
        assert second.acquire(timeout=0)
        assert not first.acquire(timeout=0)
        assert not second.acquire(timeout=0)
    finally:
        other.dispose()


def test_buckets_have_separate_windows(db_engine: sa.Engine) -> None:
    assert DatabaseRateLimiter(db_engine, 1, 60.0, bucket="a").acquire(timeout=0)
    assert DatabaseRateLimiter(db_engine, 1, 60.0, bucket="b").acquire(timeout=0)


def test_a_slot_frees_once_the_window_has_passed(db_engine: sa.Engine) -> None:
    naps: list[float] = []

    def sleep(seconds: float) -> None:
        naps.append(seconds)
        threading.Event().wait(seconds)

    limiter = DatabaseRateLimiter(db_engine, 1, 0.2, guard_s=0.0, sleep=sleep)
    assert limiter.acquire()
    assert limiter.acquire()  # waits for the first slot to leave the window
    assert naps
    assert all(0 < nap <= 0.2 for nap in naps)


def test_expired_slots_are_pruned(db_engine: sa.Engine) -> None:
    limiter = DatabaseRateLimiter(db_engine, 5, 0.05, guard_s=0.0)
    for _ in range(3):
        limiter.acquire()
    threading.Event().wait(0.1)
    limiter.acquire()
    with db_engine.connect() as conn:
        rows = conn.scalar(sa.select(sa.func.count()).select_from(tables.eqc_rate_slots))
    assert rows == 1


def test_concurrent_threads_never_take_more_than_the_limit(db_engine: sa.Engine) -> None:
    limiter = DatabaseRateLimiter(db_engine, 5, 60.0)
    granted: list[bool] = []
    lock = threading.Lock()

    def take() -> None:
        for _ in range(3):
            result = limiter.acquire(timeout=0)
            with lock:
                granted.append(result)

    threads = [threading.Thread(target=take) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert granted.count(True) == 5
    assert limiter.in_window() == 5


@pytest.mark.parametrize(
    "kwargs",
    [{"max_requests": 0}, {"window_s": 0.0}, {"guard_s": -1.0}],
    ids=["zero-requests", "zero-window", "negative-guard"],
)
def test_invalid_limits_are_rejected(db_engine: sa.Engine, kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        DatabaseRateLimiter(db_engine, **kwargs)  # type: ignore[arg-type]
