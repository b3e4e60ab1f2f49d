"""The per-process memos give exactly what the pure functions give, and stay bounded."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from work_data_hub.infrastructure.enrichment import normalizer
from work_data_hub.infrastructure.enrichment.resolve import key_cache


@pytest.fixture(autouse=True)
def _empty_memos() -> Iterator[None]:
    key_cache.clear()
    yield
    key_cache.clear()


class _Shouting(str):
    """A str subclass that compares equal to anything: never a memo key."""

    __hash__ = str.__hash__

    def __eq__(self, other: object) -> bool:
        return True


def test_name_keys_equal_the_normalizer_cold_and_warm() -> None:
    values: list[object] = ["中国平安(集团) -已转出", "ＡＢＣ公司", "N/A", 12.0, None, "x"]
    expected = [normalizer.normalize_for_temp_id(v) for v in values]
    assert key_cache.name_keys(values) == expected
    assert key_cache.name_keys(values) == expected


def test_a_str_subclass_is_normalized_not_looked_up() -> None:
    key_cache.name_keys(["中国平安"])
    odd = _Shouting("ＡＢＣ公司")
    assert key_cache.name_keys([odd]) == [normalizer.normalize_for_temp_id(odd)]


def test_temp_ids_follow_the_salt() -> None:
    keys = ["中国平安", "ABC公司"]
    first = key_cache.temp_ids(keys, "salt-one")
    second = key_cache.temp_ids(keys, "salt-two")
    assert first == [normalizer.temp_id_for_key(k, "salt-one") for k in keys]
    assert second == [normalizer.temp_id_for_key(k, "salt-two") for k in keys]


def test_a_full_memo_is_emptied_before_it_grows_past_its_bound(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(key_cache, "MAX_ENTRIES", 3)
    key_cache.name_keys(["甲公司", "乙公司"])
    names = ["丙公司", "丁公司"]
    assert key_cache.name_keys(names) == [normalizer.normalize_for_temp_id(n) for n in names]
    assert len(key_cache._name_keys) == 2


def test_a_spelling_repeated_in_one_call_is_normalized_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[object] = []
    normalize = normalizer.normalize_for_temp_id

    def counting(value: object) -> str:
        calls.append(value)
        return normalize(value)

    monkeypatch.setattr(normalizer, "normalize_for_temp_id", counting)
    keys = key_cache.name_keys(["甲公司", "乙公司", "甲公司", None, None])
    assert keys == [normalize(v) for v in ["甲公司", "乙公司", "甲公司", None, None]]
    assert calls == ["甲公司", "乙公司", None, None]  # non-text is not remembered
