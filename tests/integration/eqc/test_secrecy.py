"""The token (and the names looked up) appear in no log line and no exception message."""

from __future__ import annotations

import io
import logging
import traceback
from collections.abc import Iterator

import pytest
import structlog
from structlog.testing import capture_logs

from work_data_hub.eqc_server.registry import Registry, build_registry
from work_data_hub.eqc_server.testing import EqcServerHandle, running_eqc_server
from work_data_hub.errors import EqcError
from work_data_hub.infrastructure.enrichment.resolve.eqc_provider import EqcProvider
from work_data_hub.infrastructure.eqc.client import EqcClient, EqcClientConfig
from work_data_hub.infrastructure.eqc.rate_limit import InProcessRateLimiter
from work_data_hub.utils.logging import configure_logging

REGISTRY: Registry = build_registry()
TOKEN = "tok-SECRET-4f9a7c21d3"
FAST = EqcClientConfig(
    read_timeout_s=0.1, deadline_s=0.3, max_attempts=3, backoff_base_s=0.01, backoff_cap_s=0.02
)
NAMES = [c.full_name for c in REGISTRY.companies[60:68]]


@pytest.fixture
def eqc() -> Iterator[EqcServerHandle]:
    with running_eqc_server(registry=REGISTRY, token=TOKEN) as handle:
        yield handle


def _client(eqc: EqcServerHandle, token: str = TOKEN) -> EqcClient:
    return EqcClient(
        eqc.base_url, token, config=FAST, rate_limiter=InProcessRateLimiter(10_000, 1.0)
    )


def _exercise(eqc: EqcServerHandle) -> list[BaseException]:
    """Every failure mode once, through client and provider; returns the client's errors."""
    errors: list[BaseException] = []
    faults = eqc.faults
    faults.add_rule(NAMES[0], status=503, times=1)  # retry then success
    faults.add_rule(NAMES[1], status=502)  # exhaustion
    faults.add_rule(NAMES[2], status=429, retry_after=0.01, times=1)  # 429
    faults.add_rule(NAMES[3], hang=True)  # hang cut by the deadline
    faults.add_rule(REGISTRY.companies[64].company_id, status=404)  # detail 404
    faults.add_rule(NAMES[5], status=400)  # other 4xx
    with _client(eqc) as client:
        for name in NAMES[:6]:
            try:
                client.find_company(name)
            except EqcError as exc:
                errors.append(exc)
        provider = EqcProvider(client, budget=10)
        for name in NAMES[:6]:
            provider.lookup(name)
        faults.set(token_expires_after=0)  # TokenExpired
        try:
            client.search(NAMES[6])
        except EqcError as exc:
            errors.append(exc)
        provider.lookup(NAMES[6])
    with _client(eqc, token="wrong-" + TOKEN[::-1]) as bad:  # 401
        try:
            bad.search(NAMES[7])
        except EqcError as exc:
            errors.append(exc)
        EqcProvider(bad, budget=1).lookup(NAMES[7])
    return errors


def _leaks(text: str) -> list[str]:
    return [secret for secret in (TOKEN, *NAMES) if secret in text]


def test_no_captured_log_event_carries_the_token_or_a_name(eqc: EqcServerHandle) -> None:
    with capture_logs() as events:
        _exercise(eqc)
    kinds = {event["event"] for event in events}
    assert {"eqc.request_failed", "eqc.auth_failed", "eqc_provider.disabled"} <= kinds
    for event in events:
        assert _leaks(repr(event)) == [], event


@pytest.mark.parametrize("log_format", ["json", "console"])
def test_no_rendered_log_line_carries_the_token_or_a_name(
    eqc: EqcServerHandle, log_format: str
) -> None:
    stream = io.StringIO()
    configure_logging(level="DEBUG", log_format=log_format, stream=stream)  # type: ignore[arg-type]
    try:
        _exercise(eqc)
    finally:
        structlog.reset_defaults()
    output = stream.getvalue()
    assert "eqc.request_retry" in output
    assert "eqc.auth_failed" in output
    assert _leaks(output) == []


def test_no_stdlib_log_record_carries_the_token_or_a_name(
    eqc: EqcServerHandle, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        _exercise(eqc)
    for record in caplog.records:
        assert _leaks(record.getMessage()) == [], record.name


def test_no_exception_message_or_repr_carries_the_token_or_a_name(eqc: EqcServerHandle) -> None:
    errors = _exercise(eqc)
    kinds = {type(error).__name__ for error in errors}
    assert kinds == {"EqcTransientError", "EqcAuthError", "EqcError"}
    for error in errors:
        assert _leaks(str(error)) == []
        assert _leaks(repr(error)) == []
        assert _leaks("".join(traceback.format_exception(error))) == []


def test_client_provider_and_handle_reprs_hide_the_token(eqc: EqcServerHandle) -> None:
    with _client(eqc) as client:
        assert TOKEN not in repr(client)
        assert TOKEN not in repr(EqcProvider(client, budget=1))
    assert TOKEN not in repr(eqc)
    assert TOKEN not in repr(eqc.server)
