"""The ``enterprise`` tables, declared once, and the enums their CHECKs enforce.

Each table has one owner module, which holds every statement on it (this module only
describes the data): ``company_master`` and ``company_mapping`` —
``enrichment.mapping_repository``; ``enrichment_requests`` — ``enrichment.queue.repository``;
``eqc_rate_slots`` — ``eqc.rate_limit``. The
migrations in ``migrations/versions`` create exactly these definitions (a test compares
the migrated database with this metadata on both dialects).
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

import sqlalchemy as sa

__all__ = [
    "CANDIDATES_PREDICATE",
    "MATCH_TYPE_PRIORITY",
    "OPEN_REQUEST_PREDICATE",
    "OPEN_REQUEST_STATUSES",
    "RESOLVED_REQUEST_PREDICATE",
    "HistoryAction",
    "MappingSource",
    "MatchType",
    "RequestStatus",
    "UtcDateTime",
    "company_mapping",
    "company_mapping_history",
    "company_master",
    "enrichment_requests",
    "metadata",
]

SCHEMA = "enterprise"

metadata = sa.MetaData(
    schema=SCHEMA,
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "pk": "pk_%(table_name)s",
    },
)


class MatchType(StrEnum):
    """How an alias maps to a company; the value is stored in ``company_mapping.match_type``."""

    MANUAL = "manual"
    PLAN = "plan"
    ACCOUNT = "account"
    HARDCODE = "hardcode"
    NAME = "name"
    ACCOUNT_NAME = "account_name"
    EQC = "eqc"

    @property
    def priority(self) -> int:
        """Lower wins; ``manual`` (0) beats every other source of truth."""
        return MATCH_TYPE_PRIORITY[self]


MATCH_TYPE_PRIORITY: dict[MatchType, int] = {
    MatchType.MANUAL: 0,
    MatchType.PLAN: 1,
    MatchType.ACCOUNT: 2,
    MatchType.HARDCODE: 3,
    MatchType.NAME: 4,
    MatchType.ACCOUNT_NAME: 5,
    MatchType.EQC: 6,
}


class MappingSource(StrEnum):
    """Who wrote a mapping or a company row."""

    INTERNAL = "internal"
    EQC = "eqc"
    PIPELINE_BACKFLOW = "pipeline_backflow"
    MANUAL = "manual"


class HistoryAction(StrEnum):
    """What happened to a mapping, as recorded in ``company_mapping_history``."""

    REPLACE = "replace"
    DELETE = "delete"


class RequestStatus(StrEnum):
    """Life cycle of an enrichment request: pending → processing → done | failed."""

    PENDING = "pending"
    PROCESSING = "processing"
    DONE = "done"
    FAILED = "failed"


#: Statuses covered by the partial unique index: at most one open request per name.
OPEN_REQUEST_STATUSES = (RequestStatus.PENDING.value, RequestStatus.PROCESSING.value)


def _in(column: str, values: Any) -> str:
    return f"{column} IN ({', '.join(repr(str(v)) for v in values)})"


#: Requests covered by the partial unique index: at most one per normalized name.
OPEN_REQUEST_PREDICATE = _in("status", OPEN_REQUEST_STATUSES)
#: Requests that carry a company id for their temporary id (``resolved_temp_ids``).
RESOLVED_REQUEST_PREDICATE = (
    f"status = '{RequestStatus.DONE.value}' AND resolved_company_id IS NOT NULL"
)


#: Requests that carry EQC candidates: what the unknown-companies export looks up by name.
CANDIDATES_PREDICATE = "eqc_candidates IS NOT NULL"


class UtcDateTime(sa.TypeDecorator[dt.datetime]):
    """Timezone-aware UTC datetimes on both dialects.

    PostgreSQL stores ``timestamptz``; SQLite stores naive UTC text. Values read back are
    always aware and in UTC, so comparisons never mix naive and aware datetimes.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: sa.Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where UTC is required")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if isinstance(value, str):  # server defaults on SQLite come back as text
            value = dt.datetime.fromisoformat(value)
        moment: dt.datetime = value
        if moment.tzinfo is None:
            return moment.replace(tzinfo=dt.UTC)
        return moment.astimezone(dt.UTC)


