"""EqcClient decisions on an httpx.MockTransport: retries, errors, deadline, secrecy."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from work_data_hub.errors import EqcAuthError, EqcError, EqcRateLimitWait, EqcTransientError
from work_data_hub.infrastructure.eqc.client import (
    DETAIL_PATH,
    LABELS_PATH,
    SEARCH_PATH,
    EqcClient,
    EqcClientConfig,
    backoff_delay,
    parse_retry_after,
)

TOKEN = "secret-token-abc123"
NAME = "上海华信科技有限公司"


class FakeTime:
    """A clock that advances only when slept on; records the sleeps."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class Unlimited:
    def __init__(self, grant: bool = True, waits: float = 0.0, clock: Any = None) -> None:
        self.grant = grant
        self.calls = 0
        self.timeouts: list[float | None] = []
        self.waits = waits
        self.clock = clock

    def acquire(self, timeout: float | None = None) -> bool:
        self.calls += 1
        self.timeouts.append(timeout)
        if self.clock is not None:
            self.clock.sleep(self.waits)
        return self.grant


Handler = Callable[[httpx.Request], httpx.Response]


def _client(
    handler: Handler,
    time_: FakeTime | None = None,
    limiter: Unlimited | None = None,
    **config: Any,
) -> EqcClient:
    fake = time_ or FakeTime()
    settings = {"max_attempts": 4, "backoff_base_s": 0.1, "backoff_cap_s": 1.0, "jitter": 0.0}
    settings.update(config)
    return EqcClient(
        "http://eqc.test",
        TOKEN,
        config=EqcClientConfig(**settings),
        rate_limiter=limiter or Unlimited(),
        transport=httpx.MockTransport(handler),
        clock=fake.clock,
        sleep=fake.sleep,
        rng=random.Random(0),
    )


def _hit(match_type: str = "全称精确匹配") -> dict[str, Any]:
    return {"companyId": "123", "companyFullName": NAME, "unite_code": "91X", "type": match_type}


def _sequence(*responses: httpx.Response) -> tuple[Handler, list[httpx.Request]]:
    seen: list[httpx.Request] = []
    queue = list(responses)

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return queue.pop(0) if len(queue) > 1 else queue[0]

    return handler, seen


def test_search_sends_the_token_header_and_key() -> None:
    handler, seen = _sequence(httpx.Response(200, json={"list": [_hit()]}))
    assert _client(handler).search(NAME) == [_hit()]
    assert seen[0].headers["token"] == TOKEN
    assert seen[0].url.path == SEARCH_PATH
    assert seen[0].url.params["key"] == NAME


def test_retries_5xx_then_succeeds_with_growing_backoff() -> None:
    fake = FakeTime()
    handler, seen = _sequence(
        httpx.Response(503), httpx.Response(500), httpx.Response(200, json={"list": []})
    )
    assert _client(handler, fake).search(NAME) == []
    assert len(seen) == 3
    assert fake.sleeps == [pytest.approx(0.1), pytest.approx(0.2)]


def test_gives_up_after_max_attempts_with_the_last_status() -> None:
    handler, seen = _sequence(httpx.Response(502))
    with pytest.raises(EqcTransientError) as caught:
        _client(handler, max_attempts=3).search(NAME)
    assert caught.value.status_code == 502
    assert len(seen) == 3


def test_429_waits_for_retry_after() -> None:
    fake = FakeTime()
    handler, seen = _sequence(
        httpx.Response(429, headers={"Retry-After": "2"}), httpx.Response(200, json={"list": []})
    )
    _client(handler, fake).search(NAME)
    assert fake.sleeps == [2.0]
    assert len(seen) == 2


def test_429_with_retry_after_beyond_the_deadline_gives_up_at_once() -> None:
    fake = FakeTime()
    handler, seen = _sequence(httpx.Response(429, headers={"Retry-After": "60"}))
    with pytest.raises(EqcTransientError) as caught:
        _client(handler, fake, deadline_s=5.0).search(NAME)
    assert (caught.value.status_code, caught.value.retry_after) == (429, 60.0)
    assert fake.sleeps == []
    assert len(seen) == 1


def test_401_is_an_auth_error_without_retry() -> None:
    handler, seen = _sequence(httpx.Response(401, json={"error": "Unauthorized"}))
    with pytest.raises(EqcAuthError) as caught:
        _client(handler).search(NAME)
    assert caught.value.status_code == 401
    assert len(seen) == 1


