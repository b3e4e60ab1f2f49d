"""The SQL of :class:`~.mapping_repository.CompanyMappingRepository`, one builder per method.

Each builder is named after the repository method it serves and cached per dialect, so a
statement compiles once per process and tests can compile it for either database. Batch
rows travel as bound arrays (:mod:`~work_data_hub.infrastructure.db.bound_batches`).
"""

from __future__ import annotations

import functools
from typing import Any

import sqlalchemy as sa

from work_data_hub.infrastructure.db import bound_batches, tables
from work_data_hub.infrastructure.db.bound_batches import Columns, in_array, rows_source

__all__ = [
    "MAPPING_COLUMNS",
    "insert_batch_with_conflict_check",
    "list_mappings",
    "lookup_batch",
    "upsert_company",
]

MAPPING_COLUMNS: Columns = (
    ("alias_name", sa.Text()),
    ("canonical_id", sa.Text()),
    ("match_type", sa.Text()),
    ("priority", sa.Integer()),
    ("source", sa.Text()),
    ("confidence", sa.Float()),
)


@functools.cache
def lookup_batch(dialect: str) -> sa.Select[Any]:
    """Mappings of every match type whose alias is in ``:aliases``.

    Aliases travel as one array, tested with ``= ANY`` (``IN json_each`` on SQLite), so
    the planner chooses per batch between probing the ``(alias_name, match_type)``
    unique index once per alias and one scan with a hashed array; a join against the
    unnested keys made it hash the whole table and spill the keys to disk. The match
    type is left out on purpose: a second array condition would make PostgreSQL 15
    search the index once per (alias, type) combination.
    """
    mapping = tables.company_mapping
    return sa.select(*_match_result_columns()).where(
        in_array(dialect, mapping.c.alias_name, "aliases")
    )


def _match_result_columns() -> tuple[sa.Column[Any], ...]:
    """The columns a ``MatchResult`` is read from, in its field order."""
    mapping = tables.company_mapping
    return (
        mapping.c.alias_name,
        mapping.c.canonical_id,
        mapping.c.match_type,
        mapping.c.priority,
        mapping.c.source,
        mapping.c.confidence,
    )


@functools.cache
def insert_batch_with_conflict_check(dialect: str) -> Any:
    mapping = tables.company_mapping
    rows = rows_source(dialect, MAPPING_COLUMNS)
    now = sa.bindparam("now", type_=tables.UtcDateTime())
    # WHERE true: SQLite cannot otherwise tell "SELECT … ON CONFLICT" from a join's ON.
    select = sa.select(*(rows.c[name] for name, _ in MAPPING_COLUMNS), now, now).where(sa.true())
    return (
        bound_batches.dialect_insert(dialect)(mapping)
        .from_select([*(name for name, _ in MAPPING_COLUMNS), "created_at", "updated_at"], select)
        .on_conflict_do_nothing(index_elements=[mapping.c.alias_name, mapping.c.match_type])
        .returning(mapping.c.alias_name, mapping.c.match_type)
    )


@functools.cache
def list_mappings(*, filtered: bool) -> sa.Select[Any]:
    mapping = tables.company_mapping
    stmt = sa.select(*_match_result_columns()).order_by(
        mapping.c.priority, mapping.c.alias_name, mapping.c.id
    )
    if filtered:
        stmt = stmt.where(mapping.c.match_type.in_(sa.bindparam("match_types", expanding=True)))
    return stmt


@functools.cache
def upsert_company(dialect: str, *, replace_aliases: bool) -> Any:
    master = tables.company_master
    stmt = bound_batches.dialect_insert(dialect)(master).values(
        company_id=sa.bindparam("company_id"),
        official_name=sa.bindparam("official_name"),
        unified_credit_code=sa.bindparam("unified_credit_code"),
        aliases=sa.bindparam("aliases", type_=master.c.aliases.type),
        source=sa.bindparam("source"),
        created_at=sa.bindparam("created_at", type_=master.c.created_at.type),
        updated_at=sa.bindparam("updated_at", type_=master.c.updated_at.type),
    )
    changes: dict[str, Any] = {
        "official_name": stmt.excluded.official_name,
        "unified_credit_code": sa.func.coalesce(
            stmt.excluded.unified_credit_code, master.c.unified_credit_code
        ),
        "source": stmt.excluded.source,
        "updated_at": stmt.excluded.updated_at,
    }
    if replace_aliases:
        changes["aliases"] = stmt.excluded.aliases
    return stmt.on_conflict_do_update(index_elements=[master.c.company_id], set_=changes)
