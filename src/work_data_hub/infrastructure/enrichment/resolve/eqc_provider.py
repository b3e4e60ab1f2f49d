"""``EqcProvider``: the resolver's EQC tier — per-run budget, never raising, caching hits.

Each :meth:`EqcProvider.lookup` that reaches EQC spends exactly one unit of budget,
whatever the answer (hit, miss, error). Waiting for the rate limiter spends nothing: a
lookup that gets no slot within its ``wait_s`` gives the unit back and says so
(``rate_limited``). An :class:`~work_data_hub.errors.EqcAuthError` (401, expired token)
disables the provider for the rest of the run: no more calls, no more spending; so does an
EQC that cannot be reached (no HTTP answer by the deadline: ``unreachable``).
A hit at or above ``min_confidence`` is cached with :func:`cache_company_info`, which the
queue workers use too: ``company_master``, the looked-up name as an ``eqc`` mapping, the
official name, and the former names at 0.9 × the hit's confidence — all in a savepoint,
so a failed cache write cannot poison the caller's transaction.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Protocol

from work_data_hub.errors import EqcAuthError, EqcError, EqcRateLimitWait, EqcTransientError
from work_data_hub.infrastructure.db import tables
from work_data_hub.infrastructure.enrichment import company_ids, normalizer
from work_data_hub.infrastructure.enrichment.types import (
    CompanyInfo,
    InsertBatchResult,
    MappingRecord,
)
from work_data_hub.infrastructure.eqc import parsing
from work_data_hub.utils import clock
from work_data_hub.utils.logging import get_logger

if TYPE_CHECKING:
    from work_data_hub.infrastructure.enrichment.mapping_repository import (
        CompanyMappingRepository,
    )

__all__ = [
    "DEFAULT_MIN_CONFIDENCE",
    "FORMER_NAME_CONFIDENCE_FACTOR",
    "EqcProvider",
    "cache_company_info",
]


log = get_logger(__name__)


#: Hits below this confidence are returned but not cached (spec section 3).
DEFAULT_MIN_CONFIDENCE = parsing.CACHE_MIN_CONFIDENCE
#: Former names are cached at this share of the hit's confidence.
FORMER_NAME_CONFIDENCE_FACTOR = 0.9
#: Largest confidence-override YAML file read (bytes).
MAX_OVERRIDE_FILE_BYTES = 64 * 1024


class CompanyLookup(Protocol):
    """What the provider needs from the client (``EqcClient.find_company``)."""

    def find_company(self, name: str, *, wait_s: float | None) -> CompanyInfo | None: ...


def cache_company_info(
    repository: CompanyMappingRepository, normalized_name: str, info: CompanyInfo
) -> InsertBatchResult:
    """Write ``info`` to ``company_master`` and its ``eqc`` mappings, in a savepoint.

    Mappings: ``normalized_name`` at the hit's confidence, the normalized official name at
    1.0 (it is the company's own name), and each normalized former name at
    :data:`FORMER_NAME_CONFIDENCE_FACTOR` × the hit's confidence. Existing mappings to
    another id are never overwritten (counted as conflicts). Errors propagate after the
    savepoint is rolled back; the caller's transaction stays usable.
    """
    confidence = round(float(info.confidence), 4)
    candidates: list[tuple[str, float]] = [
        (normalized_name, confidence),
        (normalizer.normalize_for_temp_id(info.official_name), 1.0),
    ]
    former_confidence = round(confidence * FORMER_NAME_CONFIDENCE_FACTOR, 4)
    candidates += [
        (normalizer.normalize_for_temp_id(name), former_confidence) for name in info.former_names
    ]
    records: list[MappingRecord] = []
    seen: set[str] = set()
    for alias, alias_confidence in candidates:
        if alias and alias not in seen:
            seen.add(alias)
            records.append(
                MappingRecord(
                    alias_name=alias,
                    canonical_id=info.company_id,
                    match_type=tables.MatchType.EQC.value,
                    source=tables.MappingSource.EQC.value,
                    confidence=alias_confidence,
                )
            )
    with repository.connection.begin_nested():
        repository.upsert_company(
            company_id=info.company_id,
            official_name=info.official_name,
            unified_credit_code=info.unified_credit_code,
            aliases=info.former_names,
            source=tables.MappingSource.EQC.value,
        )
        return repository.insert_batch_with_conflict_check(records)


class EqcProvider:
    """EQC lookups for one run: a budget, counters, and a switch-off on auth errors.

    ``lookup`` never raises. Thread-safe: the budget and counters are guarded by a lock,
    so concurrent lookups never spend more than ``budget``.
    """

    def __init__(
        self,
        client: CompanyLookup,
        *,
        budget: int = 0,
        mapping_repository: CompanyMappingRepository | None = None,
        min_confidence: float = DEFAULT_MIN_CONFIDENCE,
        commit_cache_writes: bool = False,
    ) -> None:
        if budget < 0:
            raise ValueError("budget must not be negative")
        self._client = client
        self._repository = mapping_repository
        self.min_confidence = min_confidence
        # The caller lets the provider end each cache write's transaction, so no lookup
        # runs inside an open write transaction (SQLite would hold its write lock).
        self._commit_cache_writes = commit_cache_writes
        self._budget = budget
        self._remaining = budget
        self._disabled = False
        self._rate_limited = False
        self._unreachable = False
        self._lock = threading.Lock()
        self.rate_waits = 0
        self.hits = 0
        self.misses = 0
        self.invalid_ids = 0
        self.errors = 0
        self.cached = 0
        self.cache_errors = 0

    def __repr__(self) -> str:
        return (
            f"EqcProvider(budget={self._budget}, remaining_budget={self._remaining}, "
            f"available={self.is_available})"
        )

    @property
    def budget(self) -> int:
        """The budget this run started with."""
        return self._budget

    @property
    def remaining_budget(self) -> int:
        """Lookups still allowed (0 once disabled)."""
        return 0 if self._disabled else self._remaining

    @property
    def is_available(self) -> bool:
        """Whether a lookup would call EQC: budget left and not disabled."""
        return not self._disabled and self._remaining > 0

    @property
    def disabled(self) -> bool:
        """Whether an auth error switched the provider off for this run."""
        return self._disabled

    @property
    def rate_limited(self) -> bool:
        """Whether the last lookup got no rate-limit slot within its wait (nothing spent)."""
        return self._rate_limited

    @property
    def unreachable(self) -> bool:
        """Whether EQC gave no HTTP answer by a lookup's deadline (the provider is off)."""
        return self._unreachable

    @property
    def consumed(self) -> int:
        """Budget spent so far."""
        return self._budget - self._remaining

    def statistics(self) -> dict[str, int | bool]:
        """Counters of this run, for the run report."""
        with self._lock:
            return {
                "budget": self._budget,
                "consumed": self.consumed,
                "remaining_budget": self.remaining_budget,
                "hits": self.hits,
                "misses": self.misses,
                "invalid_ids": self.invalid_ids,
                "errors": self.errors,
                "cached": self.cached,
                "cache_errors": self.cache_errors,
                "disabled": self._disabled,
                "rate_waits": self.rate_waits,
                "unreachable": self._unreachable,
            }

    def lookup(self, name: str, *, wait_s: float | None = None) -> CompanyInfo | None:
        """The company for ``name``, or ``None`` (miss, error, no budget, disabled, or no
        rate-limit slot within ``wait_s`` seconds — ``None`` waits as long as needed)."""
        with self._lock:
            self._rate_limited = False
            if self._disabled or self._remaining <= 0:
                return None
            self._remaining -= 1
        started = time.perf_counter()
        try:
            info = self._client.find_company(name, wait_s=wait_s)
        except EqcRateLimitWait:
            with self._lock:  # nothing was sent: the unit goes back
                self._remaining += 1
                self._rate_limited = True
                self.rate_waits += 1
            return None
        except EqcTransientError as exc:
            with self._lock:
                self.errors += 1
                if exc.status_code is None:  # no HTTP answer by the deadline
                    self._unreachable = True
                    self._disabled = True
            log.warning(
                "eqc_provider.lookup_failed",
                error_type=type(exc).__name__,
                status_code=exc.status_code,
                unreachable=exc.status_code is None,
                elapsed_ms=clock.ms_since(started, 1),
            )
            return None
        except EqcAuthError as exc:
            with self._lock:
                self.errors += 1
                self._disabled = True
            log.warning(
                "eqc_provider.disabled", error_type=type(exc).__name__, status_code=exc.status_code
            )
            return None
        except Exception as exc:  # the contract: never raise into the resolver
            with self._lock:
                self.errors += 1
            log.debug(
                "eqc_provider.lookup_failed",
                error_type=type(exc).__name__,
                status_code=exc.status_code if isinstance(exc, EqcError) else None,
                elapsed_ms=clock.ms_since(started, 1),
            )
            return None
        if info is None:
            with self._lock:
                self.misses += 1
            return None
        if company_ids.valid_company_id(info.company_id) != info.company_id:
            # An answer whose id fails the id rule is neither used nor cached.
            with self._lock:
                self.invalid_ids += 1
            return None
        with self._lock:
            self.hits += 1
        if self._repository is not None and info.confidence >= self.min_confidence:
            self._cache(name, info)
        return info

    def _cache(self, name: str, info: CompanyInfo) -> None:
        assert self._repository is not None
        normalized = normalizer.normalize_for_temp_id(name)
        if not normalized:
            return
        try:
            cache_company_info(self._repository, normalized, info)
            if self._commit_cache_writes:
                self._repository.connection.commit()
        except Exception as exc:  # caching is optional: count, log the type, carry on
            with self._lock:
                self.cache_errors += 1
            log.warning("eqc_provider.cache_failed", error_type=type(exc).__name__)
            return
        with self._lock:
            self.cached += 1
