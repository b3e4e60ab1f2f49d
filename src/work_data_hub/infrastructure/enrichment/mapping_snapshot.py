"""What a run has read of ``company_mapping``, kept across the chunks of one file.

A file resolved in chunks asks the DB-cache tier's one query per chunk, and most names of
a monthly file come back in every chunk. :class:`MappingSnapshot` remembers, per match type
and alias, the stored id the database gave (or that it had none), so a chunk asks only
for aliases no earlier chunk asked about. :meth:`MappingSnapshot.bind` wraps the chunk's
repository in a :class:`~work_data_hub.infrastructure.enrichment.types.MappingRepositoryProtocol`
that answers ``lookup_ids`` from the snapshot and the database together.

It gives the ids the database would give: what a run writes goes through the wrapped
repository. When the database inserted every record of a batch (backflow), each key now
holds the record's id and the snapshot knows it; otherwise the batch's keys are
forgotten, so the next chunk reads them again — skipped or in conflict, the database's
answer stands. Writes the wrapper does not see (an EQC provider caching its hits) are the
caller's to report with :meth:`MappingSnapshot.clear`. Mappings another process writes
during the run are not seen for aliases the run already asked about: one snapshot per
run, as the run's report is.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from itertools import compress, filterfalse, repeat
from operator import is_, is_not
from typing import cast

from work_data_hub.infrastructure.enrichment.types import (
    EnqueueResult,
    InsertBatchResult,
    MappingRecord,
    MappingRepositoryProtocol,
    MatchResult,
)
from work_data_hub.utils.logging import get_logger

__all__ = ["MappingSnapshot", "SnapshotRepository"]

log = get_logger(__name__)


class MappingSnapshot:
    """Aliases asked per match type, and the stored ids found among them, grown chunk by chunk.

    Kept as sets and dicts per match type so a chunk's hundred thousand aliases are sorted
    into known and unknown by set operations, not one Python step per alias and type.
    """

    def __init__(self) -> None:
        self._asked: dict[str, set[str]] = {}
        self._ids: dict[str, dict[str, str]] = {}
        self.asked = 0
        self.answered = 0

    def __len__(self) -> int:
        return sum(len(aliases) for aliases in self._asked.values())

    def bind(self, repository: MappingRepositoryProtocol) -> SnapshotRepository:
        """``repository`` (one chunk's connection) answering lookups through this snapshot."""
        return SnapshotRepository(self, repository)

    def clear(self) -> None:
        """Forget everything: mappings were written where the snapshot could not see."""
        self._asked.clear()
        self._ids.clear()

    def learn_written(self, records: Sequence[MappingRecord], result: InsertBatchResult) -> None:
        """After ``records`` went to the database: their keys hold their ids when every
        one of them was inserted (one row per record, so each row is the record's); any
        other outcome makes the snapshot forget the keys, to read them again."""
        written = {(r.alias_name, str(r.match_type)): r.canonical_id for r in records}
        if result.inserted != len(records) or len(written) != len(records):
            self.forget(written)
            return
        for (alias, match_type), canonical_id in written.items():
            self._asked.setdefault(match_type, set()).add(alias)
            self._ids.setdefault(match_type, {})[alias] = canonical_id

    def forget(self, keys: Iterable[tuple[str, str]]) -> None:
        """Forget ``(alias, match_type)`` pairs, so they are read again."""
        for alias, match_type in keys:
            self._asked.get(match_type, set()).discard(alias)
            self._ids.get(match_type, {}).pop(alias, None)

    def lookup_ids(
        self,
        repository: MappingRepositoryProtocol,
        aliases_by_type: Mapping[str, Iterable[str]],
    ) -> dict[str, dict[str, str]]:
        """``repository.lookup_ids`` for what is not known yet, the rest from memory."""
        result: dict[str, dict[str, str]] = {}
        for kind, aliases, stored in self._stored_ids(repository, aliases_by_type):
            present = map(is_not, stored, repeat(None))
            hits = dict(compress(zip(aliases, stored, strict=True), present))
            if hits:
                result[kind] = cast(dict[str, str], hits)  # the None ones were left out
        return result

    def lookup_id_lists(
        self,
        repository: MappingRepositoryProtocol,
        aliases_by_type: Mapping[str, Sequence[str]],
    ) -> dict[str, list[str | None]]:
        """:meth:`lookup_ids` in the order of each type's list: ``result[kind][i]`` is the
        stored id of ``aliases_by_type[kind][i]`` (None: none). Types with nothing found
        are absent. No dict of hits is built: a caller holding its aliases by position
        (the resolver's key columns) takes the answers by position."""
        return {
            kind: stored
            for kind, _, stored in self._stored_ids(repository, aliases_by_type)
            if not all(map(is_, stored, repeat(None)))
        }

    def _stored_ids(
        self,
        repository: MappingRepositoryProtocol,
        aliases_by_type: Mapping[str, Iterable[str]],
    ) -> list[tuple[str, list[str], list[str | None]]]:
        """Per type: its aliases and, in their order, their stored ids (None: none); what
        no earlier lookup asked about is read from ``repository`` first."""
        # Types sharing one alias list (the resolver asks every name under several types)
        # keep sharing one list, so the repository still reads each alias once.
        groups: dict[int, tuple[list[str], list[str]]] = {}
        for match_type, aliases in aliases_by_type.items():
            if id(aliases) not in groups:
                listed = aliases if isinstance(aliases, list) else list(aliases)
                groups[id(aliases)] = (listed, [])
            groups[id(aliases)][1].append(str(match_type))
        missing: dict[str, list[str]] = {}
        for aliases, kinds in groups.values():
            unknown: dict[str, None] = {}
            for kind in kinds:
                asked = self._asked.setdefault(kind, set())
                if not asked.issuperset(aliases):
                    unknown.update(dict.fromkeys(filterfalse(asked.__contains__, aliases)))
            listed = list(unknown)
            for kind in kinds:
                if listed:
                    missing[kind] = listed
            self.asked += len(aliases)
            self.answered += len(aliases) - len(unknown)
        found = repository.lookup_ids(missing) if missing else {}
        for kind, listed in missing.items():
            self._asked[kind].update(listed)
            self._ids.setdefault(kind, {}).update(found.get(kind, {}))
        answers: list[tuple[str, list[str], list[str | None]]] = []
        for aliases, kinds in groups.values():
            for kind in kinds:
                ids = self._ids.get(kind)
                if ids:
                    # One probe per alias at C speed (no Python frame per alias).
                    answers.append((kind, aliases, list(map(ids.get, aliases))))
        log.debug(
            "mapping_snapshot.lookup_done",
            asked=sum(len(a) for a, _ in groups.values()),
            read=sum(len(a) for a in missing.values()),
            known=len(self),
        )
        return answers


class SnapshotRepository:
    """One chunk's repository with ``lookup_ids`` answered through a :class:`MappingSnapshot`.

    Everything else goes to the repository; the keys of written mappings are forgotten.
    """

    def __init__(self, snapshot: MappingSnapshot, repository: MappingRepositoryProtocol) -> None:
        self._snapshot = snapshot
        self._repository = repository

    def lookup_ids(
        self,
        aliases_by_type: Mapping[str, Iterable[str]],
        *,
        details: dict[tuple[str, str], tuple[str, float]] | None = None,
    ) -> dict[str, dict[str, str]]:
        if details is not None:
            # Sources and confidences (``explain``) are not kept: read them afresh.
            return self._repository.lookup_ids(aliases_by_type, details=details)
        return self._snapshot.lookup_ids(self._repository, aliases_by_type)

    def lookup_id_lists(
        self, aliases_by_type: Mapping[str, Sequence[str]]
    ) -> dict[str, list[str | None]]:
        """:meth:`MappingSnapshot.lookup_id_lists` through this chunk's repository."""
        return self._snapshot.lookup_id_lists(self._repository, aliases_by_type)

    def lookup_batch(self, keys: Sequence[tuple[str, str]]) -> list[MatchResult]:
        return self._repository.lookup_batch(keys)

    def savepoint(self) -> AbstractContextManager[object]:
        return self._repository.savepoint()

    def insert_batch_with_conflict_check(
        self, mappings: Sequence[MappingRecord]
    ) -> InsertBatchResult:
        try:
            result = self._repository.insert_batch_with_conflict_check(mappings)
        except BaseException:
            # Forgotten when the insert failed: its savepoint may have rolled back part of
            # what the snapshot would otherwise have assumed.
            self._snapshot.forget((m.alias_name, m.match_type) for m in mappings)
            raise
        self._snapshot.learn_written(mappings, result)
        return result

    def enqueue_for_enrichment(self, requests: list[dict[str, str]]) -> EnqueueResult:
        return self._repository.enqueue_for_enrichment(requests)
