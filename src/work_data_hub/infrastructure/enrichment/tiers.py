"""One pure pandas step per resolution tier — values in, values out, no I/O.

Every key column of the frame is factorized once (:class:`KeyColumn`): an integer code per
row and an array of the distinct keys in order of first appearance. A tier looks up only
the distinct keys used by the rows still unresolved and maps its answers back to rows with
one numpy ``take``, so per-row Python work never happens — Python runs once per distinct
value (the resolver's vectorization rule, spec section 1).

Key rules (documented here because the DB cache and the backflow depend on them):

* **Codes** (plan code, account number, existing company id): text is trimmed; a number is
  written without a fractional part when it is whole (``12345``, ``12345.0`` and
  ``numpy.int64(12345)`` all give ``"12345"`` — spreadsheets turn integer code columns
  with gaps into floats), otherwise as ``str(float)``; missing values (None, NaN, ``pd.NA``,
  NaT), infinities, booleans and other objects give ``""`` — no key.
* **Names** (customer name, account name) use ``normalizer.normalize_for_temp_id``; a
  name that normalizes to ``""`` has no key.
* **Hardcode** keys are ``"<plan code>|<normalized customer name>"``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property
from numbers import Integral, Real
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from work_data_hub.infrastructure.db import tables
from work_data_hub.infrastructure.enrichment import normalizer
from work_data_hub.infrastructure.enrichment.types import (
    YAML_LEVELS,
    MappingRecord,
    MatchResult,
    ResolutionStrategy,
)

__all__ = [
    "BACKFLOW_MATCH_TYPES",
    "CACHE_MATCH_TYPES",
    "EXCLUDED_MARKER",
    "HARDCODE_SEPARATOR",
    "PARALLEL_KEYS_MIN_ROWS",
    "PLACEHOLDER_IDS",
    "TEMP_ID_PATTERN",
    "BackflowCandidates",
    "FrameKeys",
    "Hits",
    "KeyColumn",
    "RawNames",
    "YamlOutcome",
    "backflow_candidates",
    "build_frame_keys",
    "cache_lookup_aliases",
    "cache_lookup_keys",
    "cache_tier",
    "cache_tier_ids",
    "canonical_code",
    "clean_company_id",
    "enqueue_requests",
    "eqc_candidates",
    "existing_tier",
    "found",
    "ids_by_type",
    "ids_for_names",
    "ids_of",
    "is_temp_id",
    "prepare_overrides",
    "temp_id_tier",
    "yaml_tier",
]

Codes = npt.NDArray[np.intp]
Mask = npt.NDArray[np.bool_]
Objects = npt.NDArray[np.object_]

#: A YAML override value marking a known non-company: the row is excluded.
EXCLUDED_MARKER = "__EMPTY__"
#: Company ids that mean "no id" (compared upper-case, after trimming).
PLACEHOLDER_IDS = frozenset({"N", "NA", "N/A", "NONE", "NULL", "NAN"})
#: Temporary ids (see normalization.md); they are never learned by the backflow.
TEMP_ID_PATTERN = re.compile(r"^IN[A-Z2-7]{16}\Z")
HARDCODE_SEPARATOR = "|"
#: From this many rows, the code columns are factorized in a second thread while the name
#: columns are normalized: pyarrow's dictionary encoding releases the GIL, so the two
#: overlap on a multi-core machine (about a fifth of the key preparation at 1,000,000 rows).
PARALLEL_KEYS_MIN_ROWS = 100_000

_MT = tables.MatchType
#: Match types looked up in the DB cache, highest priority (lowest number) first.
CACHE_MATCH_TYPES: tuple[str, ...] = tuple(
    m.value for m in sorted(_MT, key=lambda m: (m.priority, m.value))
)
#: What the backflow learns from the existing column, in this order.
BACKFLOW_MATCH_TYPES: tuple[str, ...] = (
    _MT.PLAN.value,
    _MT.ACCOUNT.value,
    _MT.NAME.value,
    _MT.ACCOUNT_NAME.value,
)
_BACKFLOW_SOURCE = tables.MappingSource.PIPELINE_BACKFLOW.value


# --------------------------------------------------------------------------- values


def canonical_code(value: object) -> str:
    """The key of a code cell (plan code, account number, company id); ``""`` = none."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool | np.bool_):
        return ""
    if isinstance(value, Integral):
        return str(int(value))
    if isinstance(value, Decimal):
        if not value.is_finite():
            return ""
        return str(int(value)) if value == value.to_integral_value() else str(value)
    if isinstance(value, Real):
        number = float(value)
        if not math.isfinite(number):
            return ""
        return str(int(number)) if number.is_integer() else str(number)
    return ""


