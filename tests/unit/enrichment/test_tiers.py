"""The pure tier steps: key rules, lookups over distinct values, candidates and requests."""

from __future__ import annotations

import decimal

import numpy as np
import pandas as pd
import pytest

from work_data_hub.infrastructure.enrichment.normalizer import normalize_for_temp_id
from work_data_hub.infrastructure.enrichment.resolve import keys as _frame_keys
from work_data_hub.infrastructure.enrichment.resolve import tiers
from work_data_hub.infrastructure.enrichment.types import MatchResult, ResolutionStrategy

STRATEGY = ResolutionStrategy()


def frame(**columns: list[object]) -> pd.DataFrame:
    names = {
        "plan": "计划代码",
        "name": "客户名称",
        "account_name": "年金账户名",
        "account": "年金账户号",
        "existing": "公司代码",
    }
    return pd.DataFrame({names[k]: pd.Series(v, dtype=object) for k, v in columns.items()})


def keys_of(df: pd.DataFrame) -> tiers.FrameKeys:
    return tiers.build_frame_keys(df, STRATEGY)


def all_rows(keys: tiers.FrameKeys) -> tiers.Mask:
    return np.ones(keys.n_rows, dtype=bool)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(" P001 ", "P001", id="text-trimmed"),
        pytest.param(12345, "12345", id="int"),
        pytest.param(12345.0, "12345", id="whole-float"),
        pytest.param(np.int64(7), "7", id="numpy-int"),
        pytest.param(np.float64(7.0), "7", id="numpy-whole-float"),
        pytest.param(1.5, "1.5", id="fraction"),
        pytest.param(decimal.Decimal("12.00"), "12", id="whole-decimal"),
        pytest.param(decimal.Decimal("1.25"), "1.25", id="decimal"),
        pytest.param(decimal.Decimal("NaN"), "", id="decimal-nan"),
        pytest.param(float("nan"), "", id="nan"),
        pytest.param(float("inf"), "", id="inf"),
        pytest.param(None, "", id="none"),
        pytest.param(pd.NA, "", id="pd-na"),
        pytest.param(pd.NaT, "", id="nat"),
        pytest.param(True, "", id="bool"),
        pytest.param(b"P1", "", id="bytes"),
        pytest.param("   ", "", id="blank"),
    ],
)
def test_canonical_code(value: object, expected: str) -> None:
    assert tiers.canonical_code(value) == expected


@pytest.mark.parametrize(
    "value", ["", "  ", "N", "na", "N/A", "n/a", "None", "NULL", "nan", "NaN", "__EMPTY__", None]
)
def test_clean_company_id_rejects_blanks_and_placeholders(value: object) -> None:
    assert tiers.clean_company_id(value) is None


def test_clean_company_id_trims_valid_ids() -> None:
    assert tiers.clean_company_id(" 614810477 ") == "614810477"
    assert tiers.clean_company_id(614810477.0) == "614810477"


def test_is_temp_id_matches_only_the_temp_id_shape() -> None:
    assert tiers.is_temp_id("IN44BFWSKCTQ2YFXL5")
    assert not tiers.is_temp_id("IN44BFWSKCTQ2YFXL")  # 15 characters
    assert not tiers.is_temp_id("IN44BFWSKCTQ2YFXL1")  # 1 is not Base32
    assert not tiers.is_temp_id("614810477")


def test_key_columns_are_factorized_over_distinct_values() -> None:
    keys = keys_of(frame(plan=["P1", " P1", 1.0, None], name=["甲公司", "甲公司 ", "乙", "甲公司"]))
    assert keys.plan.keys.tolist() == ["P1", "1"]
    assert keys.plan.codes.tolist() == [0, 0, 1, -1]
    assert keys.name.codes.tolist() == [0, 0, 1, 0]
    assert keys.hardcode.keys.tolist() == ["P1|甲公司", "1|乙"]
    assert keys.hardcode.codes.tolist() == [0, 0, 1, -1]


