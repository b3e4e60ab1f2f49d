"""Running the tiers of ``CompanyIdResolver.resolve_batch`` over one frame.

:class:`TierRunner` holds a resolver's prepared overrides and collaborators and runs the
tiers in order: YAML, DB cache, existing column (then backflow), EQC sync, temporary ids
(then one enqueue). Each tier only sees rows still unresolved. The tier logic lives in
:mod:`tiers` (pure, vectorized over distinct values); this module runs it, talks to the
collaborators, counts and degrades: an exception in a tier is logged (tier, error type),
counted in ``statistics.tier_errors`` and the run goes on with the remaining tiers. Database
work runs in a savepoint of the repository's connection, so a failing tier cannot poison
the caller's transaction. Logs carry counts only — never names, keys or ids.

It is the resolver's numpy and pandas half: ``company_id_resolver`` imports it when a
resolver is built, so importing the package does not load pandas.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd

from work_data_hub.infrastructure.db import tables
from work_data_hub.infrastructure.enrichment.resolve import cache_positions, eqc_sync, limits, tiers
from work_data_hub.infrastructure.enrichment.resolve.provenance import Details
from work_data_hub.infrastructure.enrichment.resolve.run import Run
from work_data_hub.infrastructure.enrichment.types import (
    EnqueueResult,
    EqcProviderProtocol,
    InsertBatchResult,
    MappingRepositoryProtocol,
    ResolutionResult,
    ResolutionStrategy,
)
from work_data_hub.utils import clock
from work_data_hub.utils.logging import get_logger

__all__ = ["TierRunner"]


log = get_logger(__name__)


@runtime_checkable
class _IdListLookup(Protocol):
    """A repository that also answers ``lookup_ids`` by position (see
    :meth:`MappingSnapshot.lookup_id_lists`)."""

    def lookup_id_lists(
        self, aliases_by_type: Mapping[str, Sequence[str]]
    ) -> dict[str, list[str | None]]: ...


class TierRunner:
    """The tiers of one resolver: overrides in key form, repository, provider, salt.

    Raises ``ValueError`` when built with overrides that :func:`tiers.prepare_overrides`
    refuses, so a resolver with bad overrides fails when it is built, not on its first frame.
    """

    def __init__(
        self,
        overrides: Mapping[str, Mapping[Any, Any]],
        repository: MappingRepositoryProtocol | None,
        provider: EqcProviderProtocol | None,
        salt: str,
        before_eqc: Callable[[], object] | None,
    ) -> None:
        self._overrides = tiers.prepare_overrides(overrides)
        self._repository = repository
        self._provider = provider
        self._salt = salt
        self._before_eqc = before_eqc

    def resolve(self, df: pd.DataFrame, strategy: ResolutionStrategy) -> ResolutionResult:
        """``CompanyIdResolver.resolve_batch``: ``df`` (never modified) resolved into a copy."""
        too_long = limits.too_long_rows(df, strategy)
        if too_long.any():
            return self._resolve_without(df, too_long, strategy)
        started = time.perf_counter()
        keys = tiers.build_frame_keys(df, strategy)
        run = Run(keys, strategy)
        run.stats.timings_ms["prepare"] = clock.ms_since(started)

        self._yaml_tier(run)
        if self._repository is not None:
            self._cache_tier(run)
        if strategy.company_id_column in df.columns:
            self._existing_tier(run)
        if self._provider is not None and strategy.sync_lookup_budget > 0:
            if self._before_eqc is not None:
                self._before_eqc()
            self._eqc_tier(run, self._provider)
        if strategy.generate_temp_ids:
            self._temp_tier(run)

        stats = run.stats
        stats.unresolved = int(run.open.sum())
        stats.plan_override_hits = stats.yaml_hits.get("plan", 0)
        stats.enrichment_service_hits = stats.eqc_sync_hits
        data = df.copy()
        data[strategy.output_column] = run.output()
        if run.provenance is not None:
            for name, values in run.provenance.columns(strategy.output_column).items():
                data[name] = values
        stats.timings_ms["total"] = clock.ms_since(started)
        log.info(
            "resolver.batch_resolved",
            rows=stats.total_rows,
            unresolved=stats.unresolved,
            excluded=stats.excluded,
            tier_errors=sum(stats.tier_errors.values()),
            elapsed_ms=stats.timings_ms["total"],
        )
        return ResolutionResult(data=data, statistics=stats)

    def _resolve_without(
        self, df: pd.DataFrame, too_long: np.ndarray[Any, Any], strategy: ResolutionStrategy
    ) -> ResolutionResult:
        """Resolve the other rows; over-long rows keep their values and get no id.

        They never reach a tier: no cache query, no backflow, no EQC call, no enqueue (an
        over-long key would fail the whole chunk's statement on PostgreSQL).
        """
        inner = self.resolve(df[~too_long], strategy)
        stats = inner.statistics
        count = int(too_long.sum())
        stats.total_rows += count
        stats.unresolved += count
        stats.names_too_long += count
        data = df.copy()
        output = pd.Series(pd.NA, index=df.index, dtype="string")
        output[~too_long] = inner.data[strategy.output_column]
        data[strategy.output_column] = output
        log.warning("resolver.names_too_long", rows=count, limit=strategy.max_name_length)
        return ResolutionResult(data=data, statistics=stats)

    # -- tiers ---------------------------------------------------------------------------

    def _yaml_tier(self, run: Run) -> None:
        if not any(self._overrides.values()):
            return
        with self._tier(run, "yaml") as log_counts:
            outcome = tiers.yaml_tier(run.keys, run.open, self._overrides)
            run.settle(*outcome.hits)
            excluded = outcome.excluded & run.open
            run.open &= ~excluded
            if run.provenance is not None:
                run.provenance.mark(excluded, "excluded")
            run.stats.yaml_hits = outcome.counts
            run.stats.excluded = int(excluded.sum())
            names = {k: v for k, v in self._overrides["name"].items() if v != tiers.EXCLUDED_MARKER}
            for hit in outcome.hits:
                if hit.label == "yaml:plan":
                    conflicts = tiers.plan_name_conflicts(hit, run.keys.name, names)
                    run.stats.plan_name_conflicts += int(conflicts.sum())
            log_counts.update(hits=sum(outcome.counts.values()), excluded=run.stats.excluded)

    def _cache_tier(self, run: Run) -> None:
        assert self._repository is not None
        if not run.open.any():
            return
        with self._tier(run, "db_cache") as log_counts:
            aliases = tiers.cache_lookup_aliases(run.keys, run.open)
            details: Details | None = {} if run.provenance is not None else None
            # A repository answering by position (a file run's snapshot) spares a dict of
            # hits per match type; ``explain`` needs sources and confidences: the dicts.
            by_position = details is None and isinstance(self._repository, _IdListLookup)
            stored: dict[str, dict[str, str]] = {}
            stored_lists: dict[str, list[str | None]] = {}
            if aliases:
                with self._savepoint():
                    if by_position:
                        assert isinstance(self._repository, _IdListLookup)
                        stored_lists = self._repository.lookup_id_lists(aliases)
                    else:
                        stored = self._lookup_stored(aliases, details)
            if by_position:
                found = cache_positions.cache_tier_ids_by_position(run.keys, run.open, stored_lists)
            else:
                found = tiers.cache_tier_ids(run.keys, run.open, stored)
            hits = run.settle(*found)
            run.stats.db_cache_hits = int(hits.sum())
            for hit in found:
                match_type = hit.label.removeprefix("db:")
                run.stats.db_cache_hits_by_type[match_type] = hit.count
                if match_type == tables.MatchType.PLAN:
                    names = (
                        cache_positions.name_ids_by_position(aliases, stored_lists)
                        if by_position
                        else tiers.name_mapping_ids(stored)
                    )
                    conflicts = tiers.plan_name_conflicts(hit, run.keys.name, names)
                    run.stats.plan_name_conflicts += int(conflicts.sum())
            if run.provenance is not None and details is not None:
                for hit in found:
                    run.provenance.cache_hit(hit, details)
            log_counts.update(
                keys=sum(len(a) for a in aliases.values()),
                hits=run.stats.db_cache_hits,
                plan_name_conflicts=run.stats.plan_name_conflicts,
            )

    def _lookup_stored(
        self, aliases: dict[str, list[str]], details: Details | None
    ) -> dict[str, dict[str, str]]:
        """One query for ``aliases``: no object per mapping, each alias sent once.
        ``details``, when given, receives each mapping's source and confidence (for
        ``explain``) from the same query."""
        assert self._repository is not None
        return self._repository.lookup_ids(aliases, details=details)

    def _existing_tier(self, run: Run) -> None:
        resolved = np.zeros(run.keys.n_rows, dtype=bool)
        with self._tier(run, "existing_column") as log_counts:
            keys = run.keys
            resolved = run.settle(tiers.existing_tier(keys, run.open))
            run.stats.existing_column_hits = int(resolved.sum())
            propagated, conflicts = tiers.propagated_ids(keys, run.open)
            run.stats.propagated_hits = int(run.settle(propagated).sum())
            run.stats.propagation_conflicts = conflicts
            all_rows = np.ones(keys.n_rows, dtype=bool)
            invalid = keys.existing.rows_where(keys.invalid_existing, all_rows)
            run.stats.invalid_existing_ids = int(invalid.sum())
            log_counts.update(
                hits=run.stats.existing_column_hits,
                propagated=run.stats.propagated_hits,
                propagation_conflicts=conflicts,
                invalid_ids=run.stats.invalid_existing_ids,
            )
        if self._repository is None or not run.strategy.enable_backflow or not resolved.any():
            return
        with self._tier(run, "backflow") as log_counts:
            candidates = tiers.backflow_candidates(run.keys, resolved)
            result = InsertBatchResult()
            if candidates.records:
                with self._savepoint():
                    result = self._repository.insert_batch_with_conflict_check(candidates.records)
            counts = result.to_dict()
            counts["conflicts"] += candidates.in_batch_conflicts
            counts["withheld"] = candidates.withheld
            run.stats.backflow_stats = counts
            log_counts.update(candidates=len(candidates.records), **counts)

    def _eqc_tier(self, run: Run, provider: EqcProviderProtocol) -> None:
        """Lookups within the budget (:mod:`resolve.eqc_sync`); hits found before a
        failure are still used."""
        lookups = eqc_sync.Lookups()
        with self._tier(run, "eqc_sync") as log_counts:
            try:
                eqc_sync.look_up(run, provider, lookups)
            finally:
                hit = tiers.ids_for_names(run.keys, run.open, lookups.found)
                hits = run.settle(hit)
                if run.provenance is not None:
                    run.provenance.eqc_hit(hit, lookups.confidence)
                run.stats.eqc_sync_hits = int(hits.sum())
                run.stats.budget_consumed = lookups.consumed
                run.stats.budget_remaining = lookups.budget - lookups.consumed
            log_counts.update(
                lookups=lookups.consumed,
                hits=run.stats.eqc_sync_hits,
                weak=run.stats.eqc_weak_hits,
                invalid_ids=run.stats.eqc_invalid_ids,
            )

    def _temp_tier(self, run: Run) -> None:
        requests: list[dict[str, str]] = []
        with self._tier(run, "temp_id") as log_counts:
            temp = tiers.temp_id_tier(run.keys, run.open, self._salt)
            temp_rows = run.settle(temp)
            run.stats.temp_ids_generated = int(temp_rows.sum())
            if self._repository is not None and run.strategy.enable_async_queue:
                requests = tiers.enqueue_requests(run.keys, temp_rows, temp.per_key)
            log_counts.update(hits=run.stats.temp_ids_generated)
        if not requests:
            return
        with self._tier(run, "async_queue") as log_counts:
            result = self._enqueue_for_async_enrichment(requests)
            run.stats.async_queued = result.queued_count
            run.stats.async_queue_skipped = result.skipped_count
            log_counts.update(
                requests=len(requests),
                queued=result.queued_count,
                skipped=result.skipped_count,
            )
        if "async_queue" in run.stats.tier_errors:
            run.stats.async_queue_errors += 1

    def _enqueue_for_async_enrichment(self, requests: list[dict[str, str]]) -> EnqueueResult:
        """One ``enqueue_for_enrichment`` call for every distinct new name, in a savepoint."""
        assert self._repository is not None
        with self._savepoint():
            return self._repository.enqueue_for_enrichment(requests)

    # -- plumbing ------------------------------------------------------------------------

    @contextmanager
    def _tier(self, run: Run, tier: str) -> Iterator[dict[str, int]]:
        """Time a tier and log its counts (the body fills the yielded dict); log and count
        an exception instead of letting it end the run."""
        started = time.perf_counter()
        counts: dict[str, int] = {}
        try:
            yield counts
        except Exception as exc:
            run.stats.timings_ms[tier] = clock.ms_since(started)
            run.stats.tier_errors[tier] = run.stats.tier_errors.get(tier, 0) + 1
            log.warning(
                "resolver.tier_failed",
                tier=tier,
                error_type=getattr(exc, "error_type", None) or type(exc).__name__,
                open_rows=int(run.open.sum()),
                elapsed_ms=run.stats.timings_ms[tier],
            )
        else:
            run.stats.timings_ms[tier] = clock.ms_since(started)
            log.info(
                "resolver.tier_done",
                tier=tier,
                open_rows=int(run.open.sum()),
                elapsed_ms=run.stats.timings_ms[tier],
                **counts,
            )

    def _savepoint(self) -> AbstractContextManager[object]:
        """The repository's savepoint around one optional database step."""
        assert self._repository is not None
        return self._repository.savepoint()
