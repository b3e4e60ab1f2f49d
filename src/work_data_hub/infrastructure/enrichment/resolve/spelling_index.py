"""Name spellings already keyed, kept in Arrow form, so that a chunk's names are keyed in bulk.

:mod:`key_cache` remembers the key of each spelling in a dict: one Python lookup per
distinct spelling and chunk, and the spelling itself first has to become a Python string.
On a large file whose names come back in every chunk that was a third of key building.
The readers give text columns in Arrow form; this index keeps every spelling it has keyed
as one Arrow array, beside the number of its key. A chunk's distinct spellings are matched
against it by one ``index_in`` (Arrow's hash lookup, which runs without the GIL), and only
spellings never seen become Python strings and go through ``normalize_for_temp_id``. The
keys are exactly the normalizer's: only the work is shared.

Bounded like :mod:`key_cache` (:data:`MAX_SPELLINGS`): a lookup that would overflow the
index empties it first; :func:`key_cache.clear` empties it too. A lock serializes
lookups, so resolvers in several threads may share the index.
"""

from __future__ import annotations

import threading

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]

from work_data_hub.infrastructure.enrichment import normalizer

__all__ = [
    "MAX_SPELLINGS",
    "SpellingIndex",
    "arrow_chunks",
    "clear",
    "key_numbers",
]

#: Spellings kept, as many as :data:`key_cache.MAX_ENTRIES`: a few tens of MB.
MAX_SPELLINGS = 262_144

Codes = npt.NDArray[np.intp]
Objects = npt.NDArray[np.object_]


def arrow_chunks(series: pd.Series) -> pa.ChunkedArray | None:
    """The cells of an Arrow-backed text column (what the readers give), as they are
    stored; ``None`` for any other column, which takes the Python path."""
    dtype = series.dtype
    if not (isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow"):
        return None
    values = pa.array(series.array)
    if not isinstance(values, pa.ChunkedArray):
        values = pa.chunked_array([values], type=values.type)
    if not pa.types.is_string(values.type) and not pa.types.is_large_string(values.type):
        return None
    return values


class SpellingIndex:
    """Spellings seen (one Arrow array) → key number → key text; grown lookup by lookup."""

    def __init__(self, max_entries: int) -> None:
        self._max_entries = max_entries
        self._lock = threading.Lock()
        self._reset()

    def __len__(self) -> int:
        return len(self._numbers)

    def _reset(self) -> None:
        self._spellings = pa.array([], pa.large_string())
        self._numbers: Codes = np.empty(0, dtype=np.intp)  # per spelling; -1: no key
        # Key texts by number, with room to grow; lookups return views of it, which a
        # later reallocation or reset leaves intact.
        self._texts: Objects = np.empty(1024, dtype=object)
        self._count = 0
        self._number_of: dict[str, int] = {}

    def clear(self) -> None:
        with self._lock:
            self._reset()

    def key_numbers(self, spellings: pa.Array) -> tuple[Codes, Objects]:
        """Per spelling, the number of its key (``-1``: it normalizes to nothing), and the
        key texts by number (``texts[number]``)."""
        spellings = spellings.cast(pa.large_string())  # no copy when it is already
        with self._lock:
            position = pc.index_in(spellings, value_set=self._spellings)
            known = np.array(position.is_valid(), dtype=bool)
            if len(self._numbers) + int((~known).sum()) > self._max_entries:
                self._reset()
                known[:] = False
            numbers: Codes = np.full(len(spellings), -1, dtype=np.intp)
            if known.any():
                at = np.asarray(position.fill_null(0), dtype=np.intp)
                numbers[known] = self._numbers[at[known]]
            if not known.all():
                new = spellings.filter(pa.array(~known))
                new_numbers = self._number_new(new.to_pylist())
                numbers[~known] = new_numbers
                self._spellings = pa.concat_arrays([self._spellings, new])
                self._numbers = np.concatenate([self._numbers, new_numbers])
            return numbers, self._texts[: self._count]

    def _number_new(self, spellings: list[str | None]) -> Codes:
        numbers: Codes = np.full(len(spellings), -1, dtype=np.intp)
        for i, spelling in enumerate(spellings):
            key = normalizer.normalize_for_temp_id(spelling) if spelling is not None else ""
            if not key:
                continue
            number = self._number_of.get(key)
            if number is None:
                number = self._number_of[key] = self._count
                if self._count == len(self._texts):
                    self._texts = np.concatenate([self._texts, np.empty_like(self._texts)])
                self._texts[self._count] = key
                self._count += 1
            numbers[i] = number
        return numbers


_index = SpellingIndex(MAX_SPELLINGS)


def key_numbers(spellings: pa.Array) -> tuple[Codes, Objects]:
    """:meth:`SpellingIndex.key_numbers` of the process-wide index."""
    return _index.key_numbers(spellings)


def clear() -> None:
    """Forget every spelling (tests, benchmarks of cold runs)."""
    _index.clear()
