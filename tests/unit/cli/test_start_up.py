"""The CLI starts without its heavy layers; the option defaults it copies match their sources."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from work_data_hub.cli import _defaults
from work_data_hub.eqc_server import registry
from work_data_hub.infrastructure.db import tables
from work_data_hub.infrastructure.enrichment import types
from work_data_hub.infrastructure.enrichment.queue import worker
from work_data_hub.io import frames

HEAVY = ("pandas", "sqlalchemy", "numpy", "pyarrow", "alembic", "httpx", "openpyxl")


def _modules_after(code: str, env: dict[str, str] | None = None) -> set[str]:
    script = f"import sys, json\n{code}\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", script], check=True, capture_output=True, text=True, env=env
    )
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


def test_importing_the_cli_app_loads_neither_pandas_nor_sqlalchemy() -> None:
    loaded = _modules_after("import work_data_hub.cli.app")
    assert "work_data_hub.cli.app" in loaded
    assert sorted(m for m in HEAVY if m in loaded) == []


def test_help_of_every_command_loads_neither_pandas_nor_sqlalchemy() -> None:
    code = (
        "from work_data_hub.cli.app import app\n"
        "import typer.main\n"
        "command = typer.main.get_command(app)\n"
        "import click\n"
        "ctx = click.Context(command)\n"
        "for name in command.list_commands(ctx):\n"
        "    sub = command.get_command(ctx, name)\n"
        "    sub.get_help(click.Context(sub, info_name=name, parent=ctx))"
    )
    loaded = _modules_after(code)
    assert sorted(m for m in HEAVY if m in loaded) == []


def test_resolve_without_a_sync_budget_loads_no_eqc_client(tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_text("客户名称\n测试公司\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("WDH_")}
    env.update(DATABASE_URL=f"sqlite:///{tmp_path / 'wdh.db'}", WDH_LOG_LEVEL="ERROR")
    code = (
        "from work_data_hub.cli.app import app\n"
        f'app(["resolve", {str(source)!r}, "-o", {str(tmp_path / "out.csv")!r}],'
        " standalone_mode=False)"
    )
    loaded = _modules_after(code, env)
    assert "work_data_hub.cli._pipeline" in loaded
    assert (tmp_path / "out.csv").exists()
    assert sorted(m for m in ("httpx", "work_data_hub.cli._eqc") if m in loaded) == []


def test_the_enrichment_package_and_the_queue_admin_load_no_frame_libraries() -> None:
    """``queue status`` imports them; pandas, numpy and pyarrow load only with a frame (and
    PyYAML only with an override file)."""
    loaded = _modules_after(
        "import work_data_hub.infrastructure.enrichment\n"
        "import work_data_hub.infrastructure.enrichment.queue.admin"
    )
    assert "work_data_hub.infrastructure.enrichment.queue.admin" in loaded
    assert sorted(m for m in ("pandas", "numpy", "pyarrow", "yaml") if m in loaded) == []


def test_copied_option_defaults_equal_their_sources() -> None:
    assert _defaults.DEFAULT_CHUNK_ROWS == frames.DEFAULT_CHUNK_ROWS
    assert _defaults.DEFAULT_BATCH_SIZE == worker.DEFAULT_BATCH_SIZE
    assert _defaults.DEFAULT_MAX_NAME_LENGTH == types.DEFAULT_MAX_NAME_LENGTH
    assert tuple(m.value for m in tables.MatchType) == _defaults.MATCH_TYPES
    assert tuple(s.value for s in tables.MappingSource) == _defaults.MAPPING_SOURCES


def test_eqc_server_defaults_come_from_a_module_without_heavy_imports() -> None:
    loaded = _modules_after("import work_data_hub.eqc_server.registry")
    assert registry.DEFAULT_REGISTRY_SIZE > 0
    assert sorted(m for m in HEAVY if m in loaded) == []
