"""``EqcClient``: the three EQC endpoints over httpx, with timeouts, a deadline and retries.

Every call runs under an overall deadline (one per public method; ``find_company``'s
search and detail share one). Each attempt first takes a slot from the rate limiter,
then sends ``GET`` with the ``token`` header. Waiting for a slot is not part of the
deadline and is not a failure: it is bounded by ``wait_s`` (per call, default
``EqcClientConfig.rate_wait_s``, ``None`` = as long as needed) and, when no slot comes
free in time before anything was sent, raises :class:`EqcRateLimitWait` — no attempt,
no warning, nothing sent.

* 401, or a body ``{"error": "TokenExpired"}`` → :class:`EqcAuthError`, never retried;
* 429 (honouring ``Retry-After``), 5xx, an unreadable body and transport errors
  (timeouts included) → retried with jittered exponential backoff while attempts and the
  deadline last, then :class:`EqcTransientError` with the last ``status_code``;
* 404 → "not found" (``None`` / ``[]``); any other 4xx → :class:`EqcError`, not retried.

httpx exceptions are translated here, once. Messages and logs carry status codes, attempt
counts and exception type names only: httpx messages and URLs can quote the searched
name, and the token is kept out of ``repr``, messages and logs.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from work_data_hub.errors import EqcAuthError, EqcError, EqcRateLimitWait, EqcTransientError
from work_data_hub.infrastructure.eqc import parsing
from work_data_hub.infrastructure.eqc.config import (
    EqcClientConfig,
    backoff_delay,
    parse_retry_after,
)
from work_data_hub.infrastructure.eqc.rate_limit import InProcessRateLimiter, RateLimiter
from work_data_hub.infrastructure.eqc.types import CompanyInfo
from work_data_hub.utils.logging import get_logger, mask_url_password, register_secret

__all__ = [
    "DETAIL_PATH",
    "LABELS_PATH",
    "SEARCH_PATH",
    "EqcClient",
    "EqcClientConfig",
]


log = get_logger(__name__)


SEARCH_PATH = "/kg-api-hfd/api/search/"
DETAIL_PATH = "/kg-api-hfd/api/search/findDepart"
LABELS_PATH = "/kg-api-hfd/api/search/findLabels"

_TOKEN_HEADER = "token"  # noqa: S105 - a header name, not a secret
_TOKEN_EXPIRED = "TokenExpired"  # noqa: S105 - an error code, not a secret


class _Unset:
    """Marks an argument left out (``None`` is a meaningful ``wait_s``)."""


_UNSET = _Unset()


@dataclass(kw_only=True, slots=True)
class _Deadline:
    """When a call's attempts must end (moved on by rate-limit waits), and how much longer
    it may wait for slots (``None``: as long as needed)."""

    at: float
    wait_s: float | None


def _path_kind(path: str) -> str:
    return {SEARCH_PATH: "search", DETAIL_PATH: "detail", LABELS_PATH: "labels"}.get(path, "other")


class _Retryable(Exception):
    """One failed attempt worth retrying (internal)."""

    def __init__(
        self,
        *,
        status_code: int | None,
        error_type: str,
        retry_after: float | None = None,
        cause: BaseException | None = None,
    ) -> None:
        super().__init__(error_type)
        self.status_code = status_code
        self.error_type = error_type
        self.retry_after = retry_after
        self.cause = cause


class EqcClient:
    """Synchronous client of the EQC registry (one instance per thread or shared: httpx
    clients are thread-safe).

    ``transport`` is the test seam (``httpx.MockTransport``); ``clock``, ``sleep`` and
    ``rng`` make retry timing deterministic in unit tests.
    """

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        config: EqcClientConfig | None = None,
        rate_limiter: RateLimiter | None = None,
        transport: httpx.BaseTransport | None = None,
        confidence_overrides: Mapping[str, float] | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        if not token:
            raise EqcAuthError("The EQC token is missing.")
        if not base_url:
            raise ValueError("base_url must be set")
        register_secret(token)
        # httpx logs every request line at INFO, query string (a company name) included.
        logging.getLogger("httpx").setLevel(logging.WARNING)
        self.config = config if config is not None else EqcClientConfig()
        self.rate_limiter: RateLimiter = (
            rate_limiter if rate_limiter is not None else InProcessRateLimiter()
        )
        self.confidence_overrides = dict(confidence_overrides or {})
        self._base_url = base_url.rstrip("/")
        self._token = token
        self._clock = clock
        self._sleep = sleep
        self._rng = rng if rng is not None else random.Random()  # noqa: S311 - jitter only
        self._retries = 0
        self._retries_lock = threading.Lock()
        self._http = httpx.Client(
            base_url=self._base_url,
            transport=transport,
            follow_redirects=False,
            headers={"Accept": "application/json"},
            limits=httpx.Limits(
                max_connections=self.config.max_connections,
                max_keepalive_connections=self.config.max_connections,
            ),
        )

    def __repr__(self) -> str:
        return f"EqcClient(base_url={mask_url_password(self._base_url)!r})"

    @property
    def retries(self) -> int:
        """Requests sent again after a retryable failure, over this client's life."""
        with self._retries_lock:
            return self._retries

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> EqcClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- public API ---------------------------------------------------------------------

    def search(self, name: str, *, wait_s: float | _Unset | None = _UNSET) -> list[dict[str, Any]]:
        """Raw search hits for ``name`` (``[]`` when nothing matches)."""
        return self._search(name, self._deadline(wait_s))

    def detail(
        self, company_id: str, *, wait_s: float | _Unset | None = _UNSET
    ) -> dict[str, Any] | None:
        """The ``businessInfodto`` of ``company_id``, or ``None`` when EQC has no such id."""
        return self._detail(company_id, self._deadline(wait_s))

    def labels(
        self, company_id: str, *, wait_s: float | _Unset | None = _UNSET
    ) -> list[Any] | None:
        """The ``labels`` of ``company_id``, or ``None`` when EQC has no such id."""
        body = self._get(LABELS_PATH, {"targetId": company_id}, self._deadline(wait_s))
        if body is None:
            return None
        labels = body.get("labels")
        return list(labels) if isinstance(labels, list) else []

    def search_company(
        self, name: str, *, wait_s: float | _Unset | None = _UNSET
    ) -> CompanyInfo | None:
        """The best search hit for ``name`` as a :class:`CompanyInfo` (no former names), or
        ``None``: one call. Details are fetched later, with spare capacity."""
        hits = self._search(name, self._deadline(wait_s))
        hit = parsing.best_hit(hits, self.confidence_overrides)
        if hit is None:
            return None
        # The answer's other entries come along for review, at no extra call.
        candidates = parsing.search_candidates(hits, self.confidence_overrides)
        return parsing.company_info(hit, None, self.confidence_overrides, candidates)

    def find_company(
        self, name: str, *, wait_s: float | _Unset | None = _UNSET
    ) -> CompanyInfo | None:
        """The best match for ``name`` with its former names, or ``None`` if EQC has none.

        Raises :class:`EqcAuthError`, :class:`EqcTransientError` or
        :class:`EqcRateLimitWait` (nothing sent) — workers and the provider rely on it.
        """
        deadline = self._deadline(wait_s)
        hits = self._search(name, deadline)
        hit = parsing.best_hit(hits, self.confidence_overrides)
        if hit is None:
            return None
        # The answer's other entries come along for review, at no extra call.
        candidates = parsing.search_candidates(hits, self.confidence_overrides)
        try:
            detail = self._detail(str(hit["companyId"]), deadline)
        except EqcRateLimitWait:  # the search was answered: that is the lookup's result
            return parsing.company_info(hit, None, self.confidence_overrides, candidates)
        if detail is None:
            return None
        return parsing.company_info(hit, detail, self.confidence_overrides, candidates)

    # -- internals ----------------------------------------------------------------------

    def _deadline(self, wait_s: float | _Unset | None) -> _Deadline:
        wait = self.config.rate_wait_s if isinstance(wait_s, _Unset) else wait_s
        return _Deadline(at=self._clock() + self.config.deadline_s, wait_s=wait)

    def _search(self, name: str, deadline: _Deadline) -> list[dict[str, Any]]:
        body = self._get(SEARCH_PATH, {"key": name}, deadline)
        return [] if body is None else parsing.search_hits(body)

    def _detail(self, company_id: str, deadline: _Deadline) -> dict[str, Any] | None:
        body = self._get(DETAIL_PATH, {"targetId": company_id}, deadline)
        if body is None:
            return None
        detail = body.get("businessInfodto")
        return dict(detail) if isinstance(detail, Mapping) else {}

    def _wait_for_slot(self, deadline: _Deadline) -> bool:
        """Take a rate-limit slot within ``deadline.wait_s``; the time waited moves the
        deadline on (waiting is not part of a request's time)."""
        waited_from = self._clock()
        granted = self.rate_limiter.acquire(timeout=deadline.wait_s)
        waited = self._clock() - waited_from
        deadline.at += waited
        if deadline.wait_s is not None:
            deadline.wait_s = max(0.0, deadline.wait_s - waited)
        return granted

    def _get(
        self, path: str, params: Mapping[str, str], deadline: _Deadline
    ) -> dict[str, Any] | None:
        """The JSON body of ``GET path``, ``None`` on 404; retries as the module describes."""
        started = self._clock()
        last: _Retryable | None = None
        for attempt in range(1, self.config.max_attempts + 1):
            if deadline.at - self._clock() <= 0:
                break
            if not self._wait_for_slot(deadline):
                if last is None:  # nothing sent: not a failure
                    log.debug("eqc.rate_limit_wait", path_kind=_path_kind(path))
                    raise EqcRateLimitWait()
                break  # EQC failed the earlier attempts; that is the outcome
            try:
                return self._attempt(path, params, deadline.at)
            except _Retryable as failure:
                last = failure
            if attempt == self.config.max_attempts:
                break
            delay = backoff_delay(attempt, self.config, self._rng.random())
            if last.retry_after is not None:
                delay = max(delay, last.retry_after)
            if self._clock() + delay >= deadline.at:
                break
            log.debug(
                "eqc.request_retry",
                attempt=attempt,
                status_code=last.status_code,
                error_type=last.error_type,
                delay_ms=round(delay * 1000, 1),
            )
            with self._retries_lock:
                self._retries += 1
            self._sleep(delay)
        status_code = last.status_code if last is not None else None
        error_type = last.error_type if last is not None else "DeadlineExceeded"
        log.warning(
            "eqc.request_failed",
            status_code=status_code,
            error_type=error_type,
            elapsed_ms=round((self._clock() - started) * 1000, 1),
        )
        error = EqcTransientError(
            f"EQC request failed ({error_type}, HTTP {status_code or '-'})",
            status_code=status_code,
            retry_after=last.retry_after if last is not None else None,
        )
        if last is not None and last.cause is not None:
            raise error from last.cause
        raise error

    def _attempt(
        self, path: str, params: Mapping[str, str], deadline: float
    ) -> dict[str, Any] | None:
        remaining = max(0.001, deadline - self._clock())
        timeout = httpx.Timeout(
            connect=min(self.config.connect_timeout_s, remaining),
            read=min(self.config.read_timeout_s, remaining),
            write=min(self.config.read_timeout_s, remaining),
            pool=min(self.config.connect_timeout_s, remaining),
        )
        try:
            response = self._http.get(
                path, params=dict(params), headers={_TOKEN_HEADER: self._token}, timeout=timeout
            )
        except httpx.HTTPError as exc:
            raise _Retryable(status_code=None, error_type=type(exc).__name__, cause=exc) from None
        status = response.status_code
        if status == 401:
            log.warning("eqc.auth_failed", status_code=status)
            raise EqcAuthError("EQC rejected the token (HTTP 401).", status_code=status)
        body = _json_object(response)
        if body is not None and body.get("error") == _TOKEN_EXPIRED:
            log.warning("eqc.auth_failed", status_code=status, error_type=_TOKEN_EXPIRED)
            raise EqcAuthError("The EQC token has expired.", status_code=status)
        if status == 429 or status >= 500:
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            raise _Retryable(
                status_code=status, error_type=f"HTTP{status}", retry_after=retry_after
            )
        if status == 404:
            return None
        if status >= 400:
            log.warning("eqc.request_rejected", status_code=status)
            raise EqcError(f"EQC rejected the request (HTTP {status}).", status_code=status)
        if body is None:
            raise _Retryable(status_code=status, error_type="InvalidBody")
        return body


def _json_object(response: httpx.Response) -> dict[str, Any] | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None
