"""Hostile input through the resolver, the enqueue, the YAML loader and the CLI.

Each case ends in a clear error or a counted skip: no crash inside, and no statement that
fails a whole batch because of one bad row (on PostgreSQL and SQLite).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from work_data_hub.cli.app import app
from work_data_hub.infrastructure.db import migrate, tables
from work_data_hub.infrastructure.db.engine import create_engine
from work_data_hub.infrastructure.enrichment import normalizer
from work_data_hub.infrastructure.enrichment.company_id_resolver import CompanyIdResolver
from work_data_hub.infrastructure.enrichment.mapping_repository import CompanyMappingRepository
from work_data_hub.infrastructure.enrichment.resolve.overrides import load_company_id_overrides
from work_data_hub.io import frames

from .conftest import request_rows

pytestmark = pytest.mark.chaos

SALT = "reliability-hostile-salt"
LONG_NAME = "超长名称" * 2_600 + "有限公司"  # 10,404 characters
INJECTIONS = [
    "'); DROP TABLE enterprise.enrichment_requests; --",
    "x' OR '1'='1",
    '"; DELETE FROM enterprise.company_mapping; --',
    "Robert'); DROP TABLE company_master;--",
    '{"a","b"}',  # a PostgreSQL array literal, as a name
    'a\\","b',  # escapes inside an array element
]
HOSTILE_NAMES: list[Any] = [
    LONG_NAME,
    "控制\x00字符\x00公司",  # NUL
    "制表\t换行\n回车\r公司\x07\x1b",
    "\x01\x02\x03",  # nothing but control characters
    "孤立\ud800代理\udfff公司",  # lone surrogates
    "表情😀🏢公司",
    "\U00020000\U0002a6d6\U00030000有限公司",  # CJK extensions B and G
    *INJECTIONS,
    12345,
    3.25,
    dt.date(2024, 1, 31),
    pd.Timestamp("2024-02-29 12:00"),
    "2024-03-01",
    None,
    np.nan,
    "",
    "正常有限公司",
]


def _frame(names: list[Any]) -> pd.DataFrame:
    return pd.DataFrame({"客户名称": pd.Series(names, dtype=object)})


def _resolve(engine: sa.Engine, df: pd.DataFrame) -> Any:
    with engine.begin() as conn:
        resolver = CompanyIdResolver(mapping_repository=CompanyMappingRepository(conn), salt=SALT)
        return resolver.resolve_batch(df)


# -- the resolver and the enqueue, on both databases ---------------------------------------------


def test_hostile_names_resolve_and_enqueue_without_failing_the_batch(
    any_engine: sa.Engine,
) -> None:
    result = _resolve(any_engine, _frame(HOSTILE_NAMES))
    stats = result.statistics
    assert stats.tier_errors == {}
    assert stats.temp_ids_generated + stats.unresolved == len(HOSTILE_NAMES)
    assert stats.names_too_long == 1  # LONG_NAME: set aside, never queued
    keys = {normalizer.normalize_for_temp_id(n) for n in HOSTILE_NAMES if n is not LONG_NAME} - {""}
    assert stats.async_queued == len(keys)
    rows = request_rows(any_engine)
    assert sorted(r.normalized_name for r in rows) == sorted(keys)
    assert all("\x00" not in r.raw_name for r in rows)


def test_injection_strings_are_stored_verbatim_and_drop_nothing(any_engine: sa.Engine) -> None:
    _resolve(any_engine, _frame(INJECTIONS))
    stored = {r.normalized_name for r in request_rows(any_engine)}
    assert stored == {normalizer.normalize_for_temp_id(n) for n in INJECTIONS}
    with any_engine.connect() as conn:  # every table is still there
        for table in (tables.company_mapping, tables.company_master):
            assert conn.execute(sa.select(sa.func.count()).select_from(table)).scalar() == 0


def test_resolving_hostile_names_twice_enqueues_nothing_new(any_engine: sa.Engine) -> None:
    _resolve(any_engine, _frame(HOSTILE_NAMES))
    again = _resolve(any_engine, _frame(HOSTILE_NAMES))
    assert again.statistics.async_queued == 0
    assert again.statistics.tier_errors == {}


def test_enqueue_sanitizes_raw_names_and_skips_unstorable_keys(any_engine: sa.Engine) -> None:
    requests = [
        {
            "raw_name": "空\x00字节公司",
            "normalized_name": "空字节公司",
            "temp_id": "INAAAAAAAAAAAAAAA1",
        },
        {
            "raw_name": "代理\ud800公司",
            "normalized_name": "代理公司",
            "temp_id": "INAAAAAAAAAAAAAAA2",
        },
        {"raw_name": "坏键", "normalized_name": "坏\x00键", "temp_id": "INAAAAAAAAAAAAAAA3"},
        {"raw_name": "坏键二", "normalized_name": "坏\udc80键", "temp_id": "INAAAAAAAAAAAAAAA4"},
        {"raw_name": "正常公司", "normalized_name": "正常公司", "temp_id": "INAAAAAAAAAAAAAAA5"},
    ]
    with any_engine.begin() as conn:
        result = CompanyMappingRepository(conn).enqueue_for_enrichment(requests)
    assert (result.queued_count, result.skipped_count) == (3, 2)
    raw = {r.normalized_name: r.raw_name for r in request_rows(any_engine)}
    assert raw == {"空字节公司": "空字节公司", "代理公司": "代理\ufffd公司", "正常公司": "正常公司"}


def test_only_unstorable_keys_skip_everything_without_sql(any_engine: sa.Engine) -> None:
    bad = [{"raw_name": "x", "normalized_name": "\x00", "temp_id": "INAAAAAAAAAAAAAAA6"}]
    with any_engine.begin() as conn:
        result = CompanyMappingRepository(conn).enqueue_for_enrichment(bad)
    assert (result.queued_count, result.skipped_count) == (0, 1)


def test_nul_in_codes_and_existing_ids_fails_neither_cache_nor_backflow(
    any_engine: sa.Engine,
) -> None:
    df = pd.DataFrame(
        {
            "客户名称": ["代码空字节甲公司", "代码空字节乙公司", "代码空字节丙公司"],
            "计划代码": ["P\x001", "P2", "P3"],
            "年金账户号": ["A1", "A\x002", "A3"],
            "年金账户名": ["账户甲", "账户乙", "账户\ud800丙"],
            "公司代码": ["C1", "C2", "C\x003"],
        },
        dtype=object,
    )
    stats = _resolve(any_engine, df).statistics
    assert stats.tier_errors == {}
    assert stats.existing_column_hits == 2
    assert stats.invalid_existing_ids == 1  # "C\x003" fails the id rule
    backflow = stats.backflow_stats
    assert backflow["inserted"] >= 4  # the clean keys of the clean rows were learned
    again = _resolve(any_engine, df.assign(公司代码=None)).statistics
    assert again.tier_errors == {}
    assert again.db_cache_hits >= 2  # the lookup still serves every storable key


def test_normalizer_removes_nul_control_chars_and_lone_surrogates() -> None:
    for name in ("控制\x00字符\x00公司", "制表\t换行\n公司\x07", "孤立\ud800代理\udfff公司"):
        key = normalizer.normalize_for_temp_id(name)
        assert key
        assert not any(ord(ch) < 32 or 0xD800 <= ord(ch) <= 0xDFFF for ch in key)
        key.encode("utf-8")  # storable by any driver
    assert normalizer.normalize_for_temp_id("\x00\x01\x1f") == ""


def test_numbers_and_dates_in_the_name_column_are_counted_not_crashing() -> None:
    names: list[Any] = [12345, 3.25, dt.date(2024, 1, 31), pd.Timestamp("2024-02-29"), True]
    result = CompanyIdResolver(salt=SALT).resolve_batch(_frame(names))
    stats = result.statistics
    assert stats.total_rows == len(names)
    assert stats.temp_ids_generated + stats.unresolved == len(names)


def test_duplicate_name_columns_are_a_clear_error() -> None:
    df = pd.DataFrame([["甲公司", "乙公司"]], columns=["客户名称", "客户名称"])
    with pytest.raises(ValueError, match="more than once"):
        CompanyIdResolver(salt=SALT).resolve_batch(df)


def test_empty_frame_resolves_to_an_empty_frame(any_engine: sa.Engine) -> None:
    result = _resolve(any_engine, _frame([]))
    assert len(result.data) == 0
    assert result.statistics.total_rows == 0
    assert request_rows(any_engine) == []


def test_frame_without_columns_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="missing customer-name column"):
        CompanyIdResolver(salt=SALT).resolve_batch(pd.DataFrame())


@pytest.mark.slow
def test_a_million_copies_of_one_name_are_normalized_once(
    sqlite_engine: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = {"n": 0}
    original = normalizer.normalize_for_temp_id

    def counting(name: object) -> str:
        calls["n"] += 1
        return original(name)

    monkeypatch.setattr(normalizer, "normalize_for_temp_id", counting)
    df = _frame(["百万重复有限公司"] * 1_000_000)
    result = _resolve(sqlite_engine, df)
    assert result.statistics.temp_ids_generated == 1_000_000
    assert result.statistics.async_queued == 1
    assert calls["n"] <= 2  # one distinct name: per-row Python work stays per distinct value
    assert result.data["company_id"].nunique() == 1


# -- the YAML loader --------------------------------------------------------------------------


def _bomb() -> str:
    lines = ['l0: &l0 ["甲公司", "甲公司", "甲公司", "甲公司", "甲公司", "甲公司", "甲公司"]']
    for level in range(1, 9):
        refs = ", ".join([f"*l{level - 1}"] * 9)
        lines.append(f"l{level}: &l{level} [{refs}]")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("level", ["plan", "name", "hardcode"])
def test_yaml_alias_bomb_is_refused_with_a_clear_error(tmp_path: Path, level: str) -> None:
    (tmp_path / f"company_id_overrides_{level}.yml").write_text(_bomb(), encoding="utf-8")
    with pytest.raises(ValueError, match="aliases"):
        load_company_id_overrides(tmp_path)


def test_yaml_anchor_on_a_scalar_is_refused_too(tmp_path: Path) -> None:
    (tmp_path / "company_id_overrides_name.yml").write_text(
        "甲公司: &id C1\n乙公司: *id\n", encoding="utf-8"
    )
    with pytest.raises(ValueError, match="aliases"):
        load_company_id_overrides(tmp_path)


def test_yaml_with_hostile_keys_loads_them_normalized(tmp_path: Path) -> None:
    names = ["表情😀公司", "\U00020000公司", INJECTIONS[0], "空\x00字节公司"]
    text = "".join(f"{json.dumps(n, ensure_ascii=False)}: C{i}\n" for i, n in enumerate(names))
    text += f"? {json.dumps(LONG_NAME, ensure_ascii=False)}\n: C9\n"  # explicit long key
    (tmp_path / "company_id_overrides_name.yml").write_text(text, encoding="utf-8")
    overrides = load_company_id_overrides(tmp_path)["name"]
    assert overrides[normalizer.normalize_for_temp_id(LONG_NAME)] == "C9"
    assert overrides[normalizer.normalize_for_temp_id("空\x00字节公司")] == "C3"
    assert len(overrides) == 5


def test_yaml_implicit_key_over_1024_characters_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "company_id_overrides_name.yml"
    path.write_text(f"{LONG_NAME}: C1\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"company_id_overrides_name\.yml: invalid YAML at line 1"):
        load_company_id_overrides(tmp_path)


# -- the CLI ----------------------------------------------------------------------------------


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    url = f"sqlite:///{tmp_path / 'wdh.sqlite3'}"
    env = {
        "DATABASE_URL": url,
        "WDH_MAPPINGS_DIR": str(tmp_path / "mappings"),
        "WDH_DATA_DIR": str(tmp_path / ".wdh"),
        "WDH_ALIAS_SALT": SALT,
        "WDH_LOG_LEVEL": "WARNING",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    engine = create_engine(url)
    try:
        migrate.upgrade(engine)
    finally:
        engine.dispose()
    return env


def _cli(*args: str) -> Any:
    return CliRunner().invoke(app, list(args))


def _string_names() -> list[str]:
    return [n for n in HOSTILE_NAMES if isinstance(n, str) and "\ud800" not in n]


def test_cli_resolves_a_csv_of_hostile_names(cli_env: dict[str, str], tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    names = [n.replace("\x00", "") for n in _string_names()]  # NUL gets its own test
    pd.DataFrame({"客户名称": names}).to_csv(path, index=False)
    result = _cli("resolve", str(path), "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout[result.stdout.index("{") :])
    assert report["rows_in"] == report["rows_out"] == len(names)
    assert report["statistics"]["tier_errors"] == {}


def test_cli_resolves_a_csv_with_nul_bytes(cli_env: dict[str, str], tmp_path: Path) -> None:
    path = tmp_path / "nul.csv"
    path.write_bytes("客户名称\n空\x00字节有限公司\n正常有限公司\n".encode())
    result = _cli("resolve", str(path))
    assert result.exit_code == 0, result.output
    out = frames.read_frame(tmp_path / "nul.resolved.csv")
    assert out["company_id"].notna().all()
    engine = create_engine(cli_env["DATABASE_URL"])
    try:
        assert len(request_rows(engine)) == 2
    finally:
        engine.dispose()


def test_cli_reads_a_gbk_csv(cli_env: dict[str, str], tmp_path: Path) -> None:
    path = tmp_path / "gbk.csv"
    path.write_bytes(
        "客户名称,计划代码\n中国平安保险公司,P1\n招商银行股份有限公司,P2\n".encode("gbk")
    )
    result = _cli("resolve", str(path))
    assert result.exit_code == 0, result.output
    out_bytes = (tmp_path / "gbk.resolved.csv").read_bytes()
    assert "中国平安保险公司".encode("gbk") in out_bytes  # written back in the input's encoding


def test_cli_refuses_a_csv_in_no_known_encoding_with_one_line(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes("客户名称\n".encode() + b"\xff\xfe\x80\x81\xfe\xff\n")
    result = _cli("resolve", str(path))
    assert result.exit_code == 1
    assert result.stderr.strip().startswith("error:")
    assert "GB18030" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_cli_refuses_duplicate_columns_with_one_line(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    path = tmp_path / "dup.csv"
    path.write_text("客户名称,客户名称\n甲公司,乙公司\n", encoding="utf-8")
    result = _cli("resolve", str(path))
    assert result.exit_code == 1
    assert "duplicate column names" in result.stderr


def test_cli_resolves_a_header_only_csv(cli_env: dict[str, str], tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_text("客户名称,计划代码\n", encoding="utf-8")
    result = _cli("resolve", str(path), "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout[result.stdout.index("{") :])
    assert report["rows_in"] == report["rows_out"] == 0


def test_cli_refuses_a_yaml_bomb_with_one_line(cli_env: dict[str, str], tmp_path: Path) -> None:
    mappings = Path(cli_env["WDH_MAPPINGS_DIR"])
    mappings.mkdir()
    (mappings / "company_id_overrides_name.yml").write_text(_bomb(), encoding="utf-8")
    path = tmp_path / "in.csv"
    pd.DataFrame({"客户名称": ["甲公司"]}).to_csv(path, index=False)
    result = _cli("resolve", str(path))
    assert result.exit_code == 1
    assert result.stderr.strip().startswith("error:")
    assert "aliases" in result.stderr


def test_over_long_name_is_counted_and_the_rest_of_its_chunk_learned_and_queued(
    any_engine: sa.Engine,
) -> None:
    long_name = "长" * 2_990 + "有限公司一二三四五六"  # 3,000 characters
    frame = pd.DataFrame(
        {
            "客户名称": [long_name, "甲有限公司", "乙有限公司", "丙有限公司"],
            "公司代码": ["C9", "C1", None, None],
        }
    )
    result = _resolve(any_engine, frame)
    stats = result.statistics
    assert stats.names_too_long == 1
    assert stats.tier_errors == {}
    assert stats.backflow_stats["inserted"] >= 1  # 甲 learned
    assert stats.async_queued == 2  # 乙 and 丙
    out = result.data
    assert pd.isna(out["company_id"].iloc[0])
    assert out["客户名称"].iloc[0] == long_name
    assert out["company_id"].iloc[1] == "C1"
    stored = {r.normalized_name for r in request_rows(any_engine)}
    assert all(len(name) < 100 for name in stored)
