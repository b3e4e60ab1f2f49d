"""One chunk written on a second thread while the next one is read and resolved.

Writing a chunk (formula-safe cells, Arrow conversion, CSV or Parquet encoding) is mostly
work pyarrow does without the GIL, and resolving the next chunk spends part of its time
waiting for the database: the two overlap on a second core. At most one write is in
flight, so memory stays bounded by two chunks, and writes run in submission order on one
thread, so the output is the same file a sequential run writes. A write's exception is
raised by the next :meth:`WriteBehind.submit` or by :meth:`WriteBehind.drain`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from types import TracebackType

__all__ = ["WriteBehind"]


class WriteBehind:
    """A one-slot background writer; use as a context manager (the thread ends on exit)."""

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="wdh-write")
        self._pending: Future[float] | None = None

    def submit(self, write: Callable[[], object]) -> float:
        """Wait for the write in flight, then start ``write``; milliseconds the finished
        write took on its thread (0 when none was in flight)."""
        took = self.drain()
        self._pending = self._pool.submit(_timed, write)
        return took

    def drain(self) -> float:
        """Wait for the write in flight (raising its exception); its milliseconds."""
        pending, self._pending = self._pending, None
        return 0.0 if pending is None else pending.result()

    def __enter__(self) -> WriteBehind:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        # On an error elsewhere the write in flight still finishes (its file is discarded
        # by the caller); its own error, if any, is dropped in favour of the first one.
        if self._pending is not None:
            self._pending.exception()
            self._pending = None
        self._pool.shutdown(wait=True)


def _timed(write: Callable[[], object]) -> float:
    started = time.perf_counter()
    write()
    return (time.perf_counter() - started) * 1000
