"""Reads and writes of ``company_mapping`` and ``company_master``; the contract's enqueue.

The repository works on the caller's connection and never begins or commits; optional
writes (backflow, caching) go inside :meth:`CompanyMappingRepository.savepoint`. A batch is
one statement whatever its size (rows travel as bound arrays). Statements live in
:mod:`._mapping_statements`, pre-SQL checks in :mod:`._mapping_checks`; driver errors
become ``StorageError`` at :mod:`~work_data_hub.infrastructure.db.errors`. Logs: counts only.
"""

from __future__ import annotations

import operator
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from work_data_hub.infrastructure.db import tables
from work_data_hub.infrastructure.db.bound_batches import (
    array_params,
    rows_params,
    storable,
    text_array_params,
)
from work_data_hub.infrastructure.db.errors import storage_errors
from work_data_hub.infrastructure.enrichment import _mapping_checks as checks
from work_data_hub.infrastructure.enrichment import _mapping_statements as statements
from work_data_hub.infrastructure.enrichment import company_ids
from work_data_hub.infrastructure.enrichment.queue.repository import QueueRepository
from work_data_hub.infrastructure.enrichment.types import (
    EnqueueResult,
    InsertBatchResult,
    MappingRecord,
    MatchResult,
)
from work_data_hub.utils import clock
from work_data_hub.utils.logging import get_logger

__all__ = ["LIST_MAPPINGS_CHUNK_ROWS", "CompanyMappingRepository"]

log = get_logger(__name__)

#: Rows fetched per round trip when :meth:`CompanyMappingRepository.list_mappings` streams.
LIST_MAPPINGS_CHUNK_ROWS = 1000

_DIALECTS = ("postgresql", "sqlite")
_PRIORITY_OF_TYPE = {m.value: m.priority for m in tables.MatchType}


