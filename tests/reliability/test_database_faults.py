"""PostgreSQL going away: unreachable at start, sessions killed mid-run, repeated "restarts".

Kills are aimed at the test's own throwaway database (``pg_terminate_backend`` from an
admin connection); the shared server itself is never restarted.
"""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from tests.helpers import insert_requests, status_counts
from work_data_hub.cli import _pipeline, _strategy
from work_data_hub.cli.app import app
from work_data_hub.errors import StorageError
from work_data_hub.infrastructure.db.engine import create_engine
from work_data_hub.infrastructure.enrichment import normalizer
from work_data_hub.infrastructure.enrichment.company_id_resolver import CompanyIdResolver
from work_data_hub.infrastructure.enrichment.mapping_repository import CompanyMappingRepository
from work_data_hub.infrastructure.enrichment.queue.worker import (
    LeaseConfig,
    process_enrichment_queue,
    run_worker,
)
from work_data_hub.infrastructure.enrichment.types import (
    CompanyInfo,
    EnqueueResult,
)
from work_data_hub.io import frames

from .conftest import (
    closed_port_pg_url,
    request_rows,
    terminate_backend_of,
    terminate_backends,
)

pytestmark = [pytest.mark.chaos, pytest.mark.postgresql]

SALT = "reliability-db-salt"
NAMES = [f"数据库故障测试{i:03d}有限公司" for i in range(12)]
T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def _csv(tmp_path: Path, names: list[str]) -> Path:
    path = tmp_path / "in.csv"
    pd.DataFrame({"客户名称": names, "计划代码": ["P1"] * len(names)}).to_csv(path, index=False)
    return path


class _Clock:
    def __init__(self, moment: dt.datetime) -> None:
        self.moment = moment

    def __call__(self) -> dt.datetime:
        return self.moment


class _Finder:
    """Finds every name (id derived from the name); ``before`` runs ahead of each answer."""

    def __init__(self) -> None:
        self.calls = 0
        self.before: Any = None
        self._lock = threading.Lock()

    def search_company(self, name: str, *, wait_s: float | None = None) -> CompanyInfo | None:
        with self._lock:
            self.calls += 1
            call = self.calls
        if self.before is not None:
            self.before(call)
        digits = "".join(ch for ch in name if ch.isdigit()) or "0"
        return CompanyInfo(company_id=f"C{digits}", official_name=f"公司{digits}")


# -- unreachable at the start of a resolve ------------------------------------------------------


def test_resolve_file_without_a_database_gives_temp_ids_and_says_nothing_was_queued(
    tmp_path: Path,
) -> None:
    source = frames.open_source(_csv(tmp_path, [*NAMES, NAMES[0]]))
    strategy = _strategy.build_strategy(source.columns, {}, source_name="in.csv")
    engine = create_engine(closed_port_pg_url())
    try:
        done = _pipeline.resolve_file(engine, source, tmp_path / "out.csv", strategy, salt=SALT)
    finally:
        engine.dispose()
    stats = done.report.statistics
    out = frames.read_frame(done.output_path)
    assert out["company_id"].tolist() == [
        normalizer.generate_temp_company_id(n, SALT) for n in [*NAMES, NAMES[0]]
    ]
    assert stats["temp_ids_generated"] == len(NAMES) + 1
    assert stats["async_queued"] == 0
    assert stats["async_queue_errors"] >= 1
    assert stats["tier_errors"].get("database", 0) >= 1
    assert any("database" in warning for warning in done.report.warnings)


def test_cli_resolve_without_a_database_exits_0_with_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", closed_port_pg_url())
    monkeypatch.setenv("WDH_ALIAS_SALT", SALT)
    monkeypatch.setenv("WDH_MAPPINGS_DIR", str(tmp_path / "mappings"))
    monkeypatch.setenv("WDH_LOG_LEVEL", "WARNING")
    path = _csv(tmp_path, NAMES)
    result: Any = CliRunner().invoke(app, ["resolve", str(path), "--json"])
    assert result.exit_code == 0, result.stderr
    assert "warning:" in result.stderr
    assert "never-used" not in result.stderr + result.stdout  # the URL's password
    out = frames.read_frame(tmp_path / "in.resolved.csv")
    assert out["company_id"].notna().all()
    assert len(out) == len(NAMES)


# -- a session killed in the middle of a resolve -------------------------------------------------


class _KillBeforeEnqueue(CompanyMappingRepository):
    """The real repository; its session is killed just before the enqueue statement."""

    def __init__(self, connection: sa.Connection, url: str) -> None:
        super().__init__(connection)
        self._connection = connection
        self._url = url

    def enqueue_for_enrichment(self, requests: list[dict[str, str]]) -> EnqueueResult:
        terminate_backend_of(self._connection, self._url)
        return super().enqueue_for_enrichment(requests)


