"""The retry policy is pure arithmetic over attempts, the schedule and ``now``."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from work_data_hub.errors import EqcAuthError, EqcTransientError
from work_data_hub.infrastructure.enrichment.queue.retry import (
    DEFAULT_BACKOFF_SCHEDULE,
    DEFAULT_MAX_ATTEMPTS,
    RetryConfig,
    decide_retry,
    error_label,
)

NOW = dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.UTC)


def test_defaults_are_three_attempts_and_one_five_fifteen_minutes() -> None:
    assert DEFAULT_MAX_ATTEMPTS == 3
    assert [d.total_seconds() for d in DEFAULT_BACKOFF_SCHEDULE] == [60, 300, 900]


def test_first_failure_waits_one_minute() -> None:
    decision = decide_retry(1, NOW)
    assert decision.status == "pending"
    assert decision.next_retry_at == NOW + dt.timedelta(minutes=1)


def test_second_failure_waits_five_minutes() -> None:
    assert decide_retry(2, NOW).next_retry_at == NOW + dt.timedelta(minutes=5)


def test_failure_at_max_attempts_is_final() -> None:
    decision = decide_retry(3, NOW)
    assert decision.final
    assert decision.status == "failed"
    assert decision.next_retry_at is None


def test_third_step_is_used_when_more_attempts_are_allowed() -> None:
    config = RetryConfig(max_attempts=5)
    assert decide_retry(3, NOW, config).next_retry_at == NOW + dt.timedelta(minutes=15)


def test_last_step_repeats_beyond_the_schedule() -> None:
    config = RetryConfig(max_attempts=10, schedule=(dt.timedelta(seconds=5),))
    assert decide_retry(7, NOW, config).next_retry_at == NOW + dt.timedelta(seconds=5)


def test_single_attempt_config_fails_at_once() -> None:
    assert decide_retry(1, NOW, RetryConfig(max_attempts=1)).final


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_attempts": 0},
        {"schedule": ()},
        {"schedule": (dt.timedelta(seconds=-1),)},
    ],
    ids=["zero-attempts", "empty-schedule", "negative-delay"],
)
def test_invalid_config_is_rejected(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        RetryConfig(**kwargs)  # type: ignore[arg-type]


def test_zero_attempts_is_caller_misuse() -> None:
    with pytest.raises(ValueError):
        decide_retry(0, NOW)


def test_delay_after_zero_attempts_is_caller_misuse() -> None:
    with pytest.raises(ValueError):
        RetryConfig().delay_after(0)


def test_naive_now_is_rejected() -> None:
    with pytest.raises(ValueError):
        decide_retry(1, NOW.replace(tzinfo=None))


def test_config_is_frozen() -> None:
    config = RetryConfig()
    with pytest.raises(AttributeError):
        config.max_attempts = 9  # type: ignore[misc]


@given(
    attempts=st.integers(min_value=1, max_value=50),
    max_attempts=st.integers(min_value=1, max_value=20),
    delays=st.lists(st.integers(min_value=0, max_value=10_000), min_size=1, max_size=6),
)
def test_decision_is_final_exactly_at_the_limit_and_never_in_the_past(
    attempts: int, max_attempts: int, delays: list[int]
) -> None:
    config = RetryConfig(
        max_attempts=max_attempts, schedule=tuple(dt.timedelta(seconds=d) for d in delays)
    )
    decision = decide_retry(attempts, NOW, config)
    assert decision.final == (attempts >= max_attempts)
    assert decision.attempts == attempts
    if decision.final:
        assert decision.next_retry_at is None
    else:
        assert decision.next_retry_at is not None
        assert decision.next_retry_at >= NOW


@given(attempts=st.integers(min_value=1, max_value=30))
def test_delays_never_shrink_for_a_growing_schedule(attempts: int) -> None:
    config = RetryConfig(max_attempts=100)
    assert config.delay_after(attempts + 1) >= config.delay_after(attempts)


def test_error_label_has_class_and_status_code_only() -> None:
    error = EqcTransientError("upstream said 甲公司 is busy", status_code=503)
    assert error_label(error) == "EqcTransientError status=503"


def test_error_label_without_status_code_is_the_class_name() -> None:
    assert error_label(EqcAuthError()) == "EqcAuthError"
    assert error_label(TimeoutError("secret")) == "TimeoutError"
