"""The review file: unknown names with their likely companies, out and back in.

* :func:`unknown_for_review` — the names still unknown in the queue, most frequent first
  (with a limit and no run files, the database picks them: Python reads only those rows),
  each with up to three suggestions: what EQC's search answered for it (kept with the
  request, no new call) merged with the closest names of the mapping cache
  (:mod:`~work_data_hub.infrastructure.enrichment.review.suggestions`).
* :func:`write_review_file` — CSV or ``.xlsx`` by suffix, with an empty ``company_id``
  column; in the workbook that column offers the row's suggested ids as a drop-down.
  Formula-safe (:func:`~work_data_hub.io.cells.formula_safe`), written through
  :class:`~work_data_hub.io.atomic.AtomicFile`.
* reading such a file back is :func:`work_data_hub.review_file.prepare_reviewed` (rows
  left blank are ignored, ``accept_above`` fills them from the first suggestion), used by
  :func:`work_data_hub.review_import.import_reviewed_mappings` (all or nothing).
"""

from __future__ import annotations

import csv
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Final

import sqlalchemy as sa

from work_data_hub.infrastructure.enrichment.mapping_repository import CompanyMappingRepository
from work_data_hub.infrastructure.enrichment.queue.repository import QueueRepository
from work_data_hub.infrastructure.enrichment.queue.requests import UnknownRequest
from work_data_hub.infrastructure.enrichment.review.suggestions import (
    AliasIndex,
    Suggestion,
    merge_suggestions,
)
from work_data_hub.infrastructure.eqc.types import EqcCandidate
from work_data_hub.io import atomic
from work_data_hub.io.cells import formula_safe
from work_data_hub.reporting import UNKNOWN_COLUMNS, UnknownCompany
from work_data_hub.review_file import (
    ID_COLUMN,
    SUGGESTIONS_PER_NAME,
    AcceptedRow,
    prepare_reviewed,
    suggestion_columns,
)
from work_data_hub.utils import clock
from work_data_hub.utils.logging import get_logger

__all__ = [
    "ID_COLUMN",
    "REVIEW_COLUMNS",
    "SUGGESTIONS_PER_NAME",
    "AcceptedRow",
    "ReviewRow",
    "prepare_reviewed",
    "suggestion_columns",
    "unknown_for_review",
    "write_review_file",
]


log = get_logger(__name__)

REVIEW_COLUMNS: Final = (
    *UNKNOWN_COLUMNS,
    *(c for rank in range(1, SUGGESTIONS_PER_NAME + 1) for c in suggestion_columns(rank)),
    ID_COLUMN,
)


@dataclass(frozen=True, kw_only=True)
class ReviewRow:
    """An unknown name with its suggestions, best first."""

    company: UnknownCompany
    suggestions: tuple[Suggestion, ...] = ()

    def row(self) -> list[Any]:
        cells = self.company.row()
        for rank in range(SUGGESTIONS_PER_NAME):
            if rank < len(self.suggestions):
                s = self.suggestions[rank]
                cells += [s.company_id, s.name, s.source, s.score]
            else:
                cells += ["", "", "", ""]
        return [*cells, ""]

    def to_dict(self) -> dict[str, Any]:
        return {
            **dict(zip(UNKNOWN_COLUMNS, self.company.row(), strict=True)),
            "suggestions": [
                {"company_id": s.company_id, "name": s.name, "source": s.source, "score": s.score}
                for s in self.suggestions
            ],
        }


def _from_eqc(candidates: Sequence[EqcCandidate]) -> list[Suggestion]:
    return [
        Suggestion(
            company_id=c.company_id,
            name=c.full_name,
            source=f"eqc:{c.match_type or '-'}",
            score=round(c.confidence, 3),
        )
        for c in candidates
    ]


def _pick(
    requests: list[UnknownRequest], run_counts: Mapping[str, int] | None, limit: int | None
) -> list[tuple[UnknownRequest, int]]:
    """Each request with its occurrence count, most frequent first, at most ``limit``."""
    if not run_counts:  # the database ordered (and limited) them already
        return [(r, r.requests) for r in requests]
    counted = [(r, run_counts.get(r.temp_id, r.requests)) for r in requests]
    counted.sort(key=lambda item: (-item[1], item[0].first_seen, item[0].temp_id))
    return counted[:limit] if limit is not None else counted


