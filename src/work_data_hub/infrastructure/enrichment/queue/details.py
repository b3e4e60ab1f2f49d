"""Company details with spare EQC capacity: ``findDepart`` and ``findLabels`` after the fact.

A worker settles a request with one search call. The details of the companies found that
way are fetched here, when nothing is ready in the queue (a long-running worker's idle
time) or on request (``queue work --details``), and stored:

* the detail fields, the labels and the raw JSON of both answers in
  ``eqc_company_details``;
* the official name, credit code and former names in ``company_master``;
* each former name as an ``eqc`` mapping at 0.9 × the confidence of the company's search
  hit (as the EQC provider caches them), so a later ``resolve`` of a former name hits the
  cache without a call. Existing mappings to another id are never overwritten.

Waiting for the rate limit is not failing (:mod:`pacing`). A company whose lookup failed
(5xx, timeout) is left for a later pass; an auth error ends the pass.
"""

from __future__ import annotations

import datetime as dt
import functools
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Protocol, TypeVar

import sqlalchemy as sa

from work_data_hub.errors import EqcAuthError, EqcError, EqcRateLimitWait
from work_data_hub.infrastructure.db import tables
from work_data_hub.infrastructure.enrichment import mapping_repository, normalizer
from work_data_hub.infrastructure.enrichment.details_repository import CompanyDetailsRepository
from work_data_hub.infrastructure.enrichment.queue.pacing import WorkerPacing
from work_data_hub.infrastructure.enrichment.resolve.eqc_provider import (
    FORMER_NAME_CONFIDENCE_FACTOR,
)
from work_data_hub.infrastructure.enrichment.types import MappingRecord
from work_data_hub.infrastructure.eqc import parsing
from work_data_hub.infrastructure.eqc.types import CompanyDetails
from work_data_hub.utils import clock
from work_data_hub.utils.logging import get_logger

__all__ = ["DetailsFetcher", "DetailsRunStats", "fetch_details"]

_BATCH = 50
_T = TypeVar("_T")


log = get_logger(__name__)


class DetailsFetcher(Protocol):
    """The two EQC calls a details pass makes (``EqcClient``)."""

    def detail(self, company_id: str, *, wait_s: float | None) -> dict[str, Any] | None: ...

    def labels(self, company_id: str, *, wait_s: float | None) -> list[Any] | None: ...


@dataclass(kw_only=True)
class DetailsRunStats:
    """Counts of one details pass."""

    companies: int = 0
    fetched: int = 0
    gone: int = 0
    former_names: int = 0
    errors: int = 0
    rate_waits: int = 0
    stop_reason: str = "done"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class _Stop(Exception):
    """The pass must end (stop signal, time bound, auth error)."""


def fetch_details(
    engine: sa.Engine,
    client: DetailsFetcher,
    *,
    max_companies: int | None = None,
    pacing: WorkerPacing | None = None,
    stop_event: threading.Event | None = None,
    now: Callable[[], dt.datetime] | None = None,
) -> DetailsRunStats:
    """Fetch and store the details of EQC companies that have none, up to ``max_companies``
    (``None``: all), at the rate limit's pace; returns the counts."""
    pace = pacing or WorkerPacing()
    stop = stop_event or threading.Event()
    now_fn = now or clock.utcnow
    ends_at = None if pace.max_seconds is None else pace.monotonic() + pace.max_seconds
    pause = pace.sleep or stop.wait
    stats = DetailsRunStats()
    tried: set[str] = set()

    def stopping() -> bool:
        return stop.is_set() or (ends_at is not None and pace.monotonic() >= ends_at)

    def call(fn: Callable[[float], _T]) -> _T:
        while True:
            if stopping():
                raise _Stop("stopped")
            asked = pace.monotonic()
            try:
                return fn(pace.rate_wait_s)
            except EqcRateLimitWait:
                stats.rate_waits += 1
                waited = pace.monotonic() - asked
                if waited < pace.rate_wait_s / 2:
                    pause(pace.rate_wait_s - waited)

    try:
        while max_companies is None or stats.companies < max_companies:
            with engine.connect() as conn:
                ids = CompanyDetailsRepository(conn).companies_without_details(len(tried) + _BATCH)
            ids = [company_id for company_id in ids if company_id not in tried]
            if not ids:
                break
            for company_id in ids:
                if max_companies is not None and stats.companies >= max_companies:
                    break
                tried.add(company_id)
                stats.companies += 1
                try:
                    detail = call(functools.partial(_detail, client, company_id))
                    labels = call(functools.partial(_labels, client, company_id))
                except EqcAuthError as exc:
                    log.warning("details.auth_failed", status_code=exc.status_code)
                    stats.stop_reason = "auth_error"
                    raise _Stop("auth") from None
                except EqcError as exc:
                    stats.errors += 1
                    log.debug("details.lookup_failed", status_code=exc.status_code)
                    continue
                _store(engine, company_id, (detail, labels), now_fn(), stats)
    except _Stop:
        if stats.stop_reason == "done":
            stats.stop_reason = "stopped"
    log.info("details.run_done", **stats.to_dict())
    return stats


def _detail(client: DetailsFetcher, company_id: str, wait_s: float) -> dict[str, Any] | None:
    return client.detail(company_id, wait_s=wait_s)


def _labels(client: DetailsFetcher, company_id: str, wait_s: float) -> list[Any] | None:
    return client.labels(company_id, wait_s=wait_s)


def _store(
    engine: sa.Engine,
    company_id: str,
    answers: tuple[dict[str, Any] | None, list[Any] | None],
    now: dt.datetime,
    stats: DetailsRunStats,
) -> None:
    """One transaction: the details row, the company, the former-name mappings."""
    detail, labels = answers
    details = parsing.company_details(company_id, detail)
    with engine.begin() as conn:
        repo = CompanyDetailsRepository(conn)
        repo.save(details, labels=labels, detail_json=detail, labels_json=labels, now=now)
        if detail is None:  # EQC no longer knows the id: remembered, nothing else to add
            stats.gone += 1
            return
        stats.fetched += 1
        stats.former_names += _store_company(conn, repo, details)


def _store_company(
    conn: sa.Connection, repo: CompanyDetailsRepository, details: CompanyDetails
) -> int:
    """Refresh ``company_master`` and add the former names as mappings; returns how many
    mappings were inserted."""
    mappings = mapping_repository.CompanyMappingRepository(conn)
    if details.official_name:
        mappings.upsert_company(
            company_id=details.company_id,
            official_name=details.official_name,
            unified_credit_code=details.unified_credit_code,
            aliases=details.former_names,
            source=tables.MappingSource.EQC.value,
        )
    if not details.former_names:
        return 0
    confidence = round(
        (repo.hit_confidence(details.company_id) or 1.0) * FORMER_NAME_CONFIDENCE_FACTOR, 4
    )
    aliases = dict.fromkeys(normalizer.normalize_for_temp_id(name) for name in details.former_names)
    records = [
        MappingRecord(
            alias_name=alias,
            canonical_id=details.company_id,
            match_type=tables.MatchType.EQC.value,
            source=tables.MappingSource.EQC.value,
            confidence=confidence,
        )
        for alias in aliases
        if alias
    ]
    with conn.begin_nested():
        return mappings.insert_batch_with_conflict_check(records).inserted
