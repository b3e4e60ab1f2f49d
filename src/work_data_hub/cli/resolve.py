"""``wdh-enrich resolve`` and ``wdh-enrich remap``: files in, files out.

The file services (pandas, pyarrow, SQLAlchemy, the resolver) are imported by the command
that runs, not with the CLI.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from work_data_hub.cli._console import info, print_json, print_table, progress, warn
from work_data_hub.cli._context import load_settings, open_engine, require_eqc, warn_if_dev_salt
from work_data_hub.cli._defaults import DEFAULT_CHUNK_ROWS, DEFAULT_MAX_NAME_LENGTH
from work_data_hub.errors import InputError, StorageError

if TYPE_CHECKING:
    import sqlalchemy as sa

__all__ = ["remap", "resolve"]

_CHUNK_HELP = "Rows per chunk for CSV and Parquet (bounds memory)."
_INPUT_HELP = "CSV, .xlsx, .xls, .ods or Parquet file."
_SHEET_HELP = "Workbook sheet: a name or a position from 1 (default: the first sheet)."
_ENCODING_HELP = "Force the CSV encoding (bad bytes become U+FFFD), e.g. utf-8 or gb18030."
_HEADER_HELP = "Workbook row (from 1) holding the header (default: found in the first 20 rows)."


def resolve(
    input_path: Annotated[Path, typer.Argument(metavar="INPUT", help=_INPUT_HELP)],
    *,
    output: Annotated[
        Path | None,
        typer.Option("-o", "--output", help="Output file (default: INPUT.resolved.<ext>)."),
    ] = None,
    sheet: Annotated[str | None, typer.Option("--sheet", help=_SHEET_HELP)] = None,
    all_sheets: Annotated[
        bool,
        typer.Option("--all-sheets", help="Resolve every sheet holding the customer-name column."),
    ] = False,
    header_row: Annotated[
        int | None, typer.Option("--header-row", min=1, help=_HEADER_HELP)
    ] = None,
    encoding: Annotated[str | None, typer.Option("--encoding", help=_ENCODING_HELP)] = None,
    output_column: Annotated[
        str, typer.Option("--output-column", help="Name of the column the ids go to.")
    ] = "company_id",
    replace_output_column: Annotated[
        bool,
        typer.Option("--replace-output-column", help="Overwrite an existing output column."),
    ] = False,
    max_name_length: Annotated[
        int,
        typer.Option(
            "--max-name-length", min=1, help="Longer names or keys get no id (counted, warned)."
        ),
    ] = DEFAULT_MAX_NAME_LENGTH,
    sync_budget: Annotated[
        int,
        typer.Option(
            "--sync-budget", min=0, help="EQC lookups that may reach EQC (needs WDH_EQC_TOKEN)."
        ),
    ] = 0,
    sync_wait: Annotated[
        float,
        typer.Option(
            "--sync-wait",
            min=0,
            help="Seconds the EQC lookups may wait for rate-limit slots, for the whole run.",
        ),
    ] = 30.0,
    no_queue: Annotated[
        bool, typer.Option("--no-queue", help="Do not enqueue unknown names.")
    ] = False,
    no_backflow: Annotated[
        bool, typer.Option("--no-backflow", help="Do not learn mappings from existing ids.")
    ] = False,
    column_map: Annotated[
        list[str] | None,
        typer.Option(
            "--column-map", metavar="KEY=COLUMN", help="Read KEY from COLUMN: 客户名称=Customer."
        ),
    ] = None,
    chunk_rows: Annotated[
        int, typer.Option("--chunk-rows", min=1, help=_CHUNK_HELP)
    ] = DEFAULT_CHUNK_ROWS,
    explain: Annotated[
        bool,
        typer.Option(
            "--explain",
            help="Add per-row provenance columns: tier, mapping source and confidence.",
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the run report as JSON.")] = False,
) -> None:
    """Give every row a company id; write the output, a JSON report and the unknown companies."""
    from work_data_hub.utils import collector

    # Loading the resolver allocates a few hundred thousand objects that all survive:
    # collector passes over them would find nothing. The EQC client (httpx) is loaded
    # only for a run with a sync budget.
    with collector.paused():
        from work_data_hub.cli import _pipeline, _strategy
        from work_data_hub.infrastructure.enrichment.resolve.overrides import (
            load_company_id_overrides,
        )
        from work_data_hub.io import frames

    try:
        mapped = _strategy.parse_column_map(column_map or [])
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--column-map") from None
    settings = load_settings()
    if sync_budget > 0:
        require_eqc(settings, "--sync-budget")
    warn_if_dev_salt(settings)
    if all_sheets and sheet is not None:
        raise typer.BadParameter("give --sheet or --all-sheets, not both", param_hint="--sheet")
    key_columns = _key_columns(mapped)
    source = frames.open_source(
        input_path,
        sheet=sheet,
        text_columns=key_columns,
        encoding=encoding,
        all_sheets=all_sheets,
        header_row=header_row,
        required_column=key_columns[0],
    )
    strategy = _strategy.build_strategy(
        source.columns,
        mapped,
        source_name=input_path.name,
        sync_budget=sync_budget,
        queue=not no_queue,
        backflow=not no_backflow,
        output_column=output_column,
        replace_output_column=replace_output_column,
        max_name_length=max_name_length,
        explain=explain,
    )
    for other in source.sheets[1:]:
        _strategy.check_output_column(
            source.columns_of(other),
            strategy,
            f"{input_path.name} sheet {other!r}",
            replace=replace_output_column,
        )
    strategy.sync_wait_s = sync_wait
    output_path = output or _pipeline.default_output_path(input_path)
    try:
        overrides = load_company_id_overrides(settings.mappings_dir)
    except ValueError as exc:  # a bad override file (names the file): one error line
        raise InputError(str(exc)) from exc
    with contextlib.ExitStack() as stack:
        engine: sa.Engine | None = None
        try:
            engine = stack.enter_context(open_engine(settings))
        except StorageError as exc:  # never block a pipeline: resolve without the database
            warn(f"{exc}; resolving without it: unknown names get temporary ids, none is queued")
        # The same database-shared rate limit as the workers (in process without a database).
        factory: _pipeline.ProviderFactory | None = None
        if sync_budget > 0:
            from work_data_hub.cli import _eqc

            client = stack.enter_context(_eqc.make_client(settings, "--sync-budget", engine=engine))
            factory = _eqc.provider_factory(client)
        advance = stack.enter_context(progress(f"resolving {input_path.name}", source.total_rows))
        done = _pipeline.resolve_file(
            engine,
            source,
            output_path,
            strategy,
            salt=settings.alias_salt,
            overrides=overrides,
            provider_factory=factory,
            chunk_rows=chunk_rows,
            progress=advance,
        )
    for message in done.report.warnings:
        warn(message)
    info(f"wrote {done.output_path}, {done.report_path.name}, {done.unknown_path.name}")
    if as_json:
        print_json(done.report.to_dict())
    else:
        render_report(done.report.to_dict())


def _key_columns(mapped: dict[str, str]) -> list[str]:
    from work_data_hub.cli import _strategy
    from work_data_hub.infrastructure.enrichment.types import ResolutionStrategy

    defaults = ResolutionStrategy()
    return [mapped.get(name, getattr(defaults, name)) for name in _strategy.KEY_FIELDS]


def render_report(report: dict[str, Any]) -> None:
    """The run report as two small tables: rows and outcomes."""
    stats = report["statistics"]
    rates = report["hit_rates"]
    print_table(
        f"resolved {report['input']} → {report['output']}",
        ["rows in", "rows out", "chunks", "unknown companies", "queued", "total ms"],
        [
            [
                report["rows_in"],
                report["rows_out"],
                report["chunks"],
                report["unknown_companies"],
                stats.get("async_queued", 0),
                round(report["timings_ms"].get("total", 0.0)),
            ]
        ],
    )
    yaml_hits = sum(stats.get("yaml_hits", {}).values())
    total = max(int(stats.get("total_rows", 0)), 1)
    by_type = stats.get("db_cache_hits_by_type", {})
    outcomes = [
        ["YAML overrides", yaml_hits, rates["yaml"]],
        ["DB cache", stats.get("db_cache_hits", 0), rates["db_cache"]],
        *(
            [f"  DB cache: {match_type}", hits, hits / total]
            for match_type, hits in by_type.items()
            if hits
        ),
        ["existing column", stats.get("existing_column_hits", 0), rates["existing_column"]],
        ["same name, existing id", stats.get("propagated_hits", 0), rates["propagated"]],
        ["EQC sync", stats.get("eqc_sync_hits", 0), rates["eqc_sync"]],
        ["temporary id", stats.get("temp_ids_generated", 0), rates["temporary_id"]],
        ["excluded", stats.get("excluded", 0), rates["excluded"]],
        ["unresolved", stats.get("unresolved", 0), rates["unresolved"]],
    ]
    print_table(
        "outcomes",
        ["tier", "rows", "share"],
        [[name, rows, f"{share:.1%}"] for name, rows, share in outcomes],
    )


def remap(
    input_path: Annotated[Path, typer.Argument(metavar="INPUT", help="A resolved file.")],
    *,
    output: Annotated[
        Path, typer.Option("-o", "--output", help="Output file, same format as INPUT.")
    ],
    column: Annotated[
        str, typer.Option("--column", help="Column holding company ids.")
    ] = "company_id",
    sheet: Annotated[str | None, typer.Option("--sheet", help=_SHEET_HELP)] = None,
    chunk_rows: Annotated[
        int, typer.Option("--chunk-rows", min=1, help=_CHUNK_HELP)
    ] = DEFAULT_CHUNK_ROWS,
    as_json: Annotated[bool, typer.Option("--json", help="Print the counts as JSON.")] = False,
) -> None:
    """Replace temporary ids whose enrichment request is resolved by the real company id."""
    from work_data_hub.cli import _remap
    from work_data_hub.io import frames

    settings = load_settings()
    source = frames.open_source(input_path, sheet=sheet, text_columns=[column])
    with (
        open_engine(settings) as engine,
        progress(f"remapping {input_path.name}", source.total_rows) as advance,
    ):
        summary = _remap.remap_file(
            engine, source, output, column=column, chunk_rows=chunk_rows, progress=advance
        )
    info(f"wrote {output}")
    if as_json:
        print_json(summary.to_dict())
    else:
        data = summary.to_dict()
        print_table("remap", list(data), [list(data.values())])
