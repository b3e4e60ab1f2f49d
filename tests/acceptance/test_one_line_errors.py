"""Mistakes an operator makes get one ``error: …`` line, never a traceback or a password."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pandas as pd

from work_data_hub.infrastructure.db.engine import masked_url
from work_data_hub.io.cells import formula_safe, formula_safe_series, terminal_safe

from .conftest import Cli


def _one_error_line(result: Any) -> str:
    assert result.exit_code == 1, result.stderr
    assert "Traceback" not in result.stderr
    line = result.stderr.splitlines()[-1]
    assert line.startswith("error: ")
    return str(line)


def test_non_numeric_port_in_database_url(cli: Cli) -> None:
    result = cli("queue", "status", DATABASE_URL="postgresql://u:secret@localhost:abc/db")
    line = _one_error_line(result)
    assert "DATABASE_URL" in line
    assert "secret" not in result.stderr  # type: ignore[attr-defined]


def test_password_in_the_query_is_masked() -> None:
    masked = masked_url("postgresql://u@localhost/db?password=s3cret&sslmode=require")
    assert "s3cret" not in masked
    assert "sslmode=require" in masked
    assert "s3cret" not in masked_url("postgresql://u:s3cret@localhost/db")


def test_eqc_server_on_a_busy_port(cli: Cli) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = cli("eqc-server", "--port", str(port), WDH_EQC_TOKEN="tok")
    assert "port is in use" in _one_error_line(result)


def test_deeply_nested_yaml_is_one_line(cli: Cli) -> None:
    mappings = Path(cli.env["WDH_MAPPINGS_DIR"])
    mappings.mkdir(parents=True, exist_ok=True)
    (mappings / "company_id_overrides_name.yml").write_text("[" * 100_000, encoding="utf-8")
    source = cli.tmp / "in.csv"
    pd.DataFrame({"客户名称": ["甲公司"]}).to_csv(source, index=False)
    line = _one_error_line(cli("resolve", str(source)))
    assert "company_id_overrides_name.yml" in line


def test_formula_safe_rules() -> None:
    assert formula_safe("=1+1") == "'=1+1"
    assert formula_safe("-123.45") == "-123.45"
    assert formula_safe("+7") == "+7"
    assert formula_safe("-") == "'-"
    assert formula_safe(-5) == -5
    series = pd.Series(["@a", "b", None, "-1e3", "\tx"], dtype="string")
    assert formula_safe_series(series).tolist() == ["'@a", "b", pd.NA, "-1e3", "'\tx"]
    assert terminal_safe("a\x1b[2Jb\u202ec") == "a[2Jbc"