def clean_company_id(value: object) -> str | None:
    """The trimmed id, or None when it is blank, a placeholder or the exclusion marker."""
    text = canonical_code(value)
    if not text or text.upper() in PLACEHOLDER_IDS or text == EXCLUDED_MARKER:
        return None
    return text


def found(values: Objects) -> Mask:
    """Elementwise ``value is not None`` of an object array (vectorized)."""
    flags: Mask = np.asarray(values != None, dtype=bool)  # noqa: E711 - elementwise
    return flags


def is_temp_id(value: str) -> bool:
    """Whether ``value`` is a temporary id (``IN`` + 16 Base32 characters)."""
    return TEMP_ID_PATTERN.match(value) is not None


# --------------------------------------------------------------------------- key columns


def _hashable_or_none(value: object) -> object:
    try:
        hash(value)
    except TypeError:
        return None
    return value


def _factorize(values: Any) -> tuple[Codes, Objects]:
    try:
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
    except TypeError:
        # Unhashable cells (lists, dicts) are not keys: treat them as missing.
        cleaned = np.empty(len(values), dtype=object)
        cleaned[:] = [_hashable_or_none(v) for v in values]
        codes, uniques = pd.factorize(cleaned, use_na_sentinel=True)
    return np.asarray(codes, dtype=np.intp), np.asarray(uniques, dtype=object)


@dataclass(frozen=True, slots=True)
class KeyColumn:
    """A factorized key column: ``keys[codes[i]]`` is row ``i``'s key (``-1`` = no key)."""

    codes: Codes
    keys: Objects

    @classmethod
    def empty(cls, n_rows: int) -> KeyColumn:
        return cls(np.full(n_rows, -1, dtype=np.intp), np.empty(0, dtype=object))

    @classmethod
    def from_keys(cls, raw_codes: Codes, key_per_raw: Iterable[str]) -> KeyColumn:
        """Re-factorize: ``key_per_raw[j]`` is the key of raw distinct value ``j``."""
        per_raw = np.asarray(list(key_per_raw), dtype=object)
        if per_raw.size:
            per_raw[per_raw == ""] = None
        key_codes, keys = _factorize(per_raw)
        # Appending -1 makes code -1 (no raw value) map to -1 through plain indexing.
        lookup = np.append(key_codes, -1).astype(np.intp)
        return cls(lookup[raw_codes], keys)

    def used(self, rows: Mask) -> Codes:
        """Indexes into ``keys`` of the keys used by ``rows``, in first-appearance order."""
        present = np.bincount(self.codes[rows & (self.codes >= 0)], minlength=len(self.keys))
        used: Codes = np.flatnonzero(present).astype(np.intp)
        return used

    def map_keys(self, mapping: Mapping[str, str], rows: Mask) -> Objects:
        """Per distinct key: ``mapping[key]`` for keys used by ``rows``, else None."""
        per_key = np.full(len(self.keys), None, dtype=object)
        if mapping:
            used = self.used(rows)
            found = [mapping.get(key) for key in self.keys[used].tolist()]
            if found:
                per_key[used] = np.asarray(found, dtype=object)
        return per_key

    def rows_where(self, per_key: Mask, rows: Mask) -> Mask:
        """Rows among ``rows`` whose key is flagged in ``per_key``."""
        flags = np.append(per_key.astype(bool), False)
        result: Mask = rows & flags[self.codes]
        return result

    def take(self, per_key: Objects, rows: Mask) -> Objects:
        """Per row: ``per_key`` of the row's key for ``rows``, None elsewhere."""
        out = np.full(len(self.codes), None, dtype=object)
        if len(per_key):
            values = np.empty(len(per_key) + 1, dtype=object)
            values[:-1] = per_key  # the extra last slot (None) serves code -1
            out[rows] = values[self.codes[rows]]
        return out


@dataclass(frozen=True, slots=True)
class Hits:
    """Rows settled by one lookup: row ``i`` of ``rows`` gets ``per_key[column.codes[i]]``.

    Ids stay per distinct key; only the resolver's final step spreads them over rows.
    """

    rows: Mask
    column: KeyColumn
    per_key: Objects

    @classmethod
    def of(cls, column: KeyColumn, per_key: Objects, rows: Mask) -> Hits:
        """Hits for the rows among ``rows`` whose key has a value in ``per_key``."""
        return cls(column.rows_where(found(per_key), rows), column, per_key)

    @property
    def count(self) -> int:
        return int(self.rows.sum())


