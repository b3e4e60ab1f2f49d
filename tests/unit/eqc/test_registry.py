"""The generated registry: deterministic, realistic, searchable by match quality."""

from __future__ import annotations

import re

import pytest

from work_data_hub.eqc_server.registry import (
    DEFAULT_REGISTRY_SIZE,
    MATCH_EXACT,
    MATCH_FUZZY,
    MATCH_PINYIN,
    Registry,
    build_registry,
    credit_code_check_char,
    fold_name,
    pinyin_of,
)

CREDIT_CODE = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$")


@pytest.fixture(scope="module")
def registry() -> Registry:
    return build_registry()


def test_default_registry_has_at_least_ten_thousand_companies(registry: Registry) -> None:
    assert len(registry) == DEFAULT_REGISTRY_SIZE >= 10_000


def test_same_seed_and_size_give_the_same_companies() -> None:
    first = build_registry(200, seed=7)
    from work_data_hub.eqc_server import registry as module

    module._build_registry_cached.cache_clear()
    second = build_registry(200, seed=7)
    assert first is not second
    assert first.companies == second.companies


def test_different_seeds_give_different_companies() -> None:
    assert build_registry(50, seed=1).companies != build_registry(50, seed=2).companies


def test_ids_codes_and_names_are_unique(registry: Registry) -> None:
    companies = registry.companies
    assert len({c.company_id for c in companies}) == len(companies)
    assert len({c.unite_code for c in companies}) == len(companies)
    assert len({fold_name(c.full_name) for c in companies}) == len(companies)


def test_credit_codes_are_eighteen_characters_with_a_valid_check(registry: Registry) -> None:
    for company in registry.companies[:2000]:
        code = company.unite_code
        assert CREDIT_CODE.match(code), code
        assert credit_code_check_char(code[:17]) == code[17]


def test_known_credit_code_check_character() -> None:
    # A published example code: 91350100M000100Y43.
    assert credit_code_check_char("91350100M000100Y4") == "3"


def test_names_are_region_brand_industry_form(registry: Registry) -> None:
    forms = ("有限公司", "股份有限公司", "集团有限公司", "有限责任公司")
    assert all(c.full_name.endswith(forms) for c in registry.companies)
    assert all(c.region in c.full_name and c.industry in c.full_name for c in registry.companies)
    assert any("(" in c.full_name for c in registry.companies)


def test_some_companies_have_former_and_branch_names(registry: Registry) -> None:
    with_former = [c for c in registry.companies if c.former_names]
    with_branch = [c for c in registry.companies if c.branch_names]
    assert len(with_former) > 1000
    assert len(with_branch) > 1000
    assert all(b.endswith("分公司") for c in with_branch for b in c.branch_names)


def test_lookup_name_finds_a_company_by_its_full_name_in_any_width(registry: Registry) -> None:
    company = next(c for c in registry.companies if "(" in c.full_name)
    wide = company.full_name.replace("(", "（").replace(")", "）")
    assert registry.lookup_name(wide) == company
    assert registry.lookup_name(" " + company.full_name) == company
    assert registry.lookup_name("不存在的公司") is None
    assert registry.get(company.company_id) == company
    assert registry.get("0") is None


def test_search_full_name_is_an_exact_match_first(registry: Registry) -> None:
    company = registry.companies[3]
    hits = registry.search(company.full_name)
    assert hits[0] == (company, MATCH_EXACT)


def test_search_former_name_is_a_fuzzy_match(registry: Registry) -> None:
    company = next(c for c in registry.companies if c.former_names)
    assert registry.search(company.former_names[0])[0] == (company, MATCH_FUZZY)


def test_search_branch_name_is_a_fuzzy_match_of_the_parent(registry: Registry) -> None:
    company = next(c for c in registry.companies if c.branch_names)
    assert registry.search(company.branch_names[0])[0] == (company, MATCH_FUZZY)


def test_search_name_with_a_status_suffix_is_a_fuzzy_match(registry: Registry) -> None:
    company = registry.companies[10]
    assert (company, MATCH_FUZZY) in registry.search(company.full_name + "-已转出")


def test_search_part_of_a_name_is_a_fuzzy_match(registry: Registry) -> None:
    company = registry.companies[11]
    hits = registry.search(company.full_name[:-2])
    assert (company, MATCH_FUZZY) in hits
    assert all(match == MATCH_FUZZY for _, match in hits)


def test_search_results_are_limited(registry: Registry) -> None:
    assert len(registry.search("有限公司", limit=5)) == 5


def test_search_pinyin_is_a_pinyin_match(registry: Registry) -> None:
    company = registry.companies[12]
    assert (company, MATCH_PINYIN) in registry.search(company.pinyin)
    assert (company, MATCH_PINYIN) in registry.search(company.pinyin.upper())


def test_search_homophone_spelling_is_a_pinyin_match(registry: Registry) -> None:
    company = registry.companies[13]
    variant = registry.homophone_variant(company)
    assert variant is not None
    assert variant != company.full_name
    assert registry.search(variant) == [(company, MATCH_PINYIN)]


def test_search_nothing_matching_gives_an_empty_list(registry: Registry) -> None:
    assert registry.search("完全不相干的名字") == []
    assert registry.search("   ") == []
    assert registry.search("qqqq") == []


def test_pinyin_of_unknown_characters_is_none() -> None:
    assert pinyin_of("上海") == "shanghai"
    assert pinyin_of("上海鲲鹏") is None
    assert pinyin_of("") is None


def test_fold_name_unifies_width_case_and_blanks() -> None:
    assert fold_name("（ａｂ）　公 司") == "(AB)公司"


def test_rejects_empty_registry() -> None:
    with pytest.raises(ValueError, match="size"):
        build_registry(0)
