"""A factorized key column: an integer code per row, and the distinct keys.

Every key column of a frame (:mod:`keys`) takes this form, so that a tier works once per
distinct value and maps answers back to rows with one numpy ``take``. Pure.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

__all__ = ["Codes", "KeyColumn", "Mask", "Objects", "factorize", "found"]

Codes = npt.NDArray[np.intp]
Mask = npt.NDArray[np.bool_]
Objects = npt.NDArray[np.object_]


def found(values: Objects) -> Mask:
    """Elementwise ``value is not None`` of an object array (vectorized)."""
    flags: Mask = np.asarray(values != None, dtype=bool)  # noqa: E711 - elementwise
    return flags


def _hashable_or_none(value: object) -> object:
    try:
        hash(value)
    except TypeError:
        return None
    return value


def factorize(values: Any) -> tuple[Codes, Objects]:
    """Codes per value (``-1``: missing) and the distinct values in order of first
    appearance; unhashable cells (lists, dicts) count as missing."""
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
        key_codes, keys = factorize(per_raw)
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
            found = list(map(mapping.get, self.keys[used].tolist()))
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
