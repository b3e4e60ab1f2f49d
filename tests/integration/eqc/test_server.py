"""The local EQC server over real sockets: lifecycle, hangs, concurrency, quiet stderr."""

from __future__ import annotations

import threading

import httpx
import pytest

from work_data_hub.eqc_server.app import SEARCH_PATH
from work_data_hub.eqc_server.registry import build_registry
from work_data_hub.eqc_server.server import EqcServer, run_server
from work_data_hub.eqc_server.testing import running_eqc_server

SMALL = build_registry(200, seed=11)


def test_handle_exposes_base_url_token_calls_and_faults() -> None:
    with running_eqc_server(registry=SMALL, latency_ms=0) as eqc:
        assert eqc.base_url.startswith("http://127.0.0.1:")
        assert eqc.token
        answer = httpx.get(
            f"{eqc.base_url}{SEARCH_PATH}",
            params={"key": SMALL.companies[0].full_name},
            headers={"token": eqc.token},
        )
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("application/json")
        assert answer.json()["list"][0]["companyId"] == SMALL.companies[0].company_id
        assert eqc.calls.count(SEARCH_PATH, status=200) == 1


def test_keep_alive_connection_serves_many_requests() -> None:
    with running_eqc_server(registry=SMALL) as eqc, httpx.Client(base_url=eqc.base_url) as http:
        statuses = [
            http.get(
                SEARCH_PATH, params={"key": c.full_name}, headers={"token": eqc.token}
            ).status_code
            for c in SMALL.companies[:20]
        ]
    assert statuses == [200] * 20


def test_concurrent_clients_are_all_answered_and_recorded() -> None:
    results: list[int] = []
    lock = threading.Lock()

    def worker(base_url: str, token: str, offset: int) -> None:
        with httpx.Client(base_url=base_url) as http:
            for company in SMALL.companies[offset : offset + 5]:
                status = http.get(
                    SEARCH_PATH, params={"key": company.full_name}, headers={"token": token}
                ).status_code
                with lock:
                    results.append(status)

    with running_eqc_server(registry=SMALL) as eqc:
        threads = [
            threading.Thread(target=worker, args=(eqc.base_url, eqc.token, 5 * i)) for i in range(8)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(eqc.calls) == 40
    assert results == [200] * 40


def test_stop_wakes_a_hanging_answer() -> None:
    outcome: list[object] = []

    def ask(base_url: str, token: str) -> None:
        try:
            httpx.get(f"{base_url}{SEARCH_PATH}?key=x", headers={"token": token}, timeout=30)
            outcome.append("answered")
        except httpx.HTTPError as exc:
            outcome.append(exc)

    with running_eqc_server(registry=SMALL, hang_rate=1.0) as eqc:
        thread = threading.Thread(target=ask, args=(eqc.base_url, eqc.token))
        thread.start()
        while len(eqc.calls) == 0 and thread.is_alive():
            thread.join(timeout=0.01)
    thread.join(timeout=10)
    assert not thread.is_alive()
    assert len(outcome) == 1
    assert isinstance(outcome[0], httpx.HTTPError)


def test_stop_is_idempotent_and_start_is_once() -> None:
    server = EqcServer(token="t0k3n", registry=SMALL).start()
    with pytest.raises(RuntimeError, match="already started"):
        server.start()
    server.stop()
    server.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{server.base_url}{SEARCH_PATH}?key=x", timeout=1)


def test_server_needs_a_token() -> None:
    with pytest.raises(ValueError, match="token"):
        EqcServer(token="", registry=SMALL)


def test_run_server_serves_until_stopped() -> None:
    ready: list[EqcServer] = []
    started = threading.Event()

    def on_ready(server: EqcServer) -> None:
        ready.append(server)
        started.set()

    thread = threading.Thread(
        target=run_server,
        args=("127.0.0.1", 0),
        kwargs={"token": "t0k3n", "registry_size": 50, "seed": 1, "on_ready": on_ready},
    )
    thread.start()
    assert started.wait(timeout=30)
    server = ready[0]
    answer = httpx.get(
        f"{server.base_url}{SEARCH_PATH}",
        params={"key": server.registry.companies[0].full_name},
        headers={"token": "t0k3n"},
    )
    assert answer.json()["list"][0]["type"] == "全称精确匹配"
    server.stop()
    thread.join(timeout=10)
    assert not thread.is_alive()


def test_no_request_line_reaches_stderr(capfd: pytest.CaptureFixture[str]) -> None:
    name = SMALL.companies[3].full_name
    with running_eqc_server(registry=SMALL, error_rate=1.0) as eqc:
        httpx.get(f"{eqc.base_url}{SEARCH_PATH}", params={"key": name}, headers={"token": "bad"})
        httpx.get(f"{eqc.base_url}/elsewhere", params={"key": name})
    captured = capfd.readouterr()
    assert name not in captured.err
    assert "GET" not in captured.err
