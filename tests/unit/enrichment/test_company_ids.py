"""The one id rule: what every entry (YAML, import, backflow, EQC) lets through."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from work_data_hub.infrastructure.enrichment import company_ids
from work_data_hub.infrastructure.enrichment.company_ids import (
    MAX_COMPANY_ID_LENGTH,
    IdProblem,
    check_company_id,
    valid_company_id,
    valid_company_ids,
    valid_id_mapping,
)
from work_data_hub.infrastructure.enrichment.normalizer import generate_temp_company_id


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("614810477", "614810477"),
        ("  91440101MA5CXXXX1X \t", "91440101MA5CXXXX1X"),
        (614810477, "614810477"),
        (614810477.0, "614810477"),
        (np.int64(614810477), "614810477"),
        (np.float64(614810477.0), "614810477"),
        (Decimal("614810477"), "614810477"),
        ("614810477.0", "614810477"),
        ("A-1", "A-1"),
    ],
)
def test_valid_ids_come_out_clean(value: object, expected: str) -> None:
    assert check_company_id(value).company_id == expected
    assert check_company_id(value).ok


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (None, IdProblem.MISSING),
        ("", IdProblem.MISSING),
        ("   ", IdProblem.MISSING),
        ("n/a", IdProblem.MISSING),
        ("NULL", IdProblem.MISSING),
        ("__EMPTY__", IdProblem.MISSING),
        (float("nan"), IdProblem.MISSING),
        (pd.NA, IdProblem.MISSING),
        ('=HYPERLINK("http://x","614810477")', IdProblem.FORMULA),
        ("+614810477", IdProblem.FORMULA),
        ("-614810477", IdProblem.FORMULA),
        ("@SUM(A1)", IdProblem.FORMULA),
        ("'=HYPERLINK(1)", IdProblem.FORMULA),
        ("6148 10477", IdProblem.WHITESPACE),
        ("614810477\n600000001", IdProblem.WHITESPACE),
        ("614\u200b810477", IdProblem.WHITESPACE),
        ("614\x00810477", IdProblem.WHITESPACE),
        ("9" * (MAX_COMPANY_ID_LENGTH + 1), IdProblem.TOO_LONG),
        (3.5, IdProblem.FRACTIONAL),
        ("3.5", IdProblem.FRACTIONAL),
        (float("inf"), IdProblem.FRACTIONAL),
        (Decimal("1.25"), IdProblem.FRACTIONAL),
        (True, IdProblem.NOT_TEXT),
        (["614810477"], IdProblem.NOT_TEXT),
        (generate_temp_company_id("甲公司", "salt"), IdProblem.TEMPORARY),
    ],
)
def test_bad_values_are_refused_with_their_reason(value: object, problem: IdProblem) -> None:
    check = check_company_id(value)
    assert check.company_id is None
    assert check.problem is problem


def test_the_longest_allowed_id_passes() -> None:
    assert valid_company_id("9" * MAX_COMPANY_ID_LENGTH) == "9" * MAX_COMPANY_ID_LENGTH


@given(st.one_of(st.text(max_size=80), st.integers(), st.floats(), st.none()))
def test_a_passing_id_is_a_fixed_point_of_the_rule(value: object) -> None:
    company_id = valid_company_id(value)
    if company_id is not None:
        assert valid_company_id(company_id) == company_id
        assert company_id == company_id.strip()
        assert 0 < len(company_id) <= MAX_COMPANY_ID_LENGTH
        assert not company_id.startswith(("=", "+", "-", "@", "'"))
        assert not any(ch.isspace() for ch in company_id)


@given(st.integers(min_value=0, max_value=10**15))
def test_integral_numbers_become_their_digits(number: int) -> None:
    assert valid_company_id(number) == str(number)
    assert valid_company_id(float(number)) == str(int(float(number)))


@given(st.lists(st.one_of(st.text(max_size=20), st.integers(), st.floats(), st.none())))
def test_a_column_of_ids_gets_each_value_s_verdict(values: list[object]) -> None:
    assert valid_company_ids(values) == [valid_company_id(v) for v in values]


def test_a_remembered_verdict_is_the_verdict_of_the_text() -> None:
    first = check_company_id(" =SUM(A1) ")
    assert check_company_id(" =SUM(A1) ") == first
    assert first.problem is IdProblem.FORMULA


def test_a_str_subclass_is_judged_afresh_not_by_the_memo() -> None:
    class Shouting(str):
        def __hash__(self) -> int:
            return hash(self.upper())

        def __eq__(self, other: object) -> bool:
            return isinstance(other, str) and self.upper() == other.upper()

    assert check_company_id("ABC").company_id == "ABC"  # remembered
    # Equal to "ABC" and hashed like it, yet its own id is "abc".
    assert check_company_id(Shouting("abc")).company_id == "abc"
    assert valid_company_ids([Shouting("abc")]) == ["abc"]


def test_the_memo_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(company_ids, "MEMO_ENTRIES", 3)
    monkeypatch.setattr(company_ids, "_verdicts", {})
    ids = [f"C{i}" for i in range(10)]
    assert valid_company_ids(ids) == ids
    assert len(company_ids._verdicts) <= 3


def test_a_mapping_of_clean_ids_comes_back_as_it_is() -> None:
    ids = {"甲": "C1", "乙": "614810477"}
    assert valid_id_mapping(ids) is ids


def test_a_mapping_loses_refused_ids_and_keeps_the_others_clean() -> None:
    ids = {"甲": " C1 ", "乙": "=HYPERLINK(1)", "丙": "N/A", "丁": "C4"}
    assert valid_id_mapping(ids) == {"甲": "C1", "丁": "C4"}
