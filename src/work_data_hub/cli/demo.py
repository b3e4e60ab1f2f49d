"""``wdh-enrich demo``: a sample file through resolve, queue work and remap, before/after.

The demo's services (:mod:`._demo`: sample data, the local EQC server, pandas, SQLAlchemy)
are imported when the command runs, not with the CLI.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Annotated

import typer

from work_data_hub.cli._console import info, print_json, print_table
from work_data_hub.cli._context import load_settings, warn_if_dev_salt
from work_data_hub.utils.logging import configure_logging

__all__ = ["demo"]


def demo(
    *,
    workdir: Annotated[
        Path | None,
        typer.Option(
            "--workdir", help="Folder for the demo's files and database (default: .wdh/demo)."
        ),
    ] = None,
    rows: Annotated[
        int, typer.Option("--rows", min=100, max=1_000_000, help="Rows in the sample file.")
    ] = 5_000,
    seed: Annotated[
        int, typer.Option("--seed", help="Sample seed (same seed, same file).")
    ] = 20240601,
    as_json: Annotated[bool, typer.Option("--json", help="Print the results as JSON.")] = False,
) -> None:
    """Generate a sample file and run resolve, queue work and remap on it; show before/after."""
    from work_data_hub.cli._demo import DEMO_SYNC_BUDGET, run_demo

    settings = load_settings()
    # The steps log one line per tier; the demo prints its own summary instead.
    configure_logging(level="WARNING", log_format=settings.log_format)
    warn_if_dev_salt(settings)
    folder = workdir or settings.data_dir / "demo"
    info(f"demo in {folder}: {rows} rows, local EQC server, embedded SQLite")
    result = run_demo(settings, folder, rows=rows, seed=seed)
    if as_json:
        print_json(
            {
                "workdir": str(result.workdir),
                "stages": [
                    {**dataclasses.asdict(s), "hit_rate": round(s.hit_rate, 4)}
                    for s in result.stages
                ],
                "first_run": result.first_run,
                "second_run": result.second_run,
                "worker": result.worker,
                "queue_after": result.queue_after,
                "eqc_calls": result.eqc_calls,
                "review": result.review,
            }
        )
        return
    first = result.first_run
    stats = first["statistics"]
    info(
        f"resolve: {first['rows_in']} rows in, {first['rows_out']} out; "
        f"EQC sync hits {stats.get('eqc_sync_hits', 0)} (budget {stats.get('budget_consumed', 0)}"
        f"/{DEMO_SYNC_BUDGET}); queued {stats.get('async_queued', 0)} unknown names"
    )
    work = result.worker
    info(
        f"queue work: {work['claimed']} requests, {work['resolved']} found, "
        f"{work['cached']} mapped since they were queued (no call), "
        f"{work['not_found']} not in the registry"
    )
    print_table(
        "before / after",
        ["stage", "rows", "right", "wrong", "temp", "no id", "hit rate"],
        [stage.row() for stage in result.stages],
    )
    scored = result.review
    if scored.get("still_unknown"):
        info(
            f"review: {scored['new_spellings']} companies spelled anew next month, "
            f"{scored['still_unknown']} still unknown after queue work; right company first "
            f"{scored['top1_rate']:.1%}, in the top three {scored['top3_rate']:.1%} "
            "(ground truth: the sample generator)"
        )
    info(
        f"files: {result.sample_path.name}, {result.resolved_path.name}, "
        f"{result.remapped_path.name} and reports in {result.workdir}"
    )
