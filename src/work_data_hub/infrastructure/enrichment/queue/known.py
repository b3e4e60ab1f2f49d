"""What the database already knows about a claimed name, so a worker does not ask EQC.

Before a worker calls EQC for the requests it claimed, it settles the ones whose answer is
already stored, in one short transaction and with no call:

* the normalized name has a mapping (``manual``, ``name`` or ``eqc``, the highest priority
  wins) — gained since it was queued, e.g. through ``mappings import`` or another
  request's hit — → ``done`` with that id, counted ``cached``;
* EQC answered "not found" for the same normalized name within the memory window (default
  30 days) → ``done`` with a null id, counted ``known_not_found``. Requests closed from
  memory carry :data:`REMEMBERED` in ``last_error`` and do not themselves extend the
  memory: only an answer EQC gave does.

``queue retry-failed --include-not-found`` makes the queue forget those answers: the latest
remembered request per name (with no open request) is reopened, the others are marked
:data:`FORGOTTEN`. The statements live with the queue's others (:mod:`.repository`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping
from dataclasses import dataclass

import sqlalchemy as sa

from work_data_hub.infrastructure.db import tables
from work_data_hub.infrastructure.enrichment import mapping_repository
from work_data_hub.infrastructure.enrichment.company_ids import valid_company_id
from work_data_hub.infrastructure.enrichment.queue.repository import QueueRepository

__all__ = [
    "DEFAULT_NOT_FOUND_MEMORY",
    "FORGOTTEN",
    "REMEMBERED",
    "KnownAnswers",
    "forget_not_found",
    "known_answers",
]

#: How long an EQC "not found" is trusted before the name is searched again.
DEFAULT_NOT_FOUND_MEMORY = dt.timedelta(days=30)
#: ``last_error`` of a request closed from the memory (no call was made).
REMEMBERED = "not_found_remembered"
#: ``last_error`` of a remembered "not found" that ``retry-failed`` told the queue to forget.
FORGOTTEN = "not_found_forgotten"

#: Mapping types that settle a name, highest priority first (spec section 1 priorities).
_NAME_TYPES: tuple[str, ...] = (
    tables.MatchType.MANUAL.value,
    tables.MatchType.NAME.value,
    tables.MatchType.EQC.value,
)


@dataclass(frozen=True, kw_only=True, slots=True)
class KnownAnswers:
    """Per normalized name: the id a mapping gives, and the names EQC recently did not know."""

    ids: Mapping[str, str]
    not_found: frozenset[str]


def known_answers(
    conn: sa.Connection, names: Collection[str], *, not_found_since: dt.datetime | None
) -> KnownAnswers:
    """Stored answers for ``names``: mapped ids, and names EQC did not know since
    ``not_found_since`` (``None``: no memory). Two queries, whatever the number of names."""
    distinct = sorted({name for name in names if name})
    if not distinct:
        return KnownAnswers(ids={}, not_found=frozenset())
    repository = mapping_repository.CompanyMappingRepository(conn)
    stored = repository.lookup_ids(dict.fromkeys(_NAME_TYPES, distinct))
    ids: dict[str, str] = {}
    for kind in reversed(_NAME_TYPES):  # higher priorities overwrite lower ones
        for alias, company_id in stored.get(kind, {}).items():
            cleaned = valid_company_id(company_id)
            if cleaned is not None:
                ids[alias] = cleaned
    not_found: frozenset[str] = frozenset()
    if not_found_since is not None:
        remembered = QueueRepository(conn).remembered_not_found(distinct, not_found_since)
        not_found = frozenset(remembered - ids.keys())
    return KnownAnswers(ids=ids, not_found=not_found)


def forget_not_found(conn: sa.Connection, *, since: dt.datetime, now: dt.datetime) -> int:
    """Reopen the names EQC did not know since ``since`` (one request each); returns how
    many requests were reopened. Their other remembered answers are forgotten."""
    return QueueRepository(conn).reopen_not_found(since, now, note=FORGOTTEN)