def ids_of(hits: Iterable[Hits], n_rows: int) -> Objects:
    """Per row, the id of the hit covering it (None elsewhere) — for inspection and tests."""
    out = np.full(n_rows, None, dtype=object)
    for hit in hits:
        out[hit.rows] = hit.column.take(hit.per_key, hit.rows)[hit.rows]
    return out


@dataclass(frozen=True, slots=True)
class RawNames:
    """Raw customer-name spellings: ``values[codes[i]]``; ``key_of_raw`` → name key index."""

    codes: Codes
    values: Objects
    key_of_raw: Codes


@dataclass(frozen=True)
class FrameKeys:
    """Every key column of one frame, factorized once (hardcode pairs on first use)."""

    n_rows: int
    plan: KeyColumn
    account: KeyColumn
    name: KeyColumn
    account_name: KeyColumn
    existing: KeyColumn
    raw_names: RawNames

    @cached_property
    def hardcode(self) -> KeyColumn:
        """``plan|name`` keys; built only when a tier needs them."""
        return _pair_column(self.plan, self.name)

    def column_for(self, kind: str) -> KeyColumn:
        """The key column behind a YAML level or a match type."""
        if kind in (_MT.NAME, _MT.EQC, _MT.MANUAL):
            return self.name
        columns = {
            _MT.PLAN.value: self.plan,
            _MT.ACCOUNT.value: self.account,
            _MT.HARDCODE.value: self.hardcode,
            _MT.ACCOUNT_NAME.value: self.account_name,
        }
        return columns[kind]


def _code_column(series: pd.Series | None, n_rows: int) -> KeyColumn:
    if series is None:
        return KeyColumn.empty(n_rows)
    codes, uniques = _factorize(series)
    return KeyColumn.from_keys(codes, (canonical_code(v) for v in uniques.tolist()))


def _same_cells(a: pd.Series, b: pd.Series) -> Mask:
    """Rows where both columns hold the same (non-missing) value; one vectorized compare."""
    try:
        equal = a.array == b.array
        same: Mask = np.asarray(pd.array(equal, dtype="boolean").fillna(False), dtype=bool)
    except (TypeError, ValueError):
        return np.zeros(len(a), dtype=bool)
    return same


def _name_columns(
    customer: pd.Series, account: pd.Series | None
) -> tuple[KeyColumn, KeyColumn, RawNames]:
    """Both name columns over one key space; each distinct spelling is normalized once.

    The account name often repeats the customer name: those rows reuse the customer
    column's codes, and only the other account-name cells are factorized.
    """
    n_rows = len(customer)
    c_codes, c_uniques = _factorize(customer)
    a_codes = np.full(n_rows, -1, dtype=np.intp)
    a_uniques = np.empty(0, dtype=object)
    same = np.zeros(n_rows, dtype=bool)
    if account is not None:
        same = _same_cells(customer, account)
        if not same.all():
            a_codes[~same], a_uniques = _factorize(account.array[~same])
    union_codes, union = _factorize(np.concatenate([c_uniques, a_uniques]))
    normalized = normalizer.normalize_series(pd.Series(union, dtype=object))
    keyed = KeyColumn.from_keys(union_codes, (str(v) for v in normalized.tolist()))
    key_of_union = keyed.codes  # one entry per customer unique, then per account unique
    c_key = np.append(key_of_union[: len(c_uniques)], -1).astype(np.intp)
    a_key = np.append(key_of_union[len(c_uniques) :], -1).astype(np.intp)
    name = KeyColumn(c_key[c_codes], keyed.keys)
    account_name = KeyColumn(np.where(same, name.codes, a_key[a_codes]), keyed.keys)
    raw = RawNames(c_codes, c_uniques, c_key[:-1])
    return name, account_name, raw


def _pair_column(plan: KeyColumn, name: KeyColumn) -> KeyColumn:
    """Hardcode keys ``plan|name`` for rows having both."""
    codes = np.full(len(plan.codes), -1, dtype=np.intp)
    both = (plan.codes >= 0) & (name.codes >= 0)
    if not both.any():
        return KeyColumn(codes, np.empty(0, dtype=object))
    width = np.int64(len(name.keys))
    combined = plan.codes[both].astype(np.int64) * width + name.codes[both]
    pair_codes, pairs = pd.factorize(combined)
    codes[both] = pair_codes
    plan_keys, name_keys = plan.keys.tolist(), name.keys.tolist()
    keys = [
        f"{plan_keys[int(p) // int(width)]}{HARDCODE_SEPARATOR}{name_keys[int(p) % int(width)]}"
        for p in np.asarray(pairs).tolist()
    ]
    return KeyColumn(codes, np.asarray(keys, dtype=object))


