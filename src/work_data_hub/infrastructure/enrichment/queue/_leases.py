"""The worker's background machinery: the set of held claims, the thread that renews their
lease, and the SIGINT/SIGTERM hook that asks a run to stop.

Kept apart from :mod:`worker` so the drain loop reads on its own. SQL stays in
:mod:`.repository`; logs carry counts and ``error_type`` only.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import signal
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager

import sqlalchemy as sa

from work_data_hub.infrastructure.enrichment.queue import repository as queue_repository
from work_data_hub.utils.logging import get_logger

__all__ = ["HeldClaims", "renewing_leases", "stop_on_signals"]


log = get_logger(__name__)


class HeldClaims:
    """Ids a run has claimed and not yet finished (buffered or in flight); thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ids: set[int] = set()

    def add(self, ids: Iterable[int]) -> None:
        with self._lock:
            self._ids.update(ids)

    def discard(self, request_id: int) -> None:
        with self._lock:
            self._ids.discard(request_id)

    def snapshot(self) -> list[int]:
        with self._lock:
            return sorted(self._ids)

    def take_all(self) -> list[int]:
        """Every held id, leaving the set empty (for a release)."""
        with self._lock:
            ids, self._ids = sorted(self._ids), set()
        return ids


@contextmanager
def renewing_leases(
    held: HeldClaims,
    *,
    engine: sa.Engine,
    worker_id: str,
    duration: dt.timedelta,
    interval_s: float,
    now: Callable[[], dt.datetime],
) -> Iterator[None]:
    """Renew the lease of every held id every ``interval_s`` seconds while the block runs."""

    def renew_until(done: threading.Event) -> None:
        while not done.wait(interval_s):
            ids = held.snapshot()
            if not ids:
                continue
            try:
                with engine.begin() as conn:
                    queue_repository.QueueRepository(conn).renew_lease(
                        worker_id, ids, duration, now()
                    )
            except Exception as exc:  # retried on the next tick; recovery covers the rest
                log.warning("worker.lease_renewal_failed", error_type=type(exc).__name__)

    done = threading.Event()
    thread = threading.Thread(
        target=contextvars.copy_context().run,
        args=(renew_until, done),
        name="wdh-lease-renewal",
        daemon=True,
    )
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


@contextmanager
def stop_on_signals(stop_event: threading.Event) -> Iterator[None]:
    """Set ``stop_event`` on SIGINT/SIGTERM for the block; previous handlers come back after."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be installed from the main thread
        return
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}

    def handle(signum: int, _frame: object) -> None:
        log.info("worker.stop_requested", signal=signum)
        stop_event.set()

    for sig in previous:
        signal.signal(sig, handle)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