def unknown_for_review(
    engine: sa.Engine,
    *,
    limit: int | None = None,
    run_counts: Mapping[str, int] | None = None,
    suggestions: bool = True,
) -> list[ReviewRow]:
    """Unknown names, most frequent first, with suggestions (see the module docstring)."""
    started = time.perf_counter()
    with engine.connect() as conn:
        queue = QueueRepository(conn)
        # Occurrence counts from run files reorder the list, so then every name is read.
        requests = queue.unknown_requests(limit=None if run_counts else limit)
        picked = _pick(requests, run_counts, limit)
        names = [r.normalized_name for r, _ in picked]
        stored: dict[str, tuple[EqcCandidate, ...]] = {}
        cached: list[list[Suggestion]] = [[] for _ in names]
        if suggestions and names:
            stored = queue.request_candidates(names)
            aliases, ids, sources = CompanyMappingRepository(conn).name_aliases()
            if aliases:
                index = AliasIndex(aliases, ids, sources, focus=names)
                cached = index.suggest(names, limit=SUGGESTIONS_PER_NAME)
    rows = [
        ReviewRow(
            company=UnknownCompany(
                company_name=request.raw_name.strip(),
                temporary_id=request.temp_id,
                first_seen=request.first_seen,
                occurrence_count=count,
            ),
            suggestions=tuple(
                merge_suggestions(
                    _from_eqc(stored.get(request.normalized_name, ())),
                    from_cache,
                    limit=SUGGESTIONS_PER_NAME,
                )
            ),
        )
        for (request, count), from_cache in zip(picked, cached, strict=True)
    ]
    log.info(
        "review.unknown_listed",
        listed=len(rows),
        with_suggestions=sum(1 for row in rows if row.suggestions),
        with_eqc_candidates=len(stored),
        elapsed_ms=clock.ms_since(started),
    )
    return rows


# -- writing ------------------------------------------------------------------------------


def _write_csv(handle: IO[str], rows: Sequence[ReviewRow]) -> None:
    writer = csv.writer(handle)
    writer.writerow(REVIEW_COLUMNS)
    for row in rows:
        writer.writerow([formula_safe(cell) for cell in row.row()])


def _write_xlsx(handle: IO[bytes], rows: Sequence[ReviewRow]) -> None:
    # Imported here: only this writer needs them.
    from openpyxl import Workbook  # type: ignore[import-untyped]  # noqa: PLC0415
    from openpyxl.utils import get_column_letter  # type: ignore[import-untyped]  # noqa: PLC0415
    from openpyxl.worksheet.datavalidation import (  # type: ignore[import-untyped]  # noqa: PLC0415
        DataValidation,
    )

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "unknown"
    sheet.append(list(REVIEW_COLUMNS))
    id_letter = get_column_letter(len(REVIEW_COLUMNS))
    lists: dict[str, DataValidation] = {}
    for line, row in enumerate(rows, start=2):
        cells = [formula_safe(cell) for cell in row.row()]
        sheet.append(cells)
        for cell in sheet[line]:
            if isinstance(cell.value, str):
                cell.data_type = "s"  # never a formula, whatever the text
        # A drop-down of the suggested ids; any other id may still be typed.
        ids = [s.company_id for s in row.suggestions if not set(s.company_id) & set(',"')]
        if ids:
            choices = '"' + ",".join(ids) + '"'
            validation = lists.get(choices)
            if validation is None:
                validation = DataValidation(
                    type="list", formula1=choices, allow_blank=True, showErrorMessage=False
                )
                lists[choices] = validation
                sheet.add_data_validation(validation)
            validation.add(f"{id_letter}{line}")
    sheet.freeze_panes = "B2"
    book.save(handle)


def write_review_file(path: Path, rows: Sequence[ReviewRow]) -> int:
    """Write the review file (``.xlsx`` by suffix, else CSV in UTF-8 with BOM); row count."""
    file = atomic.AtomicFile(path)
    try:
        if path.suffix.lower() == ".xlsx":
            _write_xlsx(file.open("wb"), rows)
        else:
            _write_csv(file.open("w", encoding="utf-8-sig", newline=""), rows)
        file.commit()
    finally:
        file.discard()
    return len(rows)
