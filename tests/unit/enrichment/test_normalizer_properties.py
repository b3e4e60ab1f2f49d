"""Properties the contract promises for every input, checked with Hypothesis."""

from __future__ import annotations

import base64
import hmac
import itertools
import re
import unicodedata

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from work_data_hub.infrastructure.enrichment import normalizer, temp_ids
from work_data_hub.infrastructure.enrichment.normalizer import (
    EMPTY_KEY,
    STATUS_MARKERS,
    generate_temp_company_id,
    normalize_for_temp_id,
)

n = normalize_for_temp_id
TEMP_ID = re.compile(r"^IN[A-Z2-7]{16}$")

# Every code point, lone surrogates and control characters included.
any_text = st.text(st.characters(exclude_categories=()))

# Text built from the pieces the rules act on, so that stripping, nesting and stacking
# are exercised far more often than random code points would.
_PIECES = [
    *STATUS_MARKERS,
    *"()（）-－—–−‐﹣.。,、 \u3000\t\u200b\ufeff\x00\u00ad「」“”'\"",
    "及下属子企业",
    "-养老",
    "-福利",
    "(团托)",
    "(普通合伙)",
    "有限公司",
    "NULL",
    "N/A",
    "无",
    "0",
    "BSU280",
    "ABC",
    "abc",
    "ß",
    "ẞ",
    "ΐ",
    "İ",
    "\u0301",
    "㈱",
    "ＡＢ",
    "１２",
    "中国",
    "平安",
    "原平市",
    "保留账户管理",
    "\U00020000",
    "٣",
]
piece_text = st.lists(st.sampled_from(_PIECES), max_size=12).map("".join)
names = st.one_of(piece_text, any_text)

# Plain names: CJK and ASCII letters and digits only, for the insensitivity properties.
_CJK = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF)
_ASCII_ALNUM = st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
plain_names = st.text(st.one_of(_CJK, _ASCII_ALNUM), min_size=1, max_size=20)

anything = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True),
    st.decimals(allow_nan=True),
    st.complex_numbers(),
    st.binary(),
    st.datetimes(),
    st.just(pd.NA),
    st.just(pd.NaT),
    st.just(np.nan),
    st.just(np.int64(3)),
    st.builds(object),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=2), st.integers(), max_size=2),
    st.from_type(type).flatmap(st.from_type),
    names,
)


def _to_full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


@settings(max_examples=500)
@given(names)
def test_normalization_is_idempotent(raw: str) -> None:
    once = n(raw)
    assert n(once) == once


@settings(max_examples=300)
@given(anything)
def test_normalization_never_raises(value: object) -> None:
    assert isinstance(n(value), str)


@given(names)
def test_result_has_no_blank_invisible_or_ascii_bracket(raw: str) -> None:
    result = n(raw)
    assert not any(c.isspace() or unicodedata.category(c) in {"Cc", "Cf", "Cs"} for c in result)
    assert "(" not in result
    assert ")" not in result


@given(names)
def test_result_never_starts_or_ends_with_a_hyphen(raw: str) -> None:
    result = n(raw)
    assert not result.startswith("-")
    assert not result.endswith("-")


@given(anything, st.text())
def test_temp_id_never_raises_and_has_the_contract_shape(value: object, salt: str) -> None:
    assert TEMP_ID.match(generate_temp_company_id(value, salt))


@given(any_text)
def test_temp_id_never_raises_for_any_str(raw: str) -> None:
    assert TEMP_ID.match(generate_temp_company_id(raw, "salt"))


@given(plain_names, st.text(min_size=1), st.text(min_size=1))
def test_different_salts_give_different_ids(raw: str, salt_a: str, salt_b: str) -> None:
    if salt_a == salt_b:
        salt_b += "x"
    assert generate_temp_company_id(raw, salt_a) != generate_temp_company_id(raw, salt_b)


@given(st.text(st.sampled_from(" \t\n\r\u3000\u00a0\u200b\ufeff\x00")), st.text())
def test_empty_and_blank_names_hash_as_the_empty_key(blank: str, salt: str) -> None:
    expected = generate_temp_company_id("", salt)
    assert generate_temp_company_id(blank, salt) == expected
    assert generate_temp_company_id(EMPTY_KEY.upper(), salt) != expected


@given(plain_names)
def test_full_width_spelling_normalizes_the_same(raw: str) -> None:
    assert n(_to_full_width(raw)) == n(raw)


@given(plain_names, st.lists(st.sampled_from([" ", "\u3000", "\t", "\u200b"]), min_size=1))
def test_blanks_anywhere_normalize_the_same(raw: str, blanks: list[str]) -> None:
    spaced = "".join(itertools.chain.from_iterable(zip(raw, itertools.cycle(blanks), strict=False)))
    assert n(f" {spaced} ") == n(raw)


@given(plain_names)
def test_case_does_not_matter(raw: str) -> None:
    assert n(raw.lower()) == n(raw.upper()) == n(raw)


@given(
    st.text(_CJK, min_size=1, max_size=8),
    st.lists(st.sampled_from(STATUS_MARKERS), min_size=2, max_size=4),
)
def test_stacked_trailing_markers_strip_in_any_order(base: str, markers: list[str]) -> None:
    results = {
        n(base + "".join(f"-{m}" for m in order)) for order in itertools.permutations(markers)
    }
    assert results == {n(base)}


@given(
    st.text(_CJK, min_size=1, max_size=8),
    st.lists(st.sampled_from(STATUS_MARKERS), min_size=2, max_size=3),
)
def test_stacked_bracket_markers_strip_in_any_order(base: str, markers: list[str]) -> None:
    results = {
        n(base + "".join(f"({m})" for m in order)) for order in itertools.permutations(markers)
    }
    assert results == {n(base)}


@given(st.floats(allow_nan=True))
def test_any_float_gives_empty(value: float) -> None:
    assert n(value) == ""


_WIDE = st.sampled_from(["（", "）", "\u3000", "－", "ＡＢ", "\u0301", "\u0308", "e", "中"])


@settings(max_examples=300)
@given(st.one_of(any_text, st.lists(st.one_of(_WIDE, any_text), max_size=8).map("".join)))
def test_fast_nfkc_equals_unicodedata_nfkc(raw: str) -> None:
    assert normalizer._nfkc(raw) == unicodedata.normalize("NFKC", raw)


@given(st.binary(max_size=200), st.binary(max_size=100))
def test_hmac_sha1_equals_the_standard_library(salt: bytes, message: bytes) -> None:
    assert temp_ids._hmac_sha1(salt, message) == hmac.digest(salt, message, "sha1")


@given(st.binary(min_size=10, max_size=10))
def test_base32_equals_the_standard_library(data: bytes) -> None:
    assert temp_ids._base32_of_10_bytes(data) == base64.b32encode(data).decode("ascii")
