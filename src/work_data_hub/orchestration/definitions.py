"""The job that drains the enrichment queue, its hourly schedule and its backlog sensor.

No ``from __future__ import annotations`` here: Dagster reads the op's and sensor's
annotations at definition time to find config and resources.
"""

import datetime as dt
from typing import Any

from dagster import (
    Config,
    Definitions,
    Failure,
    OpExecutionContext,
    RunRequest,
    ScheduleEvaluationContext,
    SensorEvaluationContext,
    SkipReason,
    job,
    op,
    schedule,
    sensor,
)
from pydantic import Field

from work_data_hub.infrastructure.enrichment.queue import pacing, worker
from work_data_hub.infrastructure.enrichment.queue import repository as queue_repository
from work_data_hub.infrastructure.eqc.rate_limit import DatabaseRateLimiter
from work_data_hub.orchestration.resources import DatabaseResource, EqcResource, load_settings
from work_data_hub.utils import clock

__all__ = [
    "SCHEDULE_CRON",
    "SCHEDULE_TIMEZONE",
    "SENSOR_INTERVAL_S",
    "DrainQueueConfig",
    "defs",
    "drain_enrichment_queue",
    "enrichment_queue_backlog_sensor",
    "enrichment_queue_hourly",
    "enrichment_queue_job",
]

SCHEDULE_CRON = "0 * * * *"
SCHEDULE_TIMEZONE = "Asia/Shanghai"
SENSOR_INTERVAL_S = 300
MAX_BATCH_SIZE = 500


class DrainQueueConfig(Config):
    """Run config of the drain op."""

    batch_size: int = Field(default=worker.DEFAULT_BATCH_SIZE, ge=1, le=MAX_BATCH_SIZE)
    max_requests: int | None = Field(default=None, ge=1)
    concurrency: int = Field(default=1, ge=1, le=64)


@op
def drain_enrichment_queue(
    context: OpExecutionContext,
    config: DrainQueueConfig,
    database: DatabaseResource,
    eqc: EqcResource,
) -> dict[str, Any]:
    """Process ready requests until the queue is drained or ``max_requests`` is reached."""
    engine = database.create_engine()
    try:
        with eqc.create_client(engine) as client:
            limiter = client.rate_limiter
            starts = (
                pacing.starts_per_lease(
                    limiter.max_requests, limiter.window_s, worker.DEFAULT_LEASE
                )
                if isinstance(limiter, DatabaseRateLimiter)
                else None
            )
            stats = worker.process_enrichment_queue(
                engine,
                client,
                batch_size=config.batch_size,
                max_requests=config.max_requests,
                concurrency=config.concurrency,
                pacing=pacing.WorkerPacing(max_starts_per_lease=starts),
            )
    finally:
        engine.dispose()
    summary = stats.to_dict()
    context.add_output_metadata({k: v for k, v in summary.items() if k != "worker_id"})
    if stats.auth_failed:
        raise Failure(description="EQC rejected the token; unprocessed requests were released")
    return summary


@job
def enrichment_queue_job() -> None:
    """Drain the enrichment queue once."""
    drain_enrichment_queue()


@schedule(
    job=enrichment_queue_job, cron_schedule=SCHEDULE_CRON, execution_timezone=SCHEDULE_TIMEZONE
)
def enrichment_queue_hourly(context: ScheduleEvaluationContext) -> RunRequest | SkipReason:
    """Every hour (Asia/Shanghai), unless ``WDH_ASYNC_ENRICHMENT_ENABLED=false``."""
    if not load_settings().async_enrichment_enabled:
        return SkipReason("async enrichment is disabled (WDH_ASYNC_ENRICHMENT_ENABLED=false)")
    moment = context.scheduled_execution_time or clock.utcnow()
    return RunRequest(run_key=f"enrichment-hourly-{moment:%Y%m%dT%H%M}")


@sensor(job=enrichment_queue_job, minimum_interval_seconds=SENSOR_INTERVAL_S)
def enrichment_queue_backlog_sensor(
    context: SensorEvaluationContext, database: DatabaseResource
) -> RunRequest | SkipReason:
    """Request a run when more than ``WDH_ENRICHMENT_QUEUE_THRESHOLD`` requests are ready.

    The count stops at threshold + 1 (cheap on a large queue); the run key is the sensor
    interval's time bucket, so one backlog triggers at most one run per interval.
    """
    settings = load_settings()
    if not settings.async_enrichment_enabled:
        return SkipReason("async enrichment is disabled (WDH_ASYNC_ENRICHMENT_ENABLED=false)")
    threshold = settings.enrichment_queue_threshold
    now = clock.utcnow()
    engine = database.create_engine()
    try:
        with engine.connect() as conn:
            ready = queue_repository.QueueRepository(conn).ready_pending_count(
                now, cap=threshold + 1
            )
    finally:
        engine.dispose()
    if ready <= threshold:
        return SkipReason(f"{ready} ready requests, threshold {threshold}")
    bucket = int(now.timestamp()) // SENSOR_INTERVAL_S * SENSOR_INTERVAL_S
    started = dt.datetime.fromtimestamp(bucket, dt.UTC)
    return RunRequest(run_key=f"enrichment-backlog-{started:%Y%m%dT%H%M}")


defs = Definitions(
    jobs=[enrichment_queue_job],
    schedules=[enrichment_queue_hourly],
    sensors=[enrichment_queue_backlog_sensor],
    resources={"database": DatabaseResource(), "eqc": EqcResource()},
)
