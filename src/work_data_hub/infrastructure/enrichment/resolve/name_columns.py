"""The two name columns of a frame (customer name, account name) over one key space.

Each distinct spelling is normalized once per process: the Python path looks spellings up
in :mod:`key_cache`; text in Arrow form (what the readers give) is factorized by Arrow and
matched in bulk against :mod:`spelling_index`. Both paths give the same codes, keys and
raw spellings, in the same order. The account name often repeats the customer name: those
rows reuse the customer column's codes, and only the other account-name cells are
factorized. Pure.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]

from work_data_hub.infrastructure.enrichment.resolve import key_cache, spelling_index
from work_data_hub.infrastructure.enrichment.resolve.key_column import (
    Codes,
    KeyColumn,
    Mask,
    Objects,
    factorize,
)

__all__ = ["RawNames", "name_columns"]


@dataclass(frozen=True, slots=True)
class RawNames:
    """Raw customer-name spellings: ``values[codes[i]]``; ``key_of_raw`` → name key index.

    ``values`` stays in Arrow form when the column was (only the few spellings a tier
    asks for become Python strings)."""

    codes: Codes
    values: Objects | pa.Array
    key_of_raw: Codes

    def texts(self, indexes: Codes) -> list[object]:
        """The spellings at ``indexes``."""
        if isinstance(self.values, np.ndarray):
            return list(self.values[indexes].tolist())
        return list(self.values.take(pa.array(indexes, pa.int64())).to_pylist())


def _same_cells(a: pd.Series, b: pd.Series) -> Mask:
    """Rows where both columns hold the same (non-missing) value; one vectorized compare."""
    try:
        equal = a.array == b.array
        same: Mask = np.asarray(pd.array(equal, dtype="boolean").fillna(False), dtype=bool)
    except (TypeError, ValueError):
        return np.zeros(len(a), dtype=bool)
    return same


@dataclass(frozen=True, slots=True)
class _Spellings:
    """The distinct spellings of both name columns: the customer column's, then those of
    the account-name cells that differ from their row's customer name."""

    customer_codes: Codes
    customer_values: Objects | pa.Array
    account_codes: Codes  # -1 where the row repeats the customer name (see ``same``)
    same: Mask
    keyed: KeyColumn  # per spelling (customer ones first), its name key


def _python_spellings(customer: pd.Series, account: pd.Series | None) -> _Spellings:
    """Spellings factorized by pandas, keyed through the :mod:`key_cache` memo."""
    n_rows = len(customer)
    c_codes, c_uniques = factorize(customer)
    a_codes = np.full(n_rows, -1, dtype=np.intp)
    a_uniques = np.empty(0, dtype=object)
    same = np.zeros(n_rows, dtype=bool)
    if account is not None:
        same = _same_cells(customer, account)
        if not same.all():
            a_codes[~same], a_uniques = factorize(account.array[~same])
    # A spelling in both columns is looked up twice in the memo: cheaper than a third
    # factorization to merge the two lists first.
    spellings = c_uniques.tolist() + a_uniques.tolist()
    keyed = KeyColumn.from_keys(
        np.arange(len(spellings), dtype=np.intp), key_cache.name_keys(spellings)
    )
    return _Spellings(c_codes, c_uniques, a_codes, same, keyed)


def _arrow_codes(values: pa.ChunkedArray) -> tuple[Codes, pa.Array]:
    """Arrow's dictionary encoding: per row a code (``-1``: null), and the distinct values
    in order of first appearance (as ``pd.factorize`` gives them). The chunks are encoded
    where they lie: joining them first would copy the column."""
    encoded = pc.dictionary_encode(values)
    chunks = encoded.chunks
    if not chunks:
        return np.empty(0, dtype=np.intp), pa.array([], values.type)
    dictionary = chunks[-1].dictionary
    if any(len(chunk.dictionary) != len(dictionary) for chunk in chunks):
        # Arrow gives every chunk the whole dictionary; should a version not, encode the
        # joined column instead.
        joined = pc.dictionary_encode(values.combine_chunks())
        codes: Codes = np.asarray(joined.indices.fill_null(-1), dtype=np.intp)
        return codes, joined.dictionary
    codes = np.concatenate(
        [np.asarray(chunk.indices.fill_null(-1), dtype=np.intp) for chunk in chunks]
    )
    return codes, dictionary


def _arrow_spellings(customer: pa.ChunkedArray, account: pa.ChunkedArray | None) -> _Spellings:
    """:func:`_python_spellings` in Arrow: the same spellings, codes and keys, with the
    spellings matched in bulk against :mod:`spelling_index`."""
    n_rows = len(customer)
    c_codes, c_values = _arrow_codes(customer)
    a_codes = np.full(n_rows, -1, dtype=np.intp)
    a_values = c_values.slice(0, 0)
    same = np.zeros(n_rows, dtype=bool)
    if account is not None:
        same = np.asarray(pc.equal(customer, account).fill_null(False), dtype=bool)
        if not same.all():
            a_codes[~same], a_values = _arrow_codes(account.filter(pa.array(~same)))
    spellings = pa.concat_arrays([c_values, a_values])
    numbers, texts = spelling_index.key_numbers(spellings)
    has_key = numbers >= 0
    key_codes = np.full(len(numbers), -1, dtype=np.intp)
    keys = np.empty(0, dtype=object)
    if has_key.any():
        # Numbered in order of first appearance, as the Python path's factorization does.
        local, first_seen = pd.factorize(numbers[has_key])
        key_codes[has_key] = local
        keys = texts[first_seen]
    return _Spellings(c_codes, c_values, a_codes, same, KeyColumn(key_codes, keys))


def name_columns(
    customer: pd.Series, account: pd.Series | None
) -> tuple[KeyColumn, KeyColumn, RawNames]:
    """Both name columns over one key space; each distinct spelling is normalized once.

    The account name often repeats the customer name: those rows reuse the customer
    column's codes, and only the other account-name cells are factorized.
    """
    c_arrow = spelling_index.arrow_chunks(customer)
    a_arrow = None if account is None else spelling_index.arrow_chunks(account)
    if c_arrow is not None and (account is None or a_arrow is not None):
        # One text type for both columns (the readers may give either width).
        wide = pa.large_string()
        spellings = _arrow_spellings(
            c_arrow.cast(wide), None if a_arrow is None else a_arrow.cast(wide)
        )
    else:
        spellings = _python_spellings(customer, account)
    n_customer = len(spellings.customer_values)
    key_of_spelling = spellings.keyed.codes
    c_key = np.append(key_of_spelling[:n_customer], -1).astype(np.intp)
    a_key = np.append(key_of_spelling[n_customer:], -1).astype(np.intp)
    keys = spellings.keyed.keys
    name = KeyColumn(c_key[spellings.customer_codes], keys)
    account_codes = np.where(spellings.same, name.codes, a_key[spellings.account_codes])
    account_name = KeyColumn(account_codes, keys)
    raw = RawNames(spellings.customer_codes, spellings.customer_values, c_key[:-1])
    return name, account_name, raw
