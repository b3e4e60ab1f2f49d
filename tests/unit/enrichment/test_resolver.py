"""CompanyIdResolver.resolve_batch over in-memory fakes of the repository and provider."""

from __future__ import annotations

import gc
import io
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pytest
import structlog
from hypothesis import given, settings
from hypothesis import strategies as st
from structlog.testing import capture_logs

from tests.helpers import tier_total
from work_data_hub.infrastructure.db.tables import MatchType
from work_data_hub.infrastructure.enrichment.company_id_resolver import CompanyIdResolver
from work_data_hub.infrastructure.enrichment.normalizer import (
    generate_temp_company_id,
    normalize_for_temp_id,
)
from work_data_hub.infrastructure.enrichment.types import (
    CompanyInfo,
    EnqueueResult,
    EqcProviderProtocol,
    InsertBatchResult,
    MappingRecord,
    MappingRepositoryProtocol,
    MatchResult,
    ResolutionStatistics,
    ResolutionStrategy,
)
from work_data_hub.settings import DEV_ALIAS_SALT
from work_data_hub.utils.logging import configure_logging

SALT = "unit-test-salt"
COLUMNS = {
    "plan": "计划代码",
    "name": "客户名称",
    "account_name": "年金账户名",
    "account": "年金账户号",
    "existing": "公司代码",
}


class FakeRepository:
    """Dict-backed stand-in honouring the repository's contract."""

    def __init__(self, mappings: dict[tuple[str, str], str] | None = None) -> None:
        self.mappings = dict(mappings or {})
        self.lookups: list[list[tuple[str, str]]] = []
        self.inserted: list[list[MappingRecord]] = []
        self.enqueued: list[list[dict[str, str]]] = []
        self.open_requests: set[str] = set()
        self.fail: set[str] = set()
        self.savepoints = 0

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        self.savepoints += 1
        yield

    def lookup_ids(
        self,
        aliases_by_type: Mapping[str, Iterable[str]],
        *,
        details: dict[tuple[str, str], tuple[str, float]] | None = None,
    ) -> dict[str, dict[str, str]]:
        keys = [(alias, kind) for kind, aliases in aliases_by_type.items() for alias in aliases]
        found: dict[str, dict[str, str]] = {}
        for match in self.lookup_batch(keys):
            found.setdefault(match.match_type, {})[match.alias_name] = match.canonical_id
            if details is not None:
                details[(match.alias_name, match.match_type)] = (match.source, match.confidence)
        return found

    def lookup_batch(self, keys: Sequence[tuple[str, str]]) -> list[MatchResult]:
        if "lookup" in self.fail:
            raise ConnectionError("down")
        self.lookups.append(list(keys))
        return [
            MatchResult(
                alias_name=alias,
                canonical_id=self.mappings[(alias, kind)],
                match_type=kind,
                priority=MatchType(kind).priority,
                source="internal",
                confidence=1.0,
            )
            for alias, kind in keys
            if (alias, kind) in self.mappings
        ]

    def insert_batch_with_conflict_check(
        self, mappings: Sequence[MappingRecord]
    ) -> InsertBatchResult:
        if "insert" in self.fail:
            raise ConnectionError("down")
        self.inserted.append(list(mappings))
        inserted = skipped = conflicts = 0
        for record in mappings:
            key = (record.alias_name, record.match_type)
            if key not in self.mappings:
                self.mappings[key] = record.canonical_id
                inserted += 1
            elif self.mappings[key] == record.canonical_id:
                skipped += 1
            else:
                conflicts += 1
        return InsertBatchResult(inserted=inserted, skipped=skipped, conflicts=conflicts)

    def enqueue_for_enrichment(self, requests: list[dict[str, str]]) -> EnqueueResult:
        if "enqueue" in self.fail:
            raise ConnectionError("down")
        self.enqueued.append(list(requests))
        new = [r for r in requests if r["normalized_name"] not in self.open_requests]
        self.open_requests.update(r["normalized_name"] for r in new)
        return EnqueueResult(queued_count=len(new), skipped_count=len(requests) - len(new))


