"""``wdh-enrich export unknown`` and ``wdh-enrich mappings import|export``: the review loop.

:mod:`work_data_hub.reporting` and :mod:`work_data_hub.review` (pandas, SQLAlchemy,
rapidfuzz) are imported by the command that runs.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from work_data_hub.cli._console import info, print_json, print_table
from work_data_hub.cli._context import load_settings, open_engine
from work_data_hub.cli._defaults import MAPPING_SOURCES, MATCH_TYPES

__all__ = ["export_app", "mappings_app"]

export_app = typer.Typer(help="Export data for manual review.", no_args_is_help=True)
mappings_app = typer.Typer(
    help="Import reviewed mappings; export, correct, delete and audit stored ones.",
    no_args_is_help=True,
)

_MATCH_TYPES = ", ".join(MATCH_TYPES)
_SOURCES = ", ".join(MAPPING_SOURCES)


@export_app.command("unknown")
def export_unknown(
    *,
    output: Annotated[
        Path | None,
        typer.Option(
            "-o",
            "--output",
            help="Write the review file here: .xlsx (with drop-downs) or CSV "
            "(default: a table on stdout).",
        ),
    ] = None,
    runs: Annotated[
        list[Path] | None,
        typer.Option("--runs", help="Run files (*.unknown.csv) to take occurrence counts from."),
    ] = None,
    limit: Annotated[
        int | None, typer.Option("--limit", min=1, help="Only the most frequent N.")
    ] = None,
    suggestions: Annotated[
        bool,
        typer.Option(
            "--suggestions/--no-suggestions",
            help="Add up to three likely companies per name (EQC's answers, the mapping cache).",
        ),
    ] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Companies still unknown, most frequent first, with suggested company ids.

    The file has an empty company_id column: fill or pick ids, then give the file to
    'mappings import' (rows left blank are ignored).
    """
    from work_data_hub import reporting, review
    from work_data_hub.io import atomic

    settings = load_settings()
    counts = reporting.read_unknown_counts(runs) if runs else None
    with open_engine(settings) as engine:
        rows = review.unknown_for_review(
            engine, limit=limit, run_counts=counts, suggestions=suggestions
        )
    if output is not None:
        atomic.check_target(output, runs or [], role="export")
        written = review.write_review_file(output, rows)
        info(f"wrote {written} unknown compan{'y' if written == 1 else 'ies'} to {output}")
    elif as_json:
        print_json([row.to_dict() for row in rows])
    else:
        columns = list(reporting.UNKNOWN_COLUMNS)
        if suggestions:
            columns.append("top suggestion")
        print_table(
            f"unknown companies ({len(rows)})",
            columns,
            [
                row.company.row()
                + ([_top(row.suggestions[0]) if row.suggestions else "-"] if suggestions else [])
                for row in rows
            ],
        )


def _top(suggestion: Any) -> str:
    return f"{suggestion.company_id} {suggestion.name} ({suggestion.source}, {suggestion.score})"


