"""Engine factory: one place that knows how PostgreSQL and SQLite differ at connect time.

* PostgreSQL runs through psycopg 3 whatever driver the URL names
  (``postgresql://``, ``postgres://``, ``postgresql+psycopg2://`` all become ``+psycopg``).
* SQLite runs with WAL, foreign keys and a busy timeout; its file's folder is created.
  SQLite has no schemas, so the ``enterprise`` schema is translated to the main database
  with ``schema_translate_map`` — the table definitions stay identical for both.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine

from work_data_hub.errors import ConfigError
from work_data_hub.infrastructure.db import tables

__all__ = [
    "ENTERPRISE_SCHEMA",
    "SQLITE_BUSY_TIMEOUT_MS",
    "create_engine",
    "is_postgresql",
    "masked_url",
    "normalize_url",
]

#: The schema the tables live in; SQLite maps it onto its main database.
ENTERPRISE_SCHEMA = tables.SCHEMA
SQLITE_BUSY_TIMEOUT_MS = 30_000


def normalize_url(url: str | URL) -> URL:
    """Parse ``url`` and point every PostgreSQL URL at the psycopg 3 driver."""
    try:
        parsed = sa.make_url(url)
    except (sa.exc.ArgumentError, ValueError):  # ValueError: a port that is not a number
        raise ConfigError(
            "DATABASE_URL is not a valid URL (check the host, port and escaping)",
            variable="DATABASE_URL",
        ) from None
    backend = parsed.get_backend_name()
    if backend in {"postgresql", "postgres"}:
        return parsed.set(drivername="postgresql+psycopg")
    if backend == "sqlite":
        return parsed
    raise ConfigError("DATABASE_URL must name PostgreSQL or SQLite", variable="DATABASE_URL")


#: Query parameters that carry a secret (libpq and psycopg accept ``?password=``).
_SECRET_QUERY_KEYS = frozenset({"password", "passwd", "pwd", "sslpassword", "token", "secret"})


def masked_url(url: str | URL) -> str:
    """The URL with every form of password hidden, safe for messages and logs."""
    try:
        parsed = sa.make_url(url)
    except (sa.exc.ArgumentError, ValueError):
        return "<invalid url>"
    secret = [key for key in parsed.query if key.lower() in _SECRET_QUERY_KEYS]
    if secret:
        parsed = parsed.update_query_dict(dict.fromkeys(secret, "***"))
    return parsed.render_as_string(hide_password=True)


def is_postgresql(bind: sa.Connection | Engine) -> bool:
    """Whether ``bind`` talks to PostgreSQL (else SQLite)."""
    return bind.dialect.name == "postgresql"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


def _sqlite_begin(conn: sa.Connection) -> None:
    # pysqlite's own transaction handling is switched off (isolation_level=None below) so
    # that SQLAlchemy's BEGIN is the one that runs; IMMEDIATE takes the write lock up front,
    # which makes a read-then-write (queue claim) atomic and avoids deadlock-on-upgrade.
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def create_engine(url: str | URL, **kwargs: Any) -> Engine:
    """Create an engine for ``url`` with the project's per-dialect settings.

    Keyword arguments go to :func:`sqlalchemy.create_engine`.
    """
    parsed = normalize_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        connect_args = dict(kwargs.pop("connect_args", {}))
        connect_args.setdefault("timeout", SQLITE_BUSY_TIMEOUT_MS / 1000)
        connect_args.setdefault("check_same_thread", False)
        connect_args["isolation_level"] = None
        engine = sa.create_engine(parsed, connect_args=connect_args, hide_parameters=True, **kwargs)
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        sa.event.listen(engine, "begin", _sqlite_begin)
        return engine.execution_options(schema_translate_map={ENTERPRISE_SCHEMA: None})
    kwargs.setdefault("pool_pre_ping", True)
    return sa.create_engine(parsed, hide_parameters=True, **kwargs)
