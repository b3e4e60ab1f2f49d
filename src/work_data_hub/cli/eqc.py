"""``wdh-enrich eqc-server``: the local EQC-compatible registry, for demos and trials."""

from __future__ import annotations

import errno
import ipaddress
import secrets
from typing import TYPE_CHECKING, Annotated

import typer

from work_data_hub.cli._console import info, warn
from work_data_hub.cli._context import load_settings
from work_data_hub.eqc_server.registry import DEFAULT_REGISTRY_SIZE, DEFAULT_SEED
from work_data_hub.errors import ConfigError

if TYPE_CHECKING:
    from work_data_hub.eqc_server.server import EqcServer

__all__ = ["eqc_server"]


def eqc_server(
    *,
    host: Annotated[str, typer.Option("--host", help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[
        int, typer.Option("--port", min=0, max=65535, help="Port (0: any free one).")
    ] = 8765,
    registry_size: Annotated[
        int, typer.Option("--registry-size", min=1, help="Companies in the registry.")
    ] = DEFAULT_REGISTRY_SIZE,
    seed: Annotated[
        int, typer.Option("--seed", help="Registry seed (same seed, same companies).")
    ] = DEFAULT_SEED,
    latency_ms: Annotated[
        float, typer.Option("--latency-ms", min=0, help="Added to every answer.")
    ] = 0.0,
    error_rate: Annotated[
        float, typer.Option("--error-rate", min=0, max=1, help="Share of 503 answers.")
    ] = 0.0,
    rate_429: Annotated[
        float, typer.Option("--rate-429", min=0, max=1, help="Share of 429 answers.")
    ] = 0.0,
) -> None:
    """Serve the local EQC registry until Ctrl-C; the token is WDH_EQC_TOKEN or a new one."""
    from work_data_hub.eqc_server.app import FaultSwitches
    from work_data_hub.eqc_server.server import run_server

    settings = load_settings()
    token = settings.eqc_token
    generated = token is None
    token = token or f"tok-{secrets.token_hex(12)}"
    faults = FaultSwitches(latency_ms=latency_ms, error_rate=error_rate, rate_429=rate_429)

    def ready(server: EqcServer) -> None:
        info(f"local EQC server on {server.base_url} ({len(server.registry)} companies)")
        info(f"  export WDH_EQC_BASE_URL={server.base_url}")
        if generated:
            # Printed once so the operator can use it; it is a throwaway for this server.
            info(f"  export WDH_EQC_TOKEN={token}")
        info("Ctrl-C to stop")

    if not _is_loopback(host):
        warn(
            f"the local EQC server listens on {host}, beyond this machine: anyone who can "
            "reach it and knows the token can query it (use --host 127.0.0.1 to keep it local)"
        )
    try:
        run_server(
            host,
            port,
            token=token,
            registry_size=registry_size,
            seed=seed,
            faults=faults,
            on_ready=ready,
        )
    except OSError as exc:
        reason = "the port is in use" if exc.errno == errno.EADDRINUSE else type(exc).__name__
        raise ConfigError(
            f"cannot listen on {host}:{port}: {reason} (choose another --port)"
        ) from exc


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
