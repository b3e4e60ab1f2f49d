"""``wdh-enrich db``: schema migrations (Alembic is imported by the command that runs)."""

from __future__ import annotations

import typer

from work_data_hub.cli._console import out_console
from work_data_hub.cli._context import load_settings, open_engine

app = typer.Typer(help="Create and migrate the enterprise schema.", no_args_is_help=True)


@app.command()
def upgrade(revision: str = typer.Argument("head", help="Target revision.")) -> None:
    """Migrate the database up (idempotent: running it twice changes nothing)."""
    from work_data_hub.infrastructure.db import migrate

    settings = load_settings()
    with open_engine(settings) as engine:
        migrate.upgrade(engine, revision)
        out_console.print(f"database at revision {migrate.current_revision(engine)}")


@app.command()
def downgrade(
    revision: str = typer.Argument("base", help="Target revision; base drops every table."),
    yes: bool = typer.Option(False, "--yes", help="Confirm that data may be dropped."),
) -> None:
    """Migrate the database down (base removes the enterprise tables)."""
    if not yes:
        raise typer.BadParameter("downgrade drops data; pass --yes to confirm")
    from work_data_hub.infrastructure.db import migrate

    settings = load_settings()
    with open_engine(settings) as engine:
        migrate.downgrade(engine, revision)
        out_console.print(f"database at revision {migrate.current_revision(engine) or 'base'}")


@app.command()
def current() -> None:
    """Print the database's revision and the newest shipped one."""
    from work_data_hub.infrastructure.db import migrate

    settings = load_settings()
    with open_engine(settings) as engine:
        revision = migrate.current_revision(engine)
    head = migrate.head_revision()
    state = "up to date" if revision == head else "needs upgrade"
    out_console.print(f"current: {revision or 'base'}  head: {head}  ({state})")
