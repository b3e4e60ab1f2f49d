"""Process-wide memos of the two pure per-name computations: normalized keys and temp ids.

Normalizing a distinct name costs a few microseconds of Python; it is the largest share of
key building. The same names come back in every chunk of a file and in every monthly run
of a long-lived process (a Dagster worker), and ``normalize_for_temp_id`` is a pure
function of the text, as ``temp_id_for_key`` is of the key and the salt: remembering their
answers cannot change any id. Only exact ``str`` values are remembered (anything else
normalizes to ``""`` without work).

Each memo is bounded (:data:`MAX_ENTRIES`): when a batch would overflow it, it is emptied
first, so memory stays a few tens of MB whatever runs through the process. The temp-id memo
belongs to one salt and is emptied when another salt is used. Dict reads and writes are
atomic in CPython, so resolvers in several threads may share the memos; a race only
computes an answer twice. :func:`clear` empties both (tests, benchmarks of cold runs).
"""

from __future__ import annotations

from collections.abc import Sequence

from work_data_hub.infrastructure.enrichment import normalizer

__all__ = ["MAX_ENTRIES", "clear", "name_keys", "temp_ids"]

#: Entries per memo: about 50 MB for names of typical length.
MAX_ENTRIES = 262_144

_name_keys: dict[str, str] = {}
_temp_ids: dict[str, str] = {}
_temp_salt: list[str] = []  # the salt the temp-id memo belongs to (at most one)


def clear() -> None:
    """Forget every remembered key and temp id (the Arrow spelling index's keys too)."""
    _name_keys.clear()
    _temp_ids.clear()
    _temp_salt.clear()
    # Imported here: it needs pyarrow, which this module does not.
    from work_data_hub.infrastructure.enrichment.resolve import spelling_index  # noqa: PLC0415

    spelling_index.clear()


def name_keys(values: Sequence[object]) -> list[str]:
    """``normalize_for_temp_id`` of each value (hashable values; a repeat is normalized once)."""
    get = _name_keys.get
    # Only plain str is looked up: a str subclass may redefine equality and hashing.
    keys: list[str | None] = [get(value) if type(value) is str else None for value in values]
    missing = [i for i, key in enumerate(keys) if key is None]
    if not missing:
        return keys  # type: ignore[return-value]  # no None left
    if len(_name_keys) + len(missing) > MAX_ENTRIES:
        _name_keys.clear()
    for i in missing:
        value = values[i]
        if type(value) is str:
            key = get(value)  # a repeat, normalized a moment ago
            if key is None:
                key = _name_keys[value] = normalizer.normalize_for_temp_id(value)
        else:
            key = normalizer.normalize_for_temp_id(value)
        keys[i] = key
    return keys  # type: ignore[return-value]  # every None was filled


def temp_ids(keys: Sequence[str], salt: str) -> list[str]:
    """``temp_id_for_key(key, salt)`` of each normalized key."""
    if _temp_salt != [salt]:
        _temp_ids.clear()
        _temp_salt[:] = [salt]
    ids: list[str | None] = list(map(_temp_ids.get, keys))
    missing = [i for i, temp_id in enumerate(ids) if temp_id is None]
    if not missing:
        return ids  # type: ignore[return-value]  # no None left
    if len(_temp_ids) + len(missing) > MAX_ENTRIES:
        _temp_ids.clear()
    for i in missing:
        key = keys[i]
        temp_id = normalizer.temp_id_for_key(key, salt)
        ids[i] = temp_id
        _temp_ids[key] = temp_id
    return ids  # type: ignore[return-value]  # every None was filled
