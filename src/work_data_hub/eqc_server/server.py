"""HTTP side of the local EQC server: a standard-library threading server around EqcApp.

:class:`EqcServer` starts in a background thread (tests, benchmarks) and stops cleanly:
hanging answers are woken, open keep-alive connections are shut down. :func:`run_server`
is the blocking entry point of ``wdh-enrich eqc-server``.

The server never writes request lines to stderr: they would carry company names.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from work_data_hub.eqc_server.app import CallLog, EqcApp, FaultSwitches
from work_data_hub.eqc_server.registry import (
    DEFAULT_REGISTRY_SIZE,
    DEFAULT_SEED,
    Registry,
    build_registry,
)
from work_data_hub.utils.logging import get_logger

__all__ = ["EqcServer", "run_server"]


log = get_logger(__name__)


#: Idle keep-alive connections are closed after this many seconds.
IDLE_CONNECTION_TIMEOUT_S = 30.0


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "EqcLocal/1.0"
    sys_version = ""
    timeout = IDLE_CONNECTION_TIMEOUT_S
    # Headers and body go out in separate writes; with Nagle on, the client's delayed ACK
    # would add ~40 ms to every answer.
    disable_nagle_algorithm = True
    server: _HttpServer

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.track(self.connection, add=False)

    def do_GET(self) -> None:
        answer = self.server.app.handle(self.path, dict(self.headers.items()))
        stopping = self.server.stopping
        if answer.delay_s > 0 and stopping.wait(answer.delay_s):
            self.close_connection = True
            return
        if answer.hang_s > 0 and stopping.wait(answer.hang_s):
            self.close_connection = True
            return
        payload = json.dumps(answer.body, ensure_ascii=False).encode("utf-8")
        try:
            self.send_response(answer.status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            for name, value in answer.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)
        except OSError:  # the client gave up (timeout): nothing left to answer
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        """Silenced: request lines carry the search key (a company name)."""


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    # The socketserver default backlog of 5 drops connections when dozens of worker
    # threads connect at once; each dropped SYN costs the client a one-second retransmit.
    request_queue_size = 256

    def __init__(self, address: tuple[str, int], app: EqcApp) -> None:
        self.app = app
        self.stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def track(self, connection: socket.socket, *, add: bool) -> None:
        with self._connections_lock:
            if add:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)

    def close_connections(self) -> None:
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Count-only logging; the default prints a traceback that may quote a request."""
        log.debug("eqc_server.connection_error")


class EqcServer:
    """The local EQC server on ``host:port`` (``port=0`` picks a free one)."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        token: str,
        registry: Registry | None = None,
        faults: FaultSwitches | None = None,
        calls: CallLog | None = None,
        registry_size: int = DEFAULT_REGISTRY_SIZE,
        seed: int = DEFAULT_SEED,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not token:
            raise ValueError("the EQC server needs a token")
        self.registry = registry if registry is not None else build_registry(registry_size, seed)
        self.app = EqcApp(self.registry, token, faults=faults, calls=calls, clock=clock)
        self._http = _HttpServer((host, port), self.app)
        self._thread: threading.Thread | None = None
        self._serving = threading.Event()
        self._stop_lock = threading.Lock()
        self._stopped = False

    def __repr__(self) -> str:
        return f"EqcServer(base_url={self.base_url!r})"

    @property
    def host(self) -> str:
        return str(self._http.server_address[0])

    @property
    def port(self) -> int:
        return int(self._http.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def faults(self) -> FaultSwitches:
        return self.app.faults

    @property
    def calls(self) -> CallLog:
        return self.app.calls

    def start(self) -> EqcServer:
        """Serve in a daemon thread; returns ``self``."""
        if self._thread is not None:
            raise RuntimeError("server already started")
        self._thread = threading.Thread(
            target=self.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="eqc-server",
            daemon=True,
        )
        # Marked as serving before the thread runs, so an immediate stop() still shuts the
        # loop down (socketserver honours a shutdown requested before serve_forever).
        self._serving.set()
        self._thread.start()
        return self

    def serve_forever(self, poll_interval: float = 0.2) -> None:
        """Serve in the calling thread until :meth:`stop` is called from another thread."""
        self._serving.set()
        try:
            self._http.serve_forever(poll_interval=poll_interval)
        finally:
            self._serving.clear()

    def stop(self) -> None:
        """Stop serving, wake hanging answers, close connections; idempotent.

        Call it from another thread than the one in :meth:`serve_forever`, or after it
        returned.
        """
        with self._stop_lock:
            if self._stopped:
                return
            self._stopped = True
        self._http.stopping.set()
        if self._serving.is_set():
            self._http.shutdown()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._http.close_connections()
        self._http.server_close()


def run_server(
    host: str,
    port: int,
    *,
    token: str,
    registry_size: int = DEFAULT_REGISTRY_SIZE,
    seed: int = DEFAULT_SEED,
    faults: FaultSwitches | None = None,
    on_ready: Callable[[EqcServer], None] | None = None,
) -> None:
    """Serve the local EQC registry on ``host:port`` until interrupted (Ctrl-C).

    ``on_ready`` is called with the started server (for printing its ``base_url``).
    """
    server = EqcServer(
        host, port, token=token, registry_size=registry_size, seed=seed, faults=faults
    )
    log.info("eqc_server.started", port=server.port, companies=len(server.registry))
    if on_ready is not None:
        on_ready(server)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        log.info("eqc_server.stopped", calls=server.calls.total)
