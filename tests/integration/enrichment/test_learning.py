"""What the resolver learns and spreads from a file's own ids, on PostgreSQL and SQLite:
plan and account mappings only with single-employer evidence, a name's one existing id to
its other rows, conflicts counted, per-row provenance."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from tests.helpers import tier_total
from work_data_hub.infrastructure.db import tables
from work_data_hub.infrastructure.enrichment.company_id_resolver import (
    CompanyIdResolver,
    explain_columns,
)
from work_data_hub.infrastructure.enrichment.mapping_repository import CompanyMappingRepository
from work_data_hub.infrastructure.enrichment.types import (
    CompanyInfo,
    MappingRecord,
    ResolutionResult,
    ResolutionStrategy,
)

SALT = "learning-salt"
X_ID, Y_ID = "600000001", "600000002"


def _resolve(conn: sa.Connection, df: pd.DataFrame, **strategy: object) -> ResolutionResult:
    resolver = CompanyIdResolver(
        yaml_overrides={}, mapping_repository=CompanyMappingRepository(conn), salt=SALT
    )
    return resolver.resolve_batch(df, ResolutionStrategy(**strategy))  # type: ignore[arg-type]


def _stored(conn: sa.Connection, match_type: str) -> dict[str, str]:
    m = tables.company_mapping
    rows = conn.execute(
        sa.select(m.c.alias_name, m.c.canonical_id).where(m.c.match_type == match_type)
    ).all()
    return {str(row.alias_name): str(row.canonical_id) for row in rows}


def _shared_plan() -> pd.DataFrame:
    # Plan P: company X with its id, company Y without one.
    return pd.DataFrame(
        {
            "计划代码": ["P", "P", "P"],
            "客户名称": ["甲公司", "甲公司", "乙公司"],
            "公司代码": [X_ID, X_ID, None],
        }
    )


def test_a_plan_of_two_companies_is_not_learned(db_conn: sa.Connection) -> None:
    stats = _resolve(db_conn, _shared_plan()).statistics
    assert "P" not in _stored(db_conn, "plan")
    assert _stored(db_conn, "name") == {"甲公司": X_ID}
    assert stats.backflow_stats["withheld"] == 1


def test_a_rerun_never_gives_the_other_company_the_plan_s_id(db_conn: sa.Connection) -> None:
    _resolve(db_conn, _shared_plan())
    rerun = _resolve(db_conn, _shared_plan().assign(公司代码=None))
    ids = rerun.data["company_id"].tolist()
    assert ids[:2] == [X_ID, X_ID]
    assert ids[2] != X_ID
    assert ids[2].startswith("IN")


def test_a_plan_of_one_company_with_ids_on_every_row_is_learned(db_conn: sa.Connection) -> None:
    df = pd.DataFrame(
        {"计划代码": ["S", "S"], "客户名称": ["甲公司", "甲公司 "], "公司代码": [X_ID] * 2}
    )
    _resolve(db_conn, df)
    assert _stored(db_conn, "plan") == {"S": X_ID}


@pytest.mark.parametrize(("plan_type", "learned"), [("集合计划", False), ("单一计划", True)])
def test_the_plan_type_decides_for_a_plan_of_one_company(
    db_conn: sa.Connection, plan_type: str, learned: bool
) -> None:
    df = pd.DataFrame(
        {
            "计划代码": ["C", "C"],
            "计划类型": [plan_type] * 2,
            "客户名称": ["甲公司"] * 2,
            "公司代码": [X_ID] * 2,
        }
    )
    _resolve(db_conn, df)
    assert ("C" in _stored(db_conn, "plan")) is learned


def test_the_plan_type_column_is_configurable(db_conn: sa.Connection) -> None:
    df = pd.DataFrame(
        {"计划代码": ["C"], "Type": ["集合计划"], "客户名称": ["甲公司"], "公司代码": [X_ID]}
    )
    _resolve(db_conn, df, plan_type_column="Type")
    assert _stored(db_conn, "plan") == {}


def test_an_account_shared_by_two_names_is_not_learned(db_conn: sa.Connection) -> None:
    df = pd.DataFrame(
        {
            "年金账户号": ["A1", "A1", "A2"],
            "客户名称": ["甲公司", "乙公司", "乙公司"],
            "公司代码": [X_ID, Y_ID, Y_ID],
        }
    )
    _resolve(db_conn, df)
    assert _stored(db_conn, "account") == {"A2": Y_ID}


def test_one_existing_id_reaches_the_other_rows_of_its_name(db_conn: sa.Connection) -> None:
    df = pd.DataFrame(
        {"客户名称": ["甲公司", "甲公司-已转出", " 甲公司"], "公司代码": [None, X_ID, "N/A"]}
    )
    result = _resolve(db_conn, df)
    stats = result.statistics
    assert result.data["company_id"].tolist() == [X_ID] * 3
    assert (stats.existing_column_hits, stats.propagated_hits) == (1, 2)
    assert stats.temp_ids_generated == 0
    assert stats.async_queued == 0
    assert (
        db_conn.execute(
            sa.select(sa.func.count()).select_from(tables.enrichment_requests)
        ).scalar_one()
        == 0
    )
    assert tier_total(stats) == 3


def test_a_name_with_two_existing_ids_propagates_neither(db_conn: sa.Connection) -> None:
    df = pd.DataFrame({"客户名称": ["甲公司"] * 3, "公司代码": [X_ID, Y_ID, None]})
    result = _resolve(db_conn, df)
    assert result.data["company_id"].tolist()[:2] == [X_ID, Y_ID]
    assert result.data["company_id"].iloc[2].startswith("IN")
    assert result.statistics.propagation_conflicts == 1
    assert result.statistics.propagated_hits == 0


def test_bad_existing_ids_are_neither_used_nor_learned(db_conn: sa.Connection) -> None:
    df = pd.DataFrame(
        {
            "客户名称": ["甲公司", "乙公司", "丙公司", "丁公司"],
            "公司代码": ['=HYPERLINK("x","600000001")', "6000 00002\n", 3.5, 600000004.0],
        }
    )
    result = _resolve(db_conn, df)
    ids = result.data["company_id"].tolist()
    assert all(i.startswith("IN") for i in ids[:3])
    assert ids[3] == "600000004"
    assert result.statistics.invalid_existing_ids == 3
    assert _stored(db_conn, "name") == {"丁公司": "600000004"}


def test_a_plan_mapping_that_disagrees_with_the_name_mapping_is_counted(
    db_conn: sa.Connection,
) -> None:
    CompanyMappingRepository(db_conn).insert_batch_with_conflict_check(
        [
            MappingRecord(alias_name="P", canonical_id=X_ID, match_type="plan"),
            MappingRecord(alias_name="乙公司", canonical_id=Y_ID, match_type="name"),
        ]
    )
    df = pd.DataFrame({"计划代码": ["P", "P"], "客户名称": ["甲公司", "乙公司"]})
    result = _resolve(db_conn, df)
    assert result.data["company_id"].tolist() == [X_ID, X_ID]  # the spec's priority stands
    assert result.statistics.plan_name_conflicts == 1
    assert result.statistics.db_cache_hits_by_type["plan"] == 2


def test_explain_names_the_tier_source_and_confidence_of_every_row(
    db_conn: sa.Connection,
) -> None:
    CompanyMappingRepository(db_conn).insert_batch_with_conflict_check(
        [
            MappingRecord(
                alias_name="乙公司",
                canonical_id=Y_ID,
                match_type="eqc",
                source="eqc",
                confidence=0.8,
            ),
            MappingRecord(
                alias_name="戊公司",
                canonical_id="600000005",
                match_type="manual",
                source="manual",
            ),
        ]
    )
    resolver = CompanyIdResolver(
        yaml_overrides={"plan": {"PY": "600000009"}, "name": {"己公司": "__EMPTY__"}},
        mapping_repository=CompanyMappingRepository(db_conn),
        salt=SALT,
    )
    df = pd.DataFrame(
        {
            "计划代码": ["PY", None, None, None, None, None, None],
            "客户名称": ["甲公司", "乙公司", "丙公司", "丙公司", "丁公司", "戊公司", "己公司"],
            "公司代码": [None, None, X_ID, None, None, None, None],
        }
    )
    data = resolver.resolve_batch(df, ResolutionStrategy(explain=True)).data
    tier, source, confidence = explain_columns("company_id")
    assert data[tier].tolist() == [
        "yaml:plan",
        "db:eqc",
        "existing",
        "propagated",
        "temp",
        "db:manual",
        "excluded",
    ]
    assert pd.isna(data[source].iloc[0])
    assert data[source].iloc[1] == "eqc"
    assert data[source].iloc[5] == "manual"
    assert confidence in data
    assert data[confidence].iloc[1] == pytest.approx(0.8)
    assert data[confidence].iloc[5] == pytest.approx(1.0)
    assert np.isnan(data[confidence].iloc[0])


def test_without_explain_no_provenance_columns_are_added(db_conn: sa.Connection) -> None:
    data = _resolve(db_conn, pd.DataFrame({"客户名称": ["甲公司"]})).data
    assert list(data.columns) == ["客户名称", "company_id"]


class _Registry:
    """An in-process provider answering from a dict (the resolver's provider seam)."""

    def __init__(self, answers: dict[str, CompanyInfo]) -> None:
        self.answers = answers
        self.remaining = 10

    @property
    def is_available(self) -> bool:
        return True

    @property
    def remaining_budget(self) -> int:
        return self.remaining

    rate_limited = False
    unreachable = False

    def lookup(self, name: str, *, wait_s: float | None = None) -> CompanyInfo | None:
        self.remaining -= 1
        return self.answers.get(name)


def test_eqc_hits_are_explained_and_bad_eqc_ids_counted(db_conn: sa.Connection) -> None:
    provider = _Registry(
        {
            "甲公司": CompanyInfo(company_id=X_ID, official_name="甲公司", confidence=0.8),
            "乙公司": CompanyInfo(company_id="=1+1", official_name="乙公司"),
        }
    )
    resolver = CompanyIdResolver(
        yaml_overrides={},
        mapping_repository=CompanyMappingRepository(db_conn),
        eqc_provider=provider,
        salt=SALT,
    )
    df = pd.DataFrame({"客户名称": ["甲公司", "乙公司"]})
    result = resolver.resolve_batch(df, ResolutionStrategy(sync_lookup_budget=5, explain=True))
    tier, source, confidence = explain_columns("company_id")
    assert result.data[tier].tolist() == ["eqc", "temp"]
    assert result.data[source].iloc[0] == "eqc"
    assert result.data[confidence].iloc[0] == pytest.approx(0.8)
    assert result.statistics.eqc_invalid_ids == 1
    assert result.data["company_id"].iloc[1].startswith("IN")


def test_explain_labels_every_yaml_level_and_db_match_type(db_conn: sa.Connection) -> None:
    stored = {
        ("手工公司", "manual"): "D0",
        ("DP", "plan"): "D1",
        ("DA", "account"): "D2",
        ("DH|库硬编码公司", "hardcode"): "D3",
        ("库名称公司", "name"): "D4",
        ("库账户名", "account_name"): "D5",
        ("库EQC公司", "eqc"): "D6",
    }
    CompanyMappingRepository(db_conn).insert_batch_with_conflict_check(
        [MappingRecord(alias_name=a, canonical_id=i, match_type=t) for (a, t), i in stored.items()]
    )
    flat = {
        "plan": {"YP": "Y1"},
        "account": {"YA": "Y2"},
        "hardcode": {"HP|硬编码公司": "Y3"},
        "name": {"名称公司": "Y4"},
        "account_name": {"账户名": "Y5"},
    }
    rows = [  # plan, account, customer, account name, expected tier
        ("YP", None, "甲一公司", None, "yaml:plan"),
        (None, "YA", "甲二公司", None, "yaml:account"),
        ("HP", None, "硬编码公司", None, "yaml:hardcode"),
        (None, None, "名称公司", None, "yaml:name"),
        (None, None, "甲三公司", "账户名", "yaml:account_name"),
        (None, None, "手工公司", None, "db:manual"),
        ("DP", None, "乙一公司", None, "db:plan"),
        (None, "DA", "乙二公司", None, "db:account"),
        ("DH", None, "库硬编码公司", None, "db:hardcode"),
        (None, None, "库名称公司", None, "db:name"),
        (None, None, "乙三公司", "库账户名", "db:account_name"),
        (None, None, "库EQC公司", None, "db:eqc"),
    ]
    df = pd.DataFrame(
        {
            "计划代码": [r[0] for r in rows],
            "年金账户号": [r[1] for r in rows],
            "客户名称": [r[2] for r in rows],
            "年金账户名": [r[3] for r in rows],
        }
    )
    resolver = CompanyIdResolver(
        yaml_overrides=flat, mapping_repository=CompanyMappingRepository(db_conn), salt=SALT
    )
    data = resolver.resolve_batch(df, ResolutionStrategy(explain=True)).data
    tier, source, _ = explain_columns("company_id")
    assert data[tier].tolist() == [r[4] for r in rows]
    assert data[source].iloc[:5].isna().all()
    assert (data[source].iloc[5:] == "internal").all()
