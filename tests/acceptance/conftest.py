"""CLI fixtures: an environment pointing at a fresh migrated SQLite database in tmp."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from work_data_hub.cli.app import app
from work_data_hub.infrastructure.db import migrate
from work_data_hub.infrastructure.db.engine import create_engine


@dataclass
class Cli:
    """Invokes ``wdh-enrich`` in process with the test's environment."""

    runner: CliRunner
    env: dict[str, str]
    tmp: Path

    def __call__(self, *args: str, **env: str) -> object:
        return self.runner.invoke(app, list(args), env={**self.env, **env}, catch_exceptions=False)


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    database = tmp_path / "wdh.sqlite3"
    env = {
        "DATABASE_URL": f"sqlite:///{database}",
        "WDH_MAPPINGS_DIR": str(tmp_path / "mappings"),
        "WDH_DATA_DIR": str(tmp_path / ".wdh"),
        "WDH_ALIAS_SALT": "acceptance-salt",
        "WDH_LOG_LEVEL": "WARNING",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    engine = create_engine(env["DATABASE_URL"])
    try:
        migrate.upgrade(engine)
    finally:
        engine.dispose()
    return env


@pytest.fixture
def cli(cli_env: dict[str, str], tmp_path: Path) -> Cli:
    return Cli(runner=CliRunner(), env=cli_env, tmp=tmp_path)