@mappings_app.command("import")
def import_mappings(
    path: Annotated[Path, typer.Argument(metavar="FILE", help="Reviewed CSV or .xlsx file.")],
    *,
    sheet: Annotated[
        str | None, typer.Option("--sheet", help="Excel sheet name (default: the first).")
    ] = None,
    replace: Annotated[
        bool,
        typer.Option(
            "--replace", help="Change names already mapped by hand to the reviewed id (recorded)."
        ),
    ] = False,
    accept_above: Annotated[
        float | None,
        typer.Option(
            "--accept-above",
            min=0.0,
            max=1.0,
            help="In a file from 'export unknown', take the first suggestion of every row "
            "left blank whose score is above SCORE.",
            metavar="SCORE",
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check and list, import nothing.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the counts as JSON.")] = False,
) -> None:
    """Import reviewed names and company ids as manual mappings (all rows or none); the
    queue requests of those names are closed with the reviewed ids.

    A file from 'export unknown' may leave company_id blank: such rows are ignored.
    """
    from work_data_hub import review_import

    settings = load_settings()
    with open_engine(settings) as engine:
        result = review_import.import_reviewed_mappings(
            engine,
            path,
            sheet=sheet,
            replace=replace,
            accept_above=accept_above,
            dry_run=dry_run,
        )
    if as_json:
        print_json(
            {
                **result.to_dict(),
                "accepted_rows": [
                    {"line": a.line, "company_name": a.company_name, "company_id": a.company_id,
                     "score": a.score}
                    for a in result.accepted
                ],
            }
        )  # fmt: skip
        return
    if accept_above is not None:
        print_table(
            f"suggestions above {accept_above} ({len(result.accepted)})"
            + (", dry run: nothing imported" if dry_run else ""),
            ["line", "company_name", "company_id", "score"],
            [[a.line, a.company_name, a.company_id, a.score] for a in result.accepted],
        )
    print_table(
        "mappings import" + (" (dry run)" if dry_run else ""),
        ["rows", "inserted", "already present", "replaced", "requests closed", "ignored (blank)"],
        [
            [
                result.rows,
                result.inserted,
                result.skipped,
                result.replaced,
                result.requests_closed,
                result.ignored,
            ]
        ],
    )


@mappings_app.command("delete")
def delete_mappings(
    alias: Annotated[
        str | None,
        typer.Argument(help="The alias (name, plan code, account number, plan|name) to delete."),
    ] = None,
    *,
    match_type: Annotated[
        str | None, typer.Option("--match-type", help=f"Match type ({_MATCH_TYPES}).")
    ] = None,
    source: Annotated[
        str | None, typer.Option("--source", help=f"Only mappings of this source ({_SOURCES}).")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List what would be deleted; change nothing.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Delete one mapping (ALIAS with --match-type) or all of a --source / --match-type;
    every deletion is recorded in the mapping history."""
    from work_data_hub import mapping_review, reporting

    _check_choice(match_type, MATCH_TYPES, "--match-type")
    _check_choice(source, MAPPING_SOURCES, "--source")
    if alias is not None and match_type is None:
        raise typer.BadParameter("an alias needs its --match-type", param_hint="--match-type")
    if alias is None and match_type is None and source is None:
        raise typer.BadParameter("give an alias, --source or --match-type", param_hint="ALIAS")
    keys = None
    if alias is not None:
        assert match_type is not None
        keys = [(mapping_review.alias_key(match_type, alias), match_type)]
    settings = load_settings()
    with open_engine(settings) as engine:
        deleted = mapping_review.delete_mappings(
            engine,
            keys=keys,
            source=source,
            match_type=None if keys is not None else match_type,
            dry_run=dry_run,
        )
    rows = [[getattr(m, c) for c in reporting.MAPPING_COLUMNS] for m in deleted]
    if as_json:
        print_json(
            {
                "dry_run": dry_run,
                "mappings": [dict(zip(reporting.MAPPING_COLUMNS, r, strict=True)) for r in rows],
            }
        )
        return
    verb = "would delete" if dry_run else "deleted"
    print_table(f"mappings delete: {verb} {len(deleted)}", list(reporting.MAPPING_COLUMNS), rows)


@mappings_app.command("history")
def mapping_history(
    alias: Annotated[
        str | None, typer.Argument(help="Only changes of this alias (as stored).")
    ] = None,
    *,
    limit: Annotated[int, typer.Option("--limit", min=1, help="At most N changes.")] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Replacements and deletions of mappings, newest first."""
    from work_data_hub import mapping_review

    settings = load_settings()
    with open_engine(settings) as engine:
        entries = mapping_review.mapping_history(engine, alias_name=alias, limit=limit)
    columns = ["changed_at", "action", "alias_name", "match_type", "old_id", "new_id", "source"]
    rows = [
        [
            e.changed_at.isoformat(timespec="seconds"),
            e.action,
            e.alias_name,
            e.match_type,
            e.old_id or "",
            e.new_id or "",
            e.source,
        ]
        for e in entries
    ]
    if as_json:
        print_json([dict(zip(columns, r, strict=True)) for r in rows])
        return
    print_table(f"mapping history ({len(entries)})", columns, rows)


@mappings_app.command("audit")
def audit_mappings(
    paths: Annotated[
        list[Path], typer.Argument(metavar="FILE...", help="Data files to check the mappings with.")
    ],
    *,
    fix: Annotated[
        bool, typer.Option("--fix", help="Delete the contradicted pipeline_backflow mappings.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Learned plan and account mappings the files contradict (rows of several companies
    under one key); --fix removes those the backflow learned, with a record."""
    from work_data_hub import mapping_review

    settings = load_settings()
    with open_engine(settings) as engine:
        findings = mapping_review.audit_files(engine, paths, fix=fix)
    if as_json:
        print_json([f.to_dict() for f in findings])
        return
    columns = ["alias_name", "match_type", "canonical_id", "source", "rows", "removed"]
    print_table(
        f"contradicted mappings ({len(findings)})",
        columns,
        [[f.to_dict()[c] for c in columns] for f in findings],
    )


def _check_choice(value: str | None, choices: tuple[str, ...], hint: str) -> None:
    if value is not None and value not in choices:
        raise typer.BadParameter(f"unknown value {value!r}", param_hint=hint)


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
