"""Shared pieces of the reliability suite: databases to break, a dead port, and a log sink.

Every database here is a throwaway clone of the session template, so killing its backends
never touches anyone else's work on the shared server.
"""

from __future__ import annotations

import io
import json
import logging
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import sqlalchemy as sa
import structlog

from work_data_hub.infrastructure.db import tables
from work_data_hub.infrastructure.db.engine import create_engine
from work_data_hub.utils.logging import configure_logging

R = tables.enrichment_requests


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def closed_port_pg_url() -> str:
    """A PostgreSQL URL whose port refuses connections at once."""
    return f"postgresql+psycopg://wdh:never-used@127.0.0.1:{free_port()}/wdh"


def terminate_backends(url: str) -> int:
    """Kill every session of ``url``'s database from an admin connection; returns how many."""
    target = sa.make_url(url)
    admin = sa.create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            return int(
                conn.execute(
                    sa.text(
                        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                        "WHERE datname = :db AND pid <> pg_backend_pid()"
                    ),
                    {"db": target.database},
                ).scalar_one()
            )
    finally:
        admin.dispose()


def terminate_backend_of(conn: sa.Connection, url: str) -> None:
    """Kill the session behind ``conn`` from another connection."""
    pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
    admin = sa.create_engine(
        sa.make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT"
    )
    try:
        with admin.connect() as other:
            other.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    finally:
        admin.dispose()


def request_rows(engine: sa.Engine) -> list[Any]:
    """Every enrichment request, oldest first."""
    with engine.connect() as conn:
        return list(conn.execute(sa.select(R).order_by(R.c.id)))


@pytest.fixture
def pg_url(database_factory: Any) -> Iterator[str]:
    """A fresh migrated PostgreSQL database of this test alone (safe to break)."""
    factory = database_factory("postgresql")
    url = factory.new_url()
    yield url
    factory.drop(url)


@pytest.fixture
def pg_engine(pg_url: str) -> Iterator[sa.Engine]:
    engine = create_engine(pg_url)
    yield engine
    engine.dispose()


@pytest.fixture
def sqlite_engine(database_factory: Any) -> Iterator[sa.Engine]:
    factory = database_factory("sqlite")
    url = factory.new_url()
    engine = create_engine(url)
    yield engine
    engine.dispose()
    factory.drop(url)


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgresql),
    ]
)
def any_engine(request: pytest.FixtureRequest, database_factory: Any) -> Iterator[sa.Engine]:
    """An engine on a fresh database, once per dialect."""
    factory = database_factory(request.param)
    url = factory.new_url()
    engine = create_engine(url)
    yield engine
    engine.dispose()
    factory.drop(url)


# -- logs -------------------------------------------------------------------------------------


class _StdlibRecords(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.messages: list[str] = []
        self._guard = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        with self._guard:
            self.messages.append(f"{record.name} {record.getMessage()}")


@dataclass
class LogSink:
    """Every log line of a scenario: structlog events as the code emitted them (before
    redaction), the JSON lines the production chain rendered, and stdlib records."""

    stream: io.StringIO
    events: list[dict[str, Any]] = field(default_factory=list)
    stdlib: _StdlibRecords = field(default_factory=_StdlibRecords)
    extra_text: list[str] = field(default_factory=list)

    def json_lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.stream.getvalue().splitlines() if line]

    def everything(self) -> str:
        """All captured text, one blob, for substring checks."""
        return "\n".join(
            [
                self.stream.getvalue(),
                *(repr(event) for event in self.events),
                *self.stdlib.messages,
                *self.extra_text,
            ]
        )

    def event_names(self) -> set[str]:
        return {str(event.get("event")) for event in self.events}


@pytest.fixture
def log_sink() -> Iterator[LogSink]:
    """The production structlog chain (JSON, redaction) at DEBUG into a buffer, with a
    recorder in front of it that keeps each event as emitted (like ``capture_logs``, but
    without dropping it), and a stdlib handler on the root logger."""
    stream = io.StringIO()
    sink = LogSink(stream=stream)
    configure_logging(level="DEBUG", log_format="json", stream=stream)
    processors = structlog.get_config()["processors"]
    lock = threading.Lock()

    def record(_logger: Any, _method: str, event_dict: Any) -> Any:
        with lock:
            sink.events.append(dict(event_dict))
        return event_dict

    structlog.configure(processors=[record, *processors])
    root = logging.getLogger()
    root.addHandler(sink.stdlib)
    try:
        yield sink
    finally:
        root.removeHandler(sink.stdlib)
        structlog.reset_defaults()


def leaked(text: str, secrets: list[str]) -> list[str]:
    """The secrets found in ``text`` (an empty list proves none leaked)."""
    return [secret for secret in secrets if secret and secret in text]
