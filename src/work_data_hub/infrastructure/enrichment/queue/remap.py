"""Replace temporary company ids already written downstream by the ids workers resolved.

Only values shaped like temporary ids (``IN`` + 16 Base32 characters) are looked up; the
distinct ones go to the queue repository at once (one query per 10,000 ids), and the
column is rewritten with one vectorized ``map``. Ids whose request is still open, failed or
resolved to "no such company" stay as they are.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import pandas as pd
import sqlalchemy as sa

from work_data_hub.errors import InputError
from work_data_hub.infrastructure.enrichment.queue.repository import QueueRepository
from work_data_hub.infrastructure.enrichment.temp_ids import temp_id_mask

__all__ = ["RemapStatistics", "remap_temp_ids"]


@dataclass(frozen=True, kw_only=True, slots=True)
class RemapStatistics:
    """Counts of one remap: rows looked at, temporary ids seen, ids and rows replaced."""

    total_rows: int = 0
    temp_id_rows: int = 0
    distinct_temp_ids: int = 0
    resolved_temp_ids: int = 0
    remapped_rows: int = 0
    unresolved_rows: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def remap_temp_ids(
    df: pd.DataFrame,
    column: str,
    repository_or_connection: QueueRepository | sa.Connection,
) -> tuple[pd.DataFrame, RemapStatistics]:
    """A copy of ``df`` with resolved temporary ids in ``column`` replaced, and the counts."""
    if column not in df.columns:
        raise InputError(f"column {column!r} is missing")
    repository = (
        repository_or_connection
        if isinstance(repository_or_connection, QueueRepository)
        else QueueRepository(repository_or_connection)
    )
    result = df.copy()
    values = result[column]
    is_temp = temp_id_mask(values)
    temp_values = values[is_temp].astype(str)
    distinct = temp_values.unique().tolist()
    resolved = repository.resolved_temp_ids(distinct) if distinct else {}
    replacements = temp_values.map(resolved)
    hit = replacements.notna()
    if bool(hit.any()):
        if not pd.api.types.is_string_dtype(result[column].dtype):
            result[column] = result[column].astype(object)
        result.loc[replacements.index[hit], column] = replacements[hit]
    remapped = int(hit.sum())
    return result, RemapStatistics(
        total_rows=len(result),
        temp_id_rows=int(is_temp.sum()),
        distinct_temp_ids=len(distinct),
        resolved_temp_ids=len(resolved),
        remapped_rows=remapped,
        unresolved_rows=int(is_temp.sum()) - remapped,
    )