def _timestamps() -> list[sa.Column[Any]]:
    return [
        sa.Column("created_at", UtcDateTime(), nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", UtcDateTime(), nullable=False, server_default=sa.func.now()),
    ]


_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

#: Lookup keys (aliases, normalized names) compare byte by byte: they are only ever
#: matched exactly, so a linguistic collation would cost every index probe and insert a
#: locale comparison for nothing. Byte order of UTF-8 is code-point order, the order of
#: Python's ``sorted``. SQLite's default collation is already binary.
_KEY_TEXT = sa.Text().with_variant(sa.Text(collation="C"), "postgresql")

company_master = sa.Table(
    "company_master",
    metadata,
    sa.Column("company_id", sa.String(64), primary_key=True),
    sa.Column("official_name", sa.Text(), nullable=False),
    sa.Column("unified_credit_code", sa.String(32), nullable=True, unique=True),
    sa.Column("aliases", sa.JSON(), nullable=False, server_default=sa.text("'[]'")),
    sa.Column("source", sa.String(32), nullable=False),
    *_timestamps(),
    sa.CheckConstraint(_in("source", MappingSource), name="source"),
    sa.CheckConstraint("length(company_id) > 0", name="company_id_not_empty"),
)

company_mapping = sa.Table(
    "company_mapping",
    metadata,
    sa.Column("id", _ID, primary_key=True, autoincrement=True),
    sa.Column("alias_name", _KEY_TEXT, nullable=False),
    sa.Column("canonical_id", sa.String(64), nullable=False),
    sa.Column("match_type", sa.String(16), nullable=False),
    sa.Column("priority", sa.SmallInteger(), nullable=False),
    sa.Column("source", sa.String(32), nullable=False),
    sa.Column("confidence", sa.Float(), nullable=False, server_default=sa.text("1.0")),
    *_timestamps(),
    sa.UniqueConstraint("alias_name", "match_type"),
    sa.CheckConstraint(_in("match_type", MatchType), name="match_type"),
    sa.CheckConstraint("priority BETWEEN 0 AND 6", name="priority"),
    sa.CheckConstraint(
        " OR ".join(
            f"(match_type = '{m.value}' AND priority = {p})" for m, p in MATCH_TYPE_PRIORITY.items()
        ),
        name="priority_matches_type",
    ),
    sa.CheckConstraint(_in("source", MappingSource), name="source"),
    sa.CheckConstraint("confidence >= 0 AND confidence <= 1", name="confidence"),
    sa.CheckConstraint("length(alias_name) > 0", name="alias_not_empty"),
    sa.CheckConstraint("length(canonical_id) > 0", name="canonical_id_not_empty"),
)

enrichment_requests = sa.Table(
    "enrichment_requests",
    metadata,
    sa.Column("id", _ID, primary_key=True, autoincrement=True),
    sa.Column("raw_name", sa.Text(), nullable=False),
    sa.Column("normalized_name", _KEY_TEXT, nullable=False),
    sa.Column("temp_id", sa.String(32), nullable=False),
    sa.Column("status", sa.String(16), nullable=False, server_default=RequestStatus.PENDING.value),
    sa.Column("attempts", sa.Integer(), nullable=False, server_default=sa.text("0")),
    sa.Column("last_error", sa.Text(), nullable=True),
    sa.Column("resolved_company_id", sa.String(64), nullable=True),
    sa.Column("next_retry_at", UtcDateTime(), nullable=True),
    sa.Column("locked_by", sa.String(128), nullable=True),
    sa.Column("locked_until", UtcDateTime(), nullable=True),
    *_timestamps(),
    # The search answer's best entries (id, full name, match type, confidence), kept for
    # review whether or not one settled the request.
    sa.Column("eqc_candidates", sa.JSON(), nullable=True),
    sa.CheckConstraint(_in("status", RequestStatus), name="status"),
    sa.CheckConstraint("attempts >= 0", name="attempts"),
    sa.CheckConstraint("length(normalized_name) > 0", name="normalized_name_not_empty"),
    sa.Index(
        "uq_enrichment_requests_open_normalized_name",
        "normalized_name",
        unique=True,
        postgresql_where=sa.text(OPEN_REQUEST_PREDICATE),
        sqlite_where=sa.text(OPEN_REQUEST_PREDICATE),
    ),
    sa.Index(None, "status", "next_retry_at"),
    # Remap reads the name of a request by its temporary id, whatever its status: a name
    # reviewed or learned after its request finished still fixes the ids written for it.
    sa.Index(None, "temp_id"),
    # The stored EQC candidates of a few names, for the unknown-companies export.
    sa.Index(
        "ix_enrichment_requests_candidates_name",
        "normalized_name",
        postgresql_where=sa.text(CANDIDATES_PREDICATE),
        sqlite_where=sa.text(CANDIDATES_PREDICATE),
    ),
    # The oldest open requests first, for the unknown-companies export of a long queue.
    sa.Index(
        "ix_enrichment_requests_open_created_at",
        "created_at",
        "temp_id",
        postgresql_where=sa.text(OPEN_REQUEST_PREDICATE),
        sqlite_where=sa.text(OPEN_REQUEST_PREDICATE),
    ),
)

#: Every change and deletion of a ``company_mapping`` row: nothing disappears unrecorded.
company_mapping_history = sa.Table(
    "company_mapping_history",
    metadata,
    sa.Column("id", _ID, primary_key=True, autoincrement=True),
    sa.Column("alias_name", _KEY_TEXT, nullable=False),
    sa.Column("match_type", sa.String(16), nullable=False),
    sa.Column("old_id", sa.String(64), nullable=True),
    sa.Column("new_id", sa.String(64), nullable=True),
    sa.Column("source", sa.String(32), nullable=False),
    sa.Column("action", sa.String(16), nullable=False),
    sa.Column("changed_at", UtcDateTime(), nullable=False, server_default=sa.func.now()),
    sa.CheckConstraint(_in("action", HistoryAction), name="action"),
    sa.Index(None, "alias_name", "match_type"),
)

#: Rate-limit slots shared by every EQC client on every machine: one row per request
#: granted, pruned once older than the window (see ``eqc.rate_limit.DatabaseRateLimiter``).
eqc_rate_slots = sa.Table(
    "eqc_rate_slots",
    metadata,
    sa.Column("id", _ID, primary_key=True, autoincrement=True),
    sa.Column("bucket", sa.String(64), nullable=False),
    sa.Column("granted_at", UtcDateTime(), nullable=False),
    sa.Index(None, "bucket", "granted_at"),
)
__all__ += ["eqc_rate_slots"]

#: What EQC's detail and label answers said about a company, fetched with spare capacity
#: after a search settled its request: the detail fields of spec section 3, the labels, and
#: the raw JSON of each answer (``company_master`` keeps the name, code and former names).
eqc_company_details = sa.Table(
    "eqc_company_details",
    metadata,
    sa.Column("company_id", sa.String(64), primary_key=True),
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
    sa.Column("fetched_at", UtcDateTime(), nullable=False),
)
__all__ += ["eqc_company_details"]
