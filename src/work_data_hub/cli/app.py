"""The ``wdh-enrich`` application and its one top-level error handler.

Exit codes: 0 success (a degraded run with a warning included), 1 a handled error shown as
one ``error: …`` line (traceback with ``--debug``), 2 usage.
"""

from __future__ import annotations

import sys
from typing import Any

import typer
from typer.core import TyperGroup

from work_data_hub.cli import db, demo, eqc, queue, resolve, review
from work_data_hub.cli._console import err_console
from work_data_hub.errors import WdhError

__all__ = ["app", "main"]


class _HandledGroup(TyperGroup):
    """Maps :class:`WdhError` to exit code 1 with one line, wherever a command raises it."""

    def invoke(self, ctx: Any) -> Any:  # typer vendors click; its Context type is private
        try:
            return super().invoke(ctx)
        except WdhError as exc:
            if ctx.meta.get("wdh.debug"):
                raise
            err_console.print(f"error: {exc}", style="red", markup=False, highlight=False)
            ctx.exit(1)
        except Exception as exc:
            message = _database_message(exc)
            if message is None or ctx.meta.get("wdh.debug"):
                raise
            # A driver error that escaped a repository: still one line, and no data.
            err_console.print(f"error: {message}", style="red", markup=False, highlight=False)
            ctx.exit(1)


def _database_message(exc: Exception) -> str | None:
    """A one-line account of a driver error that names no data (driver messages can);
    ``None`` for anything else. SQLAlchemy is looked up, not imported: a command that never
    loaded it cannot have raised its errors."""
    sa = sys.modules.get("sqlalchemy")
    if sa is None or not isinstance(exc, sa.exc.DBAPIError):
        return None
    if "database is locked" in str(exc.orig):
        return (
            "the database is locked by another command (SQLite allows one writer); "
            "try again when it has finished"
        )
    return f"the database operation failed ({type(exc.orig).__name__})"


app = typer.Typer(
    cls=_HandledGroup,
    name="wdh-enrich",
    help="Resolve company names in annuity data to canonical company IDs.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.command("resolve")(resolve.resolve)
app.command("remap")(resolve.remap)
app.add_typer(queue.app, name="queue")
app.add_typer(review.export_app, name="export")
app.add_typer(review.mappings_app, name="mappings")
app.command("eqc-server")(eqc.eqc_server)
app.add_typer(db.app, name="db")
app.command("demo")(demo.demo)


@app.callback()
def _root(
    ctx: typer.Context,
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks of handled errors."),
) -> None:
    ctx.meta["wdh.debug"] = debug


def main() -> None:
    """Console-script entry point."""
    sys.exit(app())
