"""Flow control of the worker: lookups kept in flight, claims made before they run dry,
outcomes written as they complete.

:class:`Pipeline` knows nothing of the queue. The worker hands it ``claim(limit, recover)``
(run by the calling thread), ``look_up(item)`` (a lookup thread; ``None`` means nothing to
write) and ``write(conn, outcome)`` (a writer thread, one transaction per outcome), and a
``stopping()`` test. Up to ``concurrency`` lookups run at once; another batch is claimed
whenever fewer than ``LOW_WATER_PER_SLOT x concurrency`` items are queued, in flight or
waiting to be written, so no lookup waits for the slowest one of a batch.

Outcomes go to a few writer threads that each keep one connection while busy: the database
sees a handful of sessions whatever the concurrency, and an outcome costs its statements
only, not a pool check-out and ping (nor, past the pool size, a new session).
"""

from __future__ import annotations

import contextlib
import contextvars
import queue
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Generic, TypeVar

import sqlalchemy as sa

__all__ = ["LOW_WATER_PER_SLOT", "WRITERS", "WRITER_IDLE_S", "Pipeline"]

#: Another batch is claimed once fewer than this many items per lookup thread are queued,
#: in flight or waiting to be written: the spare half keeps the threads busy during a claim.
LOW_WATER_PER_SLOT = 2
#: Writer threads, at most one per lookup thread. Two keep up with hits and their cache
#: writes at 0 ms latency; more only add sessions.
WRITERS = 2
#: A writer gives its connection back to the pool after this long without work, seconds.
WRITER_IDLE_S = 1.0
#: How often a waiting thread looks at ``stopping()`` (a signal handler sets a stop event
#: without notifying anyone), seconds.
_POLL_S = 0.05

_Item = TypeVar("_Item")
_Outcome = TypeVar("_Outcome")
_STOP = object()


class Pipeline(Generic[_Item, _Outcome]):
    """One pass of claims, lookups and writes; see the module docstring."""

    def __init__(
        self,
        engine: sa.Engine,
        *,
        concurrency: int,
        claim: Callable[[int, bool], Sequence[_Item]],
        look_up: Callable[[_Item], _Outcome | None],
        write: Callable[[sa.Connection, _Outcome], None],
        stopping: Callable[[], bool],
        idle_wait: Callable[[float], object],
    ) -> None:
        self._engine, self._concurrency = engine, concurrency
        self._claim, self._look_up, self._write = claim, look_up, write
        self._stopping, self._idle_wait = stopping, idle_wait
        self._claimed = 0
        self._writes: queue.SimpleQueue[Any] = queue.SimpleQueue()
        # Guards the fields below; lookup and writer threads notify it as items complete.
        self._changed = threading.Condition()
        self._outstanding = 0  # claimed items not yet written (or skipped)
        self._halted = False  # items not yet looked up are skipped (an error, a failed claim)
        self._error: Exception | None = None  # the first error a write raised

    def run(self, *, batch_size: int, max_claims: int | None, idle_sleep_s: float | None) -> str:
        """Claim, look up and write until the queue is drained (or, with ``idle_sleep_s``,
        until stopped), ``stopping()``, or ``max_claims`` claimed and written: returns
        ``"drained"``, ``"stopped"`` or ``"max_requests"``.

        In-flight lookups and their writes always finish first; items not looked up are
        left to the caller (released). The first write error is raised afterwards.
        """
        writers = [
            threading.Thread(
                target=contextvars.copy_context().run,
                args=(self._write_loop,),
                name=f"wdh-outcome-writer-{index}",
                daemon=True,
            )
            for index in range(min(self._concurrency, WRITERS))
        ]
        for thread in writers:
            thread.start()
        try:
            with ThreadPoolExecutor(self._concurrency, "wdh-lookup") as pool:
                try:
                    reason = self._feed(pool, batch_size, max_claims, idle_sleep_s)
                except BaseException:
                    with self._changed:
                        self._halted = True
                    raise
                finally:
                    self._wait_until(lambda: self._outstanding == 0)
        finally:
            for _ in writers:
                self._writes.put(_STOP)
            for thread in writers:
                thread.join()
        if self._error is not None:
            raise self._error
        return reason

    @property
    def _interrupted(self) -> bool:
        return self._stopping() or self._error is not None

    def _feed(
        self,
        pool: ThreadPoolExecutor,
        batch_size: int,
        max_claims: int | None,
        idle_sleep_s: float | None,
    ) -> str:
        low_water = LOW_WATER_PER_SLOT * self._concurrency
        # The last claim came back short: the queue looked empty, so ask again (with a
        # recovery first) only once the pipeline has run dry.
        exhausted = False
        while True:
            self._wait_for_room(1 if exhausted else low_water)
            if self._interrupted:
                return "stopped"
            remaining = None if max_claims is None else max_claims - self._claimed
            if remaining is not None and remaining <= 0:
                self._wait_until(lambda: self._outstanding == 0)
                return "max_requests"
            limit = batch_size if remaining is None else min(batch_size, remaining)
            items = self._claim(limit, exhausted)
            if items:
                exhausted = len(items) < limit
                self._claimed += len(items)
                with self._changed:
                    self._outstanding += len(items)
                for item in items:
                    pool.submit(contextvars.copy_context().run, self._look_up_one, item)
            elif self._outstanding:
                exhausted = True
            elif idle_sleep_s is None:
                return "drained"
            else:
                exhausted = True
                self._idle_wait(idle_sleep_s)

    def _wait_for_room(self, room: int) -> None:
        self._wait_until(lambda: self._outstanding < room or self._interrupted)

    def _wait_until(self, predicate: Callable[[], bool]) -> None:
        with self._changed:
            while not predicate():
                self._changed.wait(_POLL_S)

    def _look_up_one(self, item: _Item) -> None:
        """A lookup thread: look ``item`` up and queue its outcome for the writers."""
        outcome = None
        try:
            if not (self._halted or self._stopping()):  # else left to the caller
                outcome = self._look_up(item)
        finally:
            if outcome is None:
                self._completed(None)
            else:
                self._writes.put(outcome)

    def _completed(self, error: Exception | None) -> None:
        with self._changed:
            if error is not None:
                self._error = self._error or error
                self._halted = True
            self._outstanding -= 1
            self._changed.notify_all()

    def _write_loop(self) -> None:
        """A writer thread: one transaction per outcome, on a connection kept while busy."""
        conn: sa.Connection | None = None
        try:
            while True:
                try:
                    outcome = self._writes.get(timeout=WRITER_IDLE_S if conn else None)
                except queue.Empty:  # idle: back to the pool (pinged there next time)
                    _close(conn)
                    conn = None
                    continue
                if outcome is _STOP:
                    return
                error: Exception | None = None
                try:
                    conn = conn or self._engine.connect()
                    self._write(conn, outcome)
                except Exception as exc:  # a database error: the run drains and raises it
                    error = exc
                    _close(conn)
                    conn = None
                self._completed(error)
        finally:
            _close(conn)


def _close(conn: sa.Connection | None) -> None:
    if conn is not None:
        with contextlib.suppress(Exception):  # a dead session cannot be closed cleanly
            conn.close()