class FakeProvider:
    """In-process EQC provider: a budget, a registry, never raising unless told to."""

    def __init__(
        self, registry: dict[str, str], budget: int, raise_after: int | None = None
    ) -> None:
        self.registry = registry
        self.budget = budget
        self.calls: list[str] = []
        self.raise_after = raise_after
        self.disabled = False
        self.weak: set[str] = set()  # names answered only by a weak (pinyin-like) match

    @property
    def remaining_budget(self) -> int:
        return max(0, self.budget - len(self.calls))

    @property
    def is_available(self) -> bool:
        return not self.disabled and self.remaining_budget > 0

    rate_limited = False
    unreachable = False

    def lookup(self, name: str, *, wait_s: float | None = None) -> CompanyInfo | None:
        if self.raise_after is not None and len(self.calls) >= self.raise_after:
            raise RuntimeError("provider broke its contract")
        self.calls.append(name)
        company_id = self.registry.get(name)
        if company_id is None:
            return None
        confidence = 0.5 if name in self.weak else 1.0
        return CompanyInfo(company_id=company_id, official_name=name, confidence=confidence)


def frame(index: Sequence[object] | None = None, **columns: Sequence[object]) -> pd.DataFrame:
    data = {COLUMNS[k]: pd.Series(list(v), dtype=object) for k, v in columns.items()}
    df = pd.DataFrame(data)
    if index is not None:
        df.index = pd.Index(index)
    return df


def resolve(
    df: pd.DataFrame,
    *,
    overrides: dict[str, dict[str, str]] | None = None,
    repository: FakeRepository | None = None,
    provider: FakeProvider | None = None,
    strategy: ResolutionStrategy | None = None,
) -> tuple[list[object], ResolutionStatistics]:
    result = CompanyIdResolver(
        yaml_overrides=overrides, mapping_repository=repository, eqc_provider=provider, salt=SALT
    ).resolve_batch(df, strategy)
    ids = [None if pd.isna(v) else v for v in result.data["company_id"].tolist()]
    return ids, result.statistics


def temp(name: str) -> str:
    return generate_temp_company_id(name, SALT)


def test_fakes_implement_the_protocols() -> None:
    assert isinstance(FakeRepository(), MappingRepositoryProtocol)
    assert isinstance(FakeProvider({}, 1), EqcProviderProtocol)


# -- tier 1: YAML ------------------------------------------------------------------------

FULL_ROW = {
    "plan": ["P1"],
    "account": ["A1"],
    "name": ["甲公司"],
    "account_name": ["甲账户"],
}
LEVEL_OVERRIDES = {
    "plan": {"P1": "1"},
    "account": {"A1": "2"},
    "hardcode": {"P1|甲公司": "3"},
    "name": {"甲公司": "4"},
    "account_name": {"甲账户": "5"},
}


@pytest.mark.parametrize("level", list(LEVEL_OVERRIDES))
def test_yaml_level_alone_resolves_the_row(level: str) -> None:
    ids, stats = resolve(frame(**FULL_ROW), overrides={level: LEVEL_OVERRIDES[level]})
    assert ids == [LEVEL_OVERRIDES[level][next(iter(LEVEL_OVERRIDES[level]))]]
    assert stats.yaml_hits[level] == 1


@pytest.mark.parametrize("winner", list(LEVEL_OVERRIDES))
def test_yaml_level_beats_every_lower_level(winner: str) -> None:
    levels = list(LEVEL_OVERRIDES)
    overrides = {level: LEVEL_OVERRIDES[level] for level in levels[levels.index(winner) :]}
    ids, stats = resolve(frame(**FULL_ROW), overrides=overrides)
    assert ids == [str(levels.index(winner) + 1)]
    assert stats.yaml_hits == {level: int(level == winner) for level in levels}


def test_plan_override_hits_count_the_plan_level() -> None:
    _, stats = resolve(
        frame(plan=["P1", "P1", "P2"], name=["甲", "乙", "丙"]), overrides={"plan": {"P1": "1"}}
    )
    assert stats.plan_override_hits == 2


def test_yaml_name_keys_compare_normalized() -> None:
    ids, _ = resolve(
        frame(name=["中国平安(集团) -已转出", "ＡＢＣ公司"]),
        overrides={"name": {"中国平安": "1", "abc公司": "2"}},
    )
    assert ids == ["1", "2"]


def test_excluded_rows_are_null_counted_not_looked_up_not_queued() -> None:
    repository = FakeRepository()
    ids, stats = resolve(
        frame(name=["非公司", "甲公司"]),
        overrides={"name": {"非公司": "__EMPTY__"}},
        repository=repository,
    )
    assert ids == [None, temp("甲公司")]
    assert stats.excluded == 1
    assert stats.unresolved == 0
    assert all(alias != "非公司" for alias, _ in repository.lookups[0])
    assert [r["normalized_name"] for r in repository.enqueued[0]] == ["甲公司"]


