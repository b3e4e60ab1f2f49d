"""``wdh-enrich remap``'s service: replace resolved temporary ids in a written file.

Chunk by chunk, each chunk's ids looked up in one short read transaction; the output is
written atomically beside its target like every file the tool writes.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from work_data_hub.cli import _pipeline
from work_data_hub.errors import InputError
from work_data_hub.infrastructure.enrichment.queue import remap
from work_data_hub.io import frames
from work_data_hub.utils.logging import get_logger

__all__ = ["RemapSummary", "remap_file"]

log = get_logger(__name__)


@dataclass(frozen=True, kw_only=True)
class RemapSummary:
    """Counts of a remap run."""

    rows: int
    temp_ids_seen: int
    replaced: int
    temp_ids_left: int

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def remap_file(
    engine: sa.Engine,
    source: frames.FrameSource,
    output_path: Path,
    *,
    column: str = "company_id",
    chunk_rows: int = frames.DEFAULT_CHUNK_ROWS,
    progress: _pipeline.Progress | None = None,
) -> RemapSummary:
    """Replace resolved temporary ids in ``column`` of ``source``, chunk by chunk."""
    _pipeline.check_paths(source.path, output_path)
    for sheet in source.sheets or (None,):
        if column not in source.columns_of(sheet):
            raise InputError(
                f"missing required column {column!r} in {source.path.name}; "
                f"found: {', '.join(source.columns_of(sheet))} (choose it with --column)"
            )
    rows = seen = replaced = left = 0
    with _pipeline.open_output(source, output_path) as writer:
        for sheet, chunk in source.iter_parts(chunk_rows):
            with engine.connect() as conn:
                out, stats = remap.remap_temp_ids(chunk, column, conn)
            writer.write(out, sheet=sheet)
            rows += len(chunk)
            seen += stats.temp_id_rows
            replaced += stats.remapped_rows
            left += stats.unresolved_rows
            if progress is not None:
                progress(len(chunk))
        writer.commit()
    log.info("cli.file_remapped", rows=rows, replaced=replaced, temp_ids_left=left)
    return RemapSummary(rows=rows, temp_ids_seen=seen, replaced=replaced, temp_ids_left=left)
