"""Keep what EQC said: the search answer's best entries stored with each request.

Revision ID: 0006_request_candidates
Revises: 0004_mapping_history
Create Date: 2026-12-07

``enrichment_requests.eqc_candidates`` (JSON, nullable) holds up to five entries of the
search answer — company id, full name, match type, confidence — also when none of them
settled the request, so a reviewer sees them as suggestions without a new call.

``ix_enrichment_requests_open_created_at`` (``created_at, temp_id``, partial on open
requests) lets ``export unknown --limit N`` read the oldest open requests in order and stop
after N, instead of grouping a queue of a million requests. Enqueues pay one more index
entry per new request; finished requests leave it. ``ix_enrichment_requests_candidates_name``
(partial on requests with candidates) finds the candidates of the exported names.

Frozen: describes the schema at this revision and imports no application code.
Idempotent: an existing column is left alone.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_request_candidates"
down_revision = "0004_mapping_history"
branch_labels = None
depends_on = None

_TABLE = "enrichment_requests"
_COLUMN = "eqc_candidates"
_INDEX = "ix_enrichment_requests_open_created_at"
_OPEN = "status IN ('pending', 'processing')"
_CANDIDATES_INDEX = "ix_enrichment_requests_candidates_name"
_CANDIDATES = "eqc_candidates IS NOT NULL"


def _schema() -> str | None:
    return "enterprise" if op.get_bind().dialect.name == "postgresql" else None


def _has_column(schema: str | None) -> bool:
    columns = sa.inspect(op.get_bind()).get_columns(_TABLE, schema=schema)
    return any(column["name"] == _COLUMN for column in columns)


def _has_index(schema: str | None, name: str) -> bool:
    indexes = sa.inspect(op.get_bind()).get_indexes(_TABLE, schema=schema)
    return any(index["name"] == name for index in indexes)


def upgrade() -> None:
    schema = _schema()
    if not _has_column(schema):
        op.add_column(_TABLE, sa.Column(_COLUMN, sa.JSON(), nullable=True), schema=schema)
    for name, columns, where in (
        (_INDEX, ["created_at", "temp_id"], _OPEN),
        (_CANDIDATES_INDEX, ["normalized_name"], _CANDIDATES),
    ):
        if not _has_index(schema, name):
            op.create_index(
                name,
                _TABLE,
                columns,
                schema=schema,
                postgresql_where=sa.text(where),
                sqlite_where=sa.text(where),
            )


def downgrade() -> None:
    schema = _schema()
    for name in (_INDEX, _CANDIDATES_INDEX):
        if _has_index(schema, name):
            op.drop_index(name, _TABLE, schema=schema)
    if _has_column(schema):
        with op.batch_alter_table(_TABLE, schema=schema) as batch:
            batch.drop_column(_COLUMN)
