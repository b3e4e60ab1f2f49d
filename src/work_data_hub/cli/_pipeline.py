"""File-level services behind ``resolve`` and ``remap``: chunks in, chunks out, one report.

Each chunk is resolved in its own database transaction (the mapping cache, backflow and
queue writes of a chunk commit together), then appended to the output on the writer
thread (:class:`~work_data_hub.io.write_behind.WriteBehind`) while the next chunk is read
and resolved, so memory is bounded by two chunks whatever the file size. The mapping
cache is read through one :class:`MappingSnapshot` per run: a chunk reads only the aliases
no earlier chunk read, and what the run writes is known or read again. The EQC sync
budget is one budget for the whole run, spent across chunks.
"""

from __future__ import annotations

import dataclasses
import functools
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa

from work_data_hub import reporting
from work_data_hub.errors import InputError
from work_data_hub.infrastructure.db.errors import driver_error_type
from work_data_hub.infrastructure.enrichment.company_id_resolver import CompanyIdResolver
from work_data_hub.infrastructure.enrichment.mapping_repository import CompanyMappingRepository
from work_data_hub.infrastructure.enrichment.mapping_snapshot import MappingSnapshot
from work_data_hub.infrastructure.enrichment.types import (
    EqcProviderProtocol,
    ResolutionStrategy,
)
from work_data_hub.io import atomic, frames
from work_data_hub.io.write_behind import WriteBehind
from work_data_hub.utils import clock, collector
from work_data_hub.utils.logging import get_logger

__all__ = [
    "ProviderFactory",
    "ResolvedFile",
    "check_paths",
    "companion_paths",
    "default_output_path",
    "open_output",
    "resolve_file",
]

log = get_logger(__name__)

#: Builds the run's EQC provider for one chunk: ``(repository, remaining budget)``.
ProviderFactory = Callable[[CompanyMappingRepository | None, int], EqcProviderProtocol | None]
Progress = Callable[[int], None]


def default_output_path(input_path: Path, suffix: str = "resolved") -> Path:
    """``data.csv`` → ``data.resolved.csv`` next to the input; workbooks give ``.xlsx``."""
    extension = input_path.suffix
    if frames.detect_format(input_path) is frames.FileFormat.EXCEL:
        extension = ".xlsx"
    return input_path.with_name(f"{input_path.stem}.{suffix}{extension}")


def companion_paths(output_path: Path) -> tuple[Path, Path]:
    """``(report, unknown)`` next to the output: ``<stem>.report.json``, ``<stem>.unknown.csv``."""
    return (
        output_path.with_name(f"{output_path.stem}.report.json"),
        output_path.with_name(f"{output_path.stem}.unknown.csv"),
    )


def check_paths(input_path: Path, output_path: Path, companions: Sequence[Path] = ()) -> None:
    """Refuse outputs that are the input (by device and inode) or folders, before any write."""
    if frames.detect_format(output_path) is not frames.detect_format(input_path):
        raise InputError("the output file must have the same format as the input file")
    atomic.check_target(output_path, [input_path])
    for companion in companions:
        atomic.check_target(companion, [input_path], role="companion")


@dataclass(frozen=True, kw_only=True)
class ResolvedFile:
    """What ``resolve_file`` wrote and counted."""

    report: reporting.RunReport
    output_path: Path
    report_path: Path
    unknown_path: Path