def build_frame_keys(df: pd.DataFrame, strategy: ResolutionStrategy) -> FrameKeys:
    """Factorize the frame's key columns; only the customer-name column is required."""
    if strategy.customer_name_column not in df.columns:
        present = ", ".join(repr(str(c)) for c in df.columns)
        raise ValueError(
            f"missing customer-name column {strategy.customer_name_column!r}; "
            f"present columns: [{present}]"
        )

    def column(name: str) -> pd.Series | None:
        if name not in df.columns:
            return None
        if list(df.columns).count(name) > 1:
            raise ValueError(f"column {name!r} appears more than once")
        selected: pd.Series = df[name]
        return selected

    n_rows = len(df)
    customer = column(strategy.customer_name_column)
    assert customer is not None
    account = column(strategy.account_name_column)
    code_series = [
        column(strategy.plan_code_column),
        column(strategy.account_number_column),
        column(strategy.company_id_column),
    ]

    def code_columns() -> list[KeyColumn]:
        return [_code_column(series, n_rows) for series in code_series]

    if n_rows >= PARALLEL_KEYS_MIN_ROWS:
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="wdh-frame-keys") as pool:
            codes = pool.submit(code_columns)
            name, account_name, raw = _name_columns(customer, account)
            plan, account_number, existing = codes.result()
    else:
        name, account_name, raw = _name_columns(customer, account)
        plan, account_number, existing = code_columns()
    return FrameKeys(
        n_rows=n_rows,
        plan=plan,
        account=account_number,
        name=name,
        account_name=account_name,
        existing=existing,
        raw_names=raw,
    )


# --------------------------------------------------------------------------- tier 1: YAML


def _override_key(level: str, raw_key: object) -> str:
    if level in (_MT.NAME, _MT.ACCOUNT_NAME):
        return normalizer.normalize_for_temp_id(raw_key)
    if level == _MT.HARDCODE:
        text = raw_key if isinstance(raw_key, str) else canonical_code(raw_key)
        plan, sep, name = text.partition(HARDCODE_SEPARATOR)
        plan_key, name_key = plan.strip(), normalizer.normalize_for_temp_id(name)
        if not sep or not plan_key or not name_key:
            return ""
        return f"{plan_key}{HARDCODE_SEPARATOR}{name_key}"
    return canonical_code(raw_key)


def prepare_overrides(
    overrides: Mapping[str, Mapping[Any, Any]] | None,
) -> dict[str, dict[str, str]]:
    """All five levels with keys in the frame's key form (codes trimmed, names normalized).

    Values are trimmed ids or ``__EMPTY__``; blank or placeholder ids are dropped. Raises
    ``ValueError`` for an unknown level or two spellings of one key mapped to two ids.
    """
    levels: dict[str, dict[str, str]] = {level: {} for level in YAML_LEVELS}
    for level, entries in (overrides or {}).items():
        if level not in levels:
            raise ValueError(f"unknown override level {level!r}; expected one of {YAML_LEVELS}")
        target = levels[level]
        for raw_key, raw_value in entries.items():
            key = _override_key(level, raw_key)
            value = canonical_code(raw_value)
            if not key or (value != EXCLUDED_MARKER and clean_company_id(value) is None):
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
        hit = Hits(column.rows_where(has_value & ~is_excluded, remaining), column, per_key)
        excluded_rows = column.rows_where(is_excluded, remaining)
        found_hits.append(hit)
        excluded |= excluded_rows
        remaining &= ~(hit.rows | excluded_rows)
        counts[level] = hit.count
    return YamlOutcome(hits=found_hits, excluded=excluded, counts=counts)


# --------------------------------------------------------------------------- tier 2: DB cache


def cache_lookup_keys(keys: FrameKeys, unresolved: Mask) -> list[tuple[str, str]]:
    """Every distinct ``(alias, match_type)`` of the rows still open, for one query."""
    lookup: list[tuple[str, str]] = []
    for match_type in CACHE_MATCH_TYPES:
        column = keys.column_for(match_type)
        aliases = column.keys[column.used(unresolved)].tolist()
        lookup.extend((alias, match_type) for alias in aliases)
    return lookup


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


