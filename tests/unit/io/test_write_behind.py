"""The write-behind thread writes in order, one chunk at a time, and never loses an error."""

from __future__ import annotations

import threading

import pytest

from work_data_hub.io.write_behind import WriteBehind


def test_writes_run_in_submission_order_on_one_other_thread() -> None:
    seen: list[tuple[int, str]] = []
    with WriteBehind() as behind:
        for n in range(5):
            behind.submit(lambda n=n: seen.append((n, threading.current_thread().name)))
        behind.drain()
    assert [n for n, _ in seen] == [0, 1, 2, 3, 4]
    names = {name for _, name in seen}
    assert len(names) == 1
    assert names != {threading.current_thread().name}


def test_at_most_one_write_is_in_flight() -> None:
    release = threading.Event()
    started: list[int] = []

    def slow(n: int) -> None:
        started.append(n)
        release.wait(5)

    with WriteBehind() as behind:
        behind.submit(lambda: slow(1))
        waiter = threading.Thread(target=lambda: behind.submit(lambda: slow(2)))
        waiter.start()
        waiter.join(0.2)
        assert waiter.is_alive()  # the second submit waits for the first write
        assert started == [1]
        release.set()
        waiter.join(5)
        behind.drain()
    assert started == [1, 2]


def _broken() -> None:
    raise OSError("disk full")


def test_a_failed_write_is_raised_by_the_next_submit() -> None:
    with WriteBehind() as behind:
        behind.submit(_broken)
        with pytest.raises(OSError, match="disk full"):
            behind.submit(lambda: None)


def test_a_failed_last_write_is_raised_by_drain() -> None:
    with WriteBehind() as behind:
        behind.submit(_broken)
        with pytest.raises(OSError, match="disk full"):
            behind.drain()


def test_leaving_the_block_waits_for_the_write_in_flight() -> None:
    done = threading.Event()

    def run() -> None:
        with WriteBehind() as behind:
            behind.submit(lambda: (threading.Event().wait(0.1), done.set()))
            raise KeyError("an error elsewhere")

    with pytest.raises(KeyError):
        run()
    assert done.is_set()


def test_drain_reports_the_milliseconds_of_the_write() -> None:
    with WriteBehind() as behind:
        assert behind.drain() == 0.0
        behind.submit(lambda: threading.Event().wait(0.05))
        assert behind.drain() >= 40.0