# -- tier 2: DB cache --------------------------------------------------------------------

CACHE_KEYS = {
    "manual": "甲公司",
    "plan": "P1",
    "account": "A1",
    "hardcode": "P1|甲公司",
    "name": "甲公司",
    "account_name": "甲账户",
    "eqc": "甲公司",
}


@pytest.mark.parametrize("match_type", list(CACHE_KEYS))
def test_db_cache_match_type_alone_resolves_the_row(match_type: str) -> None:
    repository = FakeRepository({(CACHE_KEYS[match_type], match_type): "9"})
    ids, stats = resolve(frame(**FULL_ROW), repository=repository)
    assert ids == ["9"]
    assert stats.db_cache_hits == 1


@pytest.mark.parametrize("winner", list(CACHE_KEYS))
def test_db_cache_highest_priority_hit_wins(winner: str) -> None:
    order = sorted(CACHE_KEYS, key=lambda kind: MatchType(kind).priority)
    mappings = {(CACHE_KEYS[kind], kind): f"id-{kind}" for kind in order[order.index(winner) :]}
    ids, _ = resolve(frame(**FULL_ROW), repository=FakeRepository(mappings))
    assert ids == [f"id-{winner}"]


def test_db_cache_is_one_query_for_distinct_keys() -> None:
    repository = FakeRepository()
    resolve(frame(name=["甲", "甲", "乙"]), repository=repository)
    assert len(repository.lookups) == 1
    lookup = repository.lookups[0]
    assert len(lookup) == len(set(lookup)) == 6  # 2 names x (manual, name, eqc)


@pytest.mark.parametrize("placeholder", ["", "N", "na", "N/A", "none", "NULL", "NaN"])
def test_db_cache_placeholder_ids_are_ignored(placeholder: str) -> None:
    repository = FakeRepository({("甲公司", "manual"): placeholder, ("甲公司", "name"): "4"})
    ids, _ = resolve(frame(name=["甲公司"]), repository=repository)
    assert ids == ["4"]


# -- tier 3: existing column and backflow ------------------------------------------------


def test_existing_column_valid_values_are_used() -> None:
    ids, stats = resolve(frame(name=["甲", "乙", "丙"], existing=[" 61 ", "N/A", 62.0]))
    assert ids == ["61", temp("乙"), "62"]
    assert stats.existing_column_hits == 2


def test_backflow_writes_learned_mappings_once() -> None:
    repository = FakeRepository()
    _, stats = resolve(
        frame(
            plan=["P1", "P1"],
            account=["A1", "A1"],
            name=["甲公司", "甲公司 "],
            account_name=["甲账户", "甲账户"],
            existing=["61", "61"],
        ),
        repository=repository,
    )
    assert len(repository.inserted) == 1
    assert {(r.alias_name, r.match_type) for r in repository.inserted[0]} == {
        ("P1", "plan"),
        ("A1", "account"),
        ("甲公司", "name"),
        ("甲账户", "account_name"),
    }
    assert stats.backflow_stats == {"inserted": 4, "skipped": 0, "conflicts": 0, "withheld": 0}


def test_backflow_counts_conflicts_with_stored_mappings() -> None:
    # A stored placeholder id is ignored by the lookup but still owns the alias.
    repository = FakeRepository({("甲", "name"): "N/A"})
    _, stats = resolve(frame(name=["甲"], existing=["61"]), repository=repository)
    assert stats.backflow_stats == {"inserted": 0, "skipped": 0, "conflicts": 1, "withheld": 0}
    assert repository.mappings[("甲", "name")] == "N/A"


def test_backflow_counts_keys_with_two_ids_in_the_batch_as_conflicts() -> None:
    repository = FakeRepository()
    _, stats = resolve(
        frame(plan=["P1", "P1"], name=["甲", "乙"], existing=["61", "62"]), repository=repository
    )
    assert ("P1", "plan") not in repository.mappings
    assert stats.backflow_stats == {"inserted": 2, "skipped": 0, "conflicts": 2, "withheld": 0}


