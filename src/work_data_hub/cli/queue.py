"""``wdh-enrich queue``: look at, work, reopen and purge the enrichment queue.

The queue services (SQLAlchemy, the worker, the EQC client) are imported by the command
that uses them, so that ``queue status`` does not load the worker and ``--help`` loads none.
"""

from __future__ import annotations

import datetime as dt
import re

import typer

from work_data_hub.cli._console import print_json, print_table
from work_data_hub.cli._context import load_settings, open_engine
from work_data_hub.cli._defaults import DEFAULT_BATCH_SIZE
from work_data_hub.utils import clock

__all__ = ["app", "parse_age"]

app = typer.Typer(help="The enrichment queue of unknown company names.", no_args_is_help=True)

_AGE = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_age(text: str) -> dt.timedelta:
    """``30d``, ``12h``, ``90m``, ``2w``, ``45s`` → a timedelta; ValueError otherwise."""
    match = _AGE.match(text)
    if match is None:
        raise ValueError(f"{text!r}: expected a number and a unit (s, m, h, d, w), e.g. 30d")
    return dt.timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    return str(dt.timedelta(seconds=round(seconds)))


@app.command()
def status(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Counts per status, ready pending requests, oldest pending age and the next retry."""
    from work_data_hub.infrastructure.db import tables
    from work_data_hub.infrastructure.enrichment.queue import admin as queue_admin

    settings = load_settings()
    with open_engine(settings) as engine:
        snapshot = queue_admin.queue_status(engine, clock.utcnow())
    if as_json:
        print_json(snapshot.to_dict())
        return
    counts = {s.value: snapshot.counts.get(s.value, 0) for s in tables.RequestStatus}
    print_table(
        "enrichment queue",
        [*counts, "ready", "oldest pending", "next retry"],
        [
            [
                *counts.values(),
                snapshot.ready_pending,
                _age(snapshot.oldest_pending_age_s),
                snapshot.next_retry_at.isoformat(timespec="seconds")
                if snapshot.next_retry_at
                else "-",
            ]
        ],
    )


@app.command()
def work(
    *,
    once: bool = typer.Option(
        False, "--once", help="Drain what is ready now and exit (default: keep working)."
    ),
    concurrency: int = typer.Option(1, "--concurrency", min=1, max=64, help="Parallel lookups."),
    max_requests: int | None = typer.Option(
        None, "--max-requests", min=1, help="Stop after this many claimed requests."
    ),
    max_seconds: float | None = typer.Option(
        None,
        "--max-seconds",
        min=0,
        help="Stop after this long; requests not started are given back untouched.",
    ),
    batch_size: int = typer.Option(
        DEFAULT_BATCH_SIZE, "--batch-size", min=1, max=500, help="Requests per claim."
    ),
    details: bool = typer.Option(
        False,
        "--details",
        help="Fetch company details (findDepart, findLabels) of found companies and exit.",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the run's counts as JSON."),
) -> None:
    """Look queued names up in EQC at the rate limit's pace; Ctrl-C finishes in-flight
    lookups and exits cleanly. Waiting for the limit never spends an attempt."""
    from work_data_hub.cli._queue_work import run_work

    run_work(
        load_settings(),
        once=once,
        concurrency=concurrency,
        max_requests=max_requests,
        max_seconds=max_seconds,
        batch_size=batch_size,
        details=details,
        as_json=as_json,
    )


@app.command("retry-failed")
def retry_failed(
    include_not_found: bool = typer.Option(
        False,
        "--include-not-found",
        help="Also search again the names EQC answered 'not found' within the memory window.",
    ),
) -> None:
    """Reopen failed requests with fresh attempts."""
    from work_data_hub.infrastructure.enrichment.queue import admin as queue_admin

    settings = load_settings()
    now = clock.utcnow()
    again = 0
    with open_engine(settings) as engine:
        count = queue_admin.retry_failed_requests(engine, now)
        if include_not_found:
            from work_data_hub.cli._queue_work import reopen_not_found

            again = reopen_not_found(settings, engine, now)
    typer.echo(f"reopened {count} failed request(s)")
    if include_not_found:
        typer.echo(f"reopened {again} request(s) EQC had answered 'not found'")


@app.command()
def purge(
    older_than: str = typer.Option(
        ..., "--older-than", help="Age of finished requests to delete, e.g. 30d, 12h."
    ),
) -> None:
    """Delete finished (done, failed) requests last updated before the given age that a newer
    request of the same temporary id supersedes; the newest one stays, for remap."""
    try:
        age = parse_age(older_than)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--older-than") from None
    from work_data_hub.infrastructure.enrichment.queue import admin as queue_admin

    settings = load_settings()
    with open_engine(settings) as engine:
        count = queue_admin.purge_requests(engine, clock.utcnow() - age)
    typer.echo(f"purged {count} finished request(s) older than {older_than.strip()}")
