"""CompanyIdResolver against the real mapping repository, on PostgreSQL and SQLite."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import pandas as pd
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from structlog.testing import capture_logs

from tests.helpers import tier_total
from work_data_hub.infrastructure.db import tables
from work_data_hub.infrastructure.enrichment.company_id_resolver import CompanyIdResolver
from work_data_hub.infrastructure.enrichment.mapping_repository import CompanyMappingRepository
from work_data_hub.infrastructure.enrichment.normalizer import generate_temp_company_id
from work_data_hub.infrastructure.enrichment.types import (
    CompanyInfo,
    InsertBatchResult,
    MappingRecord,
    ResolutionStatistics,
    ResolutionStrategy,
)

SALT = "integration-salt"
FULL_ROW = {
    "计划代码": ["P1"],
    "年金账户号": ["A1"],
    "客户名称": ["甲公司"],
    "年金账户名": ["甲账户"],
}
CACHE_KEYS = {
    "manual": "甲公司",
    "plan": "P1",
    "account": "A1",
    "hardcode": "P1|甲公司",
    "name": "甲公司",
    "account_name": "甲账户",
    "eqc": "甲公司",
}


class RegistryProvider:
    """An in-process EQC provider: registry dict, budget, counts its lookups."""

    def __init__(self, registry: dict[str, str], budget: int) -> None:
        self.registry = registry
        self.budget = budget
        self.calls: list[str] = []

    @property
    def remaining_budget(self) -> int:
        return self.budget - len(self.calls)

    @property
    def is_available(self) -> bool:
        return self.remaining_budget > 0

    rate_limited = False
    unreachable = False

    def lookup(self, name: str, *, wait_s: float | None = None) -> CompanyInfo | None:
        self.calls.append(name)
        found = self.registry.get(name)
        return None if found is None else CompanyInfo(company_id=found, official_name=name)


def temp(name: str) -> str:
    return generate_temp_company_id(name, SALT)


def seed(
    conn: sa.Connection, mappings: dict[tuple[str, str], str], source: str = "internal"
) -> None:
    records = [
        MappingRecord(alias_name=alias, canonical_id=cid, match_type=kind, source=source)
        for (alias, kind), cid in mappings.items()
    ]
    result = CompanyMappingRepository(conn).insert_batch_with_conflict_check(records)
    assert result.inserted == len(records)


def resolve(
    conn: sa.Connection,
    df: pd.DataFrame,
    strategy: ResolutionStrategy | None = None,
    **kwargs: object,
) -> tuple[list[object], ResolutionStatistics]:
    resolver = CompanyIdResolver(
        mapping_repository=CompanyMappingRepository(conn),
        salt=SALT,
        **kwargs,  # type: ignore[arg-type]
    )
    result = resolver.resolve_batch(df, strategy)
    return [None if pd.isna(v) else v for v in result.data["company_id"]], result.statistics


def open_requests(conn: sa.Connection) -> list[str]:
    requests = tables.enrichment_requests
    return list(
        conn.execute(
            sa.select(requests.c.normalized_name)
            .where(requests.c.status.in_(tables.OPEN_REQUEST_STATUSES))
            .order_by(requests.c.normalized_name)
        ).scalars()
    )


# -- one test per tier and per priority level ------------------------------------------------


@pytest.mark.parametrize("level", ["plan", "account", "hardcode", "name", "account_name"])
def test_yaml_level_resolves_without_touching_the_cache_for_it(
    db_conn: sa.Connection, level: str
) -> None:
    key = CACHE_KEYS[level]
    ids, stats = resolve(db_conn, pd.DataFrame(FULL_ROW), yaml_overrides={level: {key: "Y1"}})
    assert ids == ["Y1"]
    assert stats.yaml_hits[level] == 1
    assert open_requests(db_conn) == []


@pytest.mark.parametrize("match_type", list(CACHE_KEYS))
def test_db_cache_match_type_resolves(db_conn: sa.Connection, match_type: str) -> None:
    seed(db_conn, {(CACHE_KEYS[match_type], match_type): "C1"})
    ids, stats = resolve(db_conn, pd.DataFrame(FULL_ROW))
    assert ids == ["C1"]
    assert stats.db_cache_hits == 1


@pytest.mark.parametrize("winner", list(CACHE_KEYS))
def test_db_cache_highest_priority_wins(db_conn: sa.Connection, winner: str) -> None:
    order = sorted(CACHE_KEYS, key=lambda kind: tables.MatchType(kind).priority)
    seed(db_conn, {(CACHE_KEYS[k], k): f"id-{k}" for k in order[order.index(winner) :]})
    ids, _ = resolve(db_conn, pd.DataFrame(FULL_ROW))
    assert ids == [f"id-{winner}"]


def test_db_cache_ignores_placeholder_ids(db_conn: sa.Connection) -> None:
    seed(db_conn, {("甲公司", "manual"): "NULL", ("甲公司", "name"): "C4"})
    ids, _ = resolve(db_conn, pd.DataFrame(FULL_ROW))
    assert ids == ["C4"]


def test_existing_column_resolves_and_backflows(db_conn: sa.Connection) -> None:
    df = pd.DataFrame({**FULL_ROW, "公司代码": ["614810477"]})
    ids, stats = resolve(db_conn, df)
    assert ids == ["614810477"]
    assert stats.existing_column_hits == 1
    assert stats.backflow_stats == {"inserted": 4, "skipped": 0, "conflicts": 0, "withheld": 0}
    mapping = tables.company_mapping
    rows = db_conn.execute(
        sa.select(mapping.c.alias_name, mapping.c.match_type, mapping.c.source)
    ).all()
    assert {(r.alias_name, r.match_type) for r in rows} == {
        ("P1", "plan"),
        ("A1", "account"),
        ("甲公司", "name"),
        ("甲账户", "account_name"),
    }
    assert {r.source for r in rows} == {"pipeline_backflow"}


def test_eqc_tier_with_in_process_provider(db_conn: sa.Connection) -> None:
    provider = RegistryProvider({"乙公司": "E2"}, budget=10)
    df = pd.DataFrame({"客户名称": ["甲公司", "乙公司", "乙公司"]})
    ids, stats = resolve(
        db_conn, df, ResolutionStrategy(sync_lookup_budget=5), eqc_provider=provider
    )
    assert ids == [temp("甲公司"), "E2", "E2"]
    assert provider.calls == ["乙公司", "甲公司"]
    assert (stats.eqc_sync_hits, stats.budget_consumed, stats.budget_remaining) == (2, 2, 3)


def test_temp_ids_and_enqueue(db_conn: sa.Connection) -> None:
    df = pd.DataFrame({"客户名称": ["丙公司-已转出", "丙公司", "丙公司", "", None]})
    ids, stats = resolve(db_conn, df)
    assert ids == [temp("丙公司")] * 3 + [None, None]
    assert (stats.temp_ids_generated, stats.unresolved, stats.async_queued) == (3, 2, 1)
    requests = tables.enrichment_requests
    row = db_conn.execute(sa.select(requests)).one()
    assert (row.raw_name, row.normalized_name, row.temp_id, row.status) == (
        "丙公司",
        "丙公司",
        temp("丙公司"),
        "pending",
    )


# -- precedence, invariant, idempotence, learning ----------------------------------------------


def test_tier_precedence_on_the_database(db_conn: sa.Connection) -> None:
    seed(db_conn, {("甲", "name"): "DB", ("乙", "name"): "DB"})
    provider = RegistryProvider(dict.fromkeys(["甲", "乙", "丙", "丁"], "EQC"), budget=10)
    df = pd.DataFrame(
        {"客户名称": ["甲", "乙", "丙", "丁", "戊"], "公司代码": ["X", "X", "X", None, None]}
    )
    ids, stats = resolve(
        db_conn,
        df,
        ResolutionStrategy(sync_lookup_budget=10),
        yaml_overrides={"name": {"甲": "YAML"}},
        eqc_provider=provider,
    )
    assert ids == ["YAML", "DB", "X", "EQC", temp("戊")]
    assert tier_total(stats) == 5


NAMES = st.sampled_from(["甲", "乙", "丙-已转出", "丙", "丁", "", None, "N/A", 7])
CODES = st.sampled_from(["P1", "P2", 3.0, None, ""])
IDS = st.sampled_from(["61", "62", "N/A", None, "IN44BFWSKCTQ2YFXL5"])


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(rows=st.lists(st.tuples(NAMES, CODES, IDS), min_size=1, max_size=20))
def test_every_row_lands_in_one_bucket_on_the_database(
    db_conn: sa.Connection, rows: list[tuple[object, object, object]]
) -> None:
    names, plans, existing = (list(c) for c in zip(*rows, strict=True))
    df = pd.DataFrame({"客户名称": names, "计划代码": plans, "公司代码": existing}, dtype=object)
    provider = RegistryProvider({"丁": "E4"}, budget=1)
    _, stats = resolve(
        db_conn,
        df,
        ResolutionStrategy(sync_lookup_budget=1),
        yaml_overrides={"name": {"甲": "Y", "乙": "__EMPTY__"}},
        eqc_provider=provider,
    )
    assert stats.tier_errors == {}
    assert tier_total(stats) == len(rows)


def test_second_run_same_ids_and_nothing_new_enqueued(db_conn: sa.Connection) -> None:
    df = pd.DataFrame({"客户名称": ["甲", "乙", "丙", "甲"], "公司代码": [None, "62", None, None]})
    first, stats1 = resolve(db_conn, df)
    second, stats2 = resolve(db_conn, df)
    assert first == second
    assert stats1.async_queued == 2
    assert (stats2.async_queued, stats2.async_queue_skipped) == (0, 2)
    assert open_requests(db_conn) == ["丙", "甲"]


def test_backflow_then_fresh_resolver_hits_the_cache(db_conn: sa.Connection) -> None:
    learn = pd.DataFrame({"客户名称": ["甲公司", "乙公司"], "公司代码": ["61", "62"]})
    _, stats = resolve(db_conn, learn)
    assert stats.backflow_stats["inserted"] == 2
    later = pd.DataFrame({"客户名称": ["甲公司-已转出", "乙公司", "丙公司"]})
    ids, stats = resolve(db_conn, later)
    assert ids == ["61", "62", temp("丙公司")]
    assert stats.db_cache_hits == 2


def test_async_queued_counts_only_newly_inserted(db_conn: sa.Connection) -> None:
    CompanyMappingRepository(db_conn).enqueue_for_enrichment(
        [{"raw_name": "甲", "normalized_name": "甲", "temp_id": temp("甲")}]
    )
    _, stats = resolve(db_conn, pd.DataFrame({"客户名称": ["甲", "乙", "乙"]}))
    assert (stats.async_queued, stats.async_queue_skipped) == (1, 1)
    assert open_requests(db_conn) == ["乙", "甲"]


def test_numeric_nan_and_mixed_cells_on_the_database(db_conn: sa.Connection) -> None:
    seed(db_conn, {("12345", "plan"): "P", ("99", "account"): "A"})
    df = pd.DataFrame(
        {
            "计划代码": [12345.0, None, float("nan"), "x"],
            "年金账户号": [None, 99, 99.0, float("nan")],
            "客户名称": [1, float("nan"), "甲", None],
            "年金账户名": [None, 2.5, None, "乙"],
            "公司代码": [None, float("nan"), 1.0, None],
        },
        dtype=object,
    )
    ids, stats = resolve(db_conn, df)
    assert ids == ["P", "A", "A", None]  # no customer name: no temp id
    assert tier_total(stats) == 4


def test_resolve_run_logs_no_names_or_ids(db_conn: sa.Connection) -> None:
    df = pd.DataFrame({"客户名称": ["秘密公司", "另一家公司"], "公司代码": [None, "CID614810477"]})
    with capture_logs() as events:
        resolve(db_conn, df)
    text = repr(events)
    for value in ["秘密公司", "另一家公司", temp("秘密公司"), "CID614810477"]:
        assert value not in text


# -- graceful degradation with the database really gone -----------------------------------------


def _stop(conn: sa.Connection, admin_url: str | None) -> None:
    """Kill the connection from outside: terminate its backend / close the SQLite handle."""
    if conn.dialect.name == "postgresql":
        pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
        admin = sa.create_engine(admin_url or "", isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as other:
                other.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        finally:
            admin.dispose()
    else:
        conn.connection.dbapi_connection.close()  # type: ignore[union-attr]


class StoppingRepository(CompanyMappingRepository):
    """The real repository; the database goes away once the DB-cache tier is over, just
    before the backflow writes."""

    def __init__(self, connection: sa.Connection, admin_url: str) -> None:
        super().__init__(connection)
        self._connection = connection
        self._admin_url = admin_url

    def insert_batch_with_conflict_check(
        self, mappings: Sequence[MappingRecord]
    ) -> InsertBatchResult:
        _stop(self._connection, self._admin_url)
        return super().insert_batch_with_conflict_check(mappings)


@pytest.fixture
def live_conn(db_engine: sa.Engine) -> Iterator[sa.Connection]:
    conn = db_engine.connect()
    try:
        yield conn
    finally:
        try:
            conn.close()
        except sa.exc.DBAPIError:
            conn.invalidate()


def _admin_url(engine: sa.Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def test_database_stopped_before_resolving_degrades_to_local_tiers(
    live_conn: sa.Connection, db_engine: sa.Engine
) -> None:
    live_conn.begin()
    _stop(live_conn, _admin_url(db_engine))
    df = pd.DataFrame({"客户名称": ["甲", "乙", "丙"], "公司代码": [None, "62", None]})
    ids, stats = resolve(live_conn, df, yaml_overrides={"name": {"丙": "Y3"}})
    assert ids == [temp("甲"), "62", "Y3"]
    assert stats.tier_errors == {"db_cache": 1, "backflow": 1, "async_queue": 1}
    assert stats.async_queue_errors == 1
    assert tier_total(stats) == 3


def test_database_stopped_between_tiers_keeps_cache_hits(
    live_conn: sa.Connection, db_engine: sa.Engine
) -> None:
    with db_engine.begin() as setup:
        seed(setup, {("甲", "name"): "C1"})
    live_conn.begin()
    repository = StoppingRepository(live_conn, _admin_url(db_engine))
    df = pd.DataFrame({"客户名称": ["甲", "乙", "丙"], "公司代码": [None, "62", None]})
    result = CompanyIdResolver(mapping_repository=repository, salt=SALT).resolve_batch(df)
    stats = result.statistics
    assert result.data["company_id"].tolist() == ["C1", "62", temp("丙")]
    assert stats.db_cache_hits == 1
    assert stats.tier_errors == {"backflow": 1, "async_queue": 1}
    assert tier_total(stats) == 3


@pytest.mark.postgresql
@pytest.mark.parametrize("dialect", ["postgresql"], indirect=True)
def test_failed_backflow_does_not_poison_the_callers_transaction(db_engine: sa.Engine) -> None:
    # A trigger makes PostgreSQL itself refuse every new mapping.
    with db_engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE FUNCTION enterprise.refuse() RETURNS trigger LANGUAGE plpgsql AS"
            " $$ BEGIN RAISE EXCEPTION 'mappings are read-only'; END $$"
        )
        conn.exec_driver_sql(
            "CREATE TRIGGER refuse BEFORE INSERT ON enterprise.company_mapping"
            " FOR EACH ROW EXECUTE FUNCTION enterprise.refuse()"
        )
    df = pd.DataFrame({"客户名称": ["甲", "乙"], "公司代码": ["C1", None]})
    with db_engine.begin() as conn:
        ids, stats = resolve(conn, df)
        assert stats.tier_errors == {"backflow": 1}
        assert stats.async_queued == 1  # the enqueue after the failure still ran
        conn.execute(sa.text("SELECT 1"))
    assert ids == ["C1", temp("乙")]
    with db_engine.connect() as conn:
        assert open_requests(conn) == ["乙"]


def test_an_existing_id_longer_than_the_column_is_refused_and_counted(
    db_conn: sa.Connection,
) -> None:
    long_id = "X" * 80  # canonical_id holds 64 characters
    df = pd.DataFrame({"客户名称": ["甲", "乙"], "公司代码": [long_id, "C2"]})

    ids, stats = resolve(db_conn, df)

    assert ids == [temp("甲"), "C2"]
    assert stats.tier_errors == {}
    assert stats.invalid_existing_ids == 1
    assert stats.backflow_stats == {"inserted": 1, "skipped": 0, "conflicts": 0, "withheld": 0}
