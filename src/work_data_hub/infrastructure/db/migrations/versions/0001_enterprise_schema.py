"""Create the enterprise schema: company_master, company_mapping, enrichment_requests.

Revision ID: 0001_enterprise_schema
Revises:
Create Date: 2026-11-29

Frozen: this file describes the schema as it was at this revision and imports no
application code. It is idempotent — tables that already exist are left alone — so it can
be stamped onto a database created before migrations were used.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_enterprise_schema"
down_revision = None
branch_labels = None
depends_on = None

_STATUSES = "('pending', 'processing', 'done', 'failed')"
_OPEN = "status IN ('pending', 'processing')"
_MATCH_TYPES = "('manual', 'plan', 'account', 'hardcode', 'name', 'account_name', 'eqc')"
_SOURCES = "('internal', 'eqc', 'pipeline_backflow', 'manual')"
_PRIORITY_OF_TYPE = (
    "(match_type = 'manual' AND priority = 0) OR (match_type = 'plan' AND priority = 1) OR "
    "(match_type = 'account' AND priority = 2) OR (match_type = 'hardcode' AND priority = 3) OR "
    "(match_type = 'name' AND priority = 4) OR (match_type = 'account_name' AND priority = 5) OR "
    "(match_type = 'eqc' AND priority = 6)"
)


def _schema() -> str | None:
    return "enterprise" if op.get_bind().dialect.name == "postgresql" else None


def _id() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _timestamps() -> list[sa.Column[object]]:
    return [
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
    ]


def _existing(schema: str | None) -> set[str]:
    return set(sa.inspect(op.get_bind()).get_table_names(schema=schema))


def upgrade() -> None:
    schema = _schema()
    if schema:
        op.execute(sa.text(f"CREATE SCHEMA IF NOT EXISTS {schema}"))
    existing = _existing(schema)

    if "company_master" not in existing:
        op.create_table(
            "company_master",
            sa.Column("company_id", sa.String(64), nullable=False),
            sa.Column("official_name", sa.Text(), nullable=False),
            sa.Column("unified_credit_code", sa.String(32), nullable=True),
            sa.Column("aliases", sa.JSON(), nullable=False, server_default=sa.text("'[]'")),
            sa.Column("source", sa.String(32), nullable=False),
            *_timestamps(),
            sa.PrimaryKeyConstraint("company_id", name="pk_company_master"),
            sa.UniqueConstraint(
                "unified_credit_code", name="uq_company_master_unified_credit_code"
            ),
            sa.CheckConstraint(f"source IN {_SOURCES}", name="ck_company_master_source"),
            sa.CheckConstraint(
                "length(company_id) > 0", name="ck_company_master_company_id_not_empty"
            ),
            schema=schema,
        )

    if "company_mapping" not in existing:
        op.create_table(
            "company_mapping",
            sa.Column("id", _id(), nullable=False, autoincrement=True),
            sa.Column("alias_name", sa.Text(), nullable=False),
            sa.Column("canonical_id", sa.String(64), nullable=False),
            sa.Column("match_type", sa.String(16), nullable=False),
            sa.Column("priority", sa.SmallInteger(), nullable=False),
            sa.Column("source", sa.String(32), nullable=False),
            sa.Column("confidence", sa.Float(), nullable=False, server_default=sa.text("1.0")),
            *_timestamps(),
            sa.PrimaryKeyConstraint("id", name="pk_company_mapping"),
            sa.UniqueConstraint(
                "alias_name", "match_type", name="uq_company_mapping_alias_name_match_type"
            ),
            sa.CheckConstraint(
                f"match_type IN {_MATCH_TYPES}", name="ck_company_mapping_match_type"
            ),
            sa.CheckConstraint("priority BETWEEN 0 AND 6", name="ck_company_mapping_priority"),
            sa.CheckConstraint(_PRIORITY_OF_TYPE, name="ck_company_mapping_priority_matches_type"),
            sa.CheckConstraint(f"source IN {_SOURCES}", name="ck_company_mapping_source"),
            sa.CheckConstraint(
                "confidence >= 0 AND confidence <= 1", name="ck_company_mapping_confidence"
            ),
            sa.CheckConstraint("length(alias_name) > 0", name="ck_company_mapping_alias_not_empty"),
            sa.CheckConstraint(
                "length(canonical_id) > 0", name="ck_company_mapping_canonical_id_not_empty"
            ),
            schema=schema,
        )
        op.create_index(
            "ix_company_mapping_canonical_id", "company_mapping", ["canonical_id"], schema=schema
        )

    if "enrichment_requests" not in existing:
        op.create_table(
            "enrichment_requests",
            sa.Column("id", _id(), nullable=False, autoincrement=True),
            sa.Column("raw_name", sa.Text(), nullable=False),
            sa.Column("normalized_name", sa.Text(), nullable=False),
            sa.Column("temp_id", sa.String(32), nullable=False),
            sa.Column("status", sa.String(16), nullable=False, server_default="pending"),
            sa.Column("attempts", sa.Integer(), nullable=False, server_default=sa.text("0")),
            sa.Column("last_error", sa.Text(), nullable=True),
            sa.Column("resolved_company_id", sa.String(64), nullable=True),
            sa.Column("next_retry_at", sa.DateTime(timezone=True), nullable=True),
            sa.Column("locked_by", sa.String(128), nullable=True),
            sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
            *_timestamps(),
            sa.PrimaryKeyConstraint("id", name="pk_enrichment_requests"),
            sa.CheckConstraint(f"status IN {_STATUSES}", name="ck_enrichment_requests_status"),
            sa.CheckConstraint("attempts >= 0", name="ck_enrichment_requests_attempts"),
            sa.CheckConstraint(
                "length(normalized_name) > 0",
                name="ck_enrichment_requests_normalized_name_not_empty",
            ),
            schema=schema,
        )
        op.create_index(
            "uq_enrichment_requests_open_normalized_name",
            "enrichment_requests",
            ["normalized_name"],
            unique=True,
            schema=schema,
            postgresql_where=sa.text(_OPEN),
            sqlite_where=sa.text(_OPEN),
        )
        op.create_index(
            "ix_enrichment_requests_status_next_retry_at",
            "enrichment_requests",
            ["status", "next_retry_at"],
            schema=schema,
        )
        op.create_index(
            "ix_enrichment_requests_temp_id", "enrichment_requests", ["temp_id"], schema=schema
        )


def downgrade() -> None:
    schema = _schema()
    existing = _existing(schema)
    for table in ("enrichment_requests", "company_mapping", "company_master"):
        if table in existing:
            op.drop_table(table, schema=schema)
    if schema and not _existing(schema):
        op.execute(sa.text(f"DROP SCHEMA IF EXISTS {schema}"))
