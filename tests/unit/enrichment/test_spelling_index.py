"""The Arrow spelling index keys names exactly as the normalizer does, and the Arrow path of
key building gives the same key columns as the Python path."""

from __future__ import annotations

import threading

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from work_data_hub.infrastructure.enrichment.normalizer import normalize_for_temp_id
from work_data_hub.infrastructure.enrichment.resolve import key_cache, spelling_index
from work_data_hub.infrastructure.enrichment.resolve.key_column import KeyColumn
from work_data_hub.infrastructure.enrichment.resolve.name_columns import RawNames, name_columns
from work_data_hub.infrastructure.enrichment.resolve.spelling_index import SpellingIndex

ARROW_TEXT = pd.StringDtype("pyarrow")


def _keys_of(index: SpellingIndex, spellings: list[str]) -> list[str | None]:
    numbers, texts = index.key_numbers(pa.array(spellings, pa.string()))
    return [None if n < 0 else texts[n] for n in numbers.tolist()]


def test_keys_are_the_normalizers() -> None:
    names = ["中国平安保险（集团）股份有限公司", "  ", "ＡＢ公司-已转出", "N/A", "甲公司"]
    expected = [normalize_for_temp_id(n) or None for n in names]
    assert _keys_of(SpellingIndex(100), names) == expected


def test_a_known_spelling_is_not_normalized_again(monkeypatch: pytest.MonkeyPatch) -> None:
    index = SpellingIndex(100)
    _keys_of(index, ["甲公司", "乙公司"])
    calls: list[object] = []
    real = spelling_index.normalizer.normalize_for_temp_id
    monkeypatch.setattr(
        spelling_index.normalizer,
        "normalize_for_temp_id",
        lambda value: calls.append(value) or real(value),
    )
    assert _keys_of(index, ["乙公司", "丙公司", "甲公司"]) == ["乙公司", "丙公司", "甲公司"]
    assert calls == ["丙公司"]


def test_spellings_of_one_key_share_its_number() -> None:
    numbers, texts = SpellingIndex(100).key_numbers(pa.array(["甲公司", "甲公司（集团）", "乙"]))
    assert numbers[0] == numbers[1] != numbers[2]
    assert texts[numbers[0]] == normalize_for_temp_id("甲公司")


def test_an_overflowing_lookup_empties_the_index_first() -> None:
    index = SpellingIndex(3)
    _keys_of(index, ["甲公司", "乙公司"])
    assert len(index) == 2
    assert _keys_of(index, ["丙公司", "丁公司"]) == ["丙公司", "丁公司"]
    assert len(index) == 2  # emptied, then the two new spellings
    assert _keys_of(index, ["甲公司", "丁公司"]) == ["甲公司", "丁公司"]


def test_texts_returned_earlier_survive_later_growth_and_resets() -> None:
    index = SpellingIndex(2_000)
    numbers, texts = index.key_numbers(pa.array(["甲公司"]))
    index.key_numbers(pa.array([f"公司{i}" for i in range(1_500)]))  # grows the text buffer
    index.clear()
    assert texts[numbers[0]] == "甲公司"


def test_threads_sharing_the_index_get_the_normalizers_keys() -> None:
    index = SpellingIndex(10_000)
    names = [f"公司{i % 700}（集团）" for i in range(2_000)]
    outcomes: list[bool] = []

    def work(offset: int) -> None:
        rotated = names[offset:] + names[:offset]
        outcomes.append(_keys_of(index, rotated) == [normalize_for_temp_id(n) for n in rotated])

    threads = [threading.Thread(target=work, args=(k * 100,)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes == [True] * 4


def test_only_arrow_backed_text_columns_take_the_arrow_path() -> None:
    assert spelling_index.arrow_chunks(pd.Series(["a", None], dtype=ARROW_TEXT)) is not None
    assert spelling_index.arrow_chunks(pd.Series(["a", None], dtype=object)) is None
    assert spelling_index.arrow_chunks(pd.Series([1, 2])) is None


def test_clearing_the_key_cache_empties_the_index() -> None:
    spelling_index.key_numbers(pa.array(["甲公司"]))
    key_cache.clear()
    assert len(spelling_index._index) == 0


_NAMES = st.one_of(
    st.none(),
    st.sampled_from(["", "  ", "N/A", "甲公司", "甲公司（集团）", "乙公司-已转出", "ＡＢ", "ab"]),
    st.text(alphabet="甲乙丙公司 （）()-Ａa\u3000", max_size=8),
)


@settings(max_examples=150, deadline=None)
@given(
    rows=st.lists(st.tuples(_NAMES, _NAMES, st.booleans()), max_size=40),
    with_account=st.booleans(),
)
def test_arrow_and_python_paths_give_the_same_name_columns(
    rows: list[tuple[str | None, str | None, bool]], with_account: bool
) -> None:
    customer = [c for c, _, _ in rows]
    # Often the account name repeats the customer name: that shortcut is part of the path.
    account = [c if same else a for c, a, same in rows]

    def columns(dtype: object) -> tuple[KeyColumn, KeyColumn, RawNames]:
        c = pd.Series(customer, dtype=dtype)
        a = pd.Series(account, dtype=dtype) if with_account else None
        return name_columns(c, a)

    arrow, python = columns(ARROW_TEXT), columns(object)
    assert spelling_index.arrow_chunks(pd.Series(customer, dtype=ARROW_TEXT)) is not None
    for got, want in zip(arrow[:2], python[:2], strict=True):
        assert np.array_equal(got.codes, want.codes)
        assert got.keys.tolist() == want.keys.tolist()
    got_raw, want_raw = arrow[2], python[2]
    assert np.array_equal(got_raw.codes, want_raw.codes)
    assert np.array_equal(got_raw.key_of_raw, want_raw.key_of_raw)
    everything = np.arange(len(want_raw.values), dtype=np.intp)
    assert got_raw.texts(everything) == want_raw.texts(everything)


def test_the_index_is_bounded_like_the_key_memo() -> None:
    assert spelling_index.MAX_SPELLINGS == key_cache.MAX_ENTRIES


def test_a_column_of_many_arrow_chunks_is_keyed_like_one_of_python_text() -> None:
    """The readers' columns come in many chunks (one per block read); they are encoded
    where they lie, with one dictionary across the chunks."""
    pieces = [["甲公司", None, "乙公司"], [], ["乙公司", "丙公司（集团）"], ["甲公司"]]
    customer = pd.Series(
        pd.arrays.ArrowStringArray(
            pa.chunked_array([pa.array(p, pa.large_string()) for p in pieces])
        )
    )
    assert spelling_index.arrow_chunks(customer).num_chunks == 4
    arrow = name_columns(customer, None)
    python = name_columns(customer.astype(object), None)
    assert np.array_equal(arrow[0].codes, python[0].codes)
    assert arrow[0].keys.tolist() == python[0].keys.tolist()
    assert np.array_equal(arrow[2].codes, python[2].codes)
