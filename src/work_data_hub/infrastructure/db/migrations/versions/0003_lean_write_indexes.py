"""Make the writes of a resolve run cheaper: byte-wise lookup keys, no index nobody reads.

Revision ID: 0003_lean_write_indexes
Revises: 0002_rate_limit
Create Date: 2026-12-02

A resolve run writes thousands of mappings (backflow) and requests (enqueue) in one
statement each, and every index on those tables is a B-tree insert per row:

* ``company_mapping.alias_name`` and ``enrichment_requests.normalized_name`` take the
  ``"C"`` collation on PostgreSQL: keys are matched exactly, never sorted for people, so
  comparing bytes instead of calling the locale's ``strcoll`` is free speed. (SQLite
  compares bytes already.)
* ``ix_company_mapping_canonical_id`` is dropped: no statement reads mappings by id.
* ``ix_enrichment_requests_temp_id`` becomes ``ix_enrichment_requests_resolved_temp_id``,
  partial on resolved requests — the only ones looked up by temporary id (remap) — so
  enqueued requests skip it.

Frozen: describes the schema at this revision and imports no application code.
Idempotent: an index already dropped or created is left alone.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_lean_write_indexes"
down_revision = "0002_rate_limit"
branch_labels = None
depends_on = None

_RESOLVED = "status = 'done' AND resolved_company_id IS NOT NULL"
_KEY_COLUMNS = (("company_mapping", "alias_name"), ("enrichment_requests", "normalized_name"))


def _schema() -> str | None:
    return "enterprise" if op.get_bind().dialect.name == "postgresql" else None


def _indexes(table: str, schema: str | None) -> set[str]:
    indexes = sa.inspect(op.get_bind()).get_indexes(table, schema=schema)
    return {str(ix["name"]) for ix in indexes}


def _set_key_collation(collation: str) -> None:
    """PostgreSQL only; rebuilds the indexes on the key columns."""
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, column in _KEY_COLUMNS:
        op.execute(
            sa.text(
                f"ALTER TABLE enterprise.{table} "
                f"ALTER COLUMN {column} TYPE text COLLATE {collation}"
            )
        )


def upgrade() -> None:
    schema = _schema()
    _set_key_collation('"C"')
    if "ix_company_mapping_canonical_id" in _indexes("company_mapping", schema):
        op.drop_index("ix_company_mapping_canonical_id", "company_mapping", schema=schema)
    request_indexes = _indexes("enrichment_requests", schema)
    if "ix_enrichment_requests_temp_id" in request_indexes:
        op.drop_index("ix_enrichment_requests_temp_id", "enrichment_requests", schema=schema)
    if "ix_enrichment_requests_resolved_temp_id" not in request_indexes:
        op.create_index(
            "ix_enrichment_requests_resolved_temp_id",
            "enrichment_requests",
            ["temp_id"],
            schema=schema,
            postgresql_where=sa.text(_RESOLVED),
            sqlite_where=sa.text(_RESOLVED),
        )


def downgrade() -> None:
    schema = _schema()
    request_indexes = _indexes("enrichment_requests", schema)
    if "ix_enrichment_requests_resolved_temp_id" in request_indexes:
        op.drop_index(
            "ix_enrichment_requests_resolved_temp_id", "enrichment_requests", schema=schema
        )
    if "ix_enrichment_requests_temp_id" not in request_indexes:
        op.create_index(
            "ix_enrichment_requests_temp_id", "enrichment_requests", ["temp_id"], schema=schema
        )
    if "ix_company_mapping_canonical_id" not in _indexes("company_mapping", schema):
        op.create_index(
            "ix_company_mapping_canonical_id", "company_mapping", ["canonical_id"], schema=schema
        )
    _set_key_collation('"default"')
