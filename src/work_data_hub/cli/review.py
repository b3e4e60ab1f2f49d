"""``wdh-enrich export unknown`` and ``wdh-enrich mappings import|export``: the review loop.

:mod:`work_data_hub.reporting` (pandas, SQLAlchemy) is imported by the command that runs.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from work_data_hub.cli._console import info, print_json, print_table
from work_data_hub.cli._context import load_settings, open_engine
from work_data_hub.cli._defaults import MATCH_TYPES

__all__ = ["export_app", "mappings_app"]

export_app = typer.Typer(help="Export data for manual review.", no_args_is_help=True)
mappings_app = typer.Typer(
    help="Import reviewed mappings, export stored ones.", no_args_is_help=True
)

_MATCH_TYPES = ", ".join(MATCH_TYPES)


@export_app.command("unknown")
def export_unknown(
    *,
    output: Annotated[
        Path | None,
        typer.Option("-o", "--output", help="Write CSV here (default: a table on stdout)."),
    ] = None,
    runs: Annotated[
        list[Path] | None,
        typer.Option("--runs", help="Run files (*.unknown.csv) to take occurrence counts from."),
    ] = None,
    limit: Annotated[
        int | None, typer.Option("--limit", min=1, help="Only the most frequent N.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Companies still unknown (company_name, temporary_id, first_seen, occurrence_count)."""
    from work_data_hub import reporting
    from work_data_hub.io import atomic

    settings = load_settings()
    counts = reporting.read_unknown_counts(runs) if runs else None
    with open_engine(settings) as engine:
        companies = reporting.unknown_from_database(engine, run_counts=counts)
    if limit is not None:
        companies = companies[:limit]
    if output is not None:
        atomic.check_target(output, runs or [], role="export")
        written = reporting.write_unknown_csv(output, companies)
        info(f"wrote {written} unknown compan{'y' if written == 1 else 'ies'} to {output}")
    elif as_json:
        print_json([dict(zip(reporting.UNKNOWN_COLUMNS, c.row(), strict=True)) for c in companies])
    else:
        print_table(
            f"unknown companies ({len(companies)})",
            list(reporting.UNKNOWN_COLUMNS),
            [c.row() for c in companies],
        )


@mappings_app.command("import")
def import_mappings(
    path: Annotated[Path, typer.Argument(metavar="FILE", help="Reviewed CSV or .xlsx file.")],
    *,
    sheet: Annotated[
        str | None, typer.Option("--sheet", help="Excel sheet name (default: the first).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the counts as JSON.")] = False,
) -> None:
    """Import reviewed names and company ids as manual mappings (all rows or none)."""
    from work_data_hub import reporting

    settings = load_settings()
    with open_engine(settings) as engine:
        result = reporting.import_reviewed_mappings(engine, path, sheet=sheet)
    if as_json:
        print_json(result.to_dict())
        return
    print_table(
        "mappings import",
        ["rows", "inserted", "already present"],
        [[result.rows, result.inserted, result.skipped]],
    )


@mappings_app.command("export")
def export_mappings(
    *,
    output: Annotated[
        Path | None,
        typer.Option("-o", "--output", help="Write CSV here (default: CSV on stdout)."),
    ] = None,
    match_type: Annotated[
        list[str] | None,
        typer.Option("--match-type", help=f"Only these match types ({_MATCH_TYPES})."),
    ] = None,
) -> None:
    """Stored mappings as CSV (alias, id, match type, priority, source, confidence)."""
    from work_data_hub import reporting
    from work_data_hub.io import atomic

    unknown = sorted(set(match_type or ()) - set(MATCH_TYPES))
    if unknown:
        raise typer.BadParameter(
            f"unknown match type(s): {', '.join(unknown)}", param_hint="--match-type"
        )
    settings = load_settings()
    columns = list(reporting.MAPPING_COLUMNS)
    if output is not None:
        atomic.check_target(output, [], role="export")
    with open_engine(settings) as engine:
        rows = (
            [row[c] for c in columns]
            for row in reporting.export_mappings(engine, match_type or None)
        )
        if output is None:
            reporting.write_csv_rows(sys.stdout, columns, rows)
            return
        with atomic.atomic_text(output, encoding=reporting.EXPORT_ENCODING, newline="") as handle:
            count = reporting.write_csv_rows(handle, columns, rows)
    info(f"wrote {count} mapping(s) to {output}")
