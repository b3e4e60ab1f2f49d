"""Batches of rows as a constant number of bound parameters, on PostgreSQL and SQLite.

A batch statement binds one array per column — a PostgreSQL array literal expanded by
``unnest``, or one JSON document expanded by ``json_each`` on SQLite — so it never
approaches a driver's parameter limit, is never split, and compiles once per dialect
whatever the batch size. Texts a database cannot store (NUL, lone surrogates) are the
caller's to leave out: :func:`all_storable` tells in one scan whether a batch needs that.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

__all__ = [
    "Columns",
    "all_storable",
    "array_literal",
    "array_params",
    "dialect_insert",
    "in_array",
    "rows_params",
    "rows_source",
    "storable",
    "text_array_params",
]

#: ``(name, type)`` of each column of a batch, in row order.
Columns = tuple[tuple[str, sa.types.TypeEngine[Any]], ...]


def rows_source(dialect: str, columns: Columns) -> Any:
    """A FROM item yielding the rows bound by :func:`rows_params`, named ``k``.

    PostgreSQL: ``unnest(CAST(:col1 AS type[]), …) AS k(col1, …)`` with each column bound as
    one array literal; SQLite: ``json_each(:rows)`` over one JSON array of row arrays.
    Array literals rather than driver-adapted lists: the driver adapts a list element by
    element in Python, which costs more than the whole statement for 10,000 rows.
    """
    if dialect == "postgresql":
        arrays = [
            sa.cast(sa.bindparam(name, type_=sa.Text()), postgresql.ARRAY(kind))
            for name, kind in columns
        ]
        return (
            sa.func.unnest(*arrays)
            .table_valued(*(name for name, _ in columns))
            .render_derived(name="k")
        )
    each = sa.func.json_each(sa.bindparam("rows", type_=sa.Text())).table_valued("value")
    return sa.select(
        *(
            sa.type_coerce(sa.func.json_extract(each.c.value, f"$[{i}]"), kind).label(name)
            for i, (name, kind) in enumerate(columns)
        )
    ).subquery("k")


def rows_params(dialect: str, columns: Columns, rows: Sequence[tuple[Any, ...]]) -> dict[str, Any]:
    """The parameters :func:`rows_source` binds for ``rows`` (tuples in ``columns`` order)."""
    if dialect == "postgresql":
        # One transposition in C instead of a generator per column.
        values = list(zip(*rows, strict=True)) or [() for _ in columns]
        return {name: array_literal(values[i]) for i, (name, _) in enumerate(columns)}
    return {"rows": json.dumps(rows, ensure_ascii=False, separators=(",", ":"))}


def in_array(dialect: str, column: Any, name: str) -> Any:
    """``column`` is one of the texts bound by :func:`array_params` as ``name``."""
    if dialect == "postgresql":
        # An untyped parameter: PostgreSQL then reads the literal as text[] itself, so the
        # array is a constant it can hash. Bound as VARCHAR, the cast to text[] is not
        # folded, and every row would scan the whole array.
        array = sa.cast(sa.bindparam(name), postgresql.ARRAY(sa.Text()))
        return column == sa.any_(array)
    each = sa.func.json_each(sa.bindparam(name, type_=sa.Text())).table_valued("value")
    return column.in_(sa.select(each.c.value))


def array_params(dialect: str, name: str, values: Iterable[str]) -> dict[str, str]:
    """The parameter :func:`in_array` reads as ``name``: ``values`` as one array."""
    if dialect == "postgresql":
        return {name: array_literal(values)}
    return {name: json.dumps(list(values), ensure_ascii=False, separators=(",", ":"))}


def text_array_params(dialect: str, name: str, texts: Collection[str]) -> dict[str, str] | None:
    """What :func:`array_params` binds, or None unless every value is text the
    database can store (no NUL, no lone surrogate).

    One join serves both the check and the literal: for 100,000 keys a separate check
    cost as much as building the literal.
    """
    try:
        joined = "\x00".join(texts)
    except TypeError:  # not all text
        return None
    if joined.count("\x00") != max(len(texts) - 1, 0):
        return None
    try:
        joined.encode("utf-8")
    except UnicodeEncodeError:
        return None
    if dialect == "postgresql":
        return {name: _literal_of_joined(joined) if texts else "{}"}
    return {name: json.dumps(list(texts), ensure_ascii=False, separators=(",", ":"))}


def array_literal(values: Iterable[object]) -> str:
    """A PostgreSQL array literal of quoted elements: ``{"a","b \\"c\\""}``.

    Inside double quotes only backslash and double quote are special, so escaping those
    two makes any text (commas, braces, spaces, the word NULL) a plain element. The
    literal is bound as a parameter, never spliced into SQL. The texts are joined on NUL
    (which no storable text holds) and escaped in three passes over one string: per-text
    escaping in Python cost more than the statement for 100,000 keys.
    """
    texts = list(map(str, values))
    joined = "\x00".join(texts)
    if joined.count("\x00") != max(len(texts) - 1, 0):
        # A text holds NUL itself (the database will refuse it): escape text by text.
        return "{" + ",".join('"' + _escape_element(text) + '"' for text in texts) + "}"
    if not texts:
        return "{}"
    return _literal_of_joined(joined)


def _literal_of_joined(joined: str) -> str:
    """The array literal of texts joined on NUL (none of which holds NUL itself)."""
    return '{"' + _escape_element(joined).replace("\x00", '","') + '"}'


def _escape_element(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def all_storable(texts: Iterable[str]) -> bool:
    """Whether every value is text storable as it is: one scan of the whole batch, so the
    per-text repair of :func:`storable` runs only for a batch that needs it."""
    try:
        joined = "\n".join(texts)
    except TypeError:  # not all text
        return False
    if "\x00" in joined:
        return False
    try:
        joined.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def storable(text: str) -> str:
    """``text`` without NUL (PostgreSQL text cannot hold it) and with lone surrogates (not
    encodable as UTF-8, so no driver can send them) replaced by U+FFFD."""
    text = text.replace("\x00", "")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "".join("\ufffd" if 0xD800 <= ord(ch) <= 0xDFFF else ch for ch in text)
    return text


def dialect_insert(dialect: str) -> Any:
    """The dialect's ``insert`` construct, which knows ``ON CONFLICT … WHERE``."""
    return postgresql.insert if dialect == "postgresql" else sqlite.insert