def test_account_names_equal_or_not_to_customer_names_share_one_key_space() -> None:
    keys = keys_of(
        frame(name=["甲公司", "乙", None, "丙"], account_name=["甲公司", "甲公司-已转出", None, 5])
    )
    assert keys.account_name.codes.tolist() == [0, 0, -1, -1]
    assert keys.name.codes.tolist() == [0, 1, -1, 2]


def test_account_name_shortcut_works_with_pandas_string_columns() -> None:
    df = pd.DataFrame(
        {"客户名称": ["甲", "乙", None], "年金账户名": ["甲", "丙", "乙"]}, dtype="string"
    )
    keys = keys_of(df)
    assert keys.name.keys[keys.account_name.codes].tolist() == ["甲", "丙", "乙"]


def _key_arrays(keys: tiers.FrameKeys) -> dict[str, tuple[list[int], list[object]]]:
    columns = ("plan", "account", "name", "account_name", "existing")
    return {c: (getattr(keys, c).codes.tolist(), getattr(keys, c).keys.tolist()) for c in columns}


def test_large_frames_prepare_code_columns_in_a_second_thread_with_the_same_keys(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    df = frame(
        plan=["P1", 7, None, " P1 ", 7.0],
        name=["甲公司", "乙公司", None, "甲公司 ", 3],
        account_name=["甲公司", "丙", "丙", None, "乙公司"],
        account=[1001, "1001", float("nan"), "A9", None],
        existing=["C1", None, "N/A", "C2", "C1"],
    )
    monkeypatch.setattr(_frame_keys, "PARALLEL_KEYS_MIN_ROWS", 10**9)
    sequential = keys_of(df)
    monkeypatch.setattr(_frame_keys, "PARALLEL_KEYS_MIN_ROWS", 1)
    parallel = keys_of(df)

    assert _key_arrays(parallel) == _key_arrays(sequential)


def test_an_error_in_the_code_column_thread_reaches_the_caller(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(series: object, n_rows: int) -> tiers.KeyColumn:
        raise RuntimeError("code column failed")

    monkeypatch.setattr(_frame_keys, "PARALLEL_KEYS_MIN_ROWS", 1)
    monkeypatch.setattr(_frame_keys, "_code_column", broken)
    with pytest.raises(RuntimeError, match="code column failed"):
        keys_of(frame(name=["甲公司"], plan=["P1"]))


def test_missing_optional_columns_give_empty_key_columns() -> None:
    keys = keys_of(frame(name=["甲公司"]))
    for column in (keys.plan, keys.account, keys.hardcode, keys.account_name, keys.existing):
        assert column.codes.tolist() == [-1]


def test_missing_customer_column_names_expected_and_present_columns() -> None:
    with pytest.raises(ValueError, match=r"客户名称.*present columns: \['计划代码'\]"):
        keys_of(frame(plan=["P1"]))


def test_names_that_normalize_to_empty_have_no_key() -> None:
    keys = keys_of(frame(name=["", "N/A", None, float("nan"), 42, "已转出"]))
    assert keys.name.codes.tolist() == [-1] * 6


def test_prepare_overrides_normalizes_name_keys_and_trims_codes() -> None:
    prepared = tiers.prepare_overrides(
        {
            "plan": {" P1 ": "1", 12345: 99},
            "name": {"ＡＢＣ公司（集团）": "2"},
            "hardcode": {"P1|中国平安-已转出": "3"},
            "account_name": {" abc公司 ": "__EMPTY__"},
        }
    )
    assert prepared["plan"] == {"P1": "1", "12345": "99"}
    assert prepared["name"] == {"ABC公司": "2"}
    assert prepared["hardcode"] == {"P1|中国平安": "3"}
    assert prepared["account_name"] == {"ABC公司": "__EMPTY__"}
    assert prepared["account"] == {}


def test_prepare_overrides_drops_placeholder_ids() -> None:
    prepared = tiers.prepare_overrides({"plan": {"P1": "N/A", "P2": " "}})
    assert prepared["plan"] == {}


@pytest.mark.parametrize("key", ["no-separator", "|甲", "P1|", "P1|  "])
def test_prepare_overrides_refuses_a_hardcode_key_without_plan_and_name(key: str) -> None:
    with pytest.raises(ValueError, match=r"plan code\|customer name"):
        tiers.prepare_overrides({"hardcode": {key: "1"}})


def test_prepare_overrides_rejects_unknown_level() -> None:
    with pytest.raises(ValueError, match="unknown override level 'plans'"):
        tiers.prepare_overrides({"plans": {}})


def test_prepare_overrides_rejects_two_spellings_with_two_ids() -> None:
    with pytest.raises(ValueError, match="'name' maps one key to two different ids"):
        tiers.prepare_overrides({"name": {"ABC公司": "1", "ＡＢＣ公司": "2"}})


def test_yaml_tier_respects_level_order_and_open_rows() -> None:
    keys = keys_of(frame(plan=["P1", "P1", "P2"], name=["甲", "甲", "乙"]))
    overrides = tiers.prepare_overrides({"plan": {"P1": "10"}, "name": {"甲": "20", "乙": "30"}})
    open_rows = np.array([True, False, True])
    outcome = tiers.yaml_tier(keys, open_rows, overrides)
    assert outcome.ids.tolist() == ["10", None, "30"]
    assert outcome.counts == {"plan": 1, "account": 0, "hardcode": 0, "name": 1, "account_name": 0}


def test_yaml_tier_marks_exclusions() -> None:
    keys = keys_of(frame(name=["甲", "乙"]))
    outcome = tiers.yaml_tier(
        keys, all_rows(keys), tiers.prepare_overrides({"name": {"甲": "__EMPTY__"}})
    )
    assert outcome.excluded.tolist() == [True, False]
    assert outcome.ids.tolist() == [None, None]
    assert sum(outcome.counts.values()) == 0


def _match(alias: str, company_id: str, match_type: str, priority: int) -> MatchResult:
    return MatchResult(
        alias_name=alias,
        canonical_id=company_id,
        match_type=match_type,
        priority=priority,
        source="internal",
        confidence=1.0,
    )


def test_cache_tier_picks_lowest_priority_number_among_valid_hits() -> None:
    keys = keys_of(frame(plan=["P1", "P2"], name=["甲", "乙"]))
    stored = {
        "eqc": {"甲": "eqc-id"},
        "plan": {"P1": "plan-id"},
        "manual": {"甲": "manual-id", "乙": "NULL"},  # placeholder: ignored
        "name": {"乙": "name-id"},
    }
    hits = tiers.cache_tier_ids(keys, all_rows(keys), stored)
    assert tiers.ids_of(hits, 2).tolist() == ["manual-id", "name-id"]


def test_existing_tier_uses_only_valid_values() -> None:
    keys = keys_of(frame(name=["甲", "乙", "丙", "丁"], existing=[" 61 ", "N/A", None, 62.0]))
    hits = tiers.existing_tier(keys, all_rows(keys))
    assert tiers.ids_of([hits], 4).tolist() == ["61", None, None, "62"]


def test_backflow_candidates_learn_four_keys_without_temp_ids() -> None:
    keys = keys_of(
        frame(
            plan=["P1", "P2"],
            account=["A1", "A2"],
            name=["甲", "乙"],
            account_name=["甲账户", "乙账户"],
            existing=["61", "IN44BFWSKCTQ2YFXL5"],
        )
    )
    candidates = tiers.backflow_candidates(keys, all_rows(keys))
    learned = {(r.alias_name, r.match_type, r.canonical_id) for r in candidates.records}
    assert learned == {
        ("P1", "plan", "61"),
        ("A1", "account", "61"),
        ("甲", "name", "61"),
        ("甲账户", "account_name", "61"),
    }
    assert {r.source for r in candidates.records} == {"pipeline_backflow"}
    assert candidates.in_batch_conflicts == 0


def test_backflow_candidates_are_deduplicated_and_skip_ambiguous_keys() -> None:
    keys = keys_of(
        frame(plan=["P1", "P1", "P1"], name=["甲", "甲", "乙"], existing=["61", "61", "62"])
    )
    candidates = tiers.backflow_candidates(keys, all_rows(keys))
    learned = [(r.alias_name, r.match_type, r.canonical_id) for r in candidates.records]
    assert learned == [("甲", "name", "61"), ("乙", "name", "62")]
    assert candidates.in_batch_conflicts == 2  # P1 seen with 61 and 62


def test_eqc_candidates_most_frequent_first_ties_by_first_appearance() -> None:
    keys = keys_of(frame(name=["乙", "甲", "甲", "丙", "丁", "丁", "", "乙"]))
    assert tiers.eqc_candidates(keys, all_rows(keys)) == ["乙", "甲", "丁", "丙"]


def test_eqc_candidates_only_from_open_rows() -> None:
    keys = keys_of(frame(name=["甲", "甲", "乙"]))
    assert tiers.eqc_candidates(keys, np.array([False, False, True])) == ["乙"]


def test_temp_id_tier_hashes_distinct_names() -> None:
    from work_data_hub.infrastructure.enrichment.normalizer import generate_temp_company_id

    keys = keys_of(frame(name=["中国平安-已转出", "中国平安", "", "乙"]))
    hits = tiers.temp_id_tier(keys, all_rows(keys), "salt")
    expected = generate_temp_company_id("中国平安", "salt")
    ids = tiers.ids_of([hits], 4).tolist()
    assert ids == [expected, expected, None, generate_temp_company_id("乙", "salt")]
    assert len([v for v in hits.per_key.tolist() if v is not None]) == 2


def test_enqueue_requests_use_most_frequent_raw_spelling() -> None:
    raw = ["中国平安-已转出", "中国平安", "中国平安", "乙", "乙-终止", "乙-终止"]
    keys = keys_of(frame(name=raw))
    rows = all_rows(keys)
    per_key = tiers.temp_id_tier(keys, rows, "salt").per_key
    requests = tiers.enqueue_requests(keys, rows, per_key)
    assert [(r["raw_name"], r["normalized_name"]) for r in requests] == [
        ("中国平安", "中国平安"),
        ("乙-终止", normalize_for_temp_id("乙")),
    ]


def test_enqueue_requests_drop_nul_from_raw_name() -> None:
    keys = keys_of(frame(name=["甲\x00公司"]))
    per_key = tiers.temp_id_tier(keys, all_rows(keys), "salt").per_key
    assert tiers.enqueue_requests(keys, all_rows(keys), per_key)[0]["raw_name"] == "甲公司"


def test_empty_frame_gives_empty_results() -> None:
    keys = keys_of(frame(name=[]))
    rows = all_rows(keys)
    assert tiers.cache_lookup_aliases(keys, rows) == {}
    assert tiers.eqc_candidates(keys, rows) == []
    assert tiers.enqueue_requests(keys, rows, tiers.temp_id_tier(keys, rows, "s").per_key) == []


def test_hardcode_pairs_are_built_only_when_their_column_is_asked_for() -> None:
    keys = keys_of(frame(plan=["P1"], name=["甲公司"], account=["A1"], account_name=["甲公司"]))
    for kind in ("plan", "account", "name", "account_name", "eqc", "manual"):
        keys.column_for(kind)
    assert "hardcode" not in vars(keys)

    assert keys.column_for("hardcode").keys.tolist() == ["P1|甲公司"]


def test_code_keys_are_plain_text_whatever_the_cells() -> None:
    cells = pd.Series(np.array(["P1", " P2 ", "P1", "P3"], dtype=object))
    cells[3] = np.str_("P3")
    column = _frame_keys._code_column(cells, len(cells))
    assert column.keys.tolist() == ["P1", "P2", "P3"]
    assert {type(k) for k in column.keys.tolist()} == {str}
    assert column.codes.tolist() == [0, 1, 0, 2]


def test_a_clean_code_column_keeps_its_factorization() -> None:
    column = _frame_keys._code_column(pd.Series(["A", "B", None, "A"], dtype="str"), 4)
    assert column.keys.tolist() == ["A", "B"]
    assert column.codes.tolist() == [0, 1, -1, 0]
