"""Contract types of the enrichment subsystem and the protocols of its collaborators.

Field names and defaults of :class:`ResolutionStrategy` and :class:`ResolutionStatistics`
are a public contract (spec section 1, story 6.5): existing callers rely on them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from work_data_hub.infrastructure.eqc.types import CompanyInfo

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "DEFAULT_MAX_NAME_LENGTH",
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
#: Longest name or key (characters) a row may carry to be resolved; longer rows get no id.
DEFAULT_MAX_NAME_LENGTH = 500


@dataclass
class ResolutionStrategy:
    """How :meth:`CompanyIdResolver.resolve_batch` reads a frame and which tiers run.

    The EQC sync tier runs when the resolver has a provider and ``sync_lookup_budget > 0``
    (spec section 1); ``use_enrichment_service`` is kept for the original's callers and
    gates nothing. ``enable_async_queue`` (story 6.5) enqueues names that got a temporary id.
    ``max_name_length``: a row whose name or key column holds a longer text gets no id and
    never reaches the database or EQC (counted in ``names_too_long``).
    ``sync_wait_s`` bounds the EQC tier's waits for rate-limit slots, for the whole run:
    names it could not look up in that time fall through to temporary ids and the queue.
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
    max_name_length: int = DEFAULT_MAX_NAME_LENGTH
    #: ``单一计划`` (single-employer) or ``集合计划`` (collective); only single-employer plans
    #: are learned by the backflow when the column is present.
    plan_type_column: str = "计划类型"
    #: Add per-row provenance columns (tier, mapping source, confidence) to the output.
    explain: bool = False
    sync_wait_s: float = 30.0


@dataclass
class ResolutionStatistics:
    """Counts of one ``resolve_batch`` run; ``to_dict()`` carries every field.

    Every row lands in exactly one bucket: a tier hit (YAML, DB cache, existing column,
    EQC sync, temporary id), ``excluded`` (``__EMPTY__`` override) or ``unresolved``
    (which includes the ``names_too_long`` rows, set aside before any tier).
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
    names_too_long: int = 0
    eqc_sync_not_looked_up: int = 0
    eqc_sync_unreachable: int = 0
    warnings: list[str] = field(default_factory=list)
    tier_errors: dict[str, int] = field(default_factory=dict)
    timings_ms: dict[str, float] = field(default_factory=dict)
    #: Rows given the one valid existing id other rows of their name carry.
    propagated_hits: int = 0
    #: Names whose rows carry several different valid existing ids (none is propagated).
    propagation_conflicts: int = 0
    #: Rows settled by a plan mapping while their name mapping gives another id: the
    #: signature of a plan mapping learned from a shared plan.
    plan_name_conflicts: int = 0
    #: DB-cache hits per match type.
    db_cache_hits_by_type: dict[str, int] = field(default_factory=dict)
    #: Rows whose existing id fails the id rule (a formula, spaces, ``3.5`` …): not used.
    invalid_existing_ids: int = 0
    #: EQC answers whose company id fails the id rule: not used, not cached.
    eqc_invalid_ids: int = 0
    #: EQC answers below the caching confidence: not used as ids (the name is queued).
    eqc_weak_hits: int = 0

    def to_dict(self) -> dict[str, Any]:
        """Every field, as plain JSON-serializable values, plus the original's two
        derived keys: ``yaml_hits_total`` and ``backflow`` (the backflow counts)."""
        data = asdict(self)
        data["yaml_hits_total"] = sum(self.yaml_hits.values())
        data["backflow"] = dict(self.backflow_stats)
        return data


@dataclass(frozen=True)
class ResolutionResult:
    """The resolved copy of the input frame and the run's statistics."""

    data: pd.DataFrame
    statistics: ResolutionStatistics


@dataclass(frozen=True)
class EnqueueResult:
    """Outcome of ``enqueue_for_enrichment``: rows really inserted vs skipped duplicates.

    Positional like the story's ``EnqueueResult(queued_count, skipped_count)``.
    """

    queued_count: int = 0
    skipped_count: int = 0


@dataclass(frozen=True)
class InsertBatchResult:
    """Outcome of ``insert_batch_with_conflict_check``.

    ``inserted_count`` and ``skipped_count`` are the original implementation's names.
    """

    inserted: int = 0
    skipped: int = 0
    conflicts: int = 0

    @property
    def inserted_count(self) -> int:
        return self.inserted

    @property
    def skipped_count(self) -> int:
        return self.skipped

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


@dataclass(slots=True)
class MatchResult:
    """A mapping found in the DB cache; ``company_id`` is the original's name of
    ``canonical_id``.

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

    @property
    def company_id(self) -> str:
        return self.canonical_id


@runtime_checkable
class MappingRepositoryProtocol(Protocol):
    """Everything the resolver uses of the mapping repository.

    ``lookup_ids`` is the DB-cache tier's one query (ids per match type and alias, no
    object per mapping); ``lookup_batch`` the contract's per-key form. ``savepoint()``
    wraps each optional database step, so a failing tier cannot poison the caller's
    transaction.
    """

    def lookup_batch(self, keys: Sequence[tuple[str, str]]) -> list[MatchResult]: ...

    def lookup_ids(
        self,
        aliases_by_type: Mapping[str, Iterable[str]],
        *,
        details: dict[tuple[str, str], tuple[str, float]] | None = None,
    ) -> dict[str, dict[str, str]]: ...

    def savepoint(self) -> AbstractContextManager[object]: ...

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

    @property
    def rate_limited(self) -> bool:
        """Whether the last lookup got no rate-limit slot in time (nothing sent, nothing spent)."""
        ...

    @property
    def unreachable(self) -> bool:
        """Whether EQC could not be reached (no answer by the deadline): the tier stops."""
        ...

    def lookup(self, name: str, *, wait_s: float | None = None) -> CompanyInfo | None: ...
