"""Contract types of the enrichment subsystem and the protocols of its collaborators.

Field names and defaults of :class:`ResolutionStrategy` and :class:`ResolutionStatistics`
are a public contract (spec section 1, story 6.5): existing callers rely on them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from work_data_hub.infrastructure.eqc.types import CompanyInfo

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "EXCLUDED_MARKER",
    "HARDCODE_SEPARATOR",
    "YAML_LEVELS",
    "CompanyInfo",
    "EnqueueResult",
    "EqcProviderProtocol",
    "InsertBatchResult",
    "MappingRecord",
    "MappingRepositoryProtocol",
    "MatchResult",
    "ResolutionResult",
    "ResolutionStatistics",
    "ResolutionStrategy",
]

#: YAML override levels in priority order (highest first).
YAML_LEVELS: tuple[str, ...] = ("plan", "account", "hardcode", "name", "account_name")
#: An override id marking a known non-company: the row is excluded, never looked up or queued.
EXCLUDED_MARKER = "__EMPTY__"
#: Joins plan code and normalized customer name in a ``hardcode`` key.
HARDCODE_SEPARATOR = "|"


@dataclass
class ResolutionStrategy:
    """How :meth:`CompanyIdResolver.resolve_batch` reads a frame and which tiers run.

    ``use_enrichment_service`` and ``sync_lookup_budget > 0`` together enable the EQC sync
    tier; ``enable_async_queue`` (story 6.5) enqueues names that got a temporary id.
    """

    plan_code_column: str = "计划代码"
    customer_name_column: str = "客户名称"
    account_name_column: str = "年金账户名"
    account_number_column: str = "年金账户号"
    company_id_column: str = "公司代码"
    output_column: str = "company_id"
    use_enrichment_service: bool = False
    sync_lookup_budget: int = 0
    generate_temp_ids: bool = True
    enable_backflow: bool = True
    enable_async_queue: bool = True


@dataclass
class ResolutionStatistics:
    """Counts of one ``resolve_batch`` run; ``to_dict()`` carries every field.

    Every row lands in exactly one bucket: a tier hit (YAML, DB cache, existing column,
    EQC sync, temporary id), ``excluded`` (``__EMPTY__`` override) or ``unresolved``.
    """

    total_rows: int = 0
    plan_override_hits: int = 0
    existing_column_hits: int = 0
    enrichment_service_hits: int = 0
    temp_ids_generated: int = 0
    unresolved: int = 0
    yaml_hits: dict[str, int] = field(default_factory=dict)
    db_cache_hits: int = 0
    eqc_sync_hits: int = 0
    budget_consumed: int = 0
    budget_remaining: int = 0
    backflow_stats: dict[str, int] = field(default_factory=dict)
    async_queued: int = 0
    async_queue_skipped: int = 0
    async_queue_errors: int = 0
    excluded: int = 0
    tier_errors: dict[str, int] = field(default_factory=dict)
    timings_ms: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Every field, as plain JSON-serializable values."""
        return asdict(self)


@dataclass(frozen=True)
class ResolutionResult:
    """The resolved copy of the input frame and the run's statistics."""

    data: pd.DataFrame
    statistics: ResolutionStatistics


@dataclass(frozen=True, kw_only=True)
class EnqueueResult:
    """Outcome of ``enqueue_for_enrichment``: rows really inserted vs skipped duplicates."""

    queued_count: int = 0
    skipped_count: int = 0


@dataclass(frozen=True, kw_only=True)
class InsertBatchResult:
    """Outcome of ``insert_batch_with_conflict_check``."""

    inserted: int = 0
    skipped: int = 0
    conflicts: int = 0

    def to_dict(self) -> dict[str, int]:
        return {"inserted": self.inserted, "skipped": self.skipped, "conflicts": self.conflicts}


@dataclass(kw_only=True, slots=True)
class MappingRecord:
    """A mapping to write: ``alias_name`` is a code, a normalized name or ``plan|name``.

    Not frozen, like :class:`MatchResult`: the backflow builds thousands per run.
    """

    alias_name: str
    canonical_id: str
    match_type: str
    source: str = "internal"
    confidence: float = 1.0


@dataclass(kw_only=True, slots=True)
class MatchResult:
    """A mapping found in the DB cache.

    Not frozen: a lookup builds one per mapping found, thousands at a time, and a frozen
    dataclass's ``__init__`` costs more than twice as much.
    """

    alias_name: str
    canonical_id: str
    match_type: str
    priority: int
    source: str
    confidence: float

    @classmethod
    def from_row(cls, row: Any) -> MatchResult:
        return cls(
            alias_name=row.alias_name,
            canonical_id=row.canonical_id,
            match_type=row.match_type,
            priority=int(row.priority),
            source=row.source,
            confidence=float(row.confidence),
        )


@runtime_checkable
class MappingRepositoryProtocol(Protocol):
    """What the resolver needs from the mapping repository."""

    def lookup_batch(self, keys: Sequence[tuple[str, str]]) -> list[MatchResult]: ...

    def insert_batch_with_conflict_check(
        self, mappings: Sequence[MappingRecord]
    ) -> InsertBatchResult: ...

    def enqueue_for_enrichment(self, requests: list[dict[str, str]]) -> EnqueueResult: ...


@runtime_checkable
class EqcProviderProtocol(Protocol):
    """What the resolver needs from an EQC provider (a per-run budget, never raising)."""

    @property
    def is_available(self) -> bool: ...

    @property
    def remaining_budget(self) -> int: ...

    def lookup(self, name: str) -> CompanyInfo | None: ...
