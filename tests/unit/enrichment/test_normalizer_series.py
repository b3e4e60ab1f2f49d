"""The pandas helpers: same answers as the scalar functions, each distinct value once."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from work_data_hub.infrastructure.enrichment import normalizer
from work_data_hub.infrastructure.enrichment.normalizer import (
    generate_temp_company_id,
    normalize_for_temp_id,
    normalize_series,
    temp_ids_for_series,
)

SALT = "series-salt"
RAW = [
    "中国平安-已转出",
    None,
    "ＡＢＣ公司",
    math.nan,
    "中国平安",
    7,
    "",
    "N/A",
    pd.NA,
    "中国平安-已转出",
]
EXPECTED = ["中国平安", "", "ABC公司", "", "中国平安", "", "", "", "", "中国平安"]

cells = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["中国平安-已转出", "中国平安", "(原)某公司", "NULL", " ", "ＡＢＣ公司"]),
    st.none(),
    st.just(math.nan),
    st.just(pd.NA),
    st.integers(),
    st.floats(),
)


def test_normalize_series_gives_the_key_per_row() -> None:
    result = normalize_series(pd.Series(RAW, dtype=object))
    assert result.tolist() == EXPECTED


def test_normalize_series_keeps_index_and_name() -> None:
    s = pd.Series(["甲公司", "乙公司"], index=[10, 3], name="客户名称", dtype=object)
    result = normalize_series(s)
    assert result.index.tolist() == [10, 3]
    assert result.name == "客户名称"


def test_normalize_series_returns_object_dtype() -> None:
    assert normalize_series(pd.Series(["甲公司"], dtype=object)).dtype == object


def test_normalize_series_of_empty_series_is_empty() -> None:
    result = normalize_series(pd.Series([], dtype=object))
    assert result.empty
    assert result.dtype == object


@pytest.mark.parametrize("dtype", ["str", "string", "category"])
def test_normalize_series_accepts_typed_text_columns(dtype: str) -> None:
    s = pd.Series(["中国平安-已转出", None, "ＡＢＣ公司", "中国平安"], dtype=dtype)
    result = normalize_series(s)
    assert result.tolist() == ["中国平安", "", "ABC公司", "中国平安"]
    assert result.dtype == object


def test_normalize_series_of_numbers_is_all_empty() -> None:
    assert normalize_series(pd.Series([1.5, np.nan, 3.0])).tolist() == ["", "", ""]


def test_normalize_series_tolerates_unhashable_cells() -> None:
    s = pd.Series([["a"], "中国平安-终止", {"k": 1}], dtype=object)
    assert normalize_series(s).tolist() == ["", "中国平安", ""]


def test_normalize_series_computes_each_distinct_value_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[object] = []

    def counting(value: object) -> str:
        seen.append(value)
        return normalize_for_temp_id(value)

    monkeypatch.setattr(normalizer, "normalize_for_temp_id", counting)
    normalize_series(pd.Series(["甲", "乙", "甲", "甲", "乙"] * 100, dtype=object))
    assert sorted(map(str, seen)) == ["乙", "甲"]


def test_temp_ids_for_series_gives_the_scalar_id_per_row() -> None:
    result = temp_ids_for_series(pd.Series(RAW, dtype=object), SALT)
    named = [
        generate_temp_company_id(raw, SALT) for raw, key in zip(RAW, EXPECTED, strict=True) if key
    ]
    assert [value for value in result if value is not None] == named


def test_temp_ids_for_series_leaves_empty_names_without_id() -> None:
    result = temp_ids_for_series(pd.Series(RAW, dtype=object), SALT)
    assert [value is None for value in result] == [key == "" for key in EXPECTED]


def test_temp_ids_for_series_gives_none_for_missing_in_typed_columns() -> None:
    result = temp_ids_for_series(pd.Series([None, "中国平安"], dtype="str"), SALT)
    assert result.iloc[0] is None
    assert result.iloc[1] == generate_temp_company_id("中国平安", SALT)


def test_temp_ids_for_series_keeps_index_and_name() -> None:
    s = pd.Series(["甲公司"], index=["r1"], name="company", dtype=object)
    result = temp_ids_for_series(s, SALT)
    assert result.index.tolist() == ["r1"]
    assert result.name == "company"


def test_temp_ids_for_series_rejects_a_salt_that_is_not_text() -> None:
    with pytest.raises(TypeError):
        temp_ids_for_series(pd.Series(["甲公司"]), None)  # type: ignore[arg-type]


@settings(max_examples=150)
@given(st.lists(cells, max_size=30))
def test_normalize_series_equals_the_scalar_function(values: list[object]) -> None:
    result = normalize_series(pd.Series(values, dtype=object))
    assert result.tolist() == [normalize_for_temp_id(value) for value in values]


@settings(max_examples=100)
@given(st.lists(cells, max_size=30))
def test_temp_ids_for_series_equal_the_scalar_function(values: list[object]) -> None:
    result = temp_ids_for_series(pd.Series(values, dtype=object), SALT)
    expected = [
        generate_temp_company_id(value, SALT) if normalize_for_temp_id(value) else None
        for value in values
    ]
    assert result.tolist() == expected


@settings(max_examples=100)
@given(st.lists(st.one_of(st.none(), st.text(max_size=10)), max_size=30))
def test_normalize_series_on_string_dtype_equals_the_scalar_function(
    values: list[str | None],
) -> None:
    result = normalize_series(pd.Series(values, dtype="string"))
    assert result.tolist() == [normalize_for_temp_id(value) for value in values]


@pytest.mark.parametrize("size", [1, 2, 3])
def test_normalize_series_handles_very_short_columns(size: int) -> None:
    result = normalize_series(pd.Series(["中国平安-终止"] * size, dtype=object))
    assert result.tolist() == ["中国平安"] * size
