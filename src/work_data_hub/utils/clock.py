"""The one clock of the project.

Code that needs "now" takes it as an argument where it can; where it cannot (entry points,
workers), it calls :func:`utcnow`, which tests replace with ``monkeypatch``.
"""

from __future__ import annotations

import datetime as dt

__all__ = ["utcnow"]


def utcnow() -> dt.datetime:
    """The current time, timezone-aware, in UTC."""
    return dt.datetime.now(dt.UTC)
