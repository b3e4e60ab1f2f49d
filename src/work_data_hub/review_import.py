"""The import of reviewed mappings: a reviewed CSV/Excel (name and company id) becomes
``manual`` mappings.

Every row is validated first (ids by the one id rule of :mod:`company_ids`), bad rows are
reported with their line numbers, and the rows go in one transaction — all or nothing —
which also closes the queue requests of those names. A review file written by ``export
unknown`` comes back the same way: rows left blank are ignored, and ``accept_above`` fills
them with a top suggestion above a score.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa

from work_data_hub import review_file
from work_data_hub.errors import InputError
from work_data_hub.infrastructure.db import tables
from work_data_hub.infrastructure.enrichment import company_ids, normalizer
from work_data_hub.infrastructure.enrichment.mapping_corrections import MappingCorrections
from work_data_hub.infrastructure.enrichment.mapping_repository import CompanyMappingRepository
from work_data_hub.infrastructure.enrichment.queue.repository import QueueRepository
from work_data_hub.infrastructure.enrichment.types import MappingRecord
from work_data_hub.io import frames
from work_data_hub.utils import clock

__all__ = ["IMPORT_ID_COLUMNS", "IMPORT_NAME_COLUMNS", "ImportResult", "import_reviewed_mappings"]

#: Accepted headers of a reviewed file, first match wins.
IMPORT_NAME_COLUMNS = ("company_name", "客户名称", "name")
IMPORT_ID_COLUMNS = ("company_id", "公司代码", "canonical_id")
_MAX_REPORTED_ROWS = 20


@dataclass(frozen=True, kw_only=True)
class ImportResult:
    """Outcome of an import: rows read, mappings inserted, already present (skipped),
    replaced (``--replace``), and queue requests closed with the reviewed ids; for a review
    file also the rows left blank (ignored) and those filled by ``accept_above``
    (``accepted``, :class:`~work_data_hub.review_file.AcceptedRow`)."""

    rows: int
    inserted: int
    skipped: int
    replaced: int = 0
    requests_closed: int = 0
    ignored: int = 0
    accepted: tuple[Any, ...] = ()
    dry_run: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "inserted": self.inserted,
            "skipped": self.skipped,
            "replaced": self.replaced,
            "requests_closed": self.requests_closed,
            "ignored": self.ignored,
            "accepted": len(self.accepted),
            "dry_run": self.dry_run,
        }


def _pick(columns: list[str], candidates: tuple[str, ...], role: str, path: Path) -> str:
    for candidate in candidates:
        if candidate in columns:
            return candidate
    raise InputError(
        f"{path.name}: missing the {role} column (expected one of: {', '.join(candidates)}; "
        f"found: {', '.join(columns) or 'none'})"
    )


def _validated_records(frame: pd.DataFrame, path: Path, first_line: int) -> list[MappingRecord]:
    name_col = _pick(list(frame.columns), IMPORT_NAME_COLUMNS, "company name", path)
    id_col = _pick(list(frame.columns), IMPORT_ID_COLUMNS, "company id", path)
    problems: list[str] = []
    seen: dict[str, tuple[str, int]] = {}
    records: list[MappingRecord] = []
    # The index is the row's position in the file (a review file's blank rows are dropped
    # before this, and its line numbers must still be the file's).
    rows = zip(frame.index, frame[name_col], frame[id_col], strict=True)
    for index, raw_name, raw_id in rows:
        line = first_line + int(index)
        key = normalizer.normalize_for_temp_id(raw_name)
        check = company_ids.check_company_id(raw_id)
        if not key:
            problems.append(f"line {line}: empty company name")
            continue
        if check.company_id is None:
            problems.append(f"line {line}: company id {check.problem}")
            continue
        company_id = check.company_id
        if key in seen and seen[key][0] != company_id:
            problems.append(f"line {line}: same name as line {seen[key][1]} with another id")
            continue
        seen.setdefault(key, (company_id, line))
        records.append(
            MappingRecord(
                alias_name=key,
                canonical_id=company_id,
                match_type=tables.MatchType.MANUAL.value,
                source=tables.MappingSource.MANUAL.value,
            )
        )
    if problems:
        shown = problems[:_MAX_REPORTED_ROWS]
        more = len(problems) - len(shown)
        detail = "; ".join(shown) + (f"; and {more} more" if more else "")
        raise InputError(f"{path.name}: {len(problems)} bad row(s), nothing imported: {detail}")
    return records


def import_reviewed_mappings(
    engine: sa.Engine,
    path: Path,
    *,
    sheet: str | None = None,
    replace: bool = False,
    accept_above: float | None = None,
    dry_run: bool = False,
) -> ImportResult:
    """Import a reviewed file as ``manual`` mappings, all or nothing (see the module doc).

    In the same transaction, the open, failed and not-found queue requests of the names
    imported are closed with their reviewed ids, so ``export unknown`` stops listing them
    and no worker looks them up. A name already mapped by hand to another id is refused
    unless ``replace``: then the mapping takes the reviewed id and the change is recorded
    in the mapping history.

    A file written by ``export unknown`` may leave ``company_id`` blank: those rows are
    ignored, or, with ``accept_above``, filled with a first suggestion scoring above it.
    ``dry_run`` checks every row and imports nothing.
    """
    frame = frames.read_frame(path, sheet=sheet)
    rows = len(frame)
    # Line numbers as a spreadsheet shows them: the header is line 1.
    frame, accepted = review_file.prepare_reviewed(frame, accept_above=accept_above, first_line=2)
    records = _validated_records(frame, path, first_line=2)
    extra: dict[str, Any] = {"ignored": rows - len(frame), "accepted": tuple(accepted)}
    if dry_run:
        return ImportResult(rows=rows, inserted=0, skipped=0, dry_run=True, **extra)
    with engine.begin() as conn:
        replaced = MappingCorrections(conn).replace(records) if replace else []
        result = CompanyMappingRepository(conn).insert_batch_with_conflict_check(records)
        if result.conflicts:
            # Leaving the transaction by an exception rolls back the inserted rows too.
            raise InputError(
                f"{path.name}: {result.conflicts} name(s) already map to a different company "
                "id; nothing imported (--replace changes them, with a record)"
            )
        closed = QueueRepository(conn).close_requests(
            {r.alias_name: r.canonical_id for r in records}, clock.utcnow()
        )
    return ImportResult(
        rows=rows,
        inserted=result.inserted,
        skipped=result.skipped - len(replaced),
        replaced=len(replaced),
        requests_closed=closed,
        **extra,
    )
