"""EqcApp request handling without sockets: routes, token, faults, rules, call log."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from work_data_hub.eqc_server.app import (
    DETAIL_PATH,
    LABELS_PATH,
    SEARCH_PATH,
    CallLog,
    CallRecord,
    EqcApp,
    FaultSwitches,
    Rule,
)
from work_data_hub.eqc_server.registry import MATCH_EXACT, build_registry

TOKEN = "unit-token-123"
REGISTRY = build_registry(300, seed=3)
GOOD = {"token": TOKEN}


def _app(**switches: object) -> EqcApp:
    return EqcApp(REGISTRY, TOKEN, faults=FaultSwitches(**switches))


def _search(app: EqcApp, key: str, headers: dict[str, str] = GOOD):  # type: ignore[no-untyped-def]
    return app.handle(f"{SEARCH_PATH}?key={quote(key)}", headers)


def test_search_answers_list_rows_with_the_contract_fields() -> None:
    company = REGISTRY.companies[0]
    answer = _search(_app(), company.full_name)
    assert answer.status == 200
    row = answer.body["list"][0]
    assert row == {
        "companyId": company.company_id,
        "companyFullName": company.full_name,
        "unite_code": company.unite_code,
        "type": MATCH_EXACT,
        "regStatus": company.status,
    }


def test_search_without_hits_answers_an_empty_list() -> None:
    answer = _search(_app(), "没有这家公司")
    assert (answer.status, answer.body["list"]) == (200, [])


def test_search_without_key_is_a_bad_request() -> None:
    assert _app().handle(SEARCH_PATH, GOOD).status == 400


def test_detail_answers_business_info_with_former_names() -> None:
    company = next(c for c in REGISTRY.companies if c.former_names)
    answer = _app().handle(f"{DETAIL_PATH}?targetId={company.company_id}", GOOD)
    info = answer.body["businessInfodto"]
    # The real registry's field names: one comma-separated string of former names.
    assert info["company_former_name"].split(",") == list(company.former_names)
    assert info["unite_code"] == company.unite_code
    assert info["legal_person_name"] == company.legal_person
    assert info["registerCaptial"] == company.registered_capital
    assert {"registered_date", "registered_status", "province", "organization_code"} <= set(info)


def test_detail_of_an_unknown_id_is_404() -> None:
    assert _app().handle(f"{DETAIL_PATH}?targetId=42", GOOD).status == 404


def test_labels_answers_a_list() -> None:
    company = REGISTRY.companies[1]
    answer = _app().handle(f"{LABELS_PATH}?targetId={company.company_id}", GOOD)
    assert {"type": "行业", "name": company.industry} in answer.body["labels"]


def test_unknown_path_is_404() -> None:
    assert _app().handle("/nope", GOOD).status == 404


def test_wrong_or_missing_token_is_401() -> None:
    app = _app()
    assert _search(app, "x", {"token": "wrong"}).status == 401
    assert _search(app, "x", {}).status == 401
    assert _search(app, "x", {"TOKEN": TOKEN}).status == 200


def test_token_expires_after_n_authorized_calls() -> None:
    app = _app(token_expires_after=2)
    answers = [_search(app, "x") for _ in range(4)]
    assert [a.body.get("error") for a in answers] == [None, None, "TokenExpired", "TokenExpired"]
    assert answers[2].status == 200


def test_setting_token_expiry_restarts_the_count() -> None:
    app = _app(token_expires_after=1)
    _search(app, "x")
    app.faults.set(token_expires_after=1)
    assert "error" not in _search(app, "x").body


def test_error_rate_one_answers_the_error_status() -> None:
    answer = _search(_app(error_rate=1.0, error_status=502), "x")
    assert answer.status == 502


def test_rate_429_answers_with_retry_after() -> None:
    answer = _search(_app(rate_429=1.0, retry_after_s=2), "x")
    assert answer.status == 429
    assert answer.headers["Retry-After"] == "2"
    answer = _search(_app(rate_429=1.0, retry_after_s=0.25), "x")
    assert answer.headers["Retry-After"] == "0.25"


def test_rate_429_without_retry_after_sends_no_header() -> None:
    assert "Retry-After" not in _search(_app(rate_429=1.0, retry_after_s=None), "x").headers


def test_hang_rate_marks_the_answer_to_hang() -> None:
    answer = _search(_app(hang_rate=1.0, hang_s=9.0), "x")
    assert answer.hang_s == 9.0


def test_fixed_latency_is_added_to_every_answer() -> None:
    assert _search(_app(latency_ms=40), "x").delay_s == pytest.approx(0.04)


def test_uniform_latency_stays_in_its_range() -> None:
    app = _app(latency_ms=10, latency_max_ms=20, latency_distribution="uniform")
    delays = [_search(app, "x").delay_s for _ in range(50)]
    assert all(0.01 <= d <= 0.02 for d in delays)
    assert len(set(delays)) > 1


def test_exponential_latency_varies() -> None:
    app = _app(latency_ms=10, latency_distribution="exponential")
    assert len({_search(app, "x").delay_s for _ in range(20)}) > 1


def test_fault_draws_are_reproducible_with_a_seed() -> None:
    def statuses(seed: int) -> list[int]:
        app = EqcApp(REGISTRY, TOKEN, faults=FaultSwitches(seed=seed, error_rate=0.5))
        return [_search(app, "x").status for _ in range(30)]

    assert statuses(5) == statuses(5)
    assert set(statuses(5)) == {200, 503}


def test_rule_answers_its_status_for_one_name_only() -> None:
    app = _app()
    app.faults.add_rule("坏名字", status=503)
    assert _search(app, "坏名字").status == 503
    assert _search(app, "好名字").status == 200


def test_rule_with_times_fires_that_often() -> None:
    app = _app()
    app.faults.add_rule("名字", Rule(status=500, times=2))
    assert [_search(app, "名字").status for _ in range(3)] == [500, 500, 200]


def test_rule_can_match_a_target_id_and_send_retry_after() -> None:
    company = REGISTRY.companies[2]
    app = _app()
    app.faults.add_rule(company.company_id, status=429, retry_after=1.5)
    answer = app.handle(f"{DETAIL_PATH}?targetId={company.company_id}", GOOD)
    assert (answer.status, answer.headers["Retry-After"]) == (429, "1.5")


def test_rule_can_hang_a_name() -> None:
    app = _app(hang_s=7.0)
    app.faults.add_rule("慢", hang=True)
    assert _search(app, "慢").hang_s == 7.0


def test_reset_turns_every_fault_off() -> None:
    app = _app(error_rate=1.0, rate_429=1.0, token_expires_after=0, latency_ms=5)
    app.faults.add_rule("x", status=500)
    app.faults.reset()
    answer = _search(app, "x")
    assert (answer.status, answer.delay_s) == (200, 0.0)
    assert app.faults.snapshot()["error_rate"] == 0.0


def test_unknown_switch_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown fault switches: nope"):
        FaultSwitches(nope=1)


def test_every_call_is_recorded_with_path_key_and_status() -> None:
    app = _app()
    _search(app, "甲")
    _search(app, "乙", {"token": "bad"})
    app.handle(f"{DETAIL_PATH}?targetId=77", GOOD)
    records = app.calls.records()
    assert [(r.path, r.key, r.target_id, r.status) for r in records] == [
        (SEARCH_PATH, "甲", None, 200),
        (SEARCH_PATH, "乙", None, 401),
        (DETAIL_PATH, None, "77", 404),
    ]
    assert app.calls.count(SEARCH_PATH) == 2
    assert app.calls.count(status=404) == 1
    assert app.calls.keys() == ["甲", "乙"]
    assert len(app.calls) == 3
    app.calls.clear()
    assert len(app.calls) == 0


def test_max_in_window_counts_the_busiest_window() -> None:
    log = CallLog()
    for moment in (0.0, 0.1, 0.2, 5.0, 5.05, 5.1, 5.15, 20.0):
        log.append(
            CallRecord(
                path="/", key=None, target_id=None, status=200, timestamp=0, monotonic=moment
            )
        )
    assert log.max_in_window(1.0) == 4
    assert log.max_in_window(0.01) == 1
    assert CallLog().max_in_window(1.0) == 0


def test_repr_does_not_show_the_token() -> None:
    assert TOKEN not in repr(_app())


def test_fault_switches_stay_importable_from_the_app_module() -> None:
    from work_data_hub.eqc_server import app, faults

    assert (app.FaultSwitches, app.Rule) == (faults.FaultSwitches, faults.Rule)
