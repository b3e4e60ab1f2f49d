"""Values of the enrichment queue: a request to enqueue, a claimed one, an unknown name.

Pure: the checks an enqueue runs before any SQL, and the rows the repository returns.
"""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "ENQUEUE_REQUEST_KEYS",
    "LEASE_EXPIRED_ERROR",
    "MAX_ERROR_LENGTH",
    "ClaimedRequest",
    "RequestName",
    "UnknownRequest",
    "checked_requests",
]

#: Keys every request given to an enqueue has (story 6.5's ``{raw_name, normalized_name,
#: temp_id}`` dicts).
ENQUEUE_REQUEST_KEYS = ("raw_name", "normalized_name", "temp_id")
#: ``last_error`` of a request whose worker vanished while holding its lease.
LEASE_EXPIRED_ERROR = "LeaseExpired"
MAX_ERROR_LENGTH = 200


@dataclass(frozen=True, kw_only=True, slots=True)
class ClaimedRequest:
    """A request a worker holds the lease of."""

    id: int
    raw_name: str
    normalized_name: str
    temp_id: str
    attempts: int

    @classmethod
    def from_row(cls, row: Any) -> ClaimedRequest:
        return cls(
            id=int(row.id),
            raw_name=row.raw_name,
            normalized_name=row.normalized_name,
            temp_id=row.temp_id,
            attempts=int(row.attempts),
        )


@dataclass(frozen=True, kw_only=True, slots=True)
class RequestName:
    """The name behind a temporary id, and the id its request resolved to (if any)."""

    normalized_name: str
    resolved_company_id: str | None


@dataclass(frozen=True, kw_only=True, slots=True)
class UnknownRequest:
    """A name no request resolved: first spelling and temporary id, first request, requests."""

    normalized_name: str
    raw_name: str
    temp_id: str
    first_seen: dt.datetime
    requests: int


_REQUEST_FIELDS = operator.itemgetter(*ENQUEUE_REQUEST_KEYS)


def checked_requests(requests: list[dict[str, str]]) -> list[tuple[str, str, str]]:
    """``(raw_name, normalized_name, temp_id)`` of every request, or ``ValueError`` naming
    the first bad one.

    A valid batch is checked column by column in C loops (a per-request check cost as much
    as the insert); only a batch with a problem is walked request by request to name it.
    """
    try:
        rows: list[tuple[str, str, str]] = list(map(_REQUEST_FIELDS, requests))
        raw_names, names, temp_ids = zip(*rows, strict=True)
        for column in (raw_names, names, temp_ids):
            "".join(column)  # TypeError unless every value is text
        if all(map(str.strip, names)):
            return rows
    except (KeyError, TypeError, ValueError):
        pass
    return [_check_request(index, request) for index, request in enumerate(requests)]


def _check_request(index: int, request: object) -> tuple[str, str, str]:
    if not isinstance(request, Mapping):
        raise ValueError(f"request {index} is not a mapping")
    values: list[str] = []
    for key in ENQUEUE_REQUEST_KEYS:
        if key not in request:
            raise ValueError(f"request {index} is missing {key!r}")
        value = request[key]
        if not isinstance(value, str):
            raise ValueError(f"request {index}: {key!r} must be a string")
        values.append(value)
    if not values[1].strip():
        raise ValueError(f"request {index} has an empty 'normalized_name'")
    return values[0], values[1], values[2]
