"""EqcClient against the local EQC server over real HTTP: each failure mode, end to end."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from work_data_hub.eqc_server.app import DETAIL_PATH, SEARCH_PATH
from work_data_hub.eqc_server.registry import (
    MATCH_EXACT,
    MATCH_FUZZY,
    MATCH_PINYIN,
    Registry,
    build_registry,
)
from work_data_hub.eqc_server.testing import EqcServerHandle, running_eqc_server
from work_data_hub.errors import EqcAuthError, EqcTransientError
from work_data_hub.infrastructure.eqc.client import EqcClient, EqcClientConfig
from work_data_hub.infrastructure.eqc.rate_limit import InProcessRateLimiter

REGISTRY: Registry = build_registry()
#: Tiny backoff and deadlines keep the failure modes fast.
FAST = EqcClientConfig(
    connect_timeout_s=1.0,
    read_timeout_s=0.5,
    deadline_s=2.0,
    max_attempts=3,
    backoff_base_s=0.01,
    backoff_cap_s=0.05,
    jitter=0.5,
)


class RecordingSleep:
    def __init__(self) -> None:
        self.sleeps: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        time.sleep(seconds)


@pytest.fixture
def eqc() -> Iterator[EqcServerHandle]:
    with running_eqc_server(registry=REGISTRY) as handle:
        yield handle


def _client(
    eqc: EqcServerHandle,
    *,
    token: str | None = None,
    config: EqcClientConfig = FAST,
    sleep: RecordingSleep | None = None,
    limiter: InProcessRateLimiter | None = None,
) -> EqcClient:
    return EqcClient(
        eqc.base_url,
        token or eqc.token,
        config=config,
        rate_limiter=limiter or InProcessRateLimiter(10_000, 1.0),
        sleep=sleep or RecordingSleep(),
    )


def _statuses(eqc: EqcServerHandle) -> list[int]:
    return [record.status for record in eqc.calls.records()]


def test_find_company_by_full_name_is_exact_with_former_names(eqc: EqcServerHandle) -> None:
    company = next(c for c in REGISTRY.companies if c.former_names)
    with _client(eqc) as client:
        info = client.find_company(company.full_name)
    assert info is not None
    assert (info.company_id, info.official_name) == (company.company_id, company.full_name)
    assert (info.match_type, info.confidence) == (MATCH_EXACT, 1.0)
    assert info.unified_credit_code == company.unite_code
    assert info.former_names == company.former_names
    assert eqc.calls.count(SEARCH_PATH) == 1
    assert eqc.calls.count(DETAIL_PATH) == 1


def test_find_company_by_former_name_is_fuzzy(eqc: EqcServerHandle) -> None:
    company = next(c for c in REGISTRY.companies if c.former_names)
    with _client(eqc) as client:
        info = client.find_company(company.former_names[0])
    assert info is not None
    assert (info.company_id, info.match_type, info.confidence) == (
        company.company_id,
        MATCH_FUZZY,
        0.8,
    )


def test_find_company_by_homophone_is_pinyin(eqc: EqcServerHandle) -> None:
    company = REGISTRY.companies[20]
    variant = REGISTRY.homophone_variant(company)
    assert variant is not None
    with _client(eqc) as client:
        info = client.find_company(variant)
    assert info is not None
    assert (info.company_id, info.match_type, info.confidence) == (
        company.company_id,
        MATCH_PINYIN,
        0.6,
    )


def test_unknown_name_is_none_after_one_call(eqc: EqcServerHandle) -> None:
    with _client(eqc) as client:
        assert client.find_company("查无此公司") is None
    assert len(eqc.calls) == 1


def test_detail_404_makes_find_company_none(eqc: EqcServerHandle) -> None:
    company = REGISTRY.companies[21]
    eqc.faults.add_rule(company.company_id, status=404, body={"error": "NotFound"})
    with _client(eqc) as client:
        assert client.find_company(company.full_name) is None
        assert client.detail("0000") is None
    assert _statuses(eqc) == [200, 404, 404]


def test_labels_come_back_over_http(eqc: EqcServerHandle) -> None:
    company = REGISTRY.companies[22]
    with _client(eqc) as client:
        labels = client.labels(company.company_id)
    assert labels is not None
    assert {"type": "行业", "name": company.industry} in labels


def test_retry_then_success(eqc: EqcServerHandle) -> None:
    company = REGISTRY.companies[23]
    eqc.faults.add_rule(company.full_name, status=503, times=2)
    sleep = RecordingSleep()
    with _client(eqc, sleep=sleep) as client:
        hits = client.search(company.full_name)
    assert hits[0]["companyId"] == company.company_id
    assert _statuses(eqc) == [503, 503, 200]
    assert len(sleep.sleeps) == 2


def test_client_counts_the_requests_it_sent_again(eqc: EqcServerHandle) -> None:
    company = REGISTRY.companies[23]
    eqc.faults.add_rule(company.full_name, status=503, times=2)
    with _client(eqc, sleep=RecordingSleep()) as client:
        client.search(company.full_name)
        assert client.retries == 2


def test_retry_exhaustion_raises_transient_with_the_last_status(eqc: EqcServerHandle) -> None:
    eqc.faults.set(error_rate=1.0, error_status=502)
    with _client(eqc) as client, pytest.raises(EqcTransientError) as caught:
        client.search("某某公司")
    assert caught.value.status_code == 502
    assert _statuses(eqc) == [502, 502, 502]


def test_429_is_retried_after_retry_after(eqc: EqcServerHandle) -> None:
    company = REGISTRY.companies[24]
    eqc.faults.add_rule(company.full_name, status=429, retry_after=0.2, times=1)
    sleep = RecordingSleep()
    with _client(eqc, sleep=sleep) as client:
        assert client.search(company.full_name)
    assert _statuses(eqc) == [429, 200]
    assert sleep.sleeps[0] >= 0.2


def test_429_with_retry_after_past_the_deadline_is_not_waited_for(eqc: EqcServerHandle) -> None:
    eqc.faults.set(rate_429=1.0, retry_after_s=30)
    sleep = RecordingSleep()
    with _client(eqc, sleep=sleep) as client, pytest.raises(EqcTransientError) as caught:
        client.search("某某公司")
    assert (caught.value.status_code, caught.value.retry_after) == (429, 30.0)
    assert sleep.sleeps == []
    assert len(eqc.calls) == 1


def test_hang_is_cut_by_the_deadline(eqc: EqcServerHandle) -> None:
    eqc.faults.set(hang_rate=1.0)
    config = EqcClientConfig(
        read_timeout_s=5.0, deadline_s=0.4, max_attempts=5, backoff_base_s=0.01
    )
    with _client(eqc, config=config) as client, pytest.raises(EqcTransientError) as caught:
        client.search("某某公司")
    assert caught.value.status_code is None
    assert "ReadTimeout" in str(caught.value)
    assert len(eqc.calls) == 1  # the one attempt used the whole deadline


def test_hang_per_attempt_timeout_then_retry_succeeds(eqc: EqcServerHandle) -> None:
    company = REGISTRY.companies[25]
    eqc.faults.add_rule(company.full_name, hang=True, times=1)
    config = EqcClientConfig(read_timeout_s=0.2, deadline_s=3.0, backoff_base_s=0.01)
    with _client(eqc, config=config) as client:
        assert client.search(company.full_name)[0]["companyId"] == company.company_id
    assert len(eqc.calls) == 2


def test_wrong_token_is_an_auth_error_after_one_call(eqc: EqcServerHandle) -> None:
    with _client(eqc, token="not-the-token") as client, pytest.raises(EqcAuthError) as caught:
        client.search("某某公司")
    assert caught.value.status_code == 401
    assert _statuses(eqc) == [401]


def test_token_expired_body_is_an_auth_error_after_one_call(eqc: EqcServerHandle) -> None:
    eqc.faults.set(token_expires_after=0)
    with _client(eqc) as client, pytest.raises(EqcAuthError):
        client.search("某某公司")
    assert len(eqc.calls) == 1


def test_connection_refused_is_transient() -> None:
    with running_eqc_server(registry=REGISTRY) as stopped:
        base_url, token = stopped.base_url, stopped.token
    config = EqcClientConfig(connect_timeout_s=0.2, deadline_s=0.5, max_attempts=2)
    client = EqcClient(base_url, token, config=config, rate_limiter=InProcessRateLimiter(100, 1.0))
    with client, pytest.raises(EqcTransientError) as caught:
        client.search("某某公司")
    assert "ConnectError" in str(caught.value)


@pytest.mark.slow
def test_rate_limiter_bounds_requests_per_window_at_the_server(eqc: EqcServerHandle) -> None:
    limiter = InProcessRateLimiter(3, 1.0)
    with _client(eqc, limiter=limiter) as client:
        for index in range(7):
            client.search(REGISTRY.companies[index].full_name)
    assert len(eqc.calls) == 7
    # A 0.2 s margin absorbs the gap between a grant and the request's arrival.
    assert eqc.calls.max_in_window(0.8) <= 3
