"""What the existing company-id column teaches, and what the data says against it.

The backflow writes mappings learned from rows resolved by ``公司代码``: normalized name and
account name → id always (a name is the company's own), plan code and account number → id
only with single-employer evidence (spec section 1): a collective plan's code says nothing
about which employer a row belongs to, and a plan mapping (priority 1) would outrank every
name mapping. :func:`shared_keys` is the other side of the same test, for the audit of
mappings already stored.

Pure and vectorized: per-key questions are answered with ``np.unique`` / ``np.bincount`` over
the factorized key columns; Python runs once per learned record.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from work_data_hub.infrastructure.db import tables
from work_data_hub.infrastructure.enrichment.resolve.keys import (
    Codes,
    FrameKeys,
    KeyColumn,
    Mask,
)
from work_data_hub.infrastructure.enrichment.types import MappingRecord

__all__ = [
    "BACKFLOW_MATCH_TYPES",
    "BackflowCandidates",
    "backflow_candidates",
    "shared_keys",
    "single_employer_keys",
]

_MT = tables.MatchType
#: What the backflow learns from the existing column, in this order.
BACKFLOW_MATCH_TYPES: tuple[str, ...] = (
    _MT.PLAN.value,
    _MT.ACCOUNT.value,
    _MT.NAME.value,
    _MT.ACCOUNT_NAME.value,
)
_BACKFLOW_SOURCE = tables.MappingSource.PIPELINE_BACKFLOW.value
#: Keys learned only with single-employer evidence.
_EVIDENCE_MATCH_TYPES = frozenset({_MT.PLAN.value, _MT.ACCOUNT.value})


def _learnable_codes(keys: FrameKeys) -> Codes:
    """Per row, the existing column's key code when it holds a valid, non-temporary id,
    else ``-1``."""
    learnable = np.append(keys.learnable_existing, False)
    codes: Codes = np.where(learnable[keys.existing.codes], keys.existing.codes, -1)
    return codes


@dataclass(frozen=True, slots=True)
class BackflowCandidates:
    """Mappings to learn (one per key), the ``(key, id)`` pairs left out because the batch
    itself maps their key to several ids, and the plan / account keys withheld for want of
    single-employer evidence."""

    records: list[MappingRecord]
    in_batch_conflicts: int
    withheld: int = 0


def _one_value_per_key(key_codes: Codes, other_codes: Codes, n_keys: int) -> Mask:
    """Per key, whether all its rows hold the same ``other_codes`` value (``-1`` counts as a
    value); a key without rows does not. The lowest and highest value per key, in two
    unbuffered passes, instead of hashing every (key, value) pair."""
    low, high = _value_range(key_codes, other_codes, n_keys)
    same: Mask = low == high
    return same


def _several_values_per_key(key_codes: Codes, other_codes: Codes, n_keys: int) -> Mask:
    """Per key, whether its rows hold more than one ``other_codes`` value."""
    low, high = _value_range(key_codes, other_codes, n_keys)
    several: Mask = low < high
    return several


def _value_range(key_codes: Codes, other_codes: Codes, n_keys: int) -> tuple[Codes, Codes]:
    # A key without rows keeps low > high, so it has neither one value nor several.
    low = np.full(n_keys, np.iinfo(np.intp).max, dtype=np.intp)
    high = np.full(n_keys, np.iinfo(np.intp).min, dtype=np.intp)
    np.minimum.at(low, key_codes, other_codes)
    np.maximum.at(high, key_codes, other_codes)
    return low, high


def single_employer_keys(keys: FrameKeys, column: KeyColumn, *, plan: bool) -> Mask:
    """Per key of ``column`` (plan codes or account numbers): whether the batch shows that it
    belongs to one employer — every row of the key carries one normalized customer name and
    one valid, non-temporary existing id, and (plans only, when the frame has a plan-type
    column) every row says ``单一计划``. A collective plan's code says nothing about which
    employer a row belongs to; learned (priority 1) it would outrank every name mapping.
    """
    n_keys = len(column.keys)
    has_key = column.codes >= 0
    if not has_key.any():
        return np.zeros(n_keys, dtype=bool)
    key_codes = column.codes[has_key]
    id_codes = _learnable_codes(keys)[has_key]
    name_codes = keys.name.codes[has_key]
    bad_rows = (id_codes < 0) | (name_codes < 0)
    if plan and keys.single_plan is not None:
        bad_rows |= ~keys.single_plan[has_key]
    evidence: Mask = (
        (np.bincount(key_codes[bad_rows], minlength=n_keys) == 0)
        & _one_value_per_key(key_codes, name_codes, n_keys)
        & _one_value_per_key(key_codes, id_codes, n_keys)
    )
    return evidence


def shared_keys(keys: FrameKeys, column: KeyColumn, *, plan: bool) -> Mask:
    """Per key of ``column`` (plan codes or account numbers): whether the frame shows rows
    of several companies under it — several normalized names or several valid ids (missing
    ones aside), or, for plans, a plan type other than ``单一计划``. A mapping learned for
    such a key is contradicted by the data."""
    n_keys = len(column.keys)
    shared = np.zeros(n_keys, dtype=bool)
    has_key = column.codes >= 0
    id_codes = _learnable_codes(keys)
    for other in (keys.name.codes, id_codes):
        rows = has_key & (other >= 0)
        if rows.any():
            shared |= _several_values_per_key(column.codes[rows], other[rows], n_keys)
    if plan and keys.single_plan is not None:
        collective = has_key & ~keys.single_plan
        shared |= np.bincount(column.codes[collective], minlength=n_keys) > 0
    return shared


def backflow_candidates(keys: FrameKeys, rows: Mask) -> BackflowCandidates:
    """Plan, account, name and account-name → id learned from ``rows`` (resolved by the
    existing column), de-duplicated, never a temporary id.

    A key seen with several ids inside the batch is not learned at all — picking one would
    be a guess, and a wrong mapping is worse than a missing one; each of its pairs counts
    as an in-batch conflict. Plan and account keys are learned only with single-employer
    evidence (:func:`single_employer_keys`); the others are counted as ``withheld``.
    Records come in first-appearance order of their key.
    """
    existing = keys.existing
    per_id = keys.existing_ids
    rows = existing.rows_where(keys.learnable_existing, rows)
    records: list[MappingRecord] = []
    conflicts = withheld = 0
    width = np.int64(max(len(existing.keys), 1))
    ids = per_id.tolist()
    for match_type in BACKFLOW_MATCH_TYPES:
        column = keys.column_for(match_type)
        selected = rows & (column.codes >= 0)
        if not selected.any():
            continue
        pairs = np.asarray(
            pd.unique(column.codes[selected].astype(np.int64) * width + existing.codes[selected]),
            dtype=np.int64,
        )
        key_idx, id_idx = np.divmod(pairs, width)
        _, first, ids_per_key = np.unique(key_idx, return_index=True, return_counts=True)
        single = ids_per_key == 1
        conflicts += int(ids_per_key[~single].sum())
        if match_type in _EVIDENCE_MATCH_TYPES:
            evidence = single_employer_keys(keys, column, plan=match_type == _MT.PLAN)
            backed = evidence[key_idx[first]]
            withheld += int((single & ~backed).sum())
            single &= backed
        aliases = column.keys.tolist()
        for position in np.sort(first[single]).tolist():
            records.append(
                MappingRecord(
                    alias_name=aliases[int(key_idx[position])],
                    canonical_id=ids[int(id_idx[position])],
                    match_type=match_type,
                    source=_BACKFLOW_SOURCE,
                )
            )
    return BackflowCandidates(records=records, in_batch_conflicts=conflicts, withheld=withheld)
