"""Start the local EQC server for a test, a demo or a benchmark.

    with running_eqc_server(latency_ms=50) as eqc:
        client = EqcClient(eqc.base_url, eqc.token, ...)
        ...
        assert eqc.calls.count(SEARCH_PATH) == 1
        eqc.faults.set(error_rate=1.0)

The server listens on 127.0.0.1 on a free port, in a thread of the calling process, and
stops when the block ends (hanging answers included). Keyword arguments are fault
switches (see :class:`FaultSwitches`).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from work_data_hub.eqc_server.app import CallLog, FaultSwitches
from work_data_hub.eqc_server.registry import DEFAULT_REGISTRY_SIZE, DEFAULT_SEED, Registry
from work_data_hub.eqc_server.server import EqcServer

__all__ = ["EqcServerHandle", "running_eqc_server"]


@dataclass(frozen=True)
class EqcServerHandle:
    """What a test needs from a running server."""

    base_url: str
    token: str = field(repr=False)
    calls: CallLog
    faults: FaultSwitches
    registry: Registry
    server: EqcServer = field(repr=False)


@contextmanager
def running_eqc_server(
    *,
    token: str | None = None,
    registry: Registry | None = None,
    registry_size: int = DEFAULT_REGISTRY_SIZE,
    seed: int = DEFAULT_SEED,
    fault_seed: int = 0,
    clock: Callable[[], float] = time.monotonic,
    **switches: Any,
) -> Iterator[EqcServerHandle]:
    """Run the local EQC server on 127.0.0.1:<free port> for the duration of the block.

    ``clock`` stamps the call log (``CallRecord.monotonic``): a test that drives its
    client with a controlled clock passes the same one, so windows in the log are the
    windows the rate limiter saw."""
    faults = FaultSwitches(seed=fault_seed, **switches)
    token = token or f"tok-{secrets.token_hex(12)}"
    server = EqcServer(
        "127.0.0.1",
        0,
        token=token,
        registry=registry,
        faults=faults,
        calls=CallLog(),
        registry_size=registry_size,
        seed=seed,
        clock=clock,
    )
    server.start()
    try:
        yield EqcServerHandle(
            base_url=server.base_url,
            token=token,
            calls=server.calls,
            faults=server.faults,
            registry=server.registry,
            server=server,
        )
    finally:
        server.stop()
