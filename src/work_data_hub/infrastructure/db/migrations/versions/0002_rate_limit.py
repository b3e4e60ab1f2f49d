"""Add eqc_rate_slots: the request window shared by all EQC clients.

Revision ID: 0002_rate_limit
Revises: 0001_enterprise_schema
Create Date: 2026-12-01

Frozen: describes the schema at this revision and imports no application code.
Idempotent like 0001: an existing table is left alone.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_rate_limit"
down_revision = "0001_enterprise_schema"
branch_labels = None
depends_on = None


def _schema() -> str | None:
    return "enterprise" if op.get_bind().dialect.name == "postgresql" else None


def _exists(schema: str | None) -> bool:
    return "eqc_rate_slots" in sa.inspect(op.get_bind()).get_table_names(schema=schema)


def upgrade() -> None:
    schema = _schema()
    if _exists(schema):
        return
    op.create_table(
        "eqc_rate_slots",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True),
        sa.Column("bucket", sa.String(64), nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_eqc_rate_slots"),
        schema=schema,
    )
    op.create_index(
        "ix_eqc_rate_slots_bucket_granted_at",
        "eqc_rate_slots",
        ["bucket", "granted_at"],
        schema=schema,
    )


def downgrade() -> None:
    schema = _schema()
    if _exists(schema):
        op.drop_table("eqc_rate_slots", schema=schema)
