"""The checks a mapping passes before any SQL runs: caller misuse is a ``ValueError``.

Kept apart from :mod:`.mapping_repository` so the repository reads as its statements and
counts; these are pure functions of the values.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from work_data_hub.infrastructure.db import tables
from work_data_hub.infrastructure.db.bound_batches import all_storable, storable
from work_data_hub.infrastructure.enrichment.types import MappingRecord

__all__ = [
    "ID_LENGTH",
    "MATCH_TYPES",
    "SOURCES",
    "as_record",
    "check_mapping",
    "checked_keys",
    "sort_out",
    "storable_id",
]

MATCH_TYPES = frozenset(m.value for m in tables.MatchType)
SOURCES = frozenset(s.value for s in tables.MappingSource)
#: The longest id ``canonical_id`` holds.
ID_LENGTH: int = tables.company_mapping.c.canonical_id.type.length  # type: ignore[attr-defined]


def checked_keys(keys: object) -> set[tuple[str, str]]:
    """The distinct keys; ``ValueError`` unless every one is an ``(alias, type)`` pair."""
    if isinstance(keys, Iterable) and not isinstance(keys, str | bytes):
        wanted = set(keys)
        if all(type(key) is tuple and len(key) == 2 for key in wanted):
            return wanted
    raise ValueError("lookup_batch takes (alias_name, match_type) pairs, not bare strings")


def as_record(index: int, record: object) -> MappingRecord:
    if isinstance(record, MappingRecord):
        return record
    if not isinstance(record, Mapping):
        raise ValueError(f"mapping {index} is neither a MappingRecord nor a mapping")
    try:
        return MappingRecord(**record)
    except TypeError:
        fields = ", ".join(MappingRecord.__dataclass_fields__)
        raise ValueError(f"mapping {index}: expected the fields {fields}") from None


def storable_id(company_id: str) -> bool:
    return len(company_id) <= ID_LENGTH and storable(company_id) == company_id


def check_mapping(index: int, record: MappingRecord) -> None:
    if record.match_type not in MATCH_TYPES:
        raise ValueError(f"mapping {index}: unknown match_type {record.match_type!r}")
    if record.source not in SOURCES:
        raise ValueError(f"mapping {index}: unknown source {record.source!r}")
    if not record.alias_name or not record.alias_name.strip():
        raise ValueError(f"mapping {index} has an empty 'alias_name'")
    if not record.canonical_id or not record.canonical_id.strip():
        raise ValueError(f"mapping {index} has an empty 'canonical_id'")
    if not 0.0 <= record.confidence <= 1.0:
        raise ValueError(f"mapping {index}: confidence must be between 0 and 1")


def sort_out(
    records: list[MappingRecord], by_key: Mapping[tuple[str, str], list[MappingRecord]]
) -> tuple[list[MappingRecord], int, int]:
    """``(candidates, skipped, conflicts)`` of a checked batch grouped by key: one candidate
    per key; a key whose records disagree on the id is a conflict (none of them is written,
    a wrong mapping being worse than a missing one); repeats and records the database
    cannot store (one must not fail the whole batch) are skipped."""
    clean = all_storable(t for r in records for t in (r.alias_name, r.canonical_id)) and all(
        len(r.canonical_id) <= ID_LENGTH for r in records
    )
    if clean and len(by_key) == len(records):  # the usual batch: one record per key
        return [first for first, *_ in by_key.values()], 0, 0
    candidates: list[MappingRecord] = []
    skipped = conflicts = 0
    for (alias, _kind), group in by_key.items():
        if not clean and (
            storable(alias) != alias or not all(storable_id(r.canonical_id) for r in group)
        ):
            skipped += len(group)
        elif len({r.canonical_id for r in group}) > 1:
            conflicts += len(group)
        else:
            candidates.append(group[0])
            skipped += len(group) - 1
    return candidates, skipped, conflicts
