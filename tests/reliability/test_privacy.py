"""Whole-suite privacy check: every log line of a resolve + EQC + worker + remap + CLI
scenario, with faults, holds no raw name, normalized name, temporary id, token or salt.

Events are checked twice: as the code emitted them (before redaction — redaction is the
safety net, not the method) and as the production chain rendered them (JSON lines).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from work_data_hub.cli.app import app
from work_data_hub.eqc_server.testing import running_eqc_server
from work_data_hub.infrastructure.db import migrate
from work_data_hub.infrastructure.db.engine import create_engine
from work_data_hub.infrastructure.enrichment import normalizer
from work_data_hub.infrastructure.enrichment.company_id_resolver import CompanyIdResolver
from work_data_hub.infrastructure.enrichment.mapping_repository import CompanyMappingRepository
from work_data_hub.infrastructure.enrichment.queue import remap
from work_data_hub.infrastructure.enrichment.queue.worker import process_enrichment_queue
from work_data_hub.infrastructure.enrichment.resolve.eqc_provider import EqcProvider
from work_data_hub.infrastructure.enrichment.types import ResolutionStrategy
from work_data_hub.infrastructure.eqc.client import EqcClient, EqcClientConfig
from work_data_hub.infrastructure.eqc.rate_limit import InProcessRateLimiter

from .conftest import LogSink, leaked, request_rows

pytestmark = [pytest.mark.chaos, pytest.mark.postgresql, pytest.mark.slow]

SALT = "privacy-salt-5b1e9c7d2a"
TOKEN = "privacy-token-8f27c1d90e4b"
MADE_UP = [f"隐私检查虚构{i:02d}有限公司" for i in range(8)]
HOSTILE = ["隐私'); DROP TABLE x;--有限公司", "隐私😀表情有限公司", "隐私\x00空字节有限公司"]
CONFIG = EqcClientConfig(
    connect_timeout_s=0.5, read_timeout_s=0.3, deadline_s=1.0, backoff_base_s=0.01
)


def _client(base_url: str) -> EqcClient:
    return EqcClient(
        base_url,
        TOKEN,
        config=CONFIG,
        rate_limiter=InProcessRateLimiter(max_requests=10_000, window_s=1.0),
    )


def _secrets(names: list[str], *temp_ids: Any) -> list[str]:
    values = {TOKEN, SALT}
    for name in names:
        values.add(name)
        normalized = normalizer.normalize_for_temp_id(name)
        if normalized:
            values.add(normalized)
            values.add(normalizer.generate_temp_company_id(name, SALT))
    values.update(str(t) for t in temp_ids if isinstance(t, str) and t)
    return sorted(values)


def test_no_name_temp_id_token_or_salt_in_any_log_line(
    log_sink: LogSink, pg_engine: sa.Engine, tmp_path: Path
) -> None:
    with running_eqc_server(token=TOKEN, registry_size=300, fault_seed=3) as eqc:
        real = [c.full_name for c in eqc.registry.companies[:10]]
        names = [*real, *MADE_UP, *HOSTILE]
        eqc.faults.set(rate_429=0.2, retry_after_s=0.01, latency_ms=2)
        eqc.faults.add_rule(real[1], status=503)  # one name keeps failing
        eqc.faults.add_rule(MADE_UP[0], hang=True)  # one name hangs

        # 1. resolve: YAML, backflow, EQC sync (with faults), temp ids, enqueue
        df = pd.DataFrame(
            {
                "客户名称": pd.Series(names * 2, dtype=object),
                "计划代码": ["P01"] * (2 * len(names)),
                "公司代码": [None, "C-EXISTING-1", *([None] * (2 * len(names) - 2))],
            }
        )
        overrides = {"name": {MADE_UP[1]: "C-YAML-1", MADE_UP[2]: "__EMPTY__"}}
        with pg_engine.begin() as conn, _client(eqc.base_url) as client:
            repository = CompanyMappingRepository(conn)
            provider = EqcProvider(client, budget=4, mapping_repository=repository)
            result = CompanyIdResolver(
                yaml_overrides=overrides,
                mapping_repository=repository,
                eqc_provider=provider,
                salt=SALT,
            ).resolve_batch(
                df, ResolutionStrategy(use_enrichment_service=True, sync_lookup_budget=4)
            )
        assert result.statistics.async_queued > 0

        # 2. four workers drain the queue through the faulty server
        outcomes = []
        for _ in range(2):
            with _client(eqc.base_url) as client:
                outcomes.append(
                    process_enrichment_queue(pg_engine, client, batch_size=5, concurrency=4)
                )
        later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
        eqc.faults.set(token_expires_after=1)  # and then the token expires
        with _client(eqc.base_url) as client:
            outcomes.append(process_enrichment_queue(pg_engine, client, now=lambda: later))
        assert any(o.done for o in outcomes)

        # 3. remap the resolved frame
        with pg_engine.connect() as conn:
            remap.remap_temp_ids(result.data, "company_id", conn)

        stored_temp_ids = [r.temp_id for r in request_rows(pg_engine)]
        eqc.faults.reset()
        eqc.faults.clear_rules()
        cli_text = _cli_scenario(tmp_path, eqc.base_url, names)

    secrets = _secrets(names, *result.data["company_id"].tolist(), *stored_temp_ids)
    assert log_sink.events, "the scenario logged nothing: the sink is not wired"
    assert {"resolver.batch_resolved", "resolver.tier_done", "worker.run_done"} <= (
        log_sink.event_names()
    )
    assert leaked("\n".join(repr(e) for e in log_sink.events), secrets) == []
    assert leaked(log_sink.stream.getvalue(), secrets) == []
    assert leaked("\n".join(log_sink.stdlib.messages), secrets) == []
    assert leaked(cli_text, secrets) == []


def _cli_scenario(tmp_path: Path, base_url: str, names: list[str]) -> str:
    """``resolve`` then ``queue work --once`` with JSON logs at DEBUG; their whole stderr."""
    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    engine = create_engine(url)
    try:
        migrate.upgrade(engine)
    finally:
        engine.dispose()
    env = {
        "DATABASE_URL": url,
        "WDH_ALIAS_SALT": SALT,
        "WDH_EQC_TOKEN": TOKEN,
        "WDH_EQC_BASE_URL": base_url,
        "WDH_MAPPINGS_DIR": str(tmp_path / "mappings"),
        "WDH_DATA_DIR": str(tmp_path / ".wdh"),
        "WDH_LOG_LEVEL": "DEBUG",
        "WDH_LOG_FORMAT": "json",
    }
    path = tmp_path / "input.csv"
    clean = [n.replace("\x00", "") for n in names]
    pd.DataFrame({"客户名称": clean, "计划代码": ["P01"] * len(clean)}).to_csv(path, index=False)
    runner = CliRunner()
    text = []
    for args in (["resolve", str(path), "--sync-budget", "2"], ["queue", "work", "--once"]):
        result: Any = runner.invoke(app, args, env=env)
        assert result.exit_code == 0, result.output
        text.append(result.stderr)
        text.append(result.stdout)
    assert '"event"' in text[0]  # JSON log lines really were written
    return "\n".join(text)


def test_the_sink_catches_a_planted_name_before_redaction(log_sink: LogSink) -> None:
    """Control: the check above is not vacuous — a name logged by mistake is seen."""
    from work_data_hub.utils.logging import get_logger

    get_logger("work_data_hub.planted").warning("planted.event", customer_name=MADE_UP[3], count=1)
    assert leaked(repr(log_sink.events), [MADE_UP[3]]) == [MADE_UP[3]]
    assert leaked(log_sink.stream.getvalue(), [MADE_UP[3]]) == []  # the safety net held