def test_backflow_never_learns_temp_ids() -> None:
    repository = FakeRepository()
    ids, stats = resolve(frame(name=["甲"], existing=[temp("甲")]), repository=repository)
    assert ids == [temp("甲")]
    assert repository.inserted == []
    assert stats.backflow_stats == {"inserted": 0, "skipped": 0, "conflicts": 0, "withheld": 0}


def test_backflow_disabled_writes_nothing() -> None:
    repository = FakeRepository()
    resolve(
        frame(name=["甲"], existing=["61"]),
        repository=repository,
        strategy=ResolutionStrategy(enable_backflow=False),
    )
    assert repository.inserted == []


# -- tier 4: EQC -------------------------------------------------------------------------


def eqc_strategy(budget: int) -> ResolutionStrategy:
    return ResolutionStrategy(use_enrichment_service=True, sync_lookup_budget=budget)


def test_eqc_hits_are_used_for_every_row_with_the_name() -> None:
    provider = FakeProvider({"甲公司": "E1"}, budget=10)
    ids, stats = resolve(
        frame(name=["甲公司", "甲公司-已转出", "乙"]), provider=provider, strategy=eqc_strategy(5)
    )
    assert ids == ["E1", "E1", temp("乙")]
    assert stats.eqc_sync_hits == 2
    assert provider.calls == ["甲公司", "乙"]
    assert (stats.budget_consumed, stats.budget_remaining) == (2, 3)


def test_eqc_looks_up_most_frequent_names_first_within_budget() -> None:
    provider = FakeProvider({}, budget=10)
    _, stats = resolve(
        frame(name=["丙", "乙", "乙", "甲", "甲", "甲"]),
        provider=provider,
        strategy=eqc_strategy(2),
    )
    assert provider.calls == ["甲", "乙"]
    assert stats.budget_consumed == 2
    assert stats.budget_remaining == 0


def test_eqc_budget_is_capped_by_the_provider_budget() -> None:
    provider = FakeProvider({}, budget=1)
    _, stats = resolve(frame(name=["甲", "乙"]), provider=provider, strategy=eqc_strategy(5))
    assert provider.calls == ["甲"]
    assert (stats.budget_consumed, stats.budget_remaining) == (1, 0)


def test_eqc_stops_when_the_provider_becomes_unavailable() -> None:
    provider = FakeProvider({}, budget=5)
    original = provider.lookup

    def lookup_then_expire(name: str, **kw: Any) -> CompanyInfo | None:
        provider.disabled = True  # e.g. the token expired
        return original(name, **kw)

    provider.lookup = lookup_then_expire  # type: ignore[method-assign]
    _, stats = resolve(frame(name=["甲", "乙"]), provider=provider, strategy=eqc_strategy(5))
    assert stats.budget_consumed == 1


@pytest.mark.parametrize("budget", [0, -1])
def test_eqc_is_skipped_without_budget(budget: int) -> None:
    provider = FakeProvider({"甲": "E1"}, budget=5)
    ids, stats = resolve(frame(name=["甲"]), provider=provider, strategy=eqc_strategy(budget))
    assert provider.calls == []
    assert ids == [temp("甲")]
    assert "eqc_sync" not in stats.timings_ms


def test_eqc_provider_raising_keeps_earlier_hits_and_continues() -> None:
    provider = FakeProvider({"甲": "E1"}, budget=5, raise_after=1)
    ids, stats = resolve(
        frame(name=["甲", "甲", "乙"]), provider=provider, strategy=eqc_strategy(5)
    )
    assert ids == ["E1", "E1", temp("乙")]
    assert stats.tier_errors == {"eqc_sync": 1}
    assert stats.budget_consumed == 2  # the failing lookup spent its unit


def test_eqc_invalid_company_id_is_not_a_hit() -> None:
    provider = FakeProvider({"甲": "N/A"}, budget=5)
    ids, stats = resolve(frame(name=["甲"]), provider=provider, strategy=eqc_strategy(5))
    assert ids == [temp("甲")]
    assert stats.eqc_sync_hits == 0


# -- tier 5: temp ids and enqueue --------------------------------------------------------


def test_temp_ids_follow_the_normalizer_and_salt() -> None:
    ids, stats = resolve(frame(name=["中国平安(集团) -已转出", "中国平安"]))
    assert ids == [temp("中国平安")] * 2
    assert stats.temp_ids_generated == 2


