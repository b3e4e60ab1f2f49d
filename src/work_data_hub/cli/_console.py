"""Rich consoles: results on stdout, progress, warnings and errors on stderr."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from work_data_hub.io.cells import terminal_safe

__all__ = [
    "err_console",
    "info",
    "out_console",
    "print_json",
    "print_table",
    "progress",
    "warn",
    "work_progress",
]

out_console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)


def warn(message: str) -> None:
    """One warning line on stderr."""
    err_console.print(f"warning: {message}", style="yellow", markup=False, highlight=False)


def print_json(data: Any) -> None:
    """Machine-readable output on stdout, one JSON document."""
    out_console.print(
        json.dumps(data, ensure_ascii=False, indent=2, default=str), markup=False, highlight=False
    )


def print_table(title: str, columns: list[str], rows: list[list[Any]]) -> None:
    """A rich table on stdout; cells lose control and escape characters (names are data)."""
    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*(terminal_safe(value) for value in row))
    out_console.print(table)


@contextmanager
def progress(label: str, total: int | None) -> Iterator[Callable[[int], None]]:
    """Yields ``advance(rows)``: a rich bar on a terminal, plain stderr lines otherwise."""
    if err_console.is_terminal:
        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
        )
        with Progress(*columns, console=err_console, transient=True) as bar:
            task = bar.add_task(label, total=total)
            yield lambda rows: bar.advance(task, rows)
        return
    done = 0

    def advance(rows: int) -> None:
        nonlocal done
        done += rows
        of = f"/{total}" if total is not None else ""
        err_console.print(f"{label}: {done}{of} rows", markup=False, highlight=False)

    yield advance


@contextmanager
def work_progress(label: str, total: int) -> Iterator[Callable[[int], None]]:
    """Yields ``update(done)``: a rich bar with an ETA on a terminal, nothing otherwise
    (a worker's log lines already tell a pipe what happened)."""
    if not err_console.is_terminal:
        yield lambda _done: None
        return
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=err_console, transient=True) as bar:
        task = bar.add_task(label, total=total)
        yield lambda done: bar.update(task, completed=min(done, total))


def info(message: str) -> None:
    """One progress or status line on stderr."""
    err_console.print(message, markup=False, highlight=False)
