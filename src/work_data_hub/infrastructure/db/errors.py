"""The one seam where database driver errors become :class:`~work_data_hub.errors.StorageError`.

A driver's message can quote the data of the failing statement (names, ids) or the
connection URL, so it stays on the chained cause and never reaches the message; the
caller learns the operation and the driver's error class, as ``error_type``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

from work_data_hub.errors import StorageError

__all__ = ["driver_error_type", "storage_errors"]


def driver_error_type(exc: sa.exc.DBAPIError) -> str:
    """The class name of the driver's own exception (``UniqueViolation``, ``OperationalError``)."""
    return type(exc.orig).__name__ if exc.orig is not None else type(exc).__name__


@contextmanager
def storage_errors(operation: str) -> Iterator[None]:
    """Raise a driver error inside the block as ``StorageError("<operation> failed (…)")``."""
    try:
        yield
    except sa.exc.DBAPIError as exc:
        error_type = driver_error_type(exc)
        raise StorageError(f"{operation} failed ({error_type})", error_type=error_type) from exc
