"""The EQC sync tier's lookups: budget, bounded waits, and which answers may settle a name.

Most frequent names first, one lookup each, while the run's budget lasts. Only lookups
that reached EQC spend budget; waits for rate-limit slots end ``strategy.sync_wait_s``
after the tier started, and names not looked up by then fall through to temporary ids
and the queue, with a warning. An answer settles a name only when it could be cached:
a valid id at or above the caching confidence (spec section 3). A weaker match is a guess,
and a real id must never be a guess: the name gets a temporary id, is queued, and the
match stays a review suggestion.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from work_data_hub.infrastructure.enrichment.resolve import tiers
from work_data_hub.infrastructure.enrichment.resolve.run import Run
from work_data_hub.infrastructure.enrichment.types import EqcProviderProtocol
from work_data_hub.infrastructure.eqc.parsing import CACHE_MIN_CONFIDENCE

__all__ = ["Lookups", "look_up"]


@dataclass(slots=True)
class Lookups:
    """What the lookups found so far: ids and confidences per name, budget spent."""

    found: dict[str, str] = field(default_factory=dict)
    confidence: dict[str, float] = field(default_factory=dict)
    consumed: int = 0
    budget: int = 0


def look_up(run: Run, provider: EqcProviderProtocol, into: Lookups) -> None:
    """Look the run's open names up, filling ``into`` as it goes (so a failure part-way
    keeps what was found) and the run's statistics and warnings."""
    strategy = run.strategy
    into.budget = max(0, min(strategy.sync_lookup_budget, provider.remaining_budget))
    waits_end = time.monotonic() + max(0.0, strategy.sync_wait_s)
    names = tiers.eqc_candidates(run.keys, run.open)
    for index, name in enumerate(names):
        if into.consumed >= into.budget or not provider.is_available:
            break
        wait_s = max(0.0, waits_end - time.monotonic())
        into.consumed += 1  # spent whatever the answer, once it reached EQC
        info = provider.lookup(name, wait_s=wait_s)
        if provider.rate_limited:  # nothing sent, nothing spent: stop waiting
            into.consumed -= 1
            left = min(len(names) - index, into.budget - into.consumed)
            run.stats.eqc_sync_not_looked_up = left
            run.stats.warnings.append(
                f"EQC sync: no rate-limit slot within {strategy.sync_wait_s:g} s; "
                f"{left} name(s) were not looked up and got temporary ids "
                f"(budget left unspent: {into.budget - into.consumed})"
            )
            break
        if info is None:
            continue
        company_id = tiers.clean_company_id(info.company_id)
        if company_id is None:
            run.stats.eqc_invalid_ids += 1
            continue
        if float(info.confidence) < CACHE_MIN_CONFIDENCE:
            run.stats.eqc_weak_hits += 1
            continue
        into.found[name] = company_id
        into.confidence[name] = float(info.confidence)
    if provider.unreachable:
        run.stats.eqc_sync_unreachable = 1
        run.stats.warnings.append(
            "EQC sync: EQC could not be reached; the tier stopped after the first "
            "deadline and the remaining names got temporary ids"
        )
