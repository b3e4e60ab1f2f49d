"""``EqcClient``: the three EQC endpoints over httpx, with timeouts, a deadline and retries.

Every call runs under an overall deadline (one per public method; ``find_company``'s
search and detail share one). Each attempt first takes a slot from the rate limiter,
then sends ``GET`` with the ``token`` header:

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

import email.utils
import logging
import math
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from work_data_hub.errors import EqcAuthError, EqcError, EqcTransientError
from work_data_hub.infrastructure.eqc import parsing
from work_data_hub.infrastructure.eqc.rate_limit import InProcessRateLimiter, RateLimiter
from work_data_hub.infrastructure.eqc.types import CompanyInfo
from work_data_hub.utils.logging import get_logger, mask_url_password, register_secret

__all__ = [
    "DEFAULT_BACKOFF_BASE_S",
    "DEFAULT_BACKOFF_CAP_S",
    "DEFAULT_CONNECT_TIMEOUT_S",
    "DEFAULT_DEADLINE_S",
    "DEFAULT_JITTER",
    "DEFAULT_MAX_ATTEMPTS",
    "DEFAULT_MAX_CONNECTIONS",
    "DEFAULT_READ_TIMEOUT_S",
    "DETAIL_PATH",
    "LABELS_PATH",
    "SEARCH_PATH",
    "EqcClient",
    "EqcClientConfig",
    "backoff_delay",
    "parse_retry_after",
]


log = get_logger(__name__)


SEARCH_PATH = "/kg-api-hfd/api/search/"
DETAIL_PATH = "/kg-api-hfd/api/search/findDepart"
LABELS_PATH = "/kg-api-hfd/api/search/findLabels"

DEFAULT_CONNECT_TIMEOUT_S = 5.0
DEFAULT_READ_TIMEOUT_S = 15.0
#: Overall budget of one lookup (all attempts, waits and both requests of find_company).
DEFAULT_DEADLINE_S = 30.0
DEFAULT_MAX_ATTEMPTS = 4
DEFAULT_BACKOFF_BASE_S = 0.5
DEFAULT_BACKOFF_CAP_S = 8.0
#: Share of each backoff delay that is random (0 = none, 1 = "full jitter").
DEFAULT_JITTER = 0.5
#: Connections kept open to the registry; above a worker's usual concurrency so that
#: concurrent lookups reuse connections instead of opening one per request.
DEFAULT_MAX_CONNECTIONS = 64

_TOKEN_HEADER = "token"  # noqa: S105 - a header name, not a secret
_TOKEN_EXPIRED = "TokenExpired"  # noqa: S105 - an error code, not a secret


@dataclass(frozen=True, kw_only=True, slots=True)
class EqcClientConfig:
    """Timeouts, deadline and retry schedule of :class:`EqcClient` (seconds)."""

    connect_timeout_s: float = DEFAULT_CONNECT_TIMEOUT_S
    read_timeout_s: float = DEFAULT_READ_TIMEOUT_S
    deadline_s: float = DEFAULT_DEADLINE_S
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    backoff_base_s: float = DEFAULT_BACKOFF_BASE_S
    backoff_cap_s: float = DEFAULT_BACKOFF_CAP_S
    jitter: float = DEFAULT_JITTER
    max_connections: int = DEFAULT_MAX_CONNECTIONS

    def __post_init__(self) -> None:
        for name in ("connect_timeout_s", "read_timeout_s", "deadline_s"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.backoff_base_s < 0 or self.backoff_cap_s < 0:
            raise ValueError("backoff delays must not be negative")
        if not 0.0 <= self.jitter <= 1.0:
            raise ValueError("jitter must be between 0 and 1")
        if self.max_connections < 1:
            raise ValueError("max_connections must be at least 1")


def backoff_delay(attempt: int, config: EqcClientConfig, random_value: float) -> float:
    """Delay before attempt ``attempt + 1``: base x 2^(attempt-1), capped, minus jitter.

    ``random_value`` in [0, 1) removes up to ``jitter`` of the delay, so clients that
    failed together do not retry together.
    """
    delay = min(config.backoff_cap_s, config.backoff_base_s * 2.0 ** max(0, attempt - 1))
    return float(delay * (1.0 - config.jitter * random_value))


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or HTTP date); ``None`` if unusable."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            moment = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
        seconds = moment.timestamp() - (time.time() if now is None else now)
    if math.isnan(seconds) or math.isinf(seconds):
        return None
    return max(0.0, seconds)


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

    def search(self, name: str) -> list[dict[str, Any]]:
        """Raw search hits for ``name`` (``[]`` when nothing matches)."""
        return self._search(name, self._deadline())

    def detail(self, company_id: str) -> dict[str, Any] | None:
        """The ``businessInfodto`` of ``company_id``, or ``None`` when EQC has no such id."""
        return self._detail(company_id, self._deadline())

    def labels(self, company_id: str) -> list[Any] | None:
        """The ``labels`` of ``company_id``, or ``None`` when EQC has no such id."""
        body = self._get(LABELS_PATH, {"targetId": company_id}, self._deadline())
        if body is None:
            return None
        labels = body.get("labels")
        return list(labels) if isinstance(labels, list) else []

    def find_company(self, name: str) -> CompanyInfo | None:
        """The best match for ``name`` with its former names, or ``None`` if EQC has none.

        Raises :class:`EqcAuthError` or :class:`EqcTransientError` (workers rely on it).
        """
        deadline = self._deadline()
        hits = self._search(name, deadline)
        hit = parsing.best_hit(hits, self.confidence_overrides)
        if hit is None:
            return None
        detail = self._detail(str(hit["companyId"]), deadline)
        if detail is None:
            return None
        # The answer's other entries come along for review, at no extra call.
        candidates = parsing.search_candidates(hits, self.confidence_overrides)
        return parsing.company_info(hit, detail, self.confidence_overrides, candidates)

    # -- internals ----------------------------------------------------------------------

    def _deadline(self) -> float:
        return self._clock() + self.config.deadline_s

    def _search(self, name: str, deadline: float) -> list[dict[str, Any]]:
        body = self._get(SEARCH_PATH, {"key": name}, deadline)
        return [] if body is None else parsing.search_hits(body)

    def _detail(self, company_id: str, deadline: float) -> dict[str, Any] | None:
        body = self._get(DETAIL_PATH, {"targetId": company_id}, deadline)
        if body is None:
            return None
        detail = body.get("businessInfodto")
        return dict(detail) if isinstance(detail, Mapping) else {}

    def _get(self, path: str, params: Mapping[str, str], deadline: float) -> dict[str, Any] | None:
        """The JSON body of ``GET path``, ``None`` on 404; retries as the module describes."""
        started = self._clock()
        last: _Retryable | None = None
        for attempt in range(1, self.config.max_attempts + 1):
            remaining = deadline - self._clock()
            if remaining <= 0:
                break
            if not self.rate_limiter.acquire(timeout=remaining):
                last = _Retryable(status_code=None, error_type="RateLimitWait")
                break
            try:
                return self._attempt(path, params, deadline)
            except _Retryable as failure:
                last = failure
            if attempt == self.config.max_attempts:
                break
            delay = backoff_delay(attempt, self.config, self._rng.random())
            if last.retry_after is not None:
                delay = max(delay, last.retry_after)
            if self._clock() + delay >= deadline:
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