def test_token_expired_body_is_an_auth_error_whatever_the_status() -> None:
    for status in (200, 403, 500):
        handler, seen = _sequence(httpx.Response(status, json={"error": "TokenExpired"}))
        with pytest.raises(EqcAuthError):
            _client(handler).search(NAME)
        assert len(seen) == 1


def test_other_4xx_is_not_retried() -> None:
    handler, seen = _sequence(httpx.Response(400, json={"error": "Bad"}))
    with pytest.raises(EqcError) as caught:
        _client(handler).search(NAME)
    assert type(caught.value) is EqcError
    assert caught.value.status_code == 400
    assert len(seen) == 1


def test_404_on_search_is_no_hits_and_on_detail_is_none() -> None:
    handler, _ = _sequence(httpx.Response(404))
    client = _client(handler)
    assert client.search(NAME) == []
    assert client.detail("1") is None
    assert client.labels("1") is None
    assert client.find_company(NAME) is None


def test_invalid_json_is_retried() -> None:
    handler, seen = _sequence(
        httpx.Response(200, content=b"<html>"), httpx.Response(200, json={"list": []})
    )
    assert _client(handler).search(NAME) == []
    assert len(seen) == 2


def test_transport_error_is_retried_then_translated_without_the_name() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"cannot reach {request.url}", request=request)

    with pytest.raises(EqcTransientError) as caught:
        _client(handler, max_attempts=2).search(NAME)
    error = caught.value
    assert isinstance(error.__cause__, httpx.ConnectError)
    assert error.status_code is None
    for text in (str(error), repr(error)):
        assert "ConnectError" in str(error)
        assert NAME not in text
        assert "key=" not in text
        assert TOKEN not in text


def test_deadline_stops_retries_before_attempts_run_out() -> None:
    fake = FakeTime()
    handler, seen = _sequence(httpx.Response(503))
    with pytest.raises(EqcTransientError):
        _client(
            handler, fake, max_attempts=10, backoff_base_s=1.0, backoff_cap_s=10.0, deadline_s=2.5
        ).search(NAME)
    assert len(seen) == 2  # sleeps 1.0 then would need 2.0 more: past the deadline
    assert sum(fake.sleeps) < 2.5


def test_no_rate_limit_slot_within_the_wait_raises_rate_limit_wait_and_sends_nothing() -> None:
    handler, seen = _sequence(httpx.Response(200, json={"list": []}))
    limiter = Unlimited(grant=False)
    with pytest.raises(EqcRateLimitWait):
        _client(handler, limiter=limiter).search(NAME, wait_s=2.5)
    assert limiter.timeouts == [2.5]
    assert seen == []


def test_rate_limit_wait_is_not_a_transient_failure() -> None:
    assert not issubclass(EqcRateLimitWait, EqcTransientError)


def test_waiting_for_a_slot_does_not_use_up_the_deadline() -> None:
    # 45 s of waiting per slot against a 30 s deadline: the request is still sent.
    fake = FakeTime()
    limiter = Unlimited(waits=45.0, clock=fake)
    handler, seen = _sequence(httpx.Response(200, json={"list": []}))
    client = EqcClient(
        "http://eqc.test",
        "tok",
        config=EqcClientConfig(deadline_s=30.0),
        rate_limiter=limiter,
        transport=httpx.MockTransport(handler),
        clock=fake.clock,
        sleep=fake.sleep,
    )
    assert client.search(NAME) == []
    assert len(seen) == 1
    assert limiter.timeouts == [None]  # the default: wait as long as needed


def test_every_attempt_takes_a_rate_limit_slot() -> None:
    limiter = Unlimited()
    handler, _ = _sequence(httpx.Response(503), httpx.Response(200, json={"list": []}))
    _client(handler, limiter=limiter).search(NAME)
    assert limiter.calls == 2


def test_find_company_picks_the_best_hit_and_reads_former_names() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == SEARCH_PATH:
            other = {**_hit("拼音"), "companyId": "999"}
            return httpx.Response(200, json={"list": [other, _hit("模糊匹配")]})
        assert request.url.params["targetId"] == "123"
        return httpx.Response(200, json={"businessInfodto": {"former_names": ["旧名有限公司"]}})

    info = _client(handler).find_company(NAME)
    assert info is not None
    assert (info.company_id, info.confidence, info.match_type) == ("123", 0.8, "模糊匹配")
    assert info.former_names == ("旧名有限公司",)


