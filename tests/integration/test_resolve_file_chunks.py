"""A file resolved in chunks through the run's mapping snapshot gives the ids that querying the
database afresh for every chunk gives — chunked and unchunked, on both databases.

The reference is the resolver itself, one chunk per transaction on a plain repository: what
``resolve`` did before it kept a snapshot. Chunked and unchunked runs differ from each other
by design (a later chunk finds in the cache what an earlier one learned from the existing
column), so each is compared with the reference of its own chunking.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa

from work_data_hub import sample_data
from work_data_hub.cli import _pipeline, _strategy
from work_data_hub.eqc_server.testing import running_eqc_server
from work_data_hub.infrastructure.db.engine import create_engine
from work_data_hub.infrastructure.enrichment.company_id_resolver import CompanyIdResolver
from work_data_hub.infrastructure.enrichment.mapping_repository import CompanyMappingRepository
from work_data_hub.infrastructure.enrichment.normalizer import normalize_for_temp_id
from work_data_hub.infrastructure.enrichment.resolve.eqc_provider import EqcProvider
from work_data_hub.infrastructure.enrichment.types import MappingRecord
from work_data_hub.infrastructure.eqc.client import SEARCH_PATH, EqcClient
from work_data_hub.infrastructure.eqc.rate_limit import InProcessRateLimiter
from work_data_hub.io import frames

SALT = "chunk-test-salt"
ROWS = 3_000
COUNTED = ("db_cache_hits", "existing_column_hits", "temp_ids_generated", "async_queued")


def _input(tmp_path: Path) -> Path:
    # Few companies, many spellings, a share of rows with an id: later chunks meet names
    # earlier chunks asked about, learned or queued.
    config = sample_data.SampleConfig(rows=ROWS, company_ratio=0.04, existing_id_ratio=0.2)
    frame = sample_data.generate_frame(config)
    # One name carrying two ids in different chunks: a backflow conflict.
    frame.loc[10, "公司代码"] = "CONFLICT-A"
    frame.loc[ROWS - 10, ["客户名称", "公司代码"]] = [frame.loc[10, "客户名称"], "CONFLICT-B"]
    path = tmp_path / "in.csv"
    frames.write_frame(frame, path)
    return path


def _seed(engine: sa.Engine, names: pd.Series) -> None:
    distinct = sorted({normalize_for_temp_id(n) for n in names.dropna()} - {""})
    records = [
        MappingRecord(alias_name=alias, canonical_id=f"SEED{i:04d}", match_type="name")
        for i, alias in enumerate(distinct[::7])
    ]
    records.append(MappingRecord(alias_name=distinct[3], canonical_id="N/A", match_type="eqc"))
    with engine.begin() as conn:
        CompanyMappingRepository(conn).insert_batch_with_conflict_check(records)


def _reference(engine: sa.Engine, source: frames.FrameSource, chunk_rows: int) -> Any:
    """Every chunk queried afresh, one transaction each (the path before the snapshot)."""
    strategy = _strategy.build_strategy(source.columns, {}, source_name="in.csv")
    parts: list[pd.DataFrame] = []
    totals: dict[str, Any] = {}
    for chunk in source.iter_chunks(chunk_rows):
        with engine.begin() as conn:
            resolver = CompanyIdResolver(
                yaml_overrides={}, mapping_repository=CompanyMappingRepository(conn), salt=SALT
            )
            result = resolver.resolve_batch(chunk, strategy)
        parts.append(result.data)
        for name, value in result.statistics.to_dict().items():
            if name in COUNTED:
                totals[name] = totals.get(name, 0) + value
            elif name == "backflow_stats":
                bucket = totals.setdefault(name, {})
                for key, number in value.items():
                    bucket[key] = bucket.get(key, 0) + number
    return pd.concat(parts, ignore_index=True)["company_id"].tolist(), totals


def _through_file(engine: sa.Engine, source: frames.FrameSource, out: Path, chunk_rows: int) -> Any:
    strategy = _strategy.build_strategy(source.columns, {}, source_name="in.csv")
    done = _pipeline.resolve_file(
        engine, source, out, strategy, salt=SALT, overrides={}, chunk_rows=chunk_rows
    )
    stats = done.report.statistics
    counts = {name: stats[name] for name in COUNTED} | {"backflow_stats": stats["backflow_stats"]}
    ids = frames.read_frame(out)["company_id"].astype(object)
    return ids.where(ids.notna(), None).tolist(), counts


@pytest.mark.slow
@pytest.mark.parametrize("chunk_rows", [ROWS, 400], ids=["unchunked", "chunked"])
def test_file_run_gives_the_ids_of_a_fresh_query_per_chunk(
    tmp_path: Path,
    dialect: str,
    database_factory: Callable[[str], Any],
    db_engine: sa.Engine,
    chunk_rows: int,
) -> None:
    source = frames.open_source(_input(tmp_path))
    names = frames.read_frame(source.path)["客户名称"]
    factory = database_factory(dialect)
    reference_url = factory.new_url()
    reference_engine = create_engine(reference_url)
    try:
        for engine in (db_engine, reference_engine):
            _seed(engine, names)
        expected_ids, expected_counts = _reference(reference_engine, source, chunk_rows)
    finally:
        reference_engine.dispose()
        factory.drop(reference_url)
    expected_ids = [None if pd.isna(i) else i for i in expected_ids]

    ids, counts = _through_file(db_engine, source, tmp_path / "out.csv", chunk_rows)

    assert ids == expected_ids
    assert counts == expected_counts
    assert counts["db_cache_hits"] > 0
    assert counts["backflow_stats"]["inserted"] > 0
    assert counts["backflow_stats"]["conflicts"] > 0
    assert any(i is not None and i.startswith("IN") for i in ids)  # temporary ids too


@pytest.mark.slow
def test_a_name_eqc_found_in_one_chunk_comes_from_the_cache_in_the_next(
    tmp_path: Path, db_engine: sa.Engine
) -> None:
    with running_eqc_server(registry_size=200) as eqc:
        company = next(
            c
            for c in eqc.registry.companies
            if eqc.registry.lookup_name(normalize_for_temp_id(c.full_name)) is not None
        )
        path = tmp_path / "in.csv"
        frames.write_frame(pd.DataFrame({"客户名称": [company.full_name] * 4}), path)
        source = frames.open_source(path)
        strategy = _strategy.build_strategy(source.columns, {}, source_name="in.csv", sync_budget=5)

        def provider(repository: CompanyMappingRepository | None, budget: int) -> EqcProvider:
            return EqcProvider(client, budget=budget, mapping_repository=repository)

        with EqcClient(
            eqc.base_url, eqc.token, rate_limiter=InProcessRateLimiter(1000, 1.0)
        ) as client:
            done = _pipeline.resolve_file(
                db_engine,
                source,
                tmp_path / "out.csv",
                strategy,
                salt=SALT,
                overrides={},
                provider_factory=provider,
                chunk_rows=1,
            )
        searches = [r for r in eqc.calls.records() if r.path == SEARCH_PATH]
    stats = done.report.statistics
    assert len(searches) == 1
    assert stats["eqc_sync_hits"] == 1
    assert stats["db_cache_hits"] == 3
    assert frames.read_frame(done.output_path)["company_id"].nunique() == 1


def test_a_write_failing_in_a_later_chunk_fails_the_run_and_leaves_no_file(
    tmp_path: Path, db_engine: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    from work_data_hub.errors import InputError
    from work_data_hub.io.writer import FrameWriter

    source = frames.open_source(_input(tmp_path))
    strategy = _strategy.build_strategy(source.columns, {}, source_name="in.csv")
    written = FrameWriter.write
    calls: list[int] = []

    def failing(self: FrameWriter, frame: pd.DataFrame, sheet: str | None = None) -> None:
        calls.append(len(frame))
        if len(calls) == 3:
            raise InputError("cannot write out.csv: OSError")
        written(self, frame, sheet=sheet)

    monkeypatch.setattr(FrameWriter, "write", failing)
    out = tmp_path / "out.csv"
    with pytest.raises(InputError, match="cannot write"):
        _pipeline.resolve_file(
            db_engine, source, out, strategy, salt=SALT, overrides={}, chunk_rows=500
        )
    assert len(calls) == 3  # no chunk written after the failure
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv"]
