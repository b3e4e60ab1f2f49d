"""One pure pandas step per resolution tier — values in, values out, no I/O.

A tier looks up only the distinct keys used by the rows still unresolved (the frame's
factorized key columns, :mod:`_frame_keys`) and maps its answers back to rows with one
numpy ``take``, so per-row Python work never happens — Python runs once per distinct value
(the resolver's vectorization rule, spec section 1).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from work_data_hub.infrastructure.db import tables
from work_data_hub.infrastructure.enrichment import company_ids, normalizer
from work_data_hub.infrastructure.enrichment.resolve import key_cache
from work_data_hub.infrastructure.enrichment.resolve.keys import (
    EXCLUDED_MARKER,
    HARDCODE_SEPARATOR,
    PLACEHOLDER_IDS,
    TEMP_ID_PATTERN,
    Codes,
    FrameKeys,
    KeyColumn,
    Mask,
    Objects,
    RawNames,
    build_frame_keys,
    canonical_code,
    clean_company_id,
    found,
    is_temp_id,
)
from work_data_hub.infrastructure.enrichment.resolve.learning import (
    BACKFLOW_MATCH_TYPES,
    BackflowCandidates,
    backflow_candidates,
    shared_keys,
    single_employer_keys,
)
from work_data_hub.infrastructure.enrichment.types import (
    YAML_LEVELS,
)

__all__ = [
    "BACKFLOW_MATCH_TYPES",
    "CACHE_MATCH_TYPES",
    "EXCLUDED_MARKER",
    "HARDCODE_SEPARATOR",
    "PLACEHOLDER_IDS",
    "PROVENANCE_LABELS",
    "TEMP_ID_PATTERN",
    "BackflowCandidates",
    "CacheAnswer",
    "Codes",
    "FrameKeys",
    "Hits",
    "KeyColumn",
    "Mask",
    "Objects",
    "RawNames",
    "YamlOutcome",
    "backflow_candidates",
    "build_frame_keys",
    "cache_hits",
    "cache_lookup_aliases",
    "cache_tier_ids",
    "canonical_code",
    "clean_company_id",
    "enqueue_requests",
    "eqc_candidates",
    "existing_tier",
    "found",
    "ids_for_names",
    "ids_of",
    "is_temp_id",
    "name_mapping_ids",
    "plan_name_conflicts",
    "prepare_overrides",
    "propagated_ids",
    "shared_keys",
    "single_employer_keys",
    "temp_id_tier",
    "yaml_tier",
]

_MT = tables.MatchType
#: Match types looked up in the DB cache, highest priority (lowest number) first.
CACHE_MATCH_TYPES: tuple[str, ...] = tuple(
    m.value for m in sorted(_MT, key=lambda m: (m.priority, m.value))
)
#: What ``--explain`` says settled a row, in tier order; the index is the row's code.
PROVENANCE_LABELS: tuple[str, ...] = (
    *(f"yaml:{level}" for level in YAML_LEVELS),
    *(f"db:{match_type}" for match_type in CACHE_MATCH_TYPES),
    "existing",
    "propagated",
    "eqc",
    "temp",
    "excluded",
)


@dataclass(frozen=True, slots=True)
class Hits:
    """Rows settled by one lookup: row ``i`` of ``rows`` gets ``per_key[column.codes[i]]``.

    Ids stay per distinct key; only the resolver's final step spreads them over rows.
    """

    rows: Mask
    column: KeyColumn
    per_key: Objects
    #: The provenance label of these hits (:data:`PROVENANCE_LABELS`), ``""`` when unset.
    label: str = ""

    @classmethod
    def of(cls, column: KeyColumn, per_key: Objects, rows: Mask, label: str = "") -> Hits:
        """Hits for the rows among ``rows`` whose key has a value in ``per_key``."""
        return cls(column.rows_where(found(per_key), rows), column, per_key, label)

    @property
    def count(self) -> int:
        return int(self.rows.sum())


def ids_of(hits: Iterable[Hits], n_rows: int) -> Objects:
    """Per row, the id of the hit covering it (None elsewhere) — for inspection and tests."""
    out = np.full(n_rows, None, dtype=object)
    for hit in hits:
        out[hit.rows] = hit.column.take(hit.per_key, hit.rows)[hit.rows]
    return out


# --------------------------------------------------------------------------- tier 1: YAML


def _override_key(level: str, raw_key: object) -> str:
    if level in (_MT.NAME, _MT.ACCOUNT_NAME):
        return normalizer.normalize_for_temp_id(raw_key)
    if level == _MT.HARDCODE:
        text = raw_key if isinstance(raw_key, str) else canonical_code(raw_key)
        plan, sep, name = text.partition(HARDCODE_SEPARATOR)
        plan_key, name_key = plan.strip(), normalizer.normalize_for_temp_id(name)
        if not sep or not plan_key or not name_key:
            raise ValueError(
                f"hardcode override keys read 'plan code{HARDCODE_SEPARATOR}customer name';"
                " a key lacks one of the two"
            )
        return f"{plan_key}{HARDCODE_SEPARATOR}{name_key}"
    return canonical_code(raw_key)


def prepare_overrides(
    overrides: Mapping[str, Mapping[Any, Any]] | None,
) -> dict[str, dict[str, str]]:
    """All five levels with keys in the frame's key form (codes trimmed, names normalized).

    Values are ids passing the id rule (:mod:`company_ids`) or ``__EMPTY__``; blank or
    placeholder ids are dropped. Raises ``ValueError`` for an unknown level, a hardcode key
    without ``plan|name``, an id the rule refuses, or two spellings of one key mapped to two
    ids.
    """
    levels: dict[str, dict[str, str]] = {level: {} for level in YAML_LEVELS}
    for level, entries in (overrides or {}).items():
        if level not in levels:
            raise ValueError(f"unknown override level {level!r}; expected one of {YAML_LEVELS}")
        target = levels[level]
        for raw_key, raw_value in entries.items():
            key = _override_key(level, raw_key)
            value = canonical_code(raw_value)
            if value != EXCLUDED_MARKER:
                check = company_ids.check_company_id(raw_value)
                if check.problem not in (None, company_ids.IdProblem.MISSING):
                    raise ValueError(f"override level {level!r}: company id {check.problem}")
                value = check.company_id or ""
            if not key or not value:
                continue
            if target.setdefault(key, value) != value:
                raise ValueError(f"override level {level!r} maps one key to two different ids")
    return levels


@dataclass(frozen=True, slots=True)
class YamlOutcome:
    """Hits per level (disjoint rows), rows excluded by ``__EMPTY__``, hit counts per level."""

    hits: list[Hits]
    excluded: Mask
    counts: dict[str, int]

    @property
    def ids(self) -> Objects:
        return ids_of(self.hits, len(self.excluded))


def yaml_tier(
    keys: FrameKeys, unresolved: Mask, overrides: Mapping[str, Mapping[str, str]]
) -> YamlOutcome:
    """Tier 1: the five override levels in priority order, each on rows still open."""
    found_hits: list[Hits] = []
    excluded = np.zeros(keys.n_rows, dtype=bool)
    remaining = unresolved.copy()
    counts: dict[str, int] = {}
    for level in YAML_LEVELS:
        mapping = overrides.get(level) or {}
        counts[level] = 0
        if not mapping or not remaining.any():
            continue
        column = keys.column_for(level)
        per_key = column.map_keys(mapping, remaining)
        has_value = found(per_key)
        is_excluded = per_key == EXCLUDED_MARKER
        hit = Hits(
            column.rows_where(has_value & ~is_excluded, remaining), column, per_key, f"yaml:{level}"
        )
        excluded_rows = column.rows_where(is_excluded, remaining)
        found_hits.append(hit)
        excluded |= excluded_rows
        remaining &= ~(hit.rows | excluded_rows)
        counts[level] = hit.count
    return YamlOutcome(hits=found_hits, excluded=excluded, counts=counts)


# --------------------------------------------------------------------------- tier 2: DB cache


def cache_lookup_aliases(keys: FrameKeys, unresolved: Mask) -> dict[str, list[str]]:
    """Every distinct alias of the rows still open, per match type (the same list for
    types sharing a key column), for one ``lookup_ids`` query."""
    # Columns over one key space asking for the same keys (an account name that repeats
    # the customer name) share one list, which the repository then reads once.
    lists: list[tuple[Objects, Codes, list[str]]] = []
    aliases: dict[str, list[str]] = {}
    for match_type in CACHE_MATCH_TYPES:
        column = keys.column_for(match_type)
        used = column.used(unresolved)
        same = (
            listed
            for listed_keys, listed_used, listed in lists
            if listed_keys is column.keys and np.array_equal(listed_used, used)
        )
        names = next(same, None)
        if names is None:
            names = column.keys[used].tolist()
            lists.append((column.keys, used, names))
        if names:
            aliases[match_type] = names
    return aliases


#: One match type's answer for tier 2: given the rows still open, its key column and the
#: valid id per distinct key (None where none), or None when the type has no valid id.
CacheAnswer = Callable[[str, Mask], "tuple[KeyColumn, Objects] | None"]


def cache_hits(unresolved: Mask, answer: CacheAnswer) -> list[Hits]:
    """Tier 2's walk, whatever form the stored ids come in: match types highest priority
    first, each settling the open rows its key has a valid id for."""
    hits: list[Hits] = []
    remaining = unresolved.copy()
    for match_type in CACHE_MATCH_TYPES:
        if not remaining.any():
            break
        answered = answer(match_type, remaining)
        if answered is None:
            continue
        column, per_key = answered
        hit = Hits.of(column, per_key, remaining, f"db:{match_type}")
        hits.append(hit)
        remaining &= ~hit.rows
    return hits


def cache_tier_ids(
    keys: FrameKeys, unresolved: Mask, stored: Mapping[str, Mapping[str, str]]
) -> list[Hits]:
    """Tier 2 from ``{match_type: {alias: stored id}}``: per open row, the valid id of the
    highest-priority match type."""

    def answer(match_type: str, remaining: Mask) -> tuple[KeyColumn, Objects] | None:
        mapping = company_ids.valid_id_mapping(stored.get(match_type) or {})
        if not mapping:
            return None
        column = keys.column_for(match_type)
        return column, column.map_keys(mapping, remaining)

    return cache_hits(unresolved, answer)


def name_mapping_ids(stored: Mapping[str, Mapping[str, str]]) -> dict[str, str]:
    """Valid ids by normalized name from stored ``name`` and ``eqc`` mappings (``name`` wins),
    what a plan hit is compared with."""
    ids: dict[str, str] = {}
    for match_type in (_MT.EQC.value, _MT.NAME.value):
        ids.update(company_ids.valid_id_mapping(stored.get(match_type) or {}))
    return ids


def plan_name_conflicts(plan_hit: Hits, name: KeyColumn, name_ids: Mapping[str, str]) -> Mask:
    """Rows of ``plan_hit`` whose normalized name maps (``name_ids``) to another id."""
    rows = plan_hit.rows
    if not name_ids or not rows.any():
        return np.zeros(len(rows), dtype=bool)
    by_plan = plan_hit.column.take(plan_hit.per_key, rows)
    by_name = name.take(name.map_keys(name_ids, rows), rows)
    differ: Mask = rows & found(by_name) & np.asarray(by_name != by_plan, dtype=bool)
    return differ


# --------------------------------------------------------------------------- tier 3: existing


def existing_tier(keys: FrameKeys, unresolved: Mask) -> Hits:
    """Tier 3: a valid value of the existing company-id column."""
    return Hits.of(keys.existing, keys.existing_ids, unresolved, "existing")


def propagated_ids(keys: FrameKeys, unresolved: Mask) -> tuple[Hits, int]:
    """Open rows whose normalized name's rows carry exactly one valid existing id (not a
    temporary one) get it; returns the hits and the number of names holding several ids
    (none of which is propagated)."""
    name = keys.name
    per_id = keys.existing_ids
    learnable = np.asarray(
        [v is not None and not is_temp_id(v) for v in per_id.tolist()] + [False], dtype=bool
    )
    carries = (name.codes >= 0) & learnable[keys.existing.codes]
    per_key = np.full(len(name.keys), None, dtype=object)
    if not carries.any():
        return Hits(np.zeros(keys.n_rows, dtype=bool), name, per_key, "propagated"), 0
    width = np.int64(max(len(keys.existing.keys), 1))
    pairs = np.asarray(
        pd.unique(name.codes[carries].astype(np.int64) * width + keys.existing.codes[carries]),
        dtype=np.int64,
    )
    key_idx, id_idx = np.divmod(pairs, width)
    counts = np.bincount(key_idx, minlength=len(name.keys))
    one = counts[key_idx] == 1
    per_key[key_idx[one]] = per_id[id_idx[one]]
    return Hits.of(name, per_key, unresolved, "propagated"), int((counts > 1).sum())


# --------------------------------------------------------------------------- tier 4: EQC


def eqc_candidates(keys: FrameKeys, unresolved: Mask) -> list[str]:
    """Distinct normalized names of open rows, most frequent first; ties keep first
    appearance in the frame."""
    column = keys.name
    selected = unresolved & (column.codes >= 0)
    counts = np.bincount(column.codes[selected], minlength=len(column.keys))
    order = np.argsort(-counts, kind="stable")
    order = order[counts[order] > 0]
    names: list[str] = column.keys[order].tolist()
    return names


def ids_for_names(keys: FrameKeys, unresolved: Mask, by_name: Mapping[str, str]) -> Hits:
    """Open rows whose normalized name has an id in ``by_name``."""
    return Hits.of(keys.name, keys.name.map_keys(by_name, unresolved), unresolved, "eqc")


# --------------------------------------------------------------------------- tier 5: temp ids


def temp_id_tier(keys: FrameKeys, unresolved: Mask, salt: str) -> Hits:
    """Tier 5: temporary ids for open rows with a non-empty normalized name (the hits'
    ``per_key`` holds the temp id of each distinct name used, None elsewhere)."""
    column = keys.name
    used = column.used(unresolved)
    per_key = np.full(len(column.keys), None, dtype=object)
    if len(used):
        # Keys are normalized already: hash them without normalizing a second time.
        temp = key_cache.temp_ids(column.keys[used].tolist(), salt)
        per_key[used] = np.asarray(temp, dtype=object)
    return Hits.of(column, per_key, unresolved, "temp")


def enqueue_requests(keys: FrameKeys, rows: Mask, temp_per_key: Objects) -> list[dict[str, str]]:
    """One request per distinct name of ``rows`` (rows that got a temporary id), in first-
    appearance order; ``raw_name`` is the name's most frequent raw spelling (ties: first)."""
    raw = keys.raw_names
    selected = rows & (raw.codes >= 0)
    counts = np.bincount(raw.codes[selected], minlength=len(raw.values))
    candidates = np.flatnonzero(counts)
    name_keys = raw.key_of_raw[candidates]
    keep = name_keys >= 0
    candidates, name_keys = candidates[keep], name_keys[keep]
    if not len(candidates):
        return []
    order = np.lexsort((candidates, -counts[candidates], name_keys))
    sorted_keys = name_keys[order]
    first = np.ones(len(order), dtype=bool)
    first[1:] = sorted_keys[1:] != sorted_keys[:-1]
    requests: list[dict[str, str]] = []
    chosen = candidates[order][first]
    names = keys.name.keys.tolist()
    for spelling, key in zip(raw.texts(chosen), sorted_keys[first].tolist(), strict=True):
        temp_id = temp_per_key[key]
        if temp_id is None:
            continue
        requests.append(
            {
                # PostgreSQL cannot store NUL in text; the normalized key never holds one.
                "raw_name": str(spelling).replace("\x00", ""),
                "normalized_name": names[key],
                "temp_id": str(temp_id),
            }
        )
    return requests
