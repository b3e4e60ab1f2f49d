"""The review-side statements on ``enrichment_requests``: the reads behind remap and the
unknown-companies export, and the closing and reopening of requests by reviewed mappings.

Split from :mod:`._statements` (the worker's claim, lease and outcome statements) so each
module keeps one job; both are executed by :class:`~.repository.QueueRepository` only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from work_data_hub.infrastructure.db import tables
from work_data_hub.infrastructure.db.bound_batches import Columns, rows_source
from work_data_hub.infrastructure.enrichment.queue._statements import unlocked

_R = tables.enrichment_requests
_PENDING = tables.RequestStatus.PENDING.value
_PROCESSING = tables.RequestStatus.PROCESSING.value
_DONE = tables.RequestStatus.DONE.value
_FAILED = tables.RequestStatus.FAILED.value


def request_names(temp_ids: Sequence[str]) -> sa.Select[Any]:
    return (
        sa.select(_R.c.temp_id, _R.c.normalized_name, _R.c.resolved_company_id)
        .where(_R.c.temp_id.in_(list(temp_ids)))
        .order_by(_R.c.id)
    )


#: Requests a reviewed mapping closes: open ones, failed ones, and "no such company".
_CLOSABLE = sa.or_(
    _R.c.status.in_([_PENDING, _PROCESSING, _FAILED]),
    sa.and_(_R.c.status == _DONE, _R.c.resolved_company_id.is_(None)),
)
#: Names and ids bound as arrays (named apart from the table's columns: an UPDATE reserves
#: those bind names for its SET clause).
NAME_ID_COLUMNS: Columns = (("name_key", sa.Text()), ("company_id", sa.Text()))


def close_requests(dialect: str, now: dt.datetime) -> sa.Update:
    rows = rows_source(dialect, NAME_ID_COLUMNS)
    same_name = rows.c.name_key == _R.c.normalized_name
    company = sa.select(rows.c.company_id).where(same_name).limit(1).scalar_subquery()
    return (
        sa.update(_R)
        .where(_CLOSABLE, sa.exists().where(same_name))
        .values(
            status=_DONE,
            resolved_company_id=company,
            last_error=None,
            next_retry_at=None,
            **unlocked(now),
        )
    )


def reopen_requests(dialect: str, now: dt.datetime) -> sa.Update:
    rows = rows_source(dialect, NAME_ID_COLUMNS)
    other = _R.alias("other")
    open_same_name = sa.exists().where(
        other.c.normalized_name == _R.c.normalized_name,
        other.c.status.in_(tables.OPEN_REQUEST_STATUSES),
    )
    answered_by = sa.exists().where(
        rows.c.name_key == _R.c.normalized_name, rows.c.company_id == _R.c.resolved_company_id
    )
    # The newest matching request per name only: the partial unique index allows one open.
    newest = (
        sa.select(sa.func.max(_R.c.id))
        .where(_R.c.status == _DONE, answered_by)
        .group_by(_R.c.normalized_name)
    )
    return (
        sa.update(_R)
        .where(_R.c.id.in_(newest), ~open_same_name)
        .values(
            status=_PENDING,
            resolved_company_id=None,
            attempts=0,
            last_error=None,
            next_retry_at=None,
            **unlocked(now),
        )
    )


def resolved_temp_ids(temp_ids: Sequence[str]) -> sa.Select[Any]:
    return (
        sa.select(_R.c.temp_id, _R.c.resolved_company_id)
        .where(
            _R.c.temp_id.in_(list(temp_ids)),
            # The partial index's own predicate, as literal SQL: with bound values a
            # prepared (generic) plan could not prove the index applies.
            sa.text(tables.RESOLVED_REQUEST_PREDICATE),
        )
        .order_by(_R.c.id)
    )


def _resolved_names() -> sa.ScalarSelect[Any]:
    # The resolved partial index's predicate, as literal SQL, so its index serves it.
    return (
        sa.select(_R.c.normalized_name)
        .where(sa.text(tables.RESOLVED_REQUEST_PREDICATE))
        .scalar_subquery()
    )


def _unresolved() -> sa.ColumnElement[bool]:
    return sa.or_(_R.c.status != _DONE, _R.c.resolved_company_id.is_(None))


def _finished_unresolved() -> sa.ColumnElement[bool]:
    return sa.and_(_R.c.status.in_([_DONE, _FAILED]), _R.c.resolved_company_id.is_(None))


def _unknown_groups(*where: sa.ColumnElement[bool]) -> sa.Select[Any]:
    requests = sa.func.count().label("requests")
    first_seen = sa.func.min(_R.c.created_at).label("first_seen")
    temp_id = sa.func.min(_R.c.temp_id).label("temp_id")
    return (
        sa.select(
            _R.c.normalized_name,
            sa.func.min(_R.c.raw_name).label("raw_name"),
            temp_id,
            first_seen,
            requests,
        )
        .where(_unresolved(), _R.c.normalized_name.not_in(_resolved_names()), *where)
        .group_by(_R.c.normalized_name)
        .order_by(requests.desc(), first_seen, temp_id)
    )


def unknown_requests() -> sa.Select[Any]:
    # Names not resolved (open, failed, or done without an id), leaving out names that some
    # other request of theirs did resolve; most requested first, as the export lists them.
    return _unknown_groups()


# The top names of a long queue without grouping all of it. A name has at most one open
# request (the partial unique index), so a name asked more than once has a finished
# (failed, or done without an id) request: the names that have one are grouped, the few
# there are; every other unknown name is one open request, taken in order of age.


def unknown_with_finished(limit: int) -> sa.Select[Any]:
    # The finished requests are grouped (found through the status index); a name's open
    # request, if any, is looked up per group through the partial unique index (its
    # predicate spelled as literal SQL so the planner can prove the index applies).
    finished = (
        sa.select(
            _R.c.normalized_name,
            sa.func.min(_R.c.raw_name).label("raw_name"),
            sa.func.min(_R.c.temp_id).label("temp_id"),
            sa.func.min(_R.c.created_at).label("first_seen"),
            sa.func.count().label("finished"),
        )
        .where(_finished_unresolved(), _R.c.normalized_name.not_in(_resolved_names()))
        .group_by(_R.c.normalized_name)
        .subquery("finished")
    )
    opened = (
        sa.select(_R.c.created_at)
        .where(sa.text(tables.OPEN_REQUEST_PREDICATE))
        .where(_R.c.normalized_name == finished.c.normalized_name)
        .limit(1)
        .scalar_subquery()
    )
    # OFFSET 0 keeps the planner from copying the lookup into every expression below.
    probed = sa.select(*finished.c, opened.label("opened_at")).offset(0).subquery("probed")
    requests = (probed.c.finished + sa.case((probed.c.opened_at.is_not(None), 1), else_=0)).label(
        "requests"
    )
    first_seen = sa.case(
        (probed.c.opened_at < probed.c.first_seen, probed.c.opened_at),
        else_=probed.c.first_seen,
    ).label("first_seen")
    return (
        sa.select(
            probed.c.normalized_name,
            probed.c.raw_name,
            probed.c.temp_id,
            first_seen,
            requests,
        )
        .order_by(requests.desc(), first_seen, probed.c.temp_id)
        .limit(limit)
    )


def unknown_open_only(limit: int) -> sa.Select[Any]:
    finished = sa.select(_R.c.normalized_name).where(_finished_unresolved())
    return (
        sa.select(
            _R.c.normalized_name,
            _R.c.raw_name,
            _R.c.temp_id,
            _R.c.created_at.label("first_seen"),
            sa.literal(1).label("requests"),
        )
        .where(
            # Literal, like the partial index on (created_at, temp_id) it lets the planner
            # read in order, stopping after the first names that pass.
            sa.text(tables.OPEN_REQUEST_PREDICATE),
            _R.c.normalized_name.not_in(finished.scalar_subquery()),
            _R.c.normalized_name.not_in(_resolved_names()),
        )
        .order_by(_R.c.created_at, _R.c.temp_id)
        .limit(limit)
    )


def request_candidates(normalized_names: Sequence[str]) -> sa.Select[Any]:
    # Every stored answer of these names, newest first: the caller keeps the first per name.
    return (
        sa.select(_R.c.normalized_name, _R.c.eqc_candidates)
        .where(
            _R.c.normalized_name.in_(list(normalized_names)),
            # Literal, like the partial index it lets the planner use.
            sa.text(tables.CANDIDATES_PREDICATE),
        )
        .order_by(_R.c.normalized_name, _R.c.id.desc())
    )
