"""Corrections with a record, and remap through the name of any request.

Revision ID: 0004_mapping_history
Revises: 0003_lean_write_indexes
Create Date: 2026-12-07

* ``company_mapping_history`` records every replacement and deletion of a mapping (alias,
  match type, old id, new id, source, action, when): ``mappings import --replace`` and
  ``mappings delete`` write it, ``mappings history`` reads it.
* ``ix_enrichment_requests_resolved_temp_id`` (partial on resolved requests) becomes
  ``ix_enrichment_requests_temp_id`` over every request: remap now reads the name of a
  request by its temporary id whatever its status, and looks that name up in the mappings.

Frozen: describes the schema at this revision and imports no application code.
Idempotent: a table or index already there (or already gone) is left alone.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_mapping_history"
down_revision = "0003_lean_write_indexes"
branch_labels = None
depends_on = None

_RESOLVED = "status = 'done' AND resolved_company_id IS NOT NULL"
_HISTORY = "company_mapping_history"


def _schema() -> str | None:
    return "enterprise" if op.get_bind().dialect.name == "postgresql" else None


def _indexes(table: str, schema: str | None) -> set[str]:
    indexes = sa.inspect(op.get_bind()).get_indexes(table, schema=schema)
    return {str(ix["name"]) for ix in indexes}


def _key_text() -> sa.types.TypeEngine[str]:
    return sa.Text().with_variant(sa.Text(collation="C"), "postgresql")


def upgrade() -> None:
    schema = _schema()
    if not sa.inspect(op.get_bind()).has_table(_HISTORY, schema=schema):
        op.create_table(
            _HISTORY,
            sa.Column(
                "id",
                sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                autoincrement=True,
            ),
            sa.Column("alias_name", _key_text(), nullable=False),
            sa.Column("match_type", sa.String(16), nullable=False),
            sa.Column("old_id", sa.String(64), nullable=True),
            sa.Column("new_id", sa.String(64), nullable=True),
            sa.Column("source", sa.String(32), nullable=False),
            sa.Column("action", sa.String(16), nullable=False),
            sa.Column(
                "changed_at",
                sa.DateTime(timezone=True),
                nullable=False,
                server_default=sa.func.now(),
            ),
            sa.CheckConstraint(
                "action IN ('replace', 'delete')", name="ck_company_mapping_history_action"
            ),
            sa.PrimaryKeyConstraint("id", name="pk_company_mapping_history"),
            schema=schema,
        )
        op.create_index(
            "ix_company_mapping_history_alias_name_match_type",
            _HISTORY,
            ["alias_name", "match_type"],
            schema=schema,
        )
    request_indexes = _indexes("enrichment_requests", schema)
    if "ix_enrichment_requests_resolved_temp_id" in request_indexes:
        op.drop_index(
            "ix_enrichment_requests_resolved_temp_id", "enrichment_requests", schema=schema
        )
    if "ix_enrichment_requests_temp_id" not in request_indexes:
        op.create_index(
            "ix_enrichment_requests_temp_id", "enrichment_requests", ["temp_id"], schema=schema
        )


def downgrade() -> None:
    schema = _schema()
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
    if sa.inspect(op.get_bind()).has_table(_HISTORY, schema=schema):
        op.drop_table(_HISTORY, schema=schema)