def resolve_file(
    engine: sa.Engine | None,
    source: frames.FrameSource,
    output_path: Path,
    strategy: ResolutionStrategy,
    *,
    salt: str,
    overrides: Mapping[str, Mapping[str, str]] | None = None,
    provider_factory: ProviderFactory | None = None,
    chunk_rows: int = frames.DEFAULT_CHUNK_ROWS,
    progress: Progress | None = None,
) -> ResolvedFile:
    """Resolve ``source`` chunk by chunk into ``output_path``; write the report and unknowns.

    Without a reachable database (``engine`` is ``None``, or a chunk cannot connect) a chunk
    is resolved from the overrides alone: unknown names get temporary ids, nothing is
    cached or queued, ``tier_errors["database"]`` counts it and the report warns.
    """
    report_path, unknown_path = companion_paths(output_path)
    check_paths(source.path, output_path, (report_path, unknown_path))
    started = clock.utcnow()
    report = reporting.RunReport(
        input_path=source.path.name,
        output_path=output_path.name,
        file_format=source.format.value,
        started_at=started,
    )
    tally = reporting.UnknownTally(seen_at=started)
    remaining = strategy.sync_lookup_budget
    eqc_usable = provider_factory is not None and remaining > 0
    # The sync tier's waits for rate-limit slots are bounded for the whole run.
    waits_end: float | None = None
    total_started = time.perf_counter()
    offline_chunks = 0
    # Mappings read by earlier chunks are not read again (what the run writes is).
    snapshot = MappingSnapshot()
    unknown_file = atomic.AtomicFile(unknown_path)
    report_file = atomic.AtomicFile(report_path)
    try:
        with (
            collector.paused(),
            open_output(source, output_path) as writer,
            WriteBehind() as behind,
        ):
            parts = source.iter_parts(chunk_rows)
            while True:
                mark = time.perf_counter()
                part = next(parts, None)
                report.add_time("read", clock.ms_since(mark, None))
                if part is None:
                    break
                sheet, chunk = part
                mark = time.perf_counter()
                with _chunk_transaction(engine) as conn:
                    repository = CompanyMappingRepository(conn) if conn is not None else None
                    provider = None
                    if eqc_usable and remaining > 0 and provider_factory is not None:
                        provider = provider_factory(repository, remaining)
                        if waits_end is None:
                            waits_end = time.monotonic() + strategy.sync_wait_s
                    resolver = CompanyIdResolver(
                        yaml_overrides=overrides,
                        mapping_repository=None
                        if repository is None
                        else snapshot.bind(repository),
                        eqc_provider=provider,
                        salt=salt,
                        before_eqc=conn.commit if conn is not None else None,
                    )
                    chunk_strategy = dataclasses.replace(
                        strategy,
                        sync_lookup_budget=remaining if provider is not None else 0,
                        use_enrichment_service=provider is not None,
                        sync_wait_s=strategy.sync_wait_s
                        if waits_end is None
                        else max(0.0, waits_end - time.monotonic()),
                    )
                    result = resolver.resolve_batch(chunk, chunk_strategy)
                report.add_time("resolve", clock.ms_since(mark, None))
                stats = result.statistics
                if conn is None:
                    offline_chunks += 1
                    _count_database_unreachable(stats, strategy)
                if provider is not None:
                    if stats.budget_consumed:  # the provider cached what EQC found
                        snapshot.clear()
                    remaining = max(0, remaining - stats.budget_consumed)
                    eqc_usable = provider.is_available and not provider.rate_limited
                stats.budget_remaining = remaining
                reporting.merge_statistics(report.statistics, stats)
                # Written on the writer thread while the next chunk is read and resolved.
                write = functools.partial(
                    _write_chunk,
                    writer,
                    tally,
                    chunk[strategy.customer_name_column],
                    result.data,
                    sheet=sheet,
                    output_column=strategy.output_column,
                )
                report.add_time("write", behind.submit(write))
                report.rows_in += len(chunk)
                report.chunks += 1
                if progress is not None:
                    progress(len(chunk))
                log.debug("cli.chunk_resolved", rows=len(chunk), chunk=report.chunks)
                del chunk, result, write
                collector.collect_young()
            report.add_time("write", behind.drain())
            writer.finish()
            report.rows_out = writer.rows_written
            report.unknown_companies = tally.write(
                unknown_file.open("w", encoding=reporting.EXPORT_ENCODING, newline="")
            )
            _add_warnings(
                report,
                source,
                strategy,
                offline_chunks=offline_chunks,
                eqc_usable=eqc_usable,
                remaining=remaining,
            )
            report.finished_at = clock.utcnow()
            report.add_time("total", clock.ms_since(total_started, None))
            report.dump_json(report_file.open("w", encoding="utf-8"))
            # The old report goes first: no crash between the renames can leave a report
            # that vouches for an output it did not describe.
            atomic.commit_all(
                [writer.file, unknown_file, report_file], invalidate_first=[report_path]
            )
    finally:
        unknown_file.discard()
        report_file.discard()
    log.info(
        "cli.file_resolved",
        rows_in=report.rows_in,
        rows_out=report.rows_out,
        chunks=report.chunks,
        cache_aliases_asked=snapshot.asked,
        cache_aliases_from_snapshot=snapshot.answered,
        elapsed_ms=report.timings_ms["total"],
    )
    return ResolvedFile(
        report=report, output_path=output_path, report_path=report_path, unknown_path=unknown_path
    )


