"""Request handling of the local EQC server: routes, token check, faults, call log.

:class:`EqcApp` turns a request (path with query, headers) into an :class:`Answer`
without touching sockets, so it is tested directly; ``server.py`` does the HTTP I/O.

Answers follow the EQC contract (spec section 3):

* ``GET /kg-api-hfd/api/search/?key=…`` → ``{"list": [{companyId, companyFullName,
  unite_code, type}], "total": n}`` (``[]`` when nothing matches);
* ``GET /kg-api-hfd/api/search/findDepart?targetId=…`` → ``{"businessInfodto": {…}}``
  with the real registry's fields (``company_former_name`` one comma-separated string,
  ``registerCaptial`` …), or 404 ``{"error": "NotFound"}``;
* ``GET /kg-api-hfd/api/search/findLabels?targetId=…`` → ``{"labels": [{type, name}]}``;
* a missing or wrong ``token`` header → 401 ``{"error": "Unauthorized"}``; after the
  token-expiry switch's N calls → 200 ``{"error": "TokenExpired"}``.

:class:`FaultSwitches` (in ``faults.py``, importable from here too) are read and changed at
runtime from any thread; :class:`CallLog` records every answered call so tests can count them.
"""

from __future__ import annotations

import collections
import dataclasses
import hmac
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from work_data_hub.eqc_server.faults import FaultSwitches, Rule
from work_data_hub.eqc_server.registry import Company, Registry

__all__ = [
    "DETAIL_PATH",
    "LABELS_PATH",
    "SEARCH_PATH",
    "Answer",
    "CallLog",
    "CallRecord",
    "EqcApp",
    "FaultSwitches",
    "Rule",
]

SEARCH_PATH = "/kg-api-hfd/api/search/"
DETAIL_PATH = "/kg-api-hfd/api/search/findDepart"
LABELS_PATH = "/kg-api-hfd/api/search/findLabels"
#: Calls the call log keeps (the latest ones); older records are dropped.
MAX_CALL_RECORDS = 100_000


