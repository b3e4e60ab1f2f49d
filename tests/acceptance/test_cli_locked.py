"""A locked SQLite file (another process writing) is one ``error:`` line, never a traceback;
``resolve`` falls back to resolving without the database when BEGIN is refused."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from work_data_hub.infrastructure.db import engine as db_engine

from .conftest import Cli


@contextmanager
def _write_locked(cli: Cli) -> Iterator[None]:
    path = cli.env["DATABASE_URL"].removeprefix("sqlite:///")
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        yield
    finally:
        holder.execute("ROLLBACK")
        holder.close()


@pytest.fixture(autouse=True)
def _short_busy_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(db_engine, "SQLITE_BUSY_TIMEOUT_MS", 200)


def _error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error:")]


@pytest.mark.parametrize("command", [["queue", "status"], ["queue", "retry-failed"]])
def test_a_locked_database_is_one_error_line(cli: Cli, command: list[str]) -> None:
    with _write_locked(cli):
        result: Any = cli(*command)
    assert result.exit_code == 1
    assert len(_error_lines(result.stderr)) == 1
    assert "Traceback" not in result.stderr


def test_resolve_falls_back_when_begin_is_refused(cli: Cli) -> None:
    source = cli.tmp / "in.csv"
    source.write_text("客户名称\n甲公司\n乙公司\n", encoding="utf-8")
    with _write_locked(cli):
        result: Any = cli("resolve", str(source), "-o", str(cli.tmp / "out.csv"))
    assert result.exit_code == 0, result.stderr
    assert "unreachable for 1 chunk" in result.stderr
