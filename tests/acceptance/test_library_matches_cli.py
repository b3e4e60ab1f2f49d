"""The library and the CLI give the same ids for the same input and environment."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from work_data_hub.cli.app import app
from work_data_hub.errors import ConfigError
from work_data_hub.infrastructure.db import migrate
from work_data_hub.infrastructure.db.engine import create_engine
from work_data_hub.infrastructure.enrichment import CompanyIdResolver, CompanyMappingRepository
from work_data_hub.io import frames

from .conftest import Cli

ROWS = {
    "计划代码": ["P1", "P2", "P3", "P4", "P5"],
    "客户名称": [
        "保留账户管理",
        "中信（北京）科技有限公司",
        "甲乙丙有限公司",
        "丁戊公司",
        "己庚公司",
    ],
    "公司代码": ["", "", "", "C-400", ""],
}


def _write_overrides(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "company_id_overrides_name.yml").write_text(
        "保留账户管理: __EMPTY__\n", encoding="utf-8"
    )
    (directory / "company_id_overrides_plan.yml").write_text("P5: C-500\n", encoding="utf-8")


def test_library_and_cli_give_identical_ids_with_the_environment_set(cli: Cli) -> None:
    _write_overrides(Path(cli.env["WDH_MAPPINGS_DIR"]))
    source = cli.tmp / "in.csv"
    pd.DataFrame(ROWS).to_csv(source, index=False)

    result: Any = cli("resolve", str(source), "-o", str(cli.tmp / "out.csv"))
    assert result.exit_code == 0, result.stderr
    by_cli = frames.read_frame(cli.tmp / "out.csv")["company_id"].tolist()

    library_db = cli.tmp / "library.sqlite3"
    engine = create_engine(f"sqlite:///{library_db}")
    try:
        migrate.upgrade(engine)
        with engine.begin() as conn:
            resolver = CompanyIdResolver(mapping_repository=CompanyMappingRepository(conn))
            frame = frames.read_frame(source)
            by_library = resolver.resolve_batch(frame).data["company_id"].tolist()
    finally:
        engine.dispose()

    assert [None if pd.isna(v) else v for v in by_library] == [
        None if pd.isna(v) else v for v in by_cli
    ]
    assert pd.isna(by_cli[0])  # excluded by the override file
    assert by_cli[4] == "C-500"
    assert str(by_cli[1]).startswith("IN")


def test_production_without_salt_refuses_to_resolve(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("WDH_ALIAS_SALT")
    monkeypatch.setenv("WDH_ENV", "production")
    with pytest.raises(ConfigError):
        CompanyIdResolver()
    source = cli.tmp / "in.csv"
    pd.DataFrame(ROWS).to_csv(source, index=False)
    env = {k: v for k, v in cli.env.items() if k != "WDH_ALIAS_SALT"}
    result: Any = cli.runner.invoke(
        app,
        ["resolve", str(source)],
        env={**env, "WDH_ENV": "production", "WDH_ALIAS_SALT": ""},
    )
    assert result.exit_code == 1
    assert "WDH_ALIAS_SALT" in result.stderr
