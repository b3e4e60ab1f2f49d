"""Shared fixtures: a clean environment, and databases on PostgreSQL and SQLite.

Databases follow the template pattern: one migrated template per dialect and test session,
then either a connection in a transaction that is rolled back (``db_conn``), or, for code
that commits, a fresh database cloned from the template (``db_url`` / ``db_engine``):
``CREATE DATABASE … TEMPLATE`` on PostgreSQL, a copied file on SQLite.
"""

from __future__ import annotations

import logging
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
import structlog
from hypothesis import settings as hypothesis_settings

from work_data_hub.infrastructure.db import migrate
from work_data_hub.infrastructure.db.engine import create_engine
from work_data_hub.utils import logging as wdh_logging

PG_URL = os.environ.get(
    "WDH_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
# Property tests assert behaviour, never elapsed time: no per-example deadline, so a busy
# machine cannot fail them (performance lives in benchmarks/).
hypothesis_settings.register_profile("wdh", deadline=None)
hypothesis_settings.load_profile("wdh")

DIALECTS = ["sqlite", "postgresql"]
_SCRUBBED_PREFIXES = ("WDH_", "DATABASE_URL")


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No test sees the developer's WDH_* variables or DATABASE_URL; structlog is reset."""
    for key in list(os.environ):
        if key.startswith(_SCRUBBED_PREFIXES) and key != "WDH_TEST_DATABASE_URL":
            monkeypatch.delenv(key, raising=False)
    _reset_logging()
    yield
    _reset_logging()


def _reset_logging() -> None:
    """structlog back to the library default (routed to ``logging``), no handler of ours."""
    structlog.reset_defaults()
    package = logging.getLogger(wdh_logging.PACKAGE_LOGGER)
    for handler in list(package.handlers):
        package.removeHandler(handler)
    package.setLevel(logging.NOTSET)
    package.propagate = True
    wdh_logging.route_to_standard_logging()


class DatabaseFactory:
    """Clones fresh, migrated databases of one dialect from a per-session template."""

    def __init__(self, dialect: str, workdir: Path) -> None:
        self.dialect = dialect
        self.workdir = workdir
        self._created: list[str] = []
        tag = uuid.uuid4().hex[:10]
        if dialect == "postgresql":
            self._server = sa.make_url(PG_URL).set(drivername="postgresql+psycopg")
            self._admin = sa.create_engine(
                self._server.set(database="postgres"), isolation_level="AUTOCOMMIT"
            )
            self._template = f"wdh_tmpl_{tag}"
            try:
                with self._admin.connect() as conn:
                    conn.exec_driver_sql(f'CREATE DATABASE "{self._template}"')
            except sa.exc.OperationalError as exc:  # pragma: no cover - environment problem
                pytest.fail(f"PostgreSQL is not reachable for the tests: {type(exc).__name__}")
            self._created.append(self._template)
            template_url = self._server.set(database=self._template)
        else:
            self._template_path = workdir / f"template-{tag}.sqlite3"
            template_url = sa.make_url(f"sqlite:///{self._template_path}")
        engine = create_engine(template_url)
        try:
            migrate.upgrade(engine)
        finally:
            engine.dispose()

    def new_url(self) -> str:
        """A fresh database, migrated to head; returns its URL."""
        name = f"wdh_t_{uuid.uuid4().hex[:12]}"
        if self.dialect == "postgresql":
            with self._admin.connect() as conn:
                conn.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE "{self._template}"')
            self._created.append(name)
            return self._server.set(database=name).render_as_string(hide_password=False)
        path = self.workdir / f"{name}.sqlite3"
        shutil.copyfile(self._template_path, path)
        return f"sqlite:///{path}"

    def drop(self, url: str) -> None:
        """Remove a database made by :meth:`new_url` (best effort)."""
        if self.dialect == "postgresql":
            name = sa.make_url(url).database
            with self._admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            if name in self._created:
                self._created.remove(name)
        else:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{sa.make_url(url).database}{suffix}").unlink(missing_ok=True)

    def close(self) -> None:
        if self.dialect == "postgresql":
            with self._admin.connect() as conn:
                for name in reversed(self._created):
                    conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            self._admin.dispose()


@pytest.fixture(scope="session")
def _factories(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, DatabaseFactory]]:
    factories: dict[str, DatabaseFactory] = {}
    workdir = tmp_path_factory.mktemp("databases")
    yield factories
    for factory in factories.values():
        factory.close()
    shutil.rmtree(workdir, ignore_errors=True)


def _factory(factories: dict[str, DatabaseFactory], dialect: str, tmp: Path) -> DatabaseFactory:
    if dialect not in factories:
        factories[dialect] = DatabaseFactory(dialect, tmp)
    return factories[dialect]


@pytest.fixture(scope="session")
def database_factory(
    _factories: dict[str, DatabaseFactory], tmp_path_factory: pytest.TempPathFactory
) -> object:
    """``database_factory(dialect)`` → the session's :class:`DatabaseFactory` for it."""
    workdir = tmp_path_factory.mktemp("factory")
    return lambda dialect: _factory(_factories, dialect, workdir)


@pytest.fixture(
    params=[
        pytest.param(d, id=d, marks=[pytest.mark.postgresql] if d == "postgresql" else [])
        for d in DIALECTS
    ]
)
def dialect(request: pytest.FixtureRequest) -> str:
    """Parametrizes a test over SQLite and PostgreSQL."""
    return str(request.param)


@pytest.fixture
def db_url(dialect: str, database_factory: object) -> Iterator[str]:
    """URL of a fresh migrated database, dropped after the test (for code that commits)."""
    factory: DatabaseFactory = database_factory(dialect)  # type: ignore[operator]
    url = factory.new_url()
    yield url
    factory.drop(url)


@pytest.fixture
def db_engine(db_url: str) -> Iterator[sa.Engine]:
    """An engine on a fresh migrated database."""
    engine = create_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def _shared_engines(database_factory: object) -> Iterator[dict[str, sa.Engine]]:
    engines: dict[str, sa.Engine] = {}
    yield engines
    for engine in engines.values():
        engine.dispose()


@pytest.fixture
def db_conn(
    dialect: str, database_factory: object, _shared_engines: dict[str, sa.Engine]
) -> Iterator[sa.Connection]:
    """A connection inside a transaction that is rolled back after the test."""
    if dialect not in _shared_engines:
        factory: DatabaseFactory = database_factory(dialect)  # type: ignore[operator]
        _shared_engines[dialect] = create_engine(factory.new_url())
    with _shared_engines[dialect].connect() as conn:
        transaction = conn.begin()
        try:
            yield conn
        finally:
            if transaction.is_active:
                transaction.rollback()