def test_default_salt_is_the_development_salt() -> None:
    result = CompanyIdResolver().resolve_batch(frame(name=["甲"]))
    assert result.data["company_id"].tolist() == [generate_temp_company_id("甲", DEV_ALIAS_SALT)]


def test_names_normalizing_to_empty_stay_unresolved() -> None:
    repository = FakeRepository()
    ids, stats = resolve(frame(name=["", "  ", "N/A", None, "已转出"]), repository=repository)
    assert ids == [None] * 5
    assert stats.unresolved == 5
    assert repository.enqueued == []


def test_generate_temp_ids_false_leaves_rows_unresolved() -> None:
    repository = FakeRepository()
    ids, stats = resolve(
        frame(name=["甲"]),
        repository=repository,
        strategy=ResolutionStrategy(generate_temp_ids=False),
    )
    assert ids == [None]
    assert stats.unresolved == 1
    assert repository.enqueued == []


def test_enqueue_is_one_call_with_distinct_names_and_frequent_raw_spelling() -> None:
    repository = FakeRepository()
    _, stats = resolve(frame(name=["甲-已转出", "甲", "甲", "乙", "乙"]), repository=repository)
    assert len(repository.enqueued) == 1
    assert repository.enqueued[0] == [
        {"raw_name": "甲", "normalized_name": "甲", "temp_id": temp("甲")},
        {"raw_name": "乙", "normalized_name": "乙", "temp_id": temp("乙")},
    ]
    assert stats.async_queued == 2


def test_async_queued_counts_only_new_requests() -> None:
    repository = FakeRepository()
    repository.open_requests.add("甲")
    _, stats = resolve(frame(name=["甲", "乙"]), repository=repository)
    assert (stats.async_queued, stats.async_queue_skipped) == (1, 1)


def test_enqueue_disabled_skips_the_call() -> None:
    repository = FakeRepository()
    ids, _ = resolve(
        frame(name=["甲"]),
        repository=repository,
        strategy=ResolutionStrategy(enable_async_queue=False),
    )
    assert ids == [temp("甲")]
    assert repository.enqueued == []


def test_enqueue_failure_is_counted_and_the_run_completes() -> None:
    repository = FakeRepository()
    repository.fail.add("enqueue")
    ids, stats = resolve(frame(name=["甲"]), repository=repository)
    assert ids == [temp("甲")]
    assert stats.async_queue_errors == 1
    assert stats.tier_errors == {"async_queue": 1}
    assert stats.async_queued == 0


# -- precedence, degradation, frame handling ---------------------------------------------


def test_tier_precedence_yaml_cache_existing_eqc_temp() -> None:
    repository = FakeRepository({("乙", "name"): "DB", ("甲", "name"): "DB"})
    provider = FakeProvider({"甲": "EQC", "乙": "EQC", "丙": "EQC", "丁": "EQC"}, budget=10)
    df = frame(name=["甲", "乙", "丙", "丁", "戊"], existing=["X", "X", "X", None, None])
    ids, stats = resolve(
        df,
        overrides={"name": {"甲": "YAML"}},
        repository=repository,
        provider=provider,
        strategy=eqc_strategy(10),
    )
    assert ids == ["YAML", "DB", "X", "EQC", temp("戊")]
    assert provider.calls == ["丁", "戊"]
    assert tier_total(stats) == 5


def test_repository_failure_degrades_to_later_tiers() -> None:
    repository = FakeRepository({("甲", "name"): "DB"})
    repository.fail.update({"lookup", "insert", "enqueue"})
    ids, stats = resolve(frame(name=["甲", "乙"], existing=[None, "61"]), repository=repository)
    assert ids == [temp("甲"), "61"]
    assert stats.tier_errors == {"db_cache": 1, "backflow": 1, "async_queue": 1}
    assert tier_total(stats) == 2


def test_caller_frame_is_not_modified_and_index_order_kept() -> None:
    df = frame(
        index=[30, 10, 20, 10], name=["甲", "乙", "丙", "甲"], existing=[None, "61", None, None]
    )
    df["company_id"] = ["old"] * 4
    before = df.copy(deep=True)
    result = CompanyIdResolver(salt=SALT).resolve_batch(df)
    pd.testing.assert_frame_equal(df, before)
    assert result.data.index.tolist() == [30, 10, 20, 10]
    assert result.data["company_id"].tolist() == [temp("甲"), "61", temp("丙"), temp("甲")]
    assert result.data.drop(columns="company_id").equals(before.drop(columns="company_id"))


