"""One test per rule of the normalization contract, in the order of its steps."""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import sys
import unicodedata
from decimal import Decimal

import pandas as pd
import pytest

from work_data_hub.infrastructure.enrichment import normalizer
from work_data_hub.infrastructure.enrichment.normalizer import (
    EMPTY_KEY,
    ENTERPRISE_TYPE_WORDS,
    PLACEHOLDERS,
    STATUS_MARKERS,
    generate_temp_company_id,
    normalize_for_temp_id,
)

n = normalize_for_temp_id


# --- the word lists ------------------------------------------------------------------------


def test_status_marker_list_has_the_43_contract_markers() -> None:
    assert len(STATUS_MARKERS) == 43
    assert len(set(STATUS_MARKERS)) == 43


def test_enterprise_type_list_has_the_9_contract_words() -> None:
    assert len(set(ENTERPRISE_TYPE_WORDS)) == 9


def test_no_marker_contains_a_delimiter() -> None:
    # The stripping rules rely on it: a marker never holds a hyphen or a bracket.
    assert not any(set(marker) & set("-()") for marker in STATUS_MARKERS)


# --- step 1: not text ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [None, math.nan, pd.NA, pd.NaT, 0, 12345, 1.5, Decimal("1"), True, b"ABC", bytearray(b"x")],
    ids=["none", "nan", "pd-na", "nat", "zero", "int", "float", "decimal", "bool", "bytes", "ba"],
)
def test_non_text_gives_empty(value: object) -> None:
    assert n(value) == ""


def test_str_subclass_is_treated_as_its_text() -> None:
    class Shouty(str):
        def upper(self) -> str:
            return "OVERRIDDEN"

    assert n(Shouty("中国平安-已转出")) == "中国平安"


# --- step 2: NFKC, then case ---------------------------------------------------------------


def test_full_width_letters_digits_and_brackets_become_ascii() -> None:
    assert n("ＡＢＣ１２３公司（北京）有限公司") == n("ABC123公司(北京)有限公司")


def test_case_mapping_is_full_unicode() -> None:
    assert n("straße") == n("STRAẞE") == "STRASSE"


def test_lower_case_latin_is_upper_cased() -> None:
    assert n("siemens ltd") == "SIEMENSLTD"


# --- step 3: invisible and blank characters ------------------------------------------------


@pytest.mark.parametrize(
    "char",
    ["\x00", "\u200b", "\u200c", "\u200d", "\ufeff", "\u00ad", "\u2060", "\u180e", "\ud800"],
    ids=["nul", "zwsp", "zwnj", "zwj", "bom", "soft-hyphen", "word-joiner", "mvs", "surrogate"],
)
def test_invisible_character_vanishes(char: str) -> None:
    assert n(f"中国{char}平安") == "中国平安"


@pytest.mark.parametrize("blank", [" ", "\t", "\n", "\r", "\u3000", "\u00a0", "\u2028"], ids=repr)
def test_blank_character_vanishes(blank: str) -> None:
    assert n(f"{blank}中国{blank}平安{blank}") == "中国平安"


def test_invisible_table_matches_python_unicode_data() -> None:
    expected = {
        code
        for code in range(sys.maxunicode + 1)
        if chr(code).isspace() or unicodedata.category(chr(code)) in {"Cc", "Cf", "Cs"}
    }
    table = {code for low, high in normalizer._INVISIBLE_RANGES for code in range(low, high + 1)}
    assert table == expected


def test_every_invisible_character_is_non_printable_or_the_space() -> None:
    # The fast path skips step 3 for printable text without spaces; this is why it may.
    for low, high in normalizer._INVISIBLE_RANGES:
        for code in range(low, high + 1):
            assert chr(code) == " " or not chr(code).isprintable(), hex(code)


# --- step 4: quotes and dashes -------------------------------------------------------------


def test_decorative_quotes_are_deleted() -> None:
    assert n("「中国」『平安』\"保险\"'有限'“公司”‘甲’〝乙〞") == "中国平安保险有限公司甲乙"


@pytest.mark.parametrize(
    "dash",
    ["\u2010", "\u2011", "\u2012", "\u2013", "\u2014", "\u2015", "\u2212", "\ufe58", "\ufe63"],
)
def test_unicode_dash_becomes_hyphen(dash: str) -> None:
    assert n(f"ABC{dash}DEF") == "ABC-DEF"


def test_chinese_double_dash_is_one_hyphen() -> None:
    assert n("中国——平安") == "中国-平安"