def test_session_killed_mid_resolve_commits_nothing_and_a_rerun_queues_every_name(
    pg_url: str, pg_engine: sa.Engine
) -> None:
    df = pd.DataFrame({"客户名称": NAMES})
    conn = pg_engine.connect()
    transaction = conn.begin()
    result = CompanyIdResolver(
        mapping_repository=_KillBeforeEnqueue(conn, pg_url), salt=SALT
    ).resolve_batch(df)
    with pytest.raises(sa.exc.SQLAlchemyError):
        transaction.commit()  # the caller learns that nothing was committed
    conn.invalidate()
    assert result.data["company_id"].notna().all()  # every row still got its temp id
    assert result.statistics.tier_errors == {"async_queue": 1}
    assert result.statistics.async_queue_errors == 1
    assert request_rows(pg_engine) == []  # the caller's commit failed: nothing half-written

    with pg_engine.begin() as conn:  # the pool replaces the dead session
        rerun = CompanyIdResolver(
            mapping_repository=CompanyMappingRepository(conn), salt=SALT
        ).resolve_batch(df)
    assert rerun.statistics.async_queued == len(NAMES)
    assert sorted(r.raw_name for r in request_rows(pg_engine)) == sorted(NAMES)


# -- a session killed during a worker batch -------------------------------------------------------


def test_session_killed_inside_an_outcome_transaction_loses_no_request(
    pg_url: str, pg_engine: sa.Engine
) -> None:
    insert_requests(pg_engine, NAMES)
    clock = _Clock(T0)
    kills = {"left": 1}

    def killing_cache(conn: sa.Connection, _normalized: str, _info: CompanyInfo) -> None:
        if kills["left"]:
            kills["left"] -= 1
            terminate_backend_of(conn, pg_url)
            conn.exec_driver_sql("SELECT 1")  # the write after the kill fails

    lease = LeaseConfig(duration=dt.timedelta(minutes=5))
    error = _error_of(
        lambda: process_enrichment_queue(
            pg_engine, _Finder(), batch_size=5, lease=lease, cache=killing_cache, now=clock
        )
    )
    assert error is None or isinstance(error, sa.exc.DBAPIError | StorageError)

    clock.moment = T0 + dt.timedelta(minutes=6)  # past the lease of anything left behind
    stats = process_enrichment_queue(pg_engine, _Finder(), batch_size=5, lease=lease, now=clock)
    rows = request_rows(pg_engine)
    assert len(rows) == len(NAMES)
    assert {r.status for r in rows} == {"done"}
    assert all(r.resolved_company_id for r in rows)
    assert stats.stop_reason == "drained"


def test_all_sessions_killed_while_four_lookups_run_loses_no_request(
    pg_url: str, pg_engine: sa.Engine
) -> None:
    names = [f"并发断线{i:03d}公司" for i in range(40)]
    insert_requests(pg_engine, names)
    clock = _Clock(T0)
    finder = _Finder()
    finder.before = lambda call: terminate_backends(pg_url) if call in (7, 19) else None
    lease = LeaseConfig(duration=dt.timedelta(minutes=5))
    error = _error_of(
        lambda: process_enrichment_queue(
            pg_engine, finder, batch_size=8, concurrency=4, lease=lease, now=clock
        )
    )
    assert error is None or isinstance(error, sa.exc.DBAPIError | StorageError)
    clock.moment = T0 + dt.timedelta(minutes=6)
    process_enrichment_queue(pg_engine, _Finder(), batch_size=8, lease=lease, now=clock)
    assert status_counts(pg_engine) == {"done": len(names)}


# -- "restarts": every session of the database killed, again and again ---------------------------


@pytest.mark.slow
def test_workers_reconnect_after_repeated_restarts_and_finish(
    pg_url: str, pg_engine: sa.Engine
) -> None:
    names = [f"重启测试{i:03d}有限公司" for i in range(120)]
    insert_requests(pg_engine, names)
    stop = threading.Event()
    slow = threading.Event()

    finder = _Finder()
    finder.before = lambda _call: slow.wait(0.01)  # lookups take time, like real ones

    results: list[Any] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            results.append(
                run_worker(
                    pg_engine,
                    finder,
                    batch_size=5,
                    stop_event=stop,
                    idle_sleep_s=0.05,
                    lease=LeaseConfig(duration=dt.timedelta(seconds=2)),
                )
            )
        except BaseException as exc:
            errors.append(exc)

    workers = [threading.Thread(target=work) for _ in range(4)]
    for thread in workers:
        thread.start()
    restarts = 0
    try:
        for _ in range(8):  # a "restart" every 150 ms while the workers run
            if stop.wait(0.15):
                break
            terminate_backends(pg_url)
            restarts += 1
        deadline = threading.Event()
        for _ in range(300):
            counts = status_counts(pg_engine)
            if counts.get("done", 0) == len(names) or errors:
                break
            deadline.wait(0.1)
    finally:
        stop.set()
        for thread in workers:
            thread.join(timeout=30)
    assert errors == []
    assert restarts == 8
    assert status_counts(pg_engine) == {"done": len(names)}
    assert sum(r.database_errors for r in results) >= 1  # the faults really hit the workers


def _error_of(call: Any) -> Exception | None:
    """Run ``call``; the exception it stopped with, or ``None``."""
    try:
        call()
    except Exception as exc:
        return exc
    return None
