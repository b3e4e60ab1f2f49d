"""Run reports, the unknown-companies export, and the mapping export.

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

The import of reviewed mappings lives in :mod:`work_data_hub.review_import`.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd
import sqlalchemy as sa

from work_data_hub.errors import InputError
from work_data_hub.infrastructure.enrichment import temp_ids
from work_data_hub.infrastructure.enrichment.mapping_repository import CompanyMappingRepository
from work_data_hub.infrastructure.enrichment.queue.repository import QueueRepository
from work_data_hub.infrastructure.enrichment.types import ResolutionStatistics
from work_data_hub.io import atomic, frames
from work_data_hub.io.cells import formula_safe

__all__ = [
    "EXPORT_ENCODING",
    "MAPPING_COLUMNS",
    "UNKNOWN_COLUMNS",
    "RunReport",
    "UnknownCompany",
    "UnknownTally",
    "export_mappings",
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
    """What one resolve run did; ``rows_in == rows_out`` is the first thing to check.

    ``timings_ms`` holds the run's steps: ``read``, ``resolve``, ``write`` (the writer
    thread's own time, which overlaps the next chunk's reading and resolution) and
    ``total``; so the steps may add up to more than the total.
    """

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
        hit = temp_ids.temp_id_mask(output).to_numpy()
        if not hit.any():
            return
        # One factorization: per distinct temporary id, its rows and its first row.
        codes, uniques = pd.factorize(output.to_numpy()[hit])
        counts = np.bincount(codes)
        _, first = np.unique(codes, return_index=True)
        first_names = names[hit].iloc[first].astype(str).tolist()
        tally, known = self._counts, self._names
        for temp_id, count, name in zip(
            map(str, uniques.tolist()), counts.tolist(), first_names, strict=True
        ):
            tally[temp_id] = tally.get(temp_id, 0) + count
            if temp_id not in known:
                known[temp_id] = name.strip()

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
        counts = self._counts
        # By id, then (stable) by count, highest first: two plain sorts, no key tuples.
        ordered = sorted(counts)
        ordered.sort(key=counts.__getitem__, reverse=True)
        return [(temp_id, counts[temp_id]) for temp_id in ordered]


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


def export_mappings(
    engine: sa.Engine, match_types: Iterable[str] | None = None
) -> Iterator[dict[str, Any]]:
    """Stored mappings as plain rows, by priority then alias, streamed."""
    with engine.connect() as conn:
        repository = CompanyMappingRepository(conn)
        kinds = list(match_types) if match_types is not None else None
        for match in repository.list_mappings(kinds):
            yield {column: getattr(match, column) for column in MAPPING_COLUMNS}
