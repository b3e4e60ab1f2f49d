"""The Dagster job, schedule and sensor, executed in process against real databases."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pydantic
import pytest
import sqlalchemy as sa
from dagster import (
    Definitions,
    RunRequest,
    SkipReason,
    build_schedule_context,
    build_sensor_context,
)

from tests.helpers import insert_requests
from work_data_hub.eqc_server.testing import EqcServerHandle, running_eqc_server
from work_data_hub.infrastructure.db import tables
from work_data_hub.orchestration import definitions as d
from work_data_hub.orchestration import defs
from work_data_hub.orchestration.resources import DatabaseResource, EqcResource

R = tables.enrichment_requests
# Dagster's own code passes beta parameters when it resolves definitions.
pytestmark = pytest.mark.filterwarnings("ignore::dagster.BetaWarning")


@pytest.fixture(scope="module")
def eqc() -> Iterator[EqcServerHandle]:
    with running_eqc_server(registry_size=2_000) as handle:
        yield handle


def statuses(engine: sa.Engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.scalars(sa.select(R.c.status).order_by(R.c.id)))


def resources(db_url: str, eqc: EqcServerHandle, token: str | None = None) -> dict[str, Any]:
    return {
        "database": DatabaseResource(database_url=db_url),
        "eqc": EqcResource(
            base_url=eqc.base_url, token=token or eqc.token, rate_limit=1000, rate_window_s=1.0
        ),
    }


def run_config(**config: Any) -> dict[str, Any]:
    return {"ops": {"drain_enrichment_queue": {"config": config}}}


def test_definitions_hold_the_job_schedule_and_sensor() -> None:
    Definitions.validate_loadable(defs)
    (schedule,) = defs.schedules or []
    (sensor,) = defs.sensors or []
    assert [job.name for job in defs.jobs or []] == ["enrichment_queue_job"]
    assert (schedule.cron_schedule, schedule.execution_timezone) == ("0 * * * *", "Asia/Shanghai")
    assert sensor.name == "enrichment_queue_backlog_sensor"


@pytest.mark.slow
def test_job_drains_the_queue(db_url: str, db_engine: sa.Engine, eqc: EqcServerHandle) -> None:
    names = [c.full_name for c in eqc.registry.companies[:5]] + ["不存在的某某公司"]
    insert_requests(db_engine, names)
    result = d.enrichment_queue_job.execute_in_process(
        run_config=run_config(batch_size=2, concurrency=2), resources=resources(db_url, eqc)
    )
    assert result.success
    summary = result.output_for_node("drain_enrichment_queue")
    assert (summary["resolved"], summary["not_found"]) == (5, 1)
    assert statuses(db_engine) == ["done"] * 6


def test_job_honours_max_requests(db_url: str, db_engine: sa.Engine, eqc: EqcServerHandle) -> None:
    insert_requests(db_engine, [c.full_name for c in eqc.registry.companies[10:14]])
    result = d.enrichment_queue_job.execute_in_process(
        run_config=run_config(max_requests=3), resources=resources(db_url, eqc)
    )
    assert result.output_for_node("drain_enrichment_queue")["claimed"] == 3
    assert statuses(db_engine).count("pending") == 1


@pytest.mark.parametrize("batch_size", [0, 501])
def test_job_rejects_batch_sizes_outside_1_to_500(batch_size: int) -> None:
    with pytest.raises(pydantic.ValidationError):
        d.enrichment_queue_job.execute_in_process(
            run_config=run_config(batch_size=batch_size),
            resources={"database": DatabaseResource(), "eqc": EqcResource()},
        )


def test_job_fails_on_a_rejected_token_and_releases_claims(
    db_url: str, db_engine: sa.Engine, eqc: EqcServerHandle
) -> None:
    insert_requests(db_engine, [c.full_name for c in eqc.registry.companies[20:23]])
    result = d.enrichment_queue_job.execute_in_process(
        resources=resources(db_url, eqc, token="wrong-token"), raise_on_error=False
    )
    assert not result.success
    assert statuses(db_engine) == ["pending"] * 3


def test_job_reads_eqc_settings_from_the_environment(
    db_url: str, db_engine: sa.Engine, eqc: EqcServerHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("WDH_EQC_BASE_URL", eqc.base_url)
    monkeypatch.setenv("WDH_EQC_TOKEN", eqc.token)
    monkeypatch.setenv("WDH_EQC_RATE_LIMIT", "1000")
    monkeypatch.setenv("WDH_EQC_RATE_WINDOW_S", "1")
    insert_requests(db_engine, [eqc.registry.companies[30].full_name])
    result = d.enrichment_queue_job.execute_in_process(
        resources={"database": DatabaseResource(), "eqc": EqcResource()}
    )
    assert result.success
    assert statuses(db_engine) == ["done"]


def test_job_without_eqc_settings_fails(db_url: str) -> None:
    result = d.enrichment_queue_job.execute_in_process(
        resources={"database": DatabaseResource(database_url=db_url), "eqc": EqcResource()},
        raise_on_error=False,
    )
    assert not result.success


def test_schedule_requests_an_hourly_run() -> None:
    moment = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)
    result = d.enrichment_queue_hourly(build_schedule_context(scheduled_execution_time=moment))
    assert isinstance(result, RunRequest)
    assert result.run_key == "enrichment-hourly-20260301T0900"


def test_schedule_is_skipped_when_async_enrichment_is_disabled(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("WDH_ASYNC_ENRICHMENT_ENABLED", "false")
    result = d.enrichment_queue_hourly(build_schedule_context())
    assert isinstance(result, SkipReason)


def sensor_result(db_url: str) -> RunRequest | SkipReason:
    context = build_sensor_context(resources={"database": DatabaseResource(database_url=db_url)})
    return d.enrichment_queue_backlog_sensor(context)  # type: ignore[no-any-return]


def test_sensor_skips_at_or_below_the_threshold(
    db_url: str, db_engine: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WDH_ENRICHMENT_QUEUE_THRESHOLD", "3")
    insert_requests(db_engine, [f"公司{i}" for i in range(3)])
    insert_requests(db_engine, ["later"], next_retry_at=dt.datetime(2999, 1, 1, tzinfo=dt.UTC))
    assert isinstance(sensor_result(db_url), SkipReason)


def test_sensor_requests_a_run_above_the_threshold(
    db_url: str, db_engine: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WDH_ENRICHMENT_QUEUE_THRESHOLD", "3")
    insert_requests(db_engine, [f"公司{i}" for i in range(4)])
    first, second = sensor_result(db_url), sensor_result(db_url)
    assert isinstance(first, RunRequest)
    assert first.run_key is not None
    assert first.run_key.startswith("enrichment-backlog-")
    assert isinstance(second, RunRequest)
    assert second.run_key == first.run_key  # same interval: Dagster de-duplicates


def test_sensor_is_skipped_when_async_enrichment_is_disabled(
    db_url: str, db_engine: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WDH_ASYNC_ENRICHMENT_ENABLED", "false")
    monkeypatch.setenv("WDH_ENRICHMENT_QUEUE_THRESHOLD", "1")
    insert_requests(db_engine, [f"公司{i}" for i in range(4)])
    assert isinstance(sensor_result(db_url), SkipReason)
