"""The run's mapping snapshot reads each alias once, answers from memory after, and reads
again what the run wrote or what the caller says was written elsewhere."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext

import pytest

from work_data_hub.infrastructure.enrichment.mapping_snapshot import MappingSnapshot
from work_data_hub.infrastructure.enrichment.types import (
    EnqueueResult,
    InsertBatchResult,
    MappingRecord,
    MappingRepositoryProtocol,
    MatchResult,
)


class _Stored:
    """An in-memory mapping table that records what each ``lookup_ids`` asked for."""

    def __init__(self, rows: dict[tuple[str, str], str]) -> None:
        self.rows = dict(rows)
        self.asked: list[dict[str, list[str]]] = []
        self.list_ids: list[set[int]] = []

    def lookup_ids(
        self,
        aliases_by_type: Mapping[str, Iterable[str]],
        *,
        details: dict[tuple[str, str], tuple[str, float]] | None = None,
    ) -> dict[str, dict[str, str]]:
        self.asked.append({k: sorted(v) for k, v in aliases_by_type.items()})
        self.list_ids.append({id(v) for v in aliases_by_type.values()})
        found: dict[str, dict[str, str]] = {}
        for kind, aliases in aliases_by_type.items():
            for alias in aliases:
                if (alias, kind) in self.rows:
                    found.setdefault(kind, {})[alias] = self.rows[(alias, kind)]
                    if details is not None:
                        details[(alias, kind)] = ("internal", 1.0)
        return found

    def lookup_batch(self, keys: Sequence[tuple[str, str]]) -> list[MatchResult]:
        return []

    def savepoint(self) -> AbstractContextManager[object]:
        return nullcontext()

    def insert_batch_with_conflict_check(
        self, mappings: Sequence[MappingRecord]
    ) -> InsertBatchResult:
        inserted = 0
        for m in mappings:
            if (m.alias_name, m.match_type) not in self.rows:
                self.rows[(m.alias_name, m.match_type)] = m.canonical_id
                inserted += 1
        return InsertBatchResult(inserted=inserted, skipped=len(mappings) - inserted)

    def enqueue_for_enrichment(self, requests: list[dict[str, str]]) -> EnqueueResult:
        return EnqueueResult(queued_count=len(requests), skipped_count=0)


def test_bound_snapshot_provides_the_repository_protocol() -> None:
    assert isinstance(MappingSnapshot().bind(_Stored({})), MappingRepositoryProtocol)


def test_a_later_chunk_reads_only_aliases_no_earlier_chunk_asked_about() -> None:
    stored = _Stored({("甲", "name"): "C1", ("乙", "eqc"): "C2"})
    snapshot = MappingSnapshot()
    names = ["甲", "乙", "丙"]
    first = snapshot.bind(stored).lookup_ids({"name": names, "eqc": names})
    later = ["甲", "丙", "丁"]
    second = snapshot.bind(stored).lookup_ids({"name": later, "eqc": later})
    assert first == {"name": {"甲": "C1"}, "eqc": {"乙": "C2"}}
    assert second == {"name": {"甲": "C1"}}
    assert stored.asked[1] == {"name": ["丁"], "eqc": ["丁"]}
    assert (snapshot.asked, snapshot.answered) == (6, 2)  # one shared list per call


def test_types_sharing_one_alias_list_still_share_one_list() -> None:
    stored = _Stored({})
    names = ["甲", "乙"]
    MappingSnapshot().bind(stored).lookup_ids({"name": names, "eqc": names, "plan": ["P1"]})
    assert len(stored.list_ids[0]) == 2


def test_nothing_unknown_asks_the_database_nothing() -> None:
    stored = _Stored({("甲", "name"): "C1"})
    snapshot = MappingSnapshot()
    snapshot.bind(stored).lookup_ids({"name": ["甲"]})
    assert snapshot.bind(stored).lookup_ids({"name": ["甲"]}) == {"name": {"甲": "C1"}}
    assert len(stored.asked) == 1


def test_keys_of_a_batch_inserted_whole_are_known_without_a_read() -> None:
    stored = _Stored({})
    snapshot = MappingSnapshot()
    repository = snapshot.bind(stored)
    assert repository.lookup_ids({"name": ["甲", "乙"]}) == {}
    repository.insert_batch_with_conflict_check(
        [MappingRecord(alias_name="甲", canonical_id="C1", match_type="name")]
    )
    assert snapshot.bind(stored).lookup_ids({"name": ["甲", "乙"]}) == {"name": {"甲": "C1"}}
    assert len(stored.asked) == 1  # the second lookup read nothing


def test_keys_of_a_batch_not_inserted_whole_are_read_again() -> None:
    stored = _Stored({("甲", "name"): "C9"})
    snapshot = MappingSnapshot()
    repository = snapshot.bind(stored)
    repository.lookup_ids({"name": ["乙"]})
    repository.insert_batch_with_conflict_check(
        [
            MappingRecord(alias_name="甲", canonical_id="C1", match_type="name"),  # kept: C9
            MappingRecord(alias_name="乙", canonical_id="C2", match_type="name"),
        ]
    )
    found = snapshot.bind(stored).lookup_ids({"name": ["甲", "乙"]})
    assert found == {"name": {"甲": "C9", "乙": "C2"}}
    assert stored.asked[1] == {"name": ["乙", "甲"]}


def test_keys_of_a_failed_insert_are_read_again() -> None:
    class _Failing(_Stored):
        def insert_batch_with_conflict_check(
            self, mappings: Sequence[MappingRecord]
        ) -> InsertBatchResult:
            raise RuntimeError("lost connection")

    stored = _Failing({})
    snapshot = MappingSnapshot()
    snapshot.bind(stored).lookup_ids({"name": ["甲"]})
    stored.rows[("甲", "name")] = "C3"  # e.g. written before the failure, then kept
    with pytest.raises(RuntimeError):
        snapshot.bind(stored).insert_batch_with_conflict_check(
            [MappingRecord(alias_name="甲", canonical_id="C1", match_type="name")]
        )
    assert snapshot.bind(stored).lookup_ids({"name": ["甲"]}) == {"name": {"甲": "C3"}}


def test_clear_reads_everything_again() -> None:
    stored = _Stored({})
    snapshot = MappingSnapshot()
    snapshot.bind(stored).lookup_ids({"eqc": ["甲"]})
    stored.rows[("甲", "eqc")] = "C9"  # written where the snapshot could not see
    snapshot.clear()
    assert snapshot.bind(stored).lookup_ids({"eqc": ["甲"]}) == {"eqc": {"甲": "C9"}}


def test_explained_lookups_read_sources_afresh_every_time() -> None:
    stored = _Stored({("甲", "name"): "C1"})
    snapshot = MappingSnapshot()
    snapshot.bind(stored).lookup_ids({"name": ["甲"]})
    details: dict[tuple[str, str], tuple[str, float]] = {}
    found = snapshot.bind(stored).lookup_ids({"name": ["甲"]}, details=details)
    assert found == {"name": {"甲": "C1"}}
    assert details == {("甲", "name"): ("internal", 1.0)}
    assert len(stored.asked) == 2


def test_ids_by_position_follow_each_types_list_and_read_each_alias_once() -> None:
    stored = _Stored({("甲", "name"): "C1", ("丙", "name"): "C3", ("A9", "account"): "K9"})
    snapshot = MappingSnapshot()
    names = ["甲", "乙", "丙"]
    first = snapshot.lookup_id_lists(stored, {"name": names, "eqc": names, "account": ["A9"]})
    assert first == {"name": ["C1", None, "C3"], "account": ["K9"]}  # eqc: nothing found
    again = snapshot.lookup_id_lists(stored, {"name": ["丙", "丁", "甲"]})
    assert again == {"name": ["C3", None, "C1"]}
    assert stored.asked[-1] == {"name": ["丁"]}  # only the alias never asked is read
    assert snapshot.lookup_ids(stored, {"name": ["丙", "丁", "甲"]}) == {
        "name": {"丙": "C3", "甲": "C1"}
    }
