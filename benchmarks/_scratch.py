"""A throwaway database, migrated to head, for one benchmark run.

Every benchmark measures against its own database so that it neither sees nor disturbs
anyone's data: on PostgreSQL a ``wdh_bench_<label>_<random>`` database on the server of the
given URL (dropped afterwards, open sessions included); on SQLite a file in a temporary folder.
"""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

from work_data_hub.infrastructure.db import migrate
from work_data_hub.infrastructure.db.engine import create_engine


def _migrate(url: str) -> None:
    engine = create_engine(url)
    try:
        migrate.upgrade(engine)
    finally:
        engine.dispose()


@contextmanager
def scratch_database(server_url: str, label: str) -> Iterator[str]:
    """Yield the URL of a fresh, migrated database beside ``server_url``; drop it after."""
    parsed = sa.make_url(server_url)
    if parsed.get_backend_name() == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            url = f"sqlite:///{folder}/bench_{label}.sqlite3"
            _migrate(url)
            yield url
        return
    server = parsed.set(drivername="postgresql+psycopg")
    admin = sa.create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    name = f"wdh_bench_{label}_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        url = server.set(database=name).render_as_string(hide_password=False)
        _migrate(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()