def test_output_column_is_string_dtype_with_na() -> None:
    strategy = ResolutionStrategy(output_column="cid")
    result = CompanyIdResolver().resolve_batch(frame(name=["甲", ""]), strategy)
    assert result.data["cid"].dtype == pd.StringDtype()
    assert result.data["cid"].isna().tolist() == [False, True]
    assert result.data["cid"].iloc[1] is pd.NA


def test_missing_customer_column_raises_value_error_naming_columns() -> None:
    with pytest.raises(
        ValueError, match=r"'客户名称'.*present columns: \['计划代码', '公司代码'\]"
    ):
        CompanyIdResolver().resolve_batch(frame(plan=["P1"], existing=["1"]))


def test_custom_column_names_are_honoured() -> None:
    df = pd.DataFrame({"customer": ["甲"], "plan": ["P1"]})
    strategy = ResolutionStrategy(customer_name_column="customer", plan_code_column="plan")
    result = CompanyIdResolver(yaml_overrides={"plan": {"P1": "1"}}).resolve_batch(df, strategy)
    assert result.data["company_id"].tolist() == ["1"]


def test_numeric_nan_and_mixed_cells_in_every_key_column() -> None:
    df = frame(
        plan=[12345.0, np.nan, "12345", 7, None],
        account=[np.int64(99), "99 ", float("nan"), 1.5, pd.NA],
        name=[123, "甲", np.nan, "乙", True],
        account_name=[None, 4.0, "丙账户", pd.NA, "丁"],
        existing=[np.nan, None, 614810477.0, "  ", 1.0],
    )
    overrides = {"plan": {"12345": "P"}, "account": {"1.5": "A"}, "account_name": {"丁": "AN"}}
    ids, stats = resolve(df, overrides=overrides)
    assert ids == ["P", temp("甲"), "P", "A", "AN"]
    assert tier_total(stats) == 5


def test_unhashable_cells_are_treated_as_missing_keys() -> None:
    df = frame(name=[["甲"], "乙", {"a": 1}], plan=[{"p": 1}, "P1", ["P1"]])
    ids, stats = resolve(df, overrides={"plan": {"P1": "P"}})
    assert ids == [None, "P", None]
    assert stats.unresolved == 2


def test_empty_frame_resolves_to_empty_output() -> None:
    ids, stats = resolve(frame(name=[]), repository=FakeRepository())
    assert ids == []
    assert stats.total_rows == 0
    assert tier_total(stats) == 0


def test_statistics_to_dict_has_every_field_filled() -> None:
    _, stats = resolve(frame(name=["甲"]), repository=FakeRepository())
    as_dict = stats.to_dict()
    assert set(as_dict) == {
        *ResolutionStatistics.__dataclass_fields__,
        "yaml_hits_total",
        "backflow",
    }
    assert set(as_dict["yaml_hits"]) == {"plan", "account", "hardcode", "name", "account_name"}
    assert set(as_dict["backflow_stats"]) == {"inserted", "skipped", "conflicts", "withheld"}
    assert {"prepare", "db_cache", "temp_id", "async_queue", "total"} <= set(as_dict["timings_ms"])
    json.dumps(as_dict)


def test_second_run_gives_same_ids_and_enqueues_nothing_new() -> None:
    repository = FakeRepository()
    df = frame(name=["甲", "乙", "甲"], existing=[None, "61", None])
    first, _ = resolve(df, repository=repository)
    second, stats = resolve(df, repository=repository)
    assert first == second
    assert stats.async_queued == 0
    assert stats.db_cache_hits == 1  # 乙 learned by the backflow