def test_mixed_dash_run_collapses_to_one_hyphen() -> None:
    assert n("A-\u2014-\u2212B") == "A-B"


# --- step 5: placeholders and bare markers -------------------------------------------------


@pytest.mark.parametrize("placeholder", PLACEHOLDERS)
def test_placeholder_gives_empty(placeholder: str) -> None:
    assert n(placeholder) == ""


@pytest.mark.parametrize(
    "spelling", ["NULL", "Null", "NoNe", "NaN", "N/A", "n/A", "Na", "ＮＵＬＬ"]
)
def test_placeholders_compare_case_and_width_insensitively(spelling: str) -> None:
    assert n(spelling) == ""


@pytest.mark.parametrize("marker", STATUS_MARKERS)
def test_bare_status_marker_gives_empty(marker: str) -> None:
    assert n(marker) == ""


def test_placeholder_lookalike_is_a_name() -> None:
    assert n("00") == "00"
    assert n("NAN公司") == "NAN公司"


# --- step 6: protected name ----------------------------------------------------------------


def test_reserved_account_management_is_protected() -> None:
    assert n(" 保留账户管理 ") == "保留账户管理"


def test_protected_name_followed_by_a_marker_still_loses_the_marker() -> None:
    assert n("保留账户管理(已转出)") == "保留账户管理"


# --- step 7a/b: leading markers ------------------------------------------------------------


def test_leading_bracket_marker_is_stripped() -> None:
    assert n("(原)中国机械公司") == "中国机械公司"


def test_leading_bracket_marker_takes_one_hyphen_with_it() -> None:
    assert n("(已转出)-某某公司") == "某某公司"


def test_leading_empty_brackets_are_stripped() -> None:
    assert n("()中国公司") == "中国公司"


def test_leading_bracket_with_a_region_is_kept() -> None:
    assert n("(香港)中华煤气有限公司") == "（香港）中华煤气有限公司"


def test_leading_marker_with_hyphen_is_stripped() -> None:
    assert n("已转出-某某有限公司") == "某某有限公司"


def test_marker_inside_a_name_is_kept() -> None:
    assert n("原平市农业机械有限公司") == "原平市农业机械有限公司"
    assert n("转移科技有限公司") == "转移科技有限公司"


def test_marker_is_stripped_only_as_a_whole_token() -> None:
    assert n("某某-平原") == "某某-平原"
    assert n("原平-某某") == "原平-某某"


# --- step 7c: trailing markers -------------------------------------------------------------


def test_trailing_hyphen_marker_is_stripped() -> None:
    assert n("中国平安-已转出") == "中国平安"


def test_trailing_bracket_marker_is_stripped() -> None:
    assert n("X公司(终止)") == "X公司"


def test_unclosed_trailing_bracket_marker_is_stripped() -> None:
    assert n("某某有限公司(已转出") == "某某有限公司"


def test_unclosed_trailing_bracket_without_marker_is_kept() -> None:
    assert n("某公司(北京") == "某公司（北京"


def test_stacked_trailing_markers_are_all_stripped() -> None:
    assert n("中国平安-已转出-终止") == n("中国平安-终止-已转出") == "中国平安"


# --- step 7d: subsidiaries -----------------------------------------------------------------


def test_subsidiaries_phrase_is_removed_everywhere() -> None:
    assert n("腾讯科技(深圳)有限公司及下属子企业") == "腾讯科技（深圳）有限公司"
    assert n("甲及下属子企业乙及下属子企业") == "甲乙"


def test_removed_subsidiaries_phrase_leaves_one_hyphen() -> None:
    assert n("中国平安-“及下属子企业”-深圳") == "中国平安-深圳"


# --- step 7e: business suffixes ------------------------------------------------------------


@pytest.mark.parametrize("suffix", ["-养老", "-福利", "(团托)"])
def test_business_suffix_is_stripped(suffix: str) -> None:
    assert n(f"某公司{suffix}") == "某公司"


@pytest.mark.parametrize("suffix", ["-BSU280", "-123", "-3m", "－ＢＳＵ２８０"])
def test_code_suffix_after_chinese_name_is_stripped(suffix: str) -> None:
    assert n(f"某公司{suffix}") == "某公司"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("Mercedes-Benz", "MERCEDES-BENZ"), ("Coca-Cola", "COCA-COLA"), ("7-Eleven", "7-ELEVEN")],
)
def test_code_suffix_after_latin_name_is_kept(raw: str, expected: str) -> None:
    assert n(raw) == expected


def test_code_suffix_must_be_ascii_letters_and_digits() -> None:
    assert n("某公司-٣") == "某公司-٣"
    assert n("某公司-A_1") == "某公司-A_1"