class CompanyMappingRepository:
    """Mapping cache, company master and enqueue on a caller-owned connection."""

    def __init__(self, connection: sa.Connection) -> None:
        if connection.dialect.name not in _DIALECTS:
            raise ValueError("the mapping repository supports PostgreSQL and SQLite only")
        self._conn = connection
        self._dialect = connection.dialect.name

    @property
    def connection(self) -> sa.Connection:
        """The caller's connection."""
        return self._conn

    def savepoint(self) -> sa.NestedTransaction:
        """A savepoint on the caller's connection: wrap an optional write in it, so its
        failure rolls back to here and leaves the caller's transaction usable."""
        return self._conn.begin_nested()

    # -- company_mapping ---------------------------------------------------------------

    def lookup_batch(self, keys: Sequence[tuple[str, str]]) -> list[MatchResult]:
        """The mappings stored for ``(alias_name, match_type)`` keys, in one query.

        Keys are de-duplicated first; each key yields at most one result (the pair is
        unique). The order of results is unspecified: the caller picks by priority.
        A key that is not a pair — a bare string would unpack into its two characters —
        raises ``ValueError``.
        """
        wanted = checks.checked_keys(keys)
        aliases = dict.fromkeys(alias for alias, _ in wanted)
        if not aliases:
            return []
        params = text_array_params(self._dialect, "aliases", aliases)
        if params is None:
            # A number read from a sheet is looked up as its text. A key the database
            # cannot hold (NUL, lone surrogate) matches nothing stored, and binding it
            # would fail the lookup of every other key.
            wanted = {(str(alias), str(kind)) for alias, kind in wanted}
            aliases = {alias: None for alias, _ in wanted if storable(alias) == alias}
            if not aliases:
                return []
            params = array_params(self._dialect, "aliases", aliases)
        started = time.perf_counter()
        rows = self._lookup_rows("lookup_batch", params)
        # Unpacking tuples is twice as fast as attribute access on rows (10,000 keys).
        found = [
            MatchResult(
                alias_name=alias,
                canonical_id=canonical_id,
                match_type=match_type,
                priority=priority,
                source=source,
                confidence=confidence,
            )
            for alias, canonical_id, match_type, priority, source, confidence in rows
            if (alias, match_type) in wanted
        ]
        log.debug(
            "mapping_repository.lookup_done",
            keys=len(wanted),
            hits=len(found),
            elapsed_ms=clock.ms_since(started),
        )
        return found

    def lookup_ids(
        self,
        aliases_by_type: Mapping[str, Iterable[str]],
        *,
        details: dict[tuple[str, str], tuple[str, float]] | None = None,
    ) -> dict[str, dict[str, str]]:
        """Stored ids per match type and alias, ``{match_type: {alias: canonical_id}}``, in
        one query — what :meth:`lookup_batch` finds, without a result object per mapping.

        Meant for many keys sharing few match types (the resolver asks every open name
        under four types): each distinct alias travels once. Types with nothing found are
        absent; aliases the database cannot store match nothing. ``details``, when given,
        receives the source and confidence of each mapping found (``explain``).
        """
        # Types sharing one key column usually share one alias list: each list is read once.
        sets: dict[int, set[str]] = {}
        wanted: dict[str, set[str]] = {}
        for kind, aliases in aliases_by_type.items():
            if id(aliases) not in sets:
                sets[id(aliases)] = set(aliases)
            wanted[str(kind)] = sets[id(aliases)]
        distinct: set[str] = set().union(*sets.values())
        if not distinct:
            return {}
        params = text_array_params(self._dialect, "aliases", distinct)
        if params is None:
            # As in lookup_batch: numbers as their text, unstorable aliases match nothing.
            wanted = {kind: set(map(str, texts)) for kind, texts in wanted.items()}
            distinct = {
                alias for texts in wanted.values() for alias in texts if storable(alias) == alias
            }
            if not distinct:
                return {}
            params = array_params(self._dialect, "aliases", distinct)
        started = time.perf_counter()
        found: dict[str, dict[str, str]] = {}
        empty: set[str] = set()
        for alias, canonical_id, kind, _, source, confidence in self._lookup_rows(
            "lookup_ids", params
        ):
            if alias in wanted.get(kind, empty):
                found.setdefault(kind, {})[alias] = canonical_id
                if details is not None:
                    details[(alias, kind)] = (source, float(confidence))
        log.debug(
            "mapping_repository.lookup_done",
            keys=len(distinct),
            hits=sum(len(ids) for ids in found.values()),
            elapsed_ms=clock.ms_since(started),
        )
        return found

    def insert_batch_with_conflict_check(
        self, mappings: Sequence[MappingRecord | Mapping[str, Any]]
    ) -> InsertBatchResult:
        """Insert new mappings; never overwrite an alias that maps to another id.

        Every record lands in exactly one count, so ``inserted + skipped + conflicts ==
        len(mappings)``:

        * ``inserted`` — a new ``(alias_name, match_type)`` row was written;
        * ``skipped`` — the same mapping already exists, or repeats an earlier record of
          this batch;
        * ``conflicts`` — the alias already maps to a different id (left untouched), or
          the batch itself maps one alias to several ids: then *none* of those records is
          written, since picking one would be arbitrary and a wrong mapping is worse
          than a missing one.

        Two statements at most: one ``INSERT … SELECT … ON CONFLICT DO NOTHING RETURNING``
        for the whole batch, then (only when some rows were not inserted) one read of the
        existing ids of those keys, to tell "same id" from "other id". The read runs
        after the insert so it sees a row whose concurrent insert made ours yield.

        Raises ``ValueError`` for an unknown match type or source, an empty alias or id,
        or a confidence outside [0, 1], before any SQL runs. A record the database cannot
        store — text holding NUL or a lone surrogate, an id longer than the column's 64
        characters — is ``skipped`` (on SQLite too, which would store it).

        Records are :class:`MappingRecord` or plain mappings with its fields (as the
        original's callers pass them); anything else raises ``ValueError``.
        """
        records = [checks.as_record(index, record) for index, record in enumerate(mappings)]
        by_key: dict[tuple[str, str], list[MappingRecord]] = {}
        for index, record in enumerate(records):
            checks.check_mapping(index, record)
            by_key.setdefault((record.alias_name, record.match_type), []).append(record)
        if not by_key:
            return InsertBatchResult()
        candidates, skipped, conflicts = checks.sort_out(records, by_key)
        inserted = 0
        if candidates:
            # Sorted so that concurrent batches take index locks in the same order.
            candidates.sort(key=operator.attrgetter("alias_name", "match_type"))
            started = time.perf_counter()
            with storage_errors("insert_batch_with_conflict_check"):
                written = self._insert_candidates(candidates)
                left = [
                    (r.alias_name, r.match_type)
                    for r in candidates
                    if (r.alias_name, r.match_type) not in written
                ]
                existing = self._existing_ids(left) if left else {}
            inserted = len(written)
            wanted = {(r.alias_name, r.match_type): r.canonical_id for r in candidates}
            for key in left:
                # A row that vanished between the two statements was not written by us
                # and is not known to agree: count it as a conflict.
                if existing.get(key) == wanted[key]:
                    skipped += 1
                else:
                    conflicts += 1
            log.debug(
                "mapping_repository.insert_batch_done",
                records=len(mappings),
                inserted=inserted,
                skipped=skipped,
                conflicts=conflicts,
                elapsed_ms=clock.ms_since(started),
            )
        return InsertBatchResult(inserted=inserted, skipped=skipped, conflicts=conflicts)

    def list_mappings(self, match_types: Sequence[str] | None = None) -> Iterator[MatchResult]:
        """Stream stored mappings (all, or of ``match_types``), by priority then alias.

        Rows are fetched in chunks of :data:`LIST_MAPPINGS_CHUNK_ROWS`; consume the
        iterator while the connection is open.
        """
        kinds = None if match_types is None else [str(kind) for kind in match_types]
        unknown = sorted(set(kinds or ()) - checks.MATCH_TYPES)
        if unknown:
            raise ValueError(f"unknown match type(s): {', '.join(unknown)}")
        return self._stream_mappings(kinds)

    def best_name_ids(self, names: Iterable[str]) -> dict[str, str]:
        """Per normalized name, the id of its best mapping keyed by a name (``manual``,
        then ``name``, then ``eqc``; spec section 1's priorities), in one query. Names
        without one are absent; so are stored ids the id rule refuses."""
        distinct = {name for name in names if storable(name) == name}
        if not distinct:
            return {}
        params = array_params(self._dialect, "aliases", distinct)
        with storage_errors("best_name_ids"):
            rows = self._conn.execute(statements.best_name_ids(self._dialect), params).all()
        best: dict[str, tuple[int, str]] = {}
        for alias, canonical_id, priority in sorted(rows, key=operator.itemgetter(2)):
            company_id = company_ids.valid_company_id(canonical_id)
            if company_id is not None:
                best.setdefault(alias, (priority, company_id))
        return {alias: company_id for alias, (_, company_id) in best.items()}

    def name_aliases(self) -> tuple[list[str], list[str], list[str]]:
        """Every mapped company name (match types ``manual``, ``name``, ``eqc``) as three
        parallel lists: alias, company id, source. What review suggestions match against."""
        aliases: list[str] = []
        ids: list[str] = []
        sources: list[str] = []
        with storage_errors("name_aliases"):
            for alias, company_id, source in self._conn.execute(statements.name_aliases()):
                aliases.append(alias)
                ids.append(company_id)
                sources.append(source)
        return aliases, ids, sources

    # -- company_master ----------------------------------------------------------------

    def upsert_company(
        self,
        *,
        company_id: str,
        official_name: str,
        unified_credit_code: str | None = None,
        aliases: Sequence[str] = (),
        source: str = tables.MappingSource.EQC.value,
    ) -> None:
        """Insert a company or refresh its name, source and (when given) code and aliases.

        A ``None`` credit code keeps the stored one; empty ``aliases`` keep the stored
        list, otherwise the list is replaced (EQC answers carry the full list of former
        names). A credit code already used by another company raises ``StorageError``
        (``error_type`` names the driver's integrity error); run it in a savepoint when
        the write is optional.
        """
        if not company_id or not company_id.strip():
            raise ValueError("company_id must not be empty")
        if not official_name or not official_name.strip():
            raise ValueError("official_name must not be empty")
        if source not in checks.SOURCES:
            raise ValueError(f"unknown source: {source!r}")
        alias_list = list(dict.fromkeys(a for a in aliases if a))
        now = clock.utcnow()
        with storage_errors("upsert_company"):
            self._conn.execute(
                statements.upsert_company(self._dialect, replace_aliases=bool(alias_list)),
                {
                    "company_id": company_id,
                    "official_name": official_name,
                    "unified_credit_code": unified_credit_code or None,
                    "aliases": alias_list,
                    "source": source,
                    "created_at": now,
                    "updated_at": now,
                },
            )

    # -- enrichment_requests ------------------------------------------------------------

    def enqueue_for_enrichment(self, requests: list[dict[str, str]]) -> EnqueueResult:
        """Story 6.5's entry point; the queue owns the statement (``QueueRepository.enqueue``)."""
        return QueueRepository(self._conn).enqueue(requests)

    # -- helpers -------------------------------------------------------------------------

    def _insert_candidates(self, candidates: list[MappingRecord]) -> set[tuple[str, str]]:
        rows = [
            (
                r.alias_name,
                r.canonical_id,
                r.match_type,
                _PRIORITY_OF_TYPE[r.match_type],
                r.source,
                float(r.confidence),
            )
            for r in candidates
        ]
        params = rows_params(self._dialect, statements.MAPPING_COLUMNS, rows)
        params["now"] = clock.utcnow()
        result = self._conn.execute(
            statements.insert_batch_with_conflict_check(self._dialect), params
        )
        # One fetch of every row: iterating the result would fetch row by row.
        return {(alias, kind) for alias, kind in result.all()}

    def _existing_ids(self, keys: list[tuple[str, str]]) -> dict[tuple[str, str], str]:
        wanted = set(keys)
        aliases = dict.fromkeys(alias for alias, _ in keys)
        rows = self._lookup_rows(
            "insert_batch_with_conflict_check",
            array_params(self._dialect, "aliases", aliases),
        )
        return {
            (alias, kind): canonical_id
            for alias, canonical_id, kind, *_ in rows
            if (alias, kind) in wanted
        }

    def _lookup_rows(self, operation: str, params: dict[str, str]) -> list[Any]:
        """Stored rows (every match type) whose alias is one of the bound ``aliases``.

        An alias has at most one row per match type, so the rows of types nobody asked
        for are few; callers keep the pairs they want.
        """
        with storage_errors(operation):
            return list(self._conn.execute(statements.lookup_batch(self._dialect), params).all())

    def _stream_mappings(self, kinds: list[str] | None) -> Iterator[MatchResult]:
        with storage_errors("list_mappings"):
            result = self._conn.execute(
                statements.list_mappings(filtered=kinds is not None).execution_options(
                    yield_per=LIST_MAPPINGS_CHUNK_ROWS
                ),
                {"match_types": kinds} if kinds is not None else {},
            )
            try:
                for row in result:
                    yield MatchResult.from_row(row)
            finally:
                result.close()
