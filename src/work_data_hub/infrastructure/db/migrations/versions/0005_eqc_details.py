"""Add eqc_company_details: detail fields, labels and raw answers of EQC companies.

Revision ID: 0005_eqc_details
Revises: 0006_request_candidates
Create Date: 2026-12-07

Workers settle a request with one search call; the detail (``findDepart``) and labels
(``findLabels``) answers are fetched later, with spare capacity, and kept here: the fields
of spec section 3, the labels, and the raw JSON of each answer.

Frozen: describes the schema at this revision and imports no application code.
Idempotent like 0002: an existing table is left alone.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_eqc_details"
down_revision = "0006_request_candidates"
branch_labels = None
depends_on = None

_TABLE = "eqc_company_details"


def _schema() -> str | None:
    return "enterprise" if op.get_bind().dialect.name == "postgresql" else None


def _exists(schema: str | None) -> bool:
    return _TABLE in sa.inspect(op.get_bind()).get_table_names(schema=schema)


def upgrade() -> None:
    schema = _schema()
    if _exists(schema):
        return
    op.create_table(
        _TABLE,
        sa.Column("company_id", sa.String(64), nullable=False),
        sa.Column("legal_person_name", sa.Text(), nullable=True),
        sa.Column("registered_capital", sa.Text(), nullable=True),
        sa.Column("registered_date", sa.String(32), nullable=True),
        sa.Column("registered_status", sa.Text(), nullable=True),
        sa.Column("province", sa.Text(), nullable=True),
        sa.Column("organization_code", sa.String(32), nullable=True),
        sa.Column("company_en_name", sa.Text(), nullable=True),
        sa.Column("labels", sa.JSON(), nullable=True),
        sa.Column("detail_json", sa.JSON(), nullable=True),
        sa.Column("labels_json", sa.JSON(), nullable=True),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("company_id", name="pk_eqc_company_details"),
        schema=schema,
    )


def downgrade() -> None:
    schema = _schema()
    if _exists(schema):
        op.drop_table(_TABLE, schema=schema)