def test_code_suffix_after_astral_cjk_is_stripped() -> None:
    assert n("\U00020000公司-X1") == "\U00020000公司"


# --- step 7f: trailing bracket group -------------------------------------------------------


def test_trailing_group_bracket_is_stripped() -> None:
    assert n("某集团(集团)") == "某集团"


def test_trailing_branch_bracket_is_stripped() -> None:
    assert n("招商银行股份有限公司（深圳分行）") == "招商银行股份有限公司"


@pytest.mark.parametrize("word", ENTERPRISE_TYPE_WORDS)
def test_trailing_bracket_with_enterprise_type_is_kept(word: str) -> None:
    assert n(f"某经销处({word})") == f"某经销处（{word}）"


def test_trailing_bracket_with_a_bracket_inside_is_kept() -> None:
    assert n("某公司(北京(朝阳))") == "某公司（北京（朝阳））"


def test_several_trailing_brackets_are_stripped_one_by_one() -> None:
    assert n("某公司(集团)(北京)") == "某公司"


def test_inner_bracket_is_kept() -> None:
    assert n("中国平安保险（集团）股份有限公司") == "中国平安保险（集团）股份有限公司"


# --- step 7g/h: edges ----------------------------------------------------------------------


def test_leading_hyphens_are_stripped() -> None:
    assert n("——中国平安") == "中国平安"


@pytest.mark.parametrize("tail", ["-", ".", "。", ",", "、", ".。,、-"])
def test_trailing_punctuation_is_stripped(tail: str) -> None:
    assert n(f"中国平安{tail}") == "中国平安"


def test_trailing_empty_brackets_are_stripped() -> None:
    assert n("某公司.()") == "某公司"


def test_marker_before_trailing_full_stop_is_stripped() -> None:
    assert n("中国平安-已转出。") == "中国平安"


def test_inner_punctuation_is_kept() -> None:
    assert n("China Life Pension Co., Ltd.") == "CHINALIFEPENSIONCO.,LTD"


# --- step 8: placeholders again ------------------------------------------------------------


@pytest.mark.parametrize("raw", ["NULL-", "无。", "N/A(已转出)", "终止-", "(原)", "-原-"])
def test_placeholder_or_marker_left_after_stripping_gives_empty(raw: str) -> None:
    assert n(raw) == ""


# --- step 9: NFKC again --------------------------------------------------------------------


def test_accent_separated_by_soft_hyphen_recomposes() -> None:
    assert n("Cafe\u00ad\u0301") == "CAFÉ"


def test_case_mapping_decomposition_recomposes() -> None:
    result = n("ΐ")
    assert unicodedata.is_normalized("NFKC", result)
    assert n(result) == result


# --- step 10: brackets ---------------------------------------------------------------------


def test_output_brackets_are_full_width() -> None:
    assert n("(北京)某某有限公司") == "（北京）某某有限公司"
    assert "(" not in n("某(甲)乙")
    assert ")" not in n("某(甲)乙")


# --- temporary IDs -------------------------------------------------------------------------


def _expected_id(key: str, salt: str) -> str:
    mac = hmac.new(salt.encode("utf-8"), key.encode("utf-8"), hashlib.sha1).digest()
    return "IN" + base64.b32encode(mac[:10]).decode("ascii")


def test_temp_id_is_hmac_sha1_of_the_normalized_name() -> None:
    assert generate_temp_company_id(" 中国平安-已转出", "salt") == _expected_id("中国平安", "salt")


def test_empty_name_hashes_as_the_empty_key() -> None:
    assert generate_temp_company_id(None, "salt") == _expected_id(EMPTY_KEY, "salt")


def test_temp_id_example_from_the_spec() -> None:
    assert generate_temp_company_id("ＡＢＣ公司", "compass-golden-salt") == "INOM2RGVTQ3EKI5DF7"


def test_salt_that_is_not_text_is_rejected() -> None:
    with pytest.raises(TypeError):
        generate_temp_company_id("某公司", b"salt")  # type: ignore[arg-type]


def test_salt_that_cannot_be_utf8_is_rejected_without_quoting_it() -> None:
    with pytest.raises(ValueError, match="UTF-8") as info:
        generate_temp_company_id("某公司", "secret\ud800")
    assert "secret" not in str(info.value)


def test_wide_shortcuts_are_the_characters_own_decompositions() -> None:
    for wide, narrow in normalizer._WIDE_TO_NARROW:
        assert unicodedata.normalize("NFKD", wide) == narrow
