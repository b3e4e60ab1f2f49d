"""EQC JSON -> CompanyInfo: confidence by match type, best hit, former names."""

from __future__ import annotations

import pytest

from work_data_hub.infrastructure.eqc import parsing


@pytest.mark.parametrize(
    ("match_type", "confidence"),
    [
        pytest.param("全称精确匹配", 1.00, id="exact"),
        pytest.param("模糊匹配", 0.80, id="fuzzy"),
        pytest.param("拼音", 0.60, id="pinyin"),
        pytest.param("其他", 0.70, id="other"),
        pytest.param(None, 0.70, id="missing"),
        pytest.param(" 拼音 ", 0.60, id="padded"),
    ],
)
def test_confidence_by_match_type(match_type: object, confidence: float) -> None:
    assert parsing.confidence_for(match_type) == confidence


def test_override_mapping_wins() -> None:
    assert parsing.confidence_for("拼音", {"拼音": 0.5}) == 0.5
    assert parsing.confidence_for("模糊匹配", {"拼音": 0.5}) == 0.8


def _hit(company_id: str, match_type: str, name: str = "某公司") -> dict[str, object]:
    return {"companyId": company_id, "companyFullName": name, "unite_code": "X", "type": match_type}


def test_best_hit_prefers_the_better_match_type() -> None:
    hits = [_hit("1", "拼音"), _hit("2", "模糊匹配"), _hit("3", "全称精确匹配")]
    assert parsing.best_hit(hits)["companyId"] == "3"  # type: ignore[index]


def test_best_hit_keeps_server_order_on_ties() -> None:
    assert parsing.best_hit([_hit("1", "模糊匹配"), _hit("2", "模糊匹配")])["companyId"] == "1"  # type: ignore[index]


def test_best_hit_of_nothing_is_none() -> None:
    assert parsing.best_hit([]) is None


def test_search_hits_drops_rows_without_id_or_name() -> None:
    payload = {"list": [_hit("1", "拼音"), {"companyId": "2"}, "junk", {"companyFullName": "x"}]}
    assert [h["companyId"] for h in parsing.search_hits(payload)] == ["1"]


@pytest.mark.parametrize(
    "payload",
    [None, [], {"list": None}, {"list": "x"}, {}],
    ids=["none", "list", "null-list", "text-list", "empty"],
)
def test_search_hits_of_odd_payloads_is_empty(payload: object) -> None:
    assert parsing.search_hits(payload) == []


def test_former_names_from_a_list_a_string_and_objects() -> None:
    assert parsing.former_names({"former_names": ["甲公司", " 乙公司 ", ""]}) == (
        "甲公司",
        "乙公司",
    )
    assert parsing.former_names({"former_name": "甲公司；乙公司、丙公司"}) == (
        "甲公司",
        "乙公司",
        "丙公司",
    )
    assert parsing.former_names({"formerNames": [{"name": "甲公司"}, {"name": None}]}) == (
        "甲公司",
    )
    assert parsing.former_names({"former_names": ["甲公司"], "former_name": "甲公司"}) == (
        "甲公司",
    )


def test_former_names_of_odd_details_is_empty() -> None:
    assert parsing.former_names(None) == ()
    assert parsing.former_names({"former_names": 3}) == ()


def test_company_info_combines_hit_and_detail() -> None:
    info = parsing.company_info(
        _hit("9", "模糊匹配", "新公司"), {"former_names": ["旧公司", "新公司"]}
    )
    assert info.company_id == "9"
    assert info.official_name == "新公司"
    assert info.unified_credit_code == "X"
    assert info.confidence == 0.8
    assert info.match_type == "模糊匹配"
    assert info.former_names == ("旧公司",)


def test_company_info_takes_the_code_from_the_detail_when_the_hit_lacks_it() -> None:
    hit = {"companyId": 5, "companyFullName": "甲", "type": "全称精确匹配"}
    info = parsing.company_info(hit, {"unite_code": "91X"})
    assert (info.company_id, info.unified_credit_code, info.confidence) == ("5", "91X", 1.0)


def test_company_info_applies_overrides() -> None:
    assert parsing.company_info(_hit("1", "拼音"), None, {"拼音": 0.4}).confidence == 0.4


def test_company_info_rejects_a_hit_without_id() -> None:
    with pytest.raises(ValueError, match="companyId"):
        parsing.company_info({"companyFullName": "x"})


def test_search_candidates_keep_the_best_five_one_per_company() -> None:
    from work_data_hub.infrastructure.eqc import parsing

    hits = [
        {"companyId": "1", "companyFullName": "甲", "type": "拼音"},
        {"companyId": "2", "companyFullName": "乙", "type": "全称精确匹配"},
        {"companyId": "1", "companyFullName": "甲", "type": "模糊匹配"},
        *(
            {"companyId": str(i), "companyFullName": f"名{i}", "type": "模糊匹配"}
            for i in range(3, 9)
        ),
        {"companyId": "", "companyFullName": "无"},
    ]
    found = parsing.search_candidates(hits)
    assert [(c.company_id, c.confidence) for c in found] == [
        ("2", 1.0),
        ("3", 0.8),
        ("4", 0.8),
        ("5", 0.8),
        ("6", 0.8),
    ]


def test_search_candidates_follow_confidence_overrides() -> None:
    from work_data_hub.infrastructure.eqc import parsing

    hits = [{"companyId": "1", "companyFullName": "甲", "type": "拼音"}]
    [candidate] = parsing.search_candidates(hits, {"拼音": 0.5})
    assert (candidate.match_type, candidate.confidence) == ("拼音", 0.5)


def test_candidates_round_trip_through_json_and_skip_junk() -> None:
    from work_data_hub.infrastructure.eqc import parsing

    hits = [{"companyId": "1", "companyFullName": "甲", "type": "模糊匹配"}]
    stored = [c.to_dict() for c in parsing.search_candidates(hits)]
    junk = [{"company_id": "2"}, "x", {"company_id": "3", "full_name": "丙", "confidence": True}]
    assert parsing.candidates_from_json(stored + junk) == parsing.search_candidates(hits)
    assert parsing.candidates_from_json({"not": "a list"}) == ()


@pytest.mark.parametrize("separator", [",", "，", "、", ";"])
def test_company_former_name_is_one_string_split_on_each_separator(separator: str) -> None:
    detail = {"company_former_name": f"甲旧名有限公司{separator} 乙旧名有限公司 "}
    assert parsing.former_names(detail) == ("甲旧名有限公司", "乙旧名有限公司")


def test_company_details_read_the_registry_field_names() -> None:
    detail = {
        "companyFullName": "新名有限公司",
        "company_former_name": "旧名有限公司,新名有限公司",
        "legal_person_name": "张三",
        "registerCaptial": "80000.00万元",
        "registered_date": "2001-02-03",
        "registered_status": "存续",
        "province": "上海",
        "organization_code": "12345678X",
        "company_en_name": " ",
        "unite_code": "91310000123456789X",
    }
    details = parsing.company_details("42", detail)
    assert details.former_names == ("旧名有限公司",)  # the current name is not a former one
    assert details.registered_capital == "80000.00万元"
    assert details.legal_person_name == "张三"
    assert details.province == "上海"
    assert details.company_en_name is None
    assert details.unified_credit_code == "91310000123456789X"


def test_company_details_of_a_non_mapping_carry_only_the_id() -> None:
    assert parsing.company_details("42", ["x"]).official_name is None
