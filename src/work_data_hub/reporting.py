"""Run reports, the unknown-companies export, and the import of reviewed mappings.

* :class:`RunReport` — what one ``resolve`` run did: statistics summed over its chunks,
  hit rates, timings, and input/output row counts (which must match), written as JSON.
* :class:`UnknownTally` — the names of a run that ended with a temporary id, counted per
  temporary id (one per normalized name): ``company_name`` is the first spelling seen,
  ``first_seen`` the run's start, ``occurrence_count`` the rows of that run.
* :func:`unknown_from_database` — the same columns for every name still unknown in
  ``enrichment_requests`` (open, failed, or done without a company): ``first_seen`` is the
  first request's ``created_at``; the table has no row counts, so ``occurrence_count`` is
  taken from run files (``*.unknown.csv``) when given, else the number of requests recorded
  for the name (at least 1). Most frequent first.
* :func:`import_reviewed_mappings` — a reviewed CSV/Excel (name and company id) becomes
  ``manual`` mappings: every row is validated first (ids by the one id rule of
  :mod:`company_ids`), bad rows are reported with their line numbers, and the rows go in
  one transaction — all or nothing — which also closes the queue requests of those names.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import pandas as pd
import sqlalchemy as sa

from work_data_hub import review_file
from work_data_hub.errors import InputError
from work_data_hub.infrastructure.db import tables
from work_data_hub.infrastructure.enrichment import company_ids, normalizer, temp_ids
from work_data_hub.infrastructure.enrichment.mapping_corrections import MappingCorrections
from work_data_hub.infrastructure.enrichment.mapping_repository import CompanyMappingRepository
from work_data_hub.infrastructure.enrichment.queue.repository import QueueRepository
from work_data_hub.infrastructure.enrichment.types import MappingRecord, ResolutionStatistics
from work_data_hub.io import atomic, frames
from work_data_hub.io.cells import formula_safe
from work_data_hub.utils import clock

__all__ = [
    "EXPORT_ENCODING",
    "IMPORT_ID_COLUMNS",
    "IMPORT_NAME_COLUMNS",
    "MAPPING_COLUMNS",
    "UNKNOWN_COLUMNS",
    "ImportResult",
    "RunReport",
    "UnknownCompany",
    "UnknownTally",
    "export_mappings",
    "import_reviewed_mappings",
    "merge_statistics",
    "read_unknown_counts",
    "unknown_from_database",
    "write_csv_rows",
    "write_unknown_csv",
    "write_unknown_rows",
]

UNKNOWN_COLUMNS = ("company_name", "temporary_id", "first_seen", "occurrence_count")
#: Columns of a mapping export, named after the ``MatchResult`` fields they hold.
MAPPING_COLUMNS = ("alias_name", "canonical_id", "match_type", "priority", "source", "confidence")
#: Accepted headers of a reviewed file, first match wins.
IMPORT_NAME_COLUMNS = ("company_name", "客户名称", "name")
IMPORT_ID_COLUMNS = ("company_id", "公司代码", "canonical_id")
_MAX_REPORTED_ROWS = 20


def merge_statistics(total: dict[str, Any], part: ResolutionStatistics) -> dict[str, Any]:
    """Add one chunk's statistics to ``total`` (numbers and dicts of numbers are summed).

    ``budget_remaining`` is a level, not a count: the last chunk's value stands.
    """
    for key, value in part.to_dict().items():
        if key == "budget_remaining":
            total[key] = value
        elif isinstance(value, list):
            bucket_list = total.setdefault(key, [])
            bucket_list.extend(item for item in value if item not in bucket_list)
        elif isinstance(value, dict):
            bucket = total.setdefault(key, {})
            for sub, number in value.items():
                bucket[sub] = bucket.get(sub, 0) + number
        elif isinstance(value, int | float) and not isinstance(value, bool):
            total[key] = total.get(key, 0) + value
        else:
            total[key] = value
    return total


def _rate(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


@dataclass(kw_only=True)
class RunReport:
    """What one resolve run did; ``rows_in == rows_out`` is the first thing to check."""

    input_path: str
    output_path: str
    file_format: str
    started_at: dt.datetime
    finished_at: dt.datetime | None = None
    rows_in: int = 0
    rows_out: int = 0
    chunks: int = 0
    statistics: dict[str, Any] = field(default_factory=dict)
    timings_ms: dict[str, float] = field(default_factory=dict)
    unknown_companies: int = 0
    warnings: list[str] = field(default_factory=list)

    def add_time(self, phase: str, elapsed_ms: float) -> None:
        self.timings_ms[phase] = round(self.timings_ms.get(phase, 0.0) + elapsed_ms, 3)

    @property
    def hit_rates(self) -> dict[str, float]:
        """Shares of rows per outcome: a real id, a temporary id, none."""
        s = self.statistics
        total = int(s.get("total_rows", 0))
        temp = int(s.get("temp_ids_generated", 0))
        unresolved = int(s.get("unresolved", 0))
        excluded = int(s.get("excluded", 0))
        real = total - temp - unresolved - excluded
        return {
            "real_id": _rate(real, total),
            "yaml": _rate(sum(s.get("yaml_hits", {}).values()), total),
            "db_cache": _rate(int(s.get("db_cache_hits", 0)), total),
            "existing_column": _rate(int(s.get("existing_column_hits", 0)), total),
            "propagated": _rate(int(s.get("propagated_hits", 0)), total),
            "eqc_sync": _rate(int(s.get("eqc_sync_hits", 0)), total),
            "temporary_id": _rate(temp, total),
            "excluded": _rate(excluded, total),
            "unresolved": _rate(unresolved, total),
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "input": self.input_path,
            "output": self.output_path,
            "format": self.file_format,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "rows_in": self.rows_in,
            "rows_out": self.rows_out,
            "rows_match": self.rows_in == self.rows_out,
            "chunks": self.chunks,
            "unknown_companies": self.unknown_companies,
            "hit_rates": self.hit_rates,
            "statistics": self.statistics,
            "timings_ms": self.timings_ms,
            "warnings": self.warnings,
        }

    def dump_json(self, handle: IO[str]) -> None:
        """The report as one JSON document on ``handle``."""
        handle.write(json.dumps(self.to_dict(), ensure_ascii=False, indent=2, default=str) + "\n")

    def write_json(self, path: Path) -> None:
        """Write the report to ``path``, atomically."""
        with atomic.atomic_text(path, encoding="utf-8") as handle:
            self.dump_json(handle)


@dataclass(frozen=True, kw_only=True)
class UnknownCompany:
    """One row of an unknown-companies export."""

    company_name: str
    temporary_id: str
    first_seen: dt.datetime
    occurrence_count: int

    def row(self) -> list[Any]:
        return [
            self.company_name,
            self.temporary_id,
            self.first_seen.isoformat(timespec="seconds"),
            self.occurrence_count,
        ]


class UnknownTally:
    """Counts the rows of a run that got a temporary id, per temporary id."""

    def __init__(self, *, seen_at: dt.datetime) -> None:
        self._seen_at = seen_at
        self._names: dict[str, str] = {}
        self._counts: dict[str, int] = {}

    def add(self, names: pd.Series, output: pd.Series) -> None:
        """Tally one chunk: ``names`` the customer names, ``output`` the resolved ids.

        A row counts when its id has the shape of a temporary id; one temporary id stands
        for one normalized name, so no name is normalized again here.
        """
        hit = temp_ids.temp_id_mask(output)
        if not hit.any():
            return
        chunk = pd.DataFrame({"temp": output[hit].astype(str), "name": names[hit].astype(str)})
        for temp_id, count in chunk["temp"].value_counts(sort=False).items():
            self._counts[str(temp_id)] = self._counts.get(str(temp_id), 0) + int(count)
        for temp_id, name in chunk.drop_duplicates("temp").itertuples(index=False):
            self._names.setdefault(temp_id, name.strip())

    def __len__(self) -> int:
        return len(self._counts)

    def companies(self) -> list[UnknownCompany]:
        """Most frequent first, then by temporary id (stable across runs)."""
        return [
            UnknownCompany(
                company_name=self._names[temp_id],
                temporary_id=temp_id,
                first_seen=self._seen_at,
                occurrence_count=count,
            )
            for temp_id, count in self._ordered()
        ]

    def write(self, handle: IO[str]) -> int:
        """The export of :meth:`companies` on ``handle``, the same bytes as
        :func:`write_unknown_rows`, without an object per company; row count."""
        seen = self._seen_at.isoformat(timespec="seconds")
        names = self._names
        rows = (
            (formula_safe(names[temp_id]), formula_safe(temp_id), seen, count)
            for temp_id, count in self._ordered()
        )
        writer = csv.writer(handle)
        writer.writerow([formula_safe(c) for c in UNKNOWN_COLUMNS])
        writer.writerows(rows)
        return len(self._counts)

    def _ordered(self) -> list[tuple[str, int]]:
        return sorted(self._counts.items(), key=lambda item: (-item[1], item[0]))


def write_csv_rows(handle: IO[str], columns: Iterable[str], rows: Iterable[Iterable[Any]]) -> int:
    """Header and rows as CSV on ``handle``, every cell formula-safe; the row count."""
    writer = csv.writer(handle)
    writer.writerow([formula_safe(c) for c in columns])
    count = 0
    for row in rows:
        writer.writerow([formula_safe(cell) for cell in row])
        count += 1
    return count


#: Encoding of the CSV exports: UTF-8 with BOM, so spreadsheet programs read the names.
EXPORT_ENCODING = "utf-8-sig"


def write_unknown_rows(handle: IO[str], companies: Iterable[UnknownCompany]) -> int:
    """The unknown-companies export on an open text handle; row count."""
    return write_csv_rows(handle, UNKNOWN_COLUMNS, (c.row() for c in companies))


def write_unknown_csv(path: Path, companies: Iterable[UnknownCompany]) -> int:
    """Write the export to ``path`` atomically (UTF-8 with BOM); row count."""
    with atomic.atomic_text(path, encoding=EXPORT_ENCODING, newline="") as handle:
        return write_unknown_rows(handle, companies)


def read_unknown_counts(paths: Iterable[Path]) -> dict[str, int]:
    """``temporary_id → occurrence_count`` summed over run files (``*.unknown.csv``)."""
    counts: dict[str, int] = {}
    for path in paths:
        frame = frames.read_frame(path)
        missing = [c for c in ("temporary_id", "occurrence_count") if c not in frame.columns]
        if missing:
            raise InputError(
                f"{path.name} is not an unknown-companies file: missing {', '.join(missing)}"
            )
        for temp_id, value in zip(frame["temporary_id"], frame["occurrence_count"], strict=True):
            if pd.isna(temp_id) or pd.isna(value):
                continue
            counts[str(temp_id)] = counts.get(str(temp_id), 0) + int(value)
    return counts


def unknown_from_database(
    engine: sa.Engine, *, run_counts: Mapping[str, int] | None = None
) -> list[UnknownCompany]:
    """Every name still unknown in the queue, most frequent first (see the module doc)."""
    run_counts = run_counts or {}
    with engine.connect() as conn:
        requests = QueueRepository(conn).unknown_requests()
    companies = [
        UnknownCompany(
            company_name=request.raw_name.strip(),
            temporary_id=request.temp_id,
            first_seen=request.first_seen,
            occurrence_count=run_counts.get(request.temp_id, request.requests),
        )
        for request in requests
    ]
    companies.sort(key=lambda c: (-c.occurrence_count, c.first_seen, c.temporary_id))
    return companies


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


def export_mappings(
    engine: sa.Engine, match_types: Iterable[str] | None = None
) -> Iterator[dict[str, Any]]:
    """Stored mappings as plain rows, by priority then alias, streamed."""
    with engine.connect() as conn:
        repository = CompanyMappingRepository(conn)
        kinds = list(match_types) if match_types is not None else None
        for match in repository.list_mappings(kinds):
            yield {column: getattr(match, column) for column in MAPPING_COLUMNS}