def _write_chunk(
    writer: frames.FrameWriter,
    tally: reporting.UnknownTally,
    names: pd.Series,
    data: pd.DataFrame,
    *,
    sheet: str | None,
    output_column: str,
) -> None:
    """Count the chunk's unknown names and append it to the output (the writer thread)."""
    tally.add(names, data[output_column])
    writer.write(data, sheet=sheet)


def open_output(source: frames.FrameSource, output_path: Path) -> frames.FrameWriter:
    return frames.open_writer(
        output_path,
        source.format,
        encoding=source.encoding,
        sheet=source.sheet,
        grids=source.grids,
        preambles=source.preambles,
    )


def _add_warnings(
    report: reporting.RunReport,
    source: frames.FrameSource,
    strategy: ResolutionStrategy,
    *,
    offline_chunks: int,
    eqc_usable: bool,
    remaining: int,
) -> None:
    if offline_chunks:
        report.warnings.append(
            f"the database was unreachable for {offline_chunks} chunk(s): their unknown names "
            "got temporary ids without the mapping cache and nothing was queued; "
            "run resolve again once the database is back"
        )
    sync_warnings = list(report.statistics.get("warnings", []))
    report.warnings.extend(sync_warnings)
    if strategy.sync_lookup_budget > 0 and not eqc_usable and remaining > 0 and not sync_warnings:
        report.warnings.append("EQC became unavailable during the run; the rest got temporary ids")
    conflicts = int(report.statistics.get("plan_name_conflicts", 0))
    if conflicts:
        report.warnings.append(
            f"{conflicts} row(s) got a plan mapping's id while their name maps to another id: "
            "the sign of a plan mapping learned from a shared plan "
            "(check with `wdh-enrich mappings audit`)"
        )
    too_long = int(report.statistics.get("names_too_long", 0))
    if too_long:
        report.warnings.append(
            f"{too_long} row(s) have a name or key longer than {strategy.max_name_length} "
            "characters: they got no company id and were neither looked up nor queued "
            "(raise the limit with --max-name-length)"
        )
    if source.replaced_bytes:
        report.warnings.append(
            f"{source.replaced_bytes} undecodable byte(s) of {source.path.name} were replaced "
            f"with U+FFFD under --encoding {source.encoding}"
        )


@contextmanager
def _chunk_transaction(engine: sa.Engine | None) -> Iterator[sa.Connection | None]:
    """The chunk's connection, or ``None`` when there is no database to reach (no connection,
    or no transaction: a ``BEGIN`` refused, e.g. a locked SQLite file).

    The connection commits as it goes: the resolver commits its reads before the EQC tier
    (``before_eqc``), the provider each cache write, and this block the rest at
    the end — so no network call waits inside a write transaction.
    """
    if engine is None:
        yield None
        return
    try:
        conn = engine.connect()
        conn.exec_driver_sql("SELECT 1")  # opens the transaction: BEGIN may fail too
    except sa.exc.DBAPIError as exc:
        log.warning("cli.database_unreachable", error_type=driver_error_type(exc))
        yield None
        return
    with conn:
        try:
            yield conn
        except BaseException:
            conn.rollback()
            raise
        conn.commit()


def _count_database_unreachable(stats: Any, strategy: ResolutionStrategy) -> None:
    stats.tier_errors["database"] = stats.tier_errors.get("database", 0) + 1
    if strategy.enable_async_queue and stats.temp_ids_generated:
        stats.async_queue_errors += 1