def ids_by_type(matches: Iterable[MatchResult]) -> dict[str, dict[str, str]]:
    """``{match_type: {alias: canonical_id}}`` of ``matches`` (the first one per key)."""
    by_type: dict[str, dict[str, str]] = {}
    for match in matches:
        by_type.setdefault(match.match_type, {}).setdefault(match.alias_name, match.canonical_id)
    return by_type


def cache_tier(keys: FrameKeys, unresolved: Mask, matches: Iterable[MatchResult]) -> list[Hits]:
    """Tier 2: per open row, the valid cached id of the highest-priority match type."""
    return cache_tier_ids(keys, unresolved, ids_by_type(matches))


def cache_tier_ids(
    keys: FrameKeys, unresolved: Mask, stored: Mapping[str, Mapping[str, str]]
) -> list[Hits]:
    """Tier 2 from ``{match_type: {alias: stored id}}``: per open row, the valid id of the
    highest-priority match type."""
    hits: list[Hits] = []
    remaining = unresolved.copy()
    for match_type in CACHE_MATCH_TYPES:
        mapping = {
            alias: company_id
            for alias, raw_id in (stored.get(match_type) or {}).items()
            if (company_id := clean_company_id(raw_id)) is not None
        }
        if not mapping or not remaining.any():
            continue
        column = keys.column_for(match_type)
        hit = Hits.of(column, column.map_keys(mapping, remaining), remaining)
        hits.append(hit)
        remaining &= ~hit.rows
    return hits


# --------------------------------------------------------------------------- tier 3: existing


def _existing_ids(keys: FrameKeys) -> Objects:
    per_key = np.full(len(keys.existing.keys), None, dtype=object)
    for index, value in enumerate(keys.existing.keys.tolist()):
        per_key[index] = clean_company_id(value)
    return per_key


def existing_tier(keys: FrameKeys, unresolved: Mask) -> Hits:
    """Tier 3: a valid value of the existing company-id column."""
    return Hits.of(keys.existing, _existing_ids(keys), unresolved)


@dataclass(frozen=True, slots=True)
class BackflowCandidates:
    """Mappings to learn (one per key) and the ``(key, id)`` pairs left out because the
    batch itself maps their key to several ids."""

    records: list[MappingRecord]
    in_batch_conflicts: int


def backflow_candidates(keys: FrameKeys, rows: Mask) -> BackflowCandidates:
    """Plan, account, name and account-name → id learned from ``rows`` (resolved by the
    existing column), de-duplicated, never a temporary id.

    A key seen with several ids inside the batch is not learned at all — picking one would
    be a guess, and a wrong mapping is worse than a missing one; each of its pairs counts
    as an in-batch conflict. Records come in first-appearance order of their key.
    """
    existing = keys.existing
    per_id = _existing_ids(keys)
    learnable = np.asarray(
        [v is not None and not is_temp_id(v) for v in per_id.tolist()], dtype=bool
    )
    rows = existing.rows_where(learnable, rows)
    records: list[MappingRecord] = []
    conflicts = 0
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
    return BackflowCandidates(records=records, in_batch_conflicts=conflicts)


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
    return Hits.of(keys.name, keys.name.map_keys(by_name, unresolved), unresolved)


# --------------------------------------------------------------------------- tier 5: temp ids


def temp_id_tier(keys: FrameKeys, unresolved: Mask, salt: str) -> Hits:
    """Tier 5: temporary ids for open rows with a non-empty normalized name (the hits'
    ``per_key`` holds the temp id of each distinct name used, None elsewhere)."""
    column = keys.name
    used = column.used(unresolved)
    per_key = np.full(len(column.keys), None, dtype=object)
    if len(used):
        # Keys are normalized already: hash them without normalizing a second time.
        temp = [normalizer.temp_id_for_key(key, salt) for key in column.keys[used].tolist()]
        per_key[used] = np.asarray(temp, dtype=object)
    return Hits.of(column, per_key, unresolved)


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
    values, names = raw.values.tolist(), keys.name.keys.tolist()
    for raw_code, key in zip(
        candidates[order][first].tolist(), sorted_keys[first].tolist(), strict=True
    ):
        temp_id = temp_per_key[key]
        if temp_id is None:
            continue
        requests.append(
            {
                # PostgreSQL cannot store NUL in text; the normalized key never holds one.
                "raw_name": str(values[raw_code]).replace("\x00", ""),
                "normalized_name": names[key],
                "temp_id": str(temp_id),
            }
        )
    return requests
