"""Several resolvers enqueueing overlapping names at once, and resolvers beside workers.

Each resolver is a thread with its own connection and transaction, as separate pipeline
runs would be; they start together behind a barrier.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa

from work_data_hub.infrastructure.db import tables
from work_data_hub.infrastructure.enrichment import normalizer
from work_data_hub.infrastructure.enrichment.company_id_resolver import CompanyIdResolver
from work_data_hub.infrastructure.enrichment.mapping_repository import CompanyMappingRepository
from work_data_hub.infrastructure.enrichment.queue.worker import process_enrichment_queue
from work_data_hub.infrastructure.enrichment.types import CompanyInfo

from .conftest import request_rows

pytestmark = pytest.mark.chaos

SALT = "reliability-concurrency-salt"
NAMES = [f"并发企业{i:03d}有限公司" for i in range(60)]
R = tables.enrichment_requests


def _resolve(engine: sa.Engine, names: list[str]) -> Any:
    with engine.begin() as conn:
        resolver = CompanyIdResolver(mapping_repository=CompanyMappingRepository(conn), salt=SALT)
        return resolver.resolve_batch(pd.DataFrame({"客户名称": names})).statistics


def _run_threads(count: int, target: Any) -> list[Any]:
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count

    def run(index: int) -> None:
        barrier.wait()
        try:
            results[index] = target(index)
        except BaseException as exc:
            results[index] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


def _open_per_name(engine: sa.Engine) -> Counter[str]:
    return Counter(
        r.normalized_name for r in request_rows(engine) if r.status in tables.OPEN_REQUEST_STATUSES
    )


def test_concurrent_resolvers_leave_exactly_one_open_request_per_name(
    any_engine: sa.Engine,
) -> None:
    def resolver(index: int) -> Any:
        names = random.Random(index).sample(NAMES, 40) * 2  # overlapping, with repeats
        return _resolve(any_engine, names)

    results = _run_threads(6, resolver)
    assert not [r for r in results if isinstance(r, BaseException)]
    assert all(stats.tier_errors == {} for stats in results)
    opened = _open_per_name(any_engine)
    used = set().union(*(random.Random(i).sample(NAMES, 40) for i in range(6)))
    expected = {normalizer.normalize_for_temp_id(n) for n in used}
    assert set(opened) == expected
    assert set(opened.values()) == {1}
    assert sum(stats.async_queued for stats in results) == len(expected)  # each once


class _HalfFinder:
    """Finds names with an even number; the rest do not exist."""

    def search_company(self, name: str, *, wait_s: float | None = None) -> CompanyInfo | None:
        digits = int("".join(ch for ch in name if ch.isdigit()))
        if digits % 2:
            return None
        return CompanyInfo(company_id=f"R{digits:04d}", official_name=f"真实企业{digits:03d}")


@pytest.mark.slow
def test_resolvers_and_workers_running_together_lose_and_duplicate_nothing(
    any_engine: sa.Engine,
) -> None:
    stop = threading.Event()

    def role(index: int) -> Any:
        if index < 3:  # resolvers: several rounds over overlapping names
            return [
                _resolve(any_engine, random.Random(index * 10 + r).sample(NAMES, 30))
                for r in range(4)
            ]
        runs = []  # workers: drain until the resolvers are done
        while not stop.is_set():
            runs.append(process_enrichment_queue(any_engine, _HalfFinder(), batch_size=8))
            stop.wait(0.02)
        return runs

    def guarded(index: int) -> Any:
        try:
            return role(index)
        finally:
            if index < 3:
                finished.append(index)
                if len(finished) == 3:
                    stop.set()

    finished: list[int] = []
    results = _run_threads(5, guarded)
    assert not [r for r in results if isinstance(r, BaseException)]
    assert all(stats.tier_errors == {} for run in results[:3] for stats in run)
    process_enrichment_queue(any_engine, _HalfFinder(), batch_size=50)  # the last stragglers

    rows = request_rows(any_engine)
    assert {r.status for r in rows} == {"done"}  # nothing stuck, nothing failed
    ids_per_name: dict[str, set[str | None]] = {}
    for r in rows:
        ids_per_name.setdefault(r.normalized_name, set()).add(r.resolved_company_id)
    for normalized, ids in ids_per_name.items():
        digits = int("".join(ch for ch in normalized if ch.isdigit()))
        # A name queued again (a resolver read the cache just before a worker filled it)
        # is resolved again to the same answer: redundant, never contradictory.
        assert ids == ({f"R{digits:04d}"} if digits % 2 == 0 else {None})
