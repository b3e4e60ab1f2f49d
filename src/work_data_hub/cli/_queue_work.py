"""What ``queue work`` runs, imported when the command runs (it loads SQLAlchemy, the worker
and the EQC client): a drain at the rate limit's pace, or a details pass."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from work_data_hub.cli import _eqc
from work_data_hub.cli._console import info, print_json, print_table, work_progress
from work_data_hub.cli._context import open_engine
from work_data_hub.errors import EqcAuthError
from work_data_hub.infrastructure.enrichment.queue import admin as queue_admin
from work_data_hub.infrastructure.enrichment.queue import details as details_pass
from work_data_hub.infrastructure.enrichment.queue import known, pacing, worker
from work_data_hub.infrastructure.eqc.client import EqcClient
from work_data_hub.settings import Settings
from work_data_hub.utils import clock

__all__ = ["reopen_not_found", "run_work"]

_SHOWN = (
    "claimed",
    "resolved",
    "not_found",
    "cached",
    "known_not_found",
    "retried",
    "failed",
    "released",
    "stop_reason",
)


def run_work(
    settings: Settings,
    *,
    once: bool,
    concurrency: int,
    max_requests: int | None,
    max_seconds: float | None,
    batch_size: int,
    details: bool,
    as_json: bool,
) -> None:
    """Drain (or, with ``details``, fetch company details) and render the counts; an auth
    failure is an :class:`EqcAuthError` after the counts are shown."""
    with open_engine(settings) as engine:
        client = _eqc.make_client(settings, "queue work", engine=engine)
        run_pacing = _pacing(settings, max_seconds)
        with client:
            if details:
                _work_details(engine, client, run_pacing, max_requests, as_json=as_json)
                return
            if once or max_requests is not None or max_seconds is not None:
                ready = queue_admin.queue_status(engine, clock.utcnow()).ready_pending
                total = ready if max_requests is None else min(ready, max_requests)
                with work_progress("queue work", total) as update:
                    stats = worker.process_enrichment_queue(
                        engine,
                        client,
                        batch_size=batch_size,
                        max_requests=max_requests,
                        concurrency=concurrency,
                        pacing=run_pacing,
                        progress=lambda s: update(s.done + s.retried + s.failed),
                    )
            else:
                info("working the queue; Ctrl-C to stop")
                stats = worker.run_worker(
                    engine,
                    client,
                    batch_size=batch_size,
                    concurrency=concurrency,
                    pacing=run_pacing,
                    details_when_idle=client,
                )
        left = queue_admin.queue_status(engine, clock.utcnow()).ready_pending
    data: dict[str, Any] = {**stats.to_dict(), "ready_left": left}
    if as_json:
        print_json(data)
    else:
        print_table("queue work", list(_SHOWN), [[data[k] for k in _SHOWN]])
        if stats.stop_reason == "max_seconds":
            info(f"stopped after {max_seconds:g} s: {left} ready request(s) left in the queue")
    if stats.auth_failed:
        raise EqcAuthError(
            f"EQC rejected the token: the run stopped; {stats.released} claimed request(s) "
            "were given back untouched"
        )


def reopen_not_found(settings: Settings, engine: sa.Engine, now: dt.datetime) -> int:
    """Reopen the names EQC answered "not found" within the memory window."""
    with engine.begin() as conn:
        since = now - dt.timedelta(days=settings.eqc_not_found_days)
        return known.forget_not_found(conn, since=since, now=now)


def _work_details(
    engine: sa.Engine,
    client: EqcClient,
    run_pacing: pacing.WorkerPacing,
    max_companies: int | None,
    *,
    as_json: bool,
) -> None:
    stats = details_pass.fetch_details(
        engine, client, max_companies=max_companies, pacing=run_pacing
    )
    data = stats.to_dict()
    if as_json:
        print_json(data)
    else:
        shown = ["companies", "fetched", "gone", "former_names", "errors", "stop_reason"]
        print_table("company details", shown, [[data[k] for k in shown]])
    if stats.stop_reason == "auth_error":
        raise EqcAuthError("EQC rejected the token: the details pass stopped")


def _pacing(settings: Settings, max_seconds: float | None) -> pacing.WorkerPacing:
    """Claims sized to what the shared limit lets one worker start within a lease."""
    return pacing.WorkerPacing(
        max_seconds=max_seconds,
        max_starts_per_lease=pacing.starts_per_lease(
            settings.eqc_rate_limit, settings.eqc_rate_window_s, worker.DEFAULT_LEASE
        ),
        not_found_memory=dt.timedelta(days=settings.eqc_not_found_days),
    )
