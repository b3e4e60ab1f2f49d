"""EqcProvider accounting with an in-memory client: budget, counters, auth switch-off."""

from __future__ import annotations

import pytest

from work_data_hub.errors import EqcAuthError, EqcRateLimitWait, EqcTransientError
from work_data_hub.infrastructure.enrichment.resolve.eqc_provider import (
    EqcProvider,
)
from work_data_hub.infrastructure.enrichment.types import CompanyInfo, EqcProviderProtocol

INFO = CompanyInfo(company_id="1", official_name="甲有限公司")


class ScriptedClient:
    """Answers find_company from a script of results or exceptions, counting calls."""

    def __init__(self, *outcomes: object) -> None:
        self.outcomes = list(outcomes)
        self.calls = 0

    def find_company(self, name: str, *, wait_s: float | None = None) -> CompanyInfo | None:
        self.calls += 1
        outcome = self.outcomes.pop(0) if len(self.outcomes) > 1 else self.outcomes[0]
        if isinstance(outcome, BaseException):
            raise outcome
        assert outcome is None or isinstance(outcome, CompanyInfo)
        return outcome


def test_satisfies_the_resolver_protocol() -> None:
    assert isinstance(EqcProvider(ScriptedClient(None), budget=1), EqcProviderProtocol)


def test_hit_miss_and_error_each_spend_one_unit() -> None:
    client = ScriptedClient(INFO, None, EqcTransientError(status_code=503))
    provider = EqcProvider(client, budget=5)
    assert provider.lookup("a") == INFO
    assert provider.lookup("b") is None
    assert provider.lookup("c") is None
    assert (provider.budget, provider.remaining_budget, provider.consumed) == (5, 2, 3)
    assert (provider.hits, provider.misses, provider.errors) == (1, 1, 1)


def test_no_budget_means_no_calls() -> None:
    client = ScriptedClient(INFO)
    provider = EqcProvider(client)
    assert provider.is_available is False
    assert provider.lookup("a") is None
    assert client.calls == 0


def test_budget_runs_out_exactly() -> None:
    client = ScriptedClient(INFO)
    provider = EqcProvider(client, budget=2)
    results = [provider.lookup(str(i)) for i in range(4)]
    assert results == [INFO, INFO, None, None]
    assert client.calls == 2
    assert provider.is_available is False


def test_auth_error_disables_the_provider_for_the_run() -> None:
    client = ScriptedClient(None, EqcAuthError(status_code=401), INFO)
    provider = EqcProvider(client, budget=10)
    provider.lookup("a")
    assert provider.lookup("b") is None
    assert provider.disabled
    assert not provider.is_available
    assert provider.remaining_budget == 0
    assert provider.lookup("c") is None
    assert client.calls == 2
    assert provider.consumed == 2
    assert provider.statistics()["disabled"] is True


def test_unexpected_exceptions_never_escape() -> None:
    provider = EqcProvider(ScriptedClient(RuntimeError("boom")), budget=1)
    assert provider.lookup("a") is None
    assert provider.errors == 1


def test_statistics_carry_every_counter() -> None:
    provider = EqcProvider(ScriptedClient(INFO, None), budget=3)
    provider.lookup("a")
    provider.lookup("b")
    assert provider.statistics() == {
        "budget": 3,
        "consumed": 2,
        "remaining_budget": 1,
        "hits": 1,
        "misses": 1,
        "invalid_ids": 0,
        "errors": 0,
        "cached": 0,
        "cache_errors": 0,
        "disabled": False,
        "rate_waits": 0,
        "unreachable": False,
    }


def test_negative_budget_is_rejected() -> None:
    with pytest.raises(ValueError, match="budget"):
        EqcProvider(ScriptedClient(None), budget=-1)


def test_repr_shows_budget_only() -> None:
    assert repr(EqcProvider(ScriptedClient(None), budget=2)) == (
        "EqcProvider(budget=2, remaining_budget=2, available=True)"
    )


def test_an_answer_with_a_bad_id_is_no_hit_and_counted() -> None:
    bad = CompanyInfo(company_id="6000 00001", official_name="甲公司")
    provider = EqcProvider(ScriptedClient(bad), budget=1)
    assert provider.lookup("甲公司") is None
    assert (provider.hits, provider.invalid_ids) == (0, 1)


def test_a_wait_for_the_rate_limit_spends_no_budget_and_no_error() -> None:
    client = ScriptedClient(EqcRateLimitWait(), INFO)
    provider = EqcProvider(client, budget=2)
    assert provider.lookup("a", wait_s=0.0) is None
    assert provider.rate_limited
    assert (provider.consumed, provider.errors, provider.rate_waits) == (0, 0, 1)
    assert provider.lookup("a") == INFO
    assert not provider.rate_limited
    assert provider.consumed == 1


def test_an_unreachable_eqc_switches_the_provider_off_after_one_lookup() -> None:
    client = ScriptedClient(EqcTransientError(status_code=None), INFO)
    provider = EqcProvider(client, budget=5)
    assert provider.lookup("a") is None
    assert provider.unreachable
    assert not provider.is_available
    assert provider.lookup("b") is None
    assert client.calls == 1


def test_an_eqc_5xx_does_not_count_as_unreachable() -> None:
    provider = EqcProvider(ScriptedClient(EqcTransientError(status_code=503)), budget=5)
    provider.lookup("a")
    assert not provider.unreachable
    assert provider.is_available