@dataclass(frozen=True, kw_only=True)
class Answer:
    """What the server sends: a status, a JSON body, extra headers; optionally hang first."""

    status: int
    body: Mapping[str, Any]
    headers: Mapping[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    hang_s: float = 0.0


@dataclass(frozen=True, kw_only=True)
class CallRecord:
    """One call: what was asked and the status decided for it.

    ``fault`` names the switch that shaped the answer (``rule``, ``hang``, ``rate_limited``,
    ``error``, ``unauthorized``, ``token_expired``) or is ``None``. A hanging call is
    recorded when it arrives, with the status it would send after the hang.
    """

    path: str
    key: str | None
    target_id: str | None
    status: int
    timestamp: float
    monotonic: float
    fault: str | None = None


class CallLog:
    """Thread-safe record of the calls the server answered, the latest ``max_records``.

    Bounded, so a long-running server (``wdh-enrich eqc-server``) keeps constant memory;
    ``total`` counts every call.
    """

    def __init__(self, max_records: int = MAX_CALL_RECORDS) -> None:
        self._lock = threading.Lock()
        self._records: collections.deque[CallRecord] = collections.deque(maxlen=max_records)
        self.total = 0

    def append(self, record: CallRecord) -> None:
        with self._lock:
            self._records.append(record)
            self.total += 1

    def records(self) -> list[CallRecord]:
        """A snapshot of all records, oldest first."""
        with self._lock:
            return list(self._records)

    def __len__(self) -> int:
        with self._lock:
            return len(self._records)

    def count(self, path: str | None = None, *, status: int | None = None) -> int:
        """Calls to ``path`` (any path when ``None``), optionally only with ``status``."""
        return sum(
            1
            for record in self.records()
            if (path is None or record.path == path) and (status is None or record.status == status)
        )

    def keys(self) -> list[str]:
        """The search keys asked for, in order."""
        return [r.key for r in self.records() if r.path == SEARCH_PATH and r.key is not None]

    def max_in_window(self, window_s: float) -> int:
        """The largest number of calls that arrived within any ``window_s`` seconds."""
        moments = sorted(r.monotonic for r in self.records())
        best = 0
        start = 0
        for end, moment in enumerate(moments):
            while moment - moments[start] >= window_s:
                start += 1
            best = max(best, end - start + 1)
        return best

    def clear(self) -> None:
        with self._lock:
            self._records.clear()


def _retry_after_header(seconds: float | None) -> dict[str, str]:
    if seconds is None:
        return {}
    text = str(int(seconds)) if float(seconds).is_integer() else f"{seconds:g}"
    return {"Retry-After": text}


def _first(query: Mapping[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    return values[0] if values else None


class EqcApp:
    """Answers EQC requests from a :class:`Registry`, applying faults and logging calls."""

    def __init__(
        self,
        registry: Registry,
        token: str,
        *,
        faults: FaultSwitches | None = None,
        calls: CallLog | None = None,
        wall_clock: Callable[[], float] = time.time,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.registry = registry
        self._token = token
        self.faults = faults if faults is not None else FaultSwitches()
        self.calls = calls if calls is not None else CallLog()
        self._wall_clock = wall_clock
        self._clock = clock

    def __repr__(self) -> str:
        return f"EqcApp(companies={len(self.registry)})"

    def handle(self, target: str, headers: Mapping[str, str]) -> Answer:
        """The answer to ``GET target`` with ``headers``; the call is recorded."""
        parts = urlsplit(target)
        query = parse_qs(parts.query, keep_blank_values=True)
        key = _first(query, "key")
        target_id = _first(query, "targetId")
        answer, fault = self._decide(parts.path, key, target_id, headers)
        self.calls.append(
            CallRecord(
                path=parts.path,
                key=key,
                target_id=target_id,
                status=answer.status,
                timestamp=self._wall_clock(),
                monotonic=self._clock(),
                fault=fault,
            )
        )
        return answer

    def _decide(
        self, path: str, key: str | None, target_id: str | None, headers: Mapping[str, str]
    ) -> tuple[Answer, str | None]:
        delay = self.faults.draw_latency_s()
        answer, fault = self._answer(path, key, target_id, headers)
        return dataclasses.replace(answer, delay_s=delay), fault

    def _answer(
        self, path: str, key: str | None, target_id: str | None, headers: Mapping[str, str]
    ) -> tuple[Answer, str | None]:
        if path not in (SEARCH_PATH, DETAIL_PATH, LABELS_PATH):
            return Answer(status=404, body={"error": "NoSuchPath"}), None
        token = next((v for k, v in headers.items() if k.lower() == "token"), None)
        # Constant-time comparison: the answer time must not tell how much of a guess is right.
        if token is None or not hmac.compare_digest(token.encode(), self._token.encode()):
            return Answer(status=401, body={"error": "Unauthorized"}), "unauthorized"
        if self.faults.count_authorized_call():
            return Answer(status=200, body={"error": "TokenExpired"}), "token_expired"
        rule = self.faults.match_rule((key, target_id))
        if rule is not None:
            return self._rule_answer(rule, path, key, target_id), "rule"
        hang, limited, failed = self.faults.draw()
        if hang:
            normal = self._route(path, key, target_id)
            return dataclasses.replace(normal, hang_s=self.faults.hang_s), "hang"
        if limited:
            headers_429 = _retry_after_header(self.faults.retry_after_s)
            return Answer(status=429, body={"error": "TooManyRequests"}, headers=headers_429), (
                "rate_limited"
            )
        if failed:
            status = self.faults.error_status
            return Answer(status=status, body={"error": "ServerError"}), "error"
        return self._route(path, key, target_id), None

    def _rule_answer(self, rule: Rule, path: str, key: str | None, target_id: str | None) -> Answer:
        if rule.hang:
            return dataclasses.replace(self._route(path, key, target_id), hang_s=self.faults.hang_s)
        body = rule.body if rule.body is not None else {"error": f"HTTP{rule.status}"}
        return Answer(status=rule.status, body=body, headers=_retry_after_header(rule.retry_after))

    def _route(self, path: str, key: str | None, target_id: str | None) -> Answer:
        if path == SEARCH_PATH:
            if key is None:
                return Answer(status=400, body={"error": "MissingKey"})
            hits = self.registry.search(key)
            rows = [_search_row(company, match_type) for company, match_type in hits]
            return Answer(status=200, body={"list": rows, "total": len(rows)})
        company = self.registry.get(target_id or "")
        if company is None:
            return Answer(status=404, body={"error": "NotFound"})
        if path == DETAIL_PATH:
            return Answer(status=200, body={"businessInfodto": _detail(company)})
        return Answer(status=200, body={"labels": _labels(company)})


def _search_row(company: Company, match_type: str) -> dict[str, Any]:
    return {
        "companyId": company.company_id,
        "companyFullName": company.full_name,
        "unite_code": company.unite_code,
        "type": match_type,
        "regStatus": company.status,
    }


def _detail(company: Company) -> dict[str, Any]:
    # The real registry's field names (spec section 3), "registerCaptial" spelling included.
    return {
        "companyId": company.company_id,
        "companyFullName": company.full_name,
        "unite_code": company.unite_code,
        "company_former_name": ",".join(company.former_names),
        "legal_person_name": company.legal_person,
        "registerCaptial": company.registered_capital,
        "registered_date": company.established,
        "registered_status": company.status,
        "province": company.region,
        "organization_code": company.unite_code[8:17] if len(company.unite_code) == 18 else "",
        "company_en_name": "",
        "industry": company.industry,
    }


def _labels(company: Company) -> list[dict[str, str]]:
    labels = [{"type": "资质", "name": label} for label in company.labels]
    labels.append({"type": "行业", "name": company.industry})
    labels.append({"type": "地区", "name": company.region})
    return labels