def test_find_company_without_hits_is_none() -> None:
    handler, seen = _sequence(httpx.Response(200, json={"list": []}))
    assert _client(handler).find_company(NAME) is None
    assert len(seen) == 1


def test_find_company_uses_confidence_overrides() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == SEARCH_PATH:
            return httpx.Response(200, json={"list": [_hit("拼音")]})
        return httpx.Response(200, json={"businessInfodto": {}})

    client = EqcClient(
        "http://eqc.test",
        TOKEN,
        rate_limiter=Unlimited(),
        transport=httpx.MockTransport(handler),
        confidence_overrides={"拼音": 0.55},
    )
    with client:
        info = client.find_company(NAME)
    assert info is not None
    assert info.confidence == 0.55


def test_detail_and_labels_read_their_fields() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == DETAIL_PATH:
            return httpx.Response(200, json={"businessInfodto": {"reg_status": "存续"}})
        assert request.url.path == LABELS_PATH
        return httpx.Response(200, json={"labels": [{"name": "高新技术企业"}]})

    client = _client(handler)
    assert client.detail("1") == {"reg_status": "存续"}
    assert client.labels("1") == [{"name": "高新技术企业"}]


def test_odd_detail_and_labels_bodies_are_empty() -> None:
    handler, _ = _sequence(httpx.Response(200, json={"businessInfodto": None, "labels": "x"}))
    client = _client(handler)
    assert client.detail("1") == {}
    assert client.labels("1") == []


def test_repr_and_config_repr_hide_the_token() -> None:
    handler, _ = _sequence(httpx.Response(200, json={}))
    client = _client(handler)
    assert TOKEN not in repr(client)
    assert "eqc.test" in repr(client)


def test_missing_token_is_an_auth_error() -> None:
    with pytest.raises(EqcAuthError):
        EqcClient("http://eqc.test", "")


def test_missing_base_url_is_rejected() -> None:
    with pytest.raises(ValueError, match="base_url"):
        EqcClient("", TOKEN)


@pytest.mark.parametrize(
    "bad",
    [
        {"read_timeout_s": 0},
        {"deadline_s": -1},
        {"max_attempts": 0},
        {"backoff_base_s": -0.1},
        {"jitter": 1.5},
        {"max_connections": 0},
    ],
    ids=["read-timeout", "deadline", "attempts", "backoff", "jitter", "connections"],
)
def test_config_rejects_nonsense(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        EqcClientConfig(**bad)


def test_config_is_keyword_only_and_frozen() -> None:
    config = EqcClientConfig()
    with pytest.raises(TypeError):
        EqcClientConfig(1.0)  # type: ignore[misc]
    with pytest.raises(AttributeError):
        config.deadline_s = 1.0  # type: ignore[misc]


def test_backoff_doubles_and_is_capped() -> None:
    config = EqcClientConfig(backoff_base_s=0.5, backoff_cap_s=3.0, jitter=0.0)
    assert [backoff_delay(n, config, 0.0) for n in (1, 2, 3, 4, 5)] == [0.5, 1.0, 2.0, 3.0, 3.0]


def test_jitter_removes_up_to_its_share() -> None:
    config = EqcClientConfig(backoff_base_s=1.0, jitter=0.5)
    assert backoff_delay(1, config, 0.0) == 1.0
    assert backoff_delay(1, config, 0.999) == pytest.approx(0.5005)


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        pytest.param("3", 3.0, id="seconds"),
        pytest.param("0.25", 0.25, id="fraction"),
        pytest.param("-4", 0.0, id="negative"),
        pytest.param("", None, id="empty"),
        pytest.param(None, None, id="missing"),
        pytest.param("soon", None, id="garbage"),
        pytest.param("nan", None, id="nan"),
        pytest.param("Wed, 21 Oct 2015 07:28:10 GMT", 10.0, id="http-date"),
    ],
)
def test_parse_retry_after(header: str | None, seconds: float | None) -> None:
    now = 1445412480.0  # 07:28:00 GMT that day
    assert parse_retry_after(header, now=now) == seconds
