"""Corrections of ``company_mapping`` with a record: replace, delete, and their history.

A mapping, once used, has stamped ids on rows downstream; changing or removing it without a
trace would leave nobody able to say why those rows carry what they carry. Every
replacement and deletion made here writes one ``company_mapping_history`` row (alias, match
type, old id, new id, source, action, when) in the same transaction.

:class:`MappingCorrections` works on the caller's connection and never begins or commits,
like :class:`~.mapping_repository.CompanyMappingRepository`; each public method runs a
constant number of statements whatever the batch size (rows travel as bound arrays).
Driver errors are raised as :class:`~work_data_hub.errors.StorageError`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from work_data_hub.infrastructure.db import tables
from work_data_hub.infrastructure.db.bound_batches import array_params, rows_params
from work_data_hub.infrastructure.db.errors import storage_errors
from work_data_hub.infrastructure.enrichment import _mapping_checks as checks
from work_data_hub.infrastructure.enrichment import _mapping_statements as statements
from work_data_hub.infrastructure.enrichment.types import MappingRecord, MatchResult
from work_data_hub.utils import clock
from work_data_hub.utils.logging import get_logger

__all__ = ["DEFAULT_HISTORY_LIMIT", "HistoryEntry", "MappingCorrections"]

#: Rows ``history`` returns unless told otherwise.
DEFAULT_HISTORY_LIMIT = 100

log = get_logger(__name__)


@dataclass(frozen=True, kw_only=True, slots=True)
class HistoryEntry:
    """One recorded change: ``new_id`` is None for a deletion."""

    alias_name: str
    match_type: str
    old_id: str | None
    new_id: str | None
    source: str
    action: str
    changed_at: dt.datetime

    @classmethod
    def from_row(cls, row: Any) -> HistoryEntry:
        return cls(
            alias_name=row.alias_name,
            match_type=row.match_type,
            old_id=row.old_id,
            new_id=row.new_id,
            source=row.source,
            action=row.action,
            changed_at=row.changed_at,
        )


class MappingCorrections:
    """Replace and delete mappings, recording each change, on a caller-owned connection."""

    def __init__(self, connection: sa.Connection) -> None:
        self._conn = connection
        self._dialect = connection.dialect.name

    def replace(self, records: Sequence[MappingRecord]) -> list[MatchResult]:
        """Point the stored mappings of ``records``' keys that hold another id at the
        record's id (source and confidence too); returns the mappings as they were.

        Keys not stored, or stored with the same id, are left alone. One read, one update
        and one history insert.
        """
        wanted = {(r.alias_name, r.match_type): r for r in records}
        for record in wanted.values():
            _check(record)
        if not wanted:
            return []
        aliases = dict.fromkeys(alias for alias, _ in wanted)
        with storage_errors("replace"):
            stored = self._conn.execute(
                statements.lookup_batch(self._dialect),
                array_params(self._dialect, "aliases", aliases),
            ).all()
        changed = [
            MatchResult.from_row(row)
            for row in stored
            if (row.alias_name, row.match_type) in wanted
            and wanted[(row.alias_name, row.match_type)].canonical_id != row.canonical_id
        ]
        if not changed:
            return []
        now = clock.utcnow()
        replacements = [wanted[(m.alias_name, m.match_type)] for m in changed]
        rows = [
            (r.alias_name, r.match_type, r.canonical_id, r.source, float(r.confidence))
            for r in replacements
        ]
        params = rows_params(self._dialect, statements.REPLACEMENT_COLUMNS, rows)
        history = [
            (m.alias_name, m.match_type, m.canonical_id, r.canonical_id, r.source, _REPLACE)
            for m, r in zip(changed, replacements, strict=True)
        ]
        with storage_errors("replace"):
            self._conn.execute(statements.replace_mappings(self._dialect), {**params, "now": now})
            self._record(history, now)
        log.info("mapping_corrections.replaced", mappings=len(changed))
        return changed

    def delete(
        self,
        *,
        keys: Collection[tuple[str, str]] | None = None,
        source: str | None = None,
        match_type: str | None = None,
        dry_run: bool = False,
    ) -> list[MatchResult]:
        """Delete the mappings of ``keys`` (``(alias, match_type)`` pairs) and/or of
        ``source`` / ``match_type``; returns what was deleted (with ``dry_run``, what
        would be, and nothing changes). Each deletion is recorded.

        Raises ``ValueError`` without keys or a filter, or for an unknown source or type.
        """
        if keys is None and source is None and match_type is None:
            raise ValueError("a deletion needs keys, a source or a match type")
        if source is not None and source not in checks.SOURCES:
            raise ValueError(f"unknown source: {source!r}")
        if match_type is not None and match_type not in checks.MATCH_TYPES:
            raise ValueError(f"unknown match type: {match_type!r}")
        if keys is not None and not keys:
            return []
        flags = {
            "by_keys": keys is not None,
            "by_source": source is not None,
            "by_match_type": match_type is not None,
        }
        params: dict[str, Any] = {}
        if keys is not None:
            params.update(rows_params(self._dialect, statements.KEY_COLUMNS, sorted(set(keys))))
        if source is not None:
            params["source"] = source
        if match_type is not None:
            params["match_type"] = match_type
        builder = statements.mappings_to_delete if dry_run else statements.delete_mappings
        with storage_errors("delete"):
            rows = self._conn.execute(builder(self._dialect, **flags), params).all()
            deleted = sorted(
                (MatchResult.from_row(row) for row in rows),
                key=lambda m: (m.priority, m.alias_name),
            )
            if deleted and not dry_run:
                self._record(
                    [
                        (m.alias_name, m.match_type, m.canonical_id, "", m.source, _DELETE)
                        for m in deleted
                    ],
                    clock.utcnow(),
                )
        if not dry_run:
            log.info("mapping_corrections.deleted", mappings=len(deleted))
        return deleted

    def history(
        self, *, alias_name: str | None = None, limit: int = DEFAULT_HISTORY_LIMIT
    ) -> list[HistoryEntry]:
        """Recorded changes, newest first (of ``alias_name`` when given)."""
        if limit < 1:
            raise ValueError("limit must be at least 1")
        params: dict[str, Any] = {"limit": limit}
        if alias_name is not None:
            params["alias_name"] = alias_name
        with storage_errors("history"):
            rows = self._conn.execute(
                statements.mapping_history(by_alias=alias_name is not None), params
            ).all()
        return [HistoryEntry.from_row(row) for row in rows]

    def _record(self, rows: list[tuple[str, str, str, str, str, str]], now: dt.datetime) -> None:
        params = rows_params(self._dialect, statements.HISTORY_COLUMNS, rows)
        self._conn.execute(statements.record_history(self._dialect), {**params, "now": now})


_REPLACE = tables.HistoryAction.REPLACE.value
_DELETE = tables.HistoryAction.DELETE.value


def _check(record: MappingRecord) -> None:
    if record.match_type not in checks.MATCH_TYPES:
        raise ValueError(f"unknown match_type {record.match_type!r}")
    if record.source not in checks.SOURCES:
        raise ValueError(f"unknown source {record.source!r}")
    if not record.alias_name.strip() or not record.canonical_id.strip():
        raise ValueError("a mapping needs an alias and an id")
