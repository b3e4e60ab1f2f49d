"""Tier 2 from stored ids given by position: the DB-cache tier without a dict per match type.

:func:`tiers.cache_lookup_aliases` lists, per match type, the keys its column uses on the
open rows (``column.keys[column.used(open)]``). A repository that answers by position
(:meth:`MappingSnapshot.lookup_id_lists`) gives back one stored id per listed alias, in
the same order, so the ids go straight to the key positions they belong to: no dict of
hits is built and no key is looked up a second time. The results equal
:func:`tiers.cache_tier_ids` and :func:`tiers.name_mapping_ids` on the same answers. Pure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from work_data_hub.infrastructure.enrichment import company_ids
from work_data_hub.infrastructure.enrichment.resolve.tiers import (
    FrameKeys,
    Hits,
    KeyColumn,
    Mask,
    Objects,
    cache_hits,
    found,
    name_mapping_ids,
)

__all__ = ["cache_tier_ids_by_position", "name_ids_by_position"]


def _valid_ids(stored: Sequence[str | None]) -> Objects:
    """``stored`` with every id that fails the id rule (and every missing one) as None."""
    ids = np.empty(len(stored), dtype=object)
    ids[:] = stored
    present = found(ids)
    if present.any():
        cleaned = np.empty(int(present.sum()), dtype=object)
        cleaned[:] = company_ids.valid_company_ids(ids[present].tolist())
        ids[present] = cleaned
    return ids


def cache_tier_ids_by_position(
    keys: FrameKeys,
    unresolved: Mask,
    stored: Mapping[str, Sequence[str | None]],
) -> list[Hits]:
    """Per open row, the valid id of the highest-priority match type; ``stored[kind][i]``
    answers the ``i``-th key ``kind``'s column uses on ``unresolved`` rows."""

    def answer(match_type: str, remaining: Mask) -> tuple[KeyColumn, Objects] | None:
        answers = stored.get(match_type)
        if not answers:
            return None
        ids = _valid_ids(answers)
        if not found(ids).any():
            return None
        column = keys.column_for(match_type)
        listed = column.used(unresolved)  # the keys ``answers`` is aligned with
        open_now = column.used(remaining)  # a subset: both are sorted key indexes
        per_key = np.full(len(column.keys), None, dtype=object)
        per_key[open_now] = ids[np.searchsorted(listed, open_now)]
        return column, per_key

    return cache_hits(unresolved, answer)


def name_ids_by_position(
    aliases: Mapping[str, Sequence[str]], stored: Mapping[str, Sequence[str | None]]
) -> dict[str, str]:
    """:func:`tiers.name_mapping_ids` of answers given by position (only a plan hit asks)."""
    by_alias = {
        kind: {
            alias: cid for alias, cid in zip(aliases[kind], answers, strict=True) if cid is not None
        }
        for kind, answers in stored.items()
    }
    return name_mapping_ids(by_alias)
