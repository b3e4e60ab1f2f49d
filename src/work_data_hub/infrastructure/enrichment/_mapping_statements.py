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
    "HISTORY_COLUMNS",
    "KEY_COLUMNS",
    "MAPPING_COLUMNS",
    "NAME_MATCH_TYPES",
    "REPLACEMENT_COLUMNS",
    "best_name_ids",
    "delete_mappings",
    "insert_batch_with_conflict_check",
    "list_mappings",
    "lookup_batch",
    "mapping_history",
    "mappings_to_delete",
    "record_history",
    "replace_mappings",
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
def name_aliases() -> sa.Select[Any]:
    mapping = tables.company_mapping
    kinds = [tables.MatchType.MANUAL.value, tables.MatchType.NAME.value, tables.MatchType.EQC.value]
    return sa.select(mapping.c.alias_name, mapping.c.canonical_id, mapping.c.source).where(
        mapping.c.match_type.in_(kinds)
    )


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


# -- corrections (MappingCorrections) -------------------------------------------------------

#: A replacement: the key and the mapping's new id, source and confidence (named apart
#: from the table's columns: an UPDATE reserves those bind names for its SET clause).
REPLACEMENT_COLUMNS: Columns = (
    ("key_alias", sa.Text()),
    ("key_match_type", sa.Text()),
    ("new_id", sa.Text()),
    ("new_source", sa.Text()),
    ("new_confidence", sa.Float()),
)
#: A history row; ``""`` stands for a missing old or new id (bound arrays hold text).
HISTORY_COLUMNS: Columns = (
    ("alias_name", sa.Text()),
    ("match_type", sa.Text()),
    ("old_id", sa.Text()),
    ("new_id", sa.Text()),
    ("source", sa.Text()),
    ("action", sa.Text()),
)
#: Keys of mappings to delete.
KEY_COLUMNS: Columns = (("alias_name", sa.Text()), ("match_type", sa.Text()))


def _same_key(rows: Any, alias: str = "alias_name", kind: str = "match_type") -> Any:
    mapping = tables.company_mapping
    return sa.and_(rows.c[alias] == mapping.c.alias_name, rows.c[kind] == mapping.c.match_type)


@functools.cache
def replace_mappings(dialect: str) -> sa.Update:
    """Give the stored mappings of the bound keys the bound id, source and confidence."""
    mapping = tables.company_mapping
    rows = rows_source(dialect, REPLACEMENT_COLUMNS)

    same_key = _same_key(rows, "key_alias", "key_match_type")

    def new(column: str) -> Any:
        return sa.select(rows.c[column]).where(same_key).limit(1).scalar_subquery()

    return (
        sa.update(mapping)
        .where(sa.exists().where(same_key))
        .values(
            canonical_id=new("new_id"),
            source=new("new_source"),
            confidence=new("new_confidence"),
            updated_at=sa.bindparam("now", type_=tables.UtcDateTime()),
        )
    )


@functools.cache
def record_history(dialect: str) -> Any:
    """One history row per bound row, stamped ``:now``."""
    history = tables.company_mapping_history
    rows = rows_source(dialect, HISTORY_COLUMNS)
    now = sa.bindparam("now", type_=tables.UtcDateTime())
    select = sa.select(
        rows.c.alias_name,
        rows.c.match_type,
        sa.func.nullif(rows.c.old_id, ""),
        sa.func.nullif(rows.c.new_id, ""),
        rows.c.source,
        rows.c.action,
        now,
    )
    columns = ["alias_name", "match_type", "old_id", "new_id", "source", "action", "changed_at"]
    return sa.insert(history).from_select(columns, select)


def _deletion_filter(
    dialect: str, *, by_keys: bool, by_source: bool, by_match_type: bool
) -> sa.ColumnElement[bool]:
    mapping = tables.company_mapping
    conditions: list[sa.ColumnElement[bool]] = []
    if by_keys:
        conditions.append(sa.exists().where(_same_key(rows_source(dialect, KEY_COLUMNS))))
    if by_source:
        conditions.append(mapping.c.source == sa.bindparam("source"))
    if by_match_type:
        conditions.append(mapping.c.match_type == sa.bindparam("match_type"))
    if not conditions:
        raise ValueError("a deletion needs keys or a filter")
    return sa.and_(*conditions)


@functools.cache
def delete_mappings(dialect: str, *, by_keys: bool, by_source: bool, by_match_type: bool) -> Any:
    """Delete the mappings of the bound keys and/or of ``:source`` / ``:match_type``,
    returning what was deleted."""
    mapping = tables.company_mapping
    where = _deletion_filter(
        dialect, by_keys=by_keys, by_source=by_source, by_match_type=by_match_type
    )
    return sa.delete(mapping).where(where).returning(*_match_result_columns())


@functools.cache
def mappings_to_delete(
    dialect: str, *, by_keys: bool, by_source: bool, by_match_type: bool
) -> sa.Select[Any]:
    """What :func:`delete_mappings` would delete (a dry run)."""
    where = _deletion_filter(
        dialect, by_keys=by_keys, by_source=by_source, by_match_type=by_match_type
    )
    return sa.select(*_match_result_columns()).where(where)


@functools.cache
def mapping_history(*, by_alias: bool) -> sa.Select[Any]:
    """History rows, newest first, at most ``:limit``; of ``:alias_name`` when asked."""
    history = tables.company_mapping_history
    stmt = (
        sa.select(
            history.c.alias_name,
            history.c.match_type,
            history.c.old_id,
            history.c.new_id,
            history.c.source,
            history.c.action,
            history.c.changed_at,
        )
        .order_by(history.c.changed_at.desc(), history.c.id.desc())
        .limit(sa.bindparam("limit", type_=sa.Integer()))
    )
    if by_alias:
        stmt = stmt.where(history.c.alias_name == sa.bindparam("alias_name"))
    return stmt


@functools.cache
def best_name_ids(dialect: str) -> sa.Select[Any]:
    """Mappings of ``:aliases`` under the match types keyed by a normalized name."""
    mapping = tables.company_mapping
    kinds = [m.value for m in NAME_MATCH_TYPES]
    return sa.select(mapping.c.alias_name, mapping.c.canonical_id, mapping.c.priority).where(
        in_array(dialect, mapping.c.alias_name, "aliases"), mapping.c.match_type.in_(kinds)
    )


#: Match types whose alias is a normalized customer name, by priority (remap reads them).
NAME_MATCH_TYPES = (
    tables.MatchType.MANUAL,
    tables.MatchType.NAME,
    tables.MatchType.EQC,
)
