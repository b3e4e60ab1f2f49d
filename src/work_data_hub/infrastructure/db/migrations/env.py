"""Alembic environment for the ``enterprise`` schema.

Frozen: imports no application code. The caller (``work_data_hub.infrastructure.db.migrate``)
hands over an open connection in ``config.attributes["connection"]``; running ``alembic``
directly with a ``sqlalchemy.url`` also works.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

# Serializes concurrent upgrades (several workers starting at once) on PostgreSQL.
_MIGRATION_LOCK_KEY = 7_201_306_551


def _run(connection: sa.Connection) -> None:
    context.configure(connection=connection, transaction_per_migration=False)
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            connection.execute(
                sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK_KEY}
            )
        context.run_migrations()


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = sa.create_engine(context.config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as conn:
        _run(conn)
        conn.commit()
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run against a database")
run_migrations_online()
