"""The statements on ``enrichment_requests``, one builder per :class:`~.repository.QueueRepository`
method, named after it (``claim_batch`` ↔ :meth:`~.repository.QueueRepository.claim_batch`),
so tests can compile each for either database.

Claims use ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so concurrent workers take disjoint
batches without waiting; SQLite renders no locking clause and relies on the engine's
``BEGIN IMMEDIATE`` write transaction instead. Every outcome write is guarded by
``locked_by = :worker`` and ``status = 'processing'``.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Collection, Sequence
from typing import Any

import sqlalchemy as sa

from work_data_hub.infrastructure.db import tables
from work_data_hub.infrastructure.db.bound_batches import Columns, dialect_insert, rows_source
from work_data_hub.infrastructure.enrichment.queue.requests import (
    LEASE_EXPIRED_ERROR,
    MAX_ERROR_LENGTH,
)

_R = tables.enrichment_requests
_PENDING = tables.RequestStatus.PENDING.value
_PROCESSING = tables.RequestStatus.PROCESSING.value
_DONE = tables.RequestStatus.DONE.value
_FAILED = tables.RequestStatus.FAILED.value

#: The columns of an enqueue batch, in the order of a checked request.
REQUEST_COLUMNS: Columns = (
    ("raw_name", sa.Text()),
    ("normalized_name", sa.Text()),
    ("temp_id", sa.Text()),
)


@functools.cache
def enqueue(dialect: str) -> Any:
    requests = tables.enrichment_requests
    rows = rows_source(dialect, REQUEST_COLUMNS)
    now = sa.bindparam("now", type_=tables.UtcDateTime())
    # WHERE true: SQLite cannot otherwise tell "SELECT … ON CONFLICT" from a join's ON.
    select = sa.select(rows.c.raw_name, rows.c.normalized_name, rows.c.temp_id, now, now).where(
        sa.true()
    )
    return (
        dialect_insert(dialect)(requests)
        .from_select(["raw_name", "normalized_name", "temp_id", "created_at", "updated_at"], select)
        .on_conflict_do_nothing(
            # The partial unique index's own predicate, as literal SQL, so ON CONFLICT
            # infers that index: with bound values PostgreSQL could not prove at planning
            # time that the conflict target implies the index predicate.
            index_elements=[requests.c.normalized_name],
            index_where=sa.text(tables.OPEN_REQUEST_PREDICATE),
        )
        .returning(requests.c.id)
    )


def _ready(now: dt.datetime) -> sa.ColumnElement[bool]:
    return sa.and_(
        _R.c.status == _PENDING,
        sa.or_(_R.c.next_retry_at.is_(None), _R.c.next_retry_at <= now),
    )


def _owned(request_ids: Collection[int], worker_id: str) -> sa.ColumnElement[bool]:
    return sa.and_(
        _R.c.id.in_(list(request_ids)),
        _R.c.locked_by == worker_id,
        _R.c.status == _PROCESSING,
    )


def _unlocked(now: dt.datetime) -> dict[str, Any]:
    return {"locked_by": None, "locked_until": None, "updated_at": now}


def claim_batch(
    worker_id: str, limit: int, locked_until: dt.datetime, now: dt.datetime
) -> sa.Update:
    ready = (
        sa.select(_R.c.id)
        .where(_ready(now))
        .order_by(_R.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return (
        sa.update(_R)
        .where(_R.c.id.in_(ready))
        .values(status=_PROCESSING, locked_by=worker_id, locked_until=locked_until, updated_at=now)
        .returning(_R.c.id, _R.c.raw_name, _R.c.normalized_name, _R.c.temp_id, _R.c.attempts)
    )


def renew_lease(
    request_ids: Collection[int], worker_id: str, locked_until: dt.datetime
) -> sa.Update:
    return sa.update(_R).where(_owned(request_ids, worker_id)).values(locked_until=locked_until)


def mark_done(
    request_id: int,
    worker_id: str,
    company_id: str | None,
    now: dt.datetime,
    candidates: list[dict[str, Any]] | None = None,
    *,
    looked_up: bool = True,
    note: str | None = None,
) -> sa.Update:
    return (
        sa.update(_R)
        .where(_owned([request_id], worker_id))
        .values(
            status=_DONE,
            resolved_company_id=company_id,
            # SQL NULL, not JSON null: the partial index and the export skip these rows.
            eqc_candidates=candidates if candidates else sa.null(),
            attempts=_R.c.attempts + 1 if looked_up else _R.c.attempts,
            last_error=note,
            next_retry_at=None,
            **_unlocked(now),
        )
    )


def mark_retry(
    request_id: int, worker_id: str, next_retry_at: dt.datetime, error: str, now: dt.datetime
) -> sa.Update:
    return (
        sa.update(_R)
        .where(_owned([request_id], worker_id))
        .values(
            status=_PENDING,
            attempts=_R.c.attempts + 1,
            last_error=error[:MAX_ERROR_LENGTH],
            next_retry_at=next_retry_at,
            **_unlocked(now),
        )
    )


def mark_failed(request_id: int, worker_id: str, error: str, now: dt.datetime) -> sa.Update:
    return (
        sa.update(_R)
        .where(_owned([request_id], worker_id))
        .values(
            status=_FAILED,
            attempts=_R.c.attempts + 1,
            last_error=error[:MAX_ERROR_LENGTH],
            next_retry_at=None,
            **_unlocked(now),
        )
    )


def release(request_ids: Collection[int], worker_id: str, now: dt.datetime) -> sa.Update:
    return (
        sa.update(_R)
        .where(_owned(request_ids, worker_id))
        .values(status=_PENDING, **_unlocked(now))
    )


def recover_expired(now: dt.datetime, max_attempts: int) -> sa.Update:
    at_limit = _R.c.attempts + 1 >= max_attempts
    return (
        sa.update(_R)
        .where(
            _R.c.status == _PROCESSING,
            sa.or_(_R.c.locked_until.is_(None), _R.c.locked_until < now),
        )
        .values(
            status=sa.case((at_limit, _FAILED), else_=_PENDING),
            attempts=_R.c.attempts + 1,
            last_error=LEASE_EXPIRED_ERROR,
            next_retry_at=None,
            **_unlocked(now),
        )
    )


def status_counts() -> sa.Select[Any]:
    return sa.select(_R.c.status, sa.func.count().label("n")).group_by(_R.c.status)


def ready_pending_count(now: dt.datetime, cap: int | None) -> sa.Select[Any]:
    ready = sa.select(_R.c.id).where(_ready(now))
    if cap is not None:
        # Counting stops at the cap: the sensor only needs "more than the threshold".
        ready = ready.limit(cap)
    return sa.select(sa.func.count()).select_from(ready.subquery())


def oldest_pending() -> sa.Select[Any]:
    return sa.select(sa.func.min(_R.c.created_at)).where(_R.c.status == _PENDING)


def next_retry(now: dt.datetime) -> sa.Select[Any]:
    return sa.select(sa.func.min(_R.c.next_retry_at)).where(
        _R.c.status == _PENDING, _R.c.next_retry_at > now
    )


def retry_failed(now: dt.datetime) -> sa.Update:
    # One failed request per name is reopened, and only when the name has no open request:
    # the partial unique index allows a single pending/processing row per normalized name.
    other = _R.alias("other")
    latest_failed = (
        sa.select(sa.func.max(_R.c.id)).where(_R.c.status == _FAILED).group_by(_R.c.normalized_name)
    )
    open_same_name = sa.exists().where(
        other.c.normalized_name == _R.c.normalized_name,
        other.c.status.in_(tables.OPEN_REQUEST_STATUSES),
    )
    return (
        sa.update(_R)
        .where(_R.c.id.in_(latest_failed), ~open_same_name)
        .values(
            status=_PENDING,
            attempts=0,
            last_error=None,
            next_retry_at=None,
            **_unlocked(now),
        )
    )


def _remembered(since: dt.datetime) -> sa.ColumnElement[bool]:
    """A "not found" that EQC itself answered after ``since`` (requests closed from the
    memory carry a note in ``last_error`` and do not extend it)."""
    return sa.and_(
        _R.c.status == _DONE,
        _R.c.resolved_company_id.is_(None),
        _R.c.last_error.is_(None),
        _R.c.updated_at >= since,
    )


def remembered_not_found(names: Sequence[str], since: dt.datetime) -> sa.Select[Any]:
    return (
        sa.select(_R.c.normalized_name)
        .where(_remembered(since), _R.c.normalized_name.in_(list(names)))
        .distinct()
    )


def reopen_not_found(since: dt.datetime, now: dt.datetime) -> sa.Update:
    # As retry_failed: one request per name, only when the name has no open request.
    other = _R.alias("other")
    latest = (
        sa.select(sa.func.max(_R.c.id)).where(_remembered(since)).group_by(_R.c.normalized_name)
    )
    open_same_name = sa.exists().where(
        other.c.normalized_name == _R.c.normalized_name,
        other.c.status.in_(tables.OPEN_REQUEST_STATUSES),
    )
    return (
        sa.update(_R)
        .where(_R.c.id.in_(latest), ~open_same_name)
        .values(status=_PENDING, attempts=0, last_error=None, next_retry_at=None, updated_at=now)
    )


def forget_not_found(since: dt.datetime, now: dt.datetime, note: str) -> sa.Update:
    return sa.update(_R).where(_remembered(since)).values(last_error=note, updated_at=now)


def purge(older_than: dt.datetime, statuses: Sequence[str]) -> sa.Delete:
    # The newest request of each temporary id stays: remap reads the name from it.
    newer = _R.alias("newer")
    superseded = sa.exists().where(newer.c.temp_id == _R.c.temp_id, newer.c.id > _R.c.id)
    return sa.delete(_R).where(
        _R.c.status.in_(list(statuses)), _R.c.updated_at < older_than, superseded
    )


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
            **_unlocked(now),
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
            **_unlocked(now),
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
