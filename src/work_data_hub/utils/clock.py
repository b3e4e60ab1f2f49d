"""The one clock of the project.

Code that needs "now" takes it as an argument where it can; where it cannot (entry points,
workers), it calls :func:`utcnow`, which tests replace with ``monkeypatch``.
"""

from __future__ import annotations

import datetime as dt
import time

__all__ = ["ms_since", "utcnow"]


def utcnow() -> dt.datetime:
    """The current time, timezone-aware, in UTC."""
    return dt.datetime.now(dt.UTC)


def ms_since(started: float, digits: int | None = 3) -> float:
    """Milliseconds elapsed since ``started`` (a ``time.perf_counter()`` reading), rounded
    to ``digits`` (``None``: not rounded) — for timings in logs and statistics."""
    elapsed = (time.perf_counter() - started) * 1000
    return elapsed if digits is None else round(elapsed, digits)