NAMES = st.sampled_from(["甲", "乙", "丙-已转出", "丙", "", None, "N/A", 42, float("nan")])
CODES = st.sampled_from(["P1", "P2", " P1", 3.0, None, float("nan"), ""])
IDS = st.sampled_from(["61", "62", "N/A", "", None, "IN44BFWSKCTQ2YFXL5", 63.0])


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(st.tuples(NAMES, CODES, CODES, NAMES, IDS), max_size=25),
    budget=st.integers(0, 3),
    generate=st.booleans(),
)
def test_every_row_lands_in_exactly_one_bucket(
    rows: list[tuple[object, ...]], budget: int, generate: bool
) -> None:
    names, plans, accounts, account_names, existing = (
        (list(c) for c in zip(*rows, strict=True)) if rows else ([], [], [], [], [])
    )
    repository = FakeRepository({("乙", "name"): "DB", ("P2", "plan"): "DBP"})
    provider = FakeProvider({"丙": "EQC"}, budget=2)
    overrides = {"name": {"甲": "Y", "N/A公司": "__EMPTY__"}, "plan": {"P1": "__EMPTY__"}}
    ids, stats = resolve(
        frame(
            name=names, plan=plans, account=accounts, account_name=account_names, existing=existing
        ),
        overrides=overrides,
        repository=repository,
        provider=provider,
        strategy=ResolutionStrategy(sync_lookup_budget=budget, generate_temp_ids=generate),
    )
    assert stats.total_rows == len(rows)
    assert tier_total(stats) == len(rows)
    assert sum(v is None for v in ids) == stats.excluded + stats.unresolved


# -- logging -------------------------------------------------------------------------------

SECRET_NAMES = ["秘密甲公司", "秘密乙公司-已转出", "SecretCo Ltd"]


def _noisy_run() -> tuple[list[str], list[str]]:
    repository = FakeRepository({("秘密丙", "name"): "61"})
    repository.fail.add("enqueue")
    provider = FakeProvider({}, budget=5, raise_after=1)
    df = frame(name=[*SECRET_NAMES, "秘密丙"], existing=[None, "62", None, None])
    resolver = CompanyIdResolver(mapping_repository=repository, eqc_provider=provider, salt=SALT)
    resolver.resolve_batch(df, eqc_strategy(5))
    forbidden = [*SECRET_NAMES, *(normalize_for_temp_id(n) for n in SECRET_NAMES), "秘密丙"]
    forbidden += [temp(n) for n in SECRET_NAMES]
    return forbidden, [SALT]


def test_log_events_carry_no_names_or_temp_ids() -> None:
    with capture_logs() as events:
        forbidden, secrets = _noisy_run()
    assert {e["event"] for e in events} >= {"resolver.tier_done", "resolver.tier_failed"}
    text = repr(events)
    for value in [*forbidden, *secrets]:
        assert value not in text


def test_rendered_log_lines_carry_no_names_or_temp_ids() -> None:
    stream = io.StringIO()
    configure_logging(level="DEBUG", log_format="json", stream=stream)
    try:
        forbidden, secrets = _noisy_run()
    finally:
        structlog.reset_defaults()
    output = stream.getvalue()
    lines = output.splitlines()
    assert any('"resolver.tier_failed"' in line for line in lines)
    for value in [*forbidden, *secrets]:
        assert value not in output


def test_one_log_line_per_tier() -> None:
    with capture_logs() as events:
        _noisy_run()
    tiers_logged = [e["tier"] for e in events if e["event"].startswith("resolver.tier_")]
    assert len(tiers_logged) == len(set(tiers_logged))


def test_a_weak_eqc_match_is_no_id_and_the_name_is_queued() -> None:
    provider = FakeProvider({"甲公司": "E1", "乙公司": "E2"}, budget=5)
    provider.weak.add("乙公司")
    repository = FakeRepository()
    ids, stats = resolve(
        frame(name=["甲公司", "乙公司", "乙公司"]),
        repository=repository,
        provider=provider,
        strategy=ResolutionStrategy(sync_lookup_budget=5),
    )
    assert ids[0] == "E1"
    assert ids[1] == ids[2] == generate_temp_company_id("乙公司", SALT)
    assert stats.eqc_sync_hits == 1
    assert stats.eqc_weak_hits == 1
    assert stats.budget_consumed == 2
    assert [r["normalized_name"] for r in repository.enqueued[0]] == ["乙公司"]


def test_the_collector_is_held_back_during_a_batch_and_restored_after() -> None:
    class Watching(FakeRepository):
        collector_on: ClassVar[list[bool]] = []

        def lookup_batch(self, keys: Sequence[tuple[str, str]]) -> list[MatchResult]:
            self.collector_on.append(gc.isenabled())
            return super().lookup_batch(keys)

    repository = Watching()
    resolve(frame(name=["甲公司"]), repository=repository)
    assert repository.collector_on == [False]
    assert gc.isenabled()


def test_the_collector_is_restored_when_a_batch_raises() -> None:
    with pytest.raises(ValueError, match="missing customer-name column"):
        resolve(pd.DataFrame({"other": ["x"]}))
    assert gc.isenabled()
