"""Review suggestions: names taken apart, closest mapped aliases, merged lists."""

from __future__ import annotations

import pytest

from work_data_hub.infrastructure.enrichment import normalizer
from work_data_hub.infrastructure.enrichment.review import name_parts
from work_data_hub.infrastructure.enrichment.review.suggestions import (
    PARENT_SCORE,
    AliasIndex,
    Suggestion,
    merge_suggestions,
)


def _n(name: str) -> str:
    return normalizer.normalize_for_temp_id(name)


@pytest.mark.parametrize(
    ("name", "stem", "region", "form", "parent"),
    [
        ("上海华信科技股份有限公司", "华信科技", "上海", "股份有限公司", ""),
        ("华信(上海)科技有限公司", "华信科技", "上海", "有限公司", ""),
        ("上海市浦东发展银行股份有限公司", "浦东发展银行", "上海", "股份有限公司", ""),
        ("华信科技有限公司北京分公司", "华信科技", "", "有限公司", "华信科技有限公司"),
        ("中国银行股份有限公司北京分行", "中国银行", "", "股份有限公司", "中国银行股份有限公司"),
        ("中国平安保险(集团)股份有限公司", "中国平安保险", "", "股份有限公司", ""),
        ("ABC公司", "ABC", "", "公司", ""),
        ("", "", "", "", ""),
    ],
)
def test_split_names_takes_a_name_apart(
    name: str, stem: str, region: str, form: str, parent: str
) -> None:
    parts = name_parts.split_names([_n(name)])
    assert (parts.stem[0], parts.region[0], parts.form[0], parts.parent[0]) == (
        stem,
        region,
        form,
        _n(parent),
    )


def test_split_names_keeps_two_characters_of_stem() -> None:
    parts = name_parts.split_names(["北京公司", "有限公司", "公司"])
    assert list(parts.stem) == ["公司", "有限", "公司"]


@pytest.fixture
def index() -> AliasIndex:
    aliases = {
        "华信(上海)科技有限公司": ("1001", "eqc"),
        "北京华信科技有限公司": ("1002", "eqc"),
        "中国银行股份有限公司": ("1003", "manual"),
        "远宏(太原)实业有限公司": ("1004", "manual"),
        "杭州恒瑞物流有限公司": ("1005", "pipeline_backflow"),
    }
    return AliasIndex(
        [_n(a) for a in aliases],
        [i for i, _ in aliases.values()],
        [s for _, s in aliases.values()],
    )


def test_branch_gets_its_mapped_parent_first(index: AliasIndex) -> None:
    [found] = index.suggest([_n("中国银行股份有限公司北京分行")])
    assert found[0] == Suggestion(
        company_id="1003",
        name=_n("中国银行股份有限公司"),
        source="cache:manual",
        score=PARENT_SCORE,
    )


def test_region_moved_out_of_brackets_is_the_same_company(index: AliasIndex) -> None:
    [found] = index.suggest([_n("太原远宏实业有限公司")])
    assert [s.company_id for s in found] == ["1004"]
    assert found[0].score >= 0.95


def test_same_brand_in_another_region_ranks_below_the_own_region(index: AliasIndex) -> None:
    [found] = index.suggest([_n("上海华信科技股份有限公司")])
    assert [s.company_id for s in found] == ["1001", "1002"]
    assert found[0].score > found[1].score


def test_a_mistyped_character_still_finds_the_company(index: AliasIndex) -> None:
    [found] = index.suggest([_n("杭州恒锐物流有限公司")])
    assert found[0].company_id == "1005"
    assert 0.6 <= found[0].score < 0.95


def test_unrelated_and_empty_names_get_nothing(index: AliasIndex) -> None:
    assert index.suggest([_n("成都锦江餐饮管理有限公司"), ""]) == [[], []]


def test_limit_and_one_entry_per_company(index: AliasIndex) -> None:
    [found] = index.suggest([_n("华信科技有限公司")], limit=1)
    assert len(found) == 1
    with pytest.raises(ValueError, match="limit"):
        index.suggest(["X"], limit=0)


def test_index_refuses_columns_of_different_lengths() -> None:
    with pytest.raises(ValueError, match="same length"):
        AliasIndex(["A"], [], ["eqc"])


def test_merge_keeps_the_best_per_company_best_first() -> None:
    eqc = [Suggestion(company_id="1", name="A", source="eqc:拼音", score=0.6)]
    cache = [
        Suggestion(company_id="1", name="A2", source="cache:eqc", score=0.9),
        Suggestion(company_id="2", name="B", source="cache:eqc", score=0.7),
        Suggestion(company_id="3", name="C", source="cache:eqc", score=0.65),
    ]
    merged = merge_suggestions(eqc, cache, limit=2)
    assert [(s.company_id, s.score) for s in merged] == [("1", 0.9), ("2", 0.7)]


def test_a_focused_index_answers_like_the_full_one() -> None:
    aliases = [
        _n(n) for n in ("华信(上海)科技有限公司", "北京华信科技有限公司", "杭州恒瑞物流有限公司")
    ]
    aliases += [f"成都锦江{i}餐饮管理有限公司" for i in range(50)]
    ids = [str(i) for i in range(len(aliases))]
    names = [_n("华信科技有限公司北京分公司"), _n("杭州恒锐物流有限公司")]
    full = AliasIndex(aliases, ids, ["eqc"] * len(aliases))
    focused = AliasIndex(aliases, ids, ["eqc"] * len(aliases), focus=names)
    assert focused.suggest(names) == full.suggest(names)
    assert len(focused) == 3
