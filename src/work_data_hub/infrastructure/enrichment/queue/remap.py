"""Replace temporary company ids already written downstream by the ids now known.

Only values shaped like temporary ids (``IN`` + 16 Base32 characters) are looked up. A
temporary id stands for one normalized name: the queue gives the name of its request
(any status — purge keeps the newest request of each temporary id), and the name's best
mapping of any source gives the id — ``manual`` (a reviewed name) wins, then ``name``, then
``eqc``, as in the DB-cache tier — else the id the request itself resolved to. Two queries
per 10,000 distinct ids; the column is rewritten with one vectorized ``map``. Ids whose name
is still unknown stay as they are.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import pandas as pd
import sqlalchemy as sa

from work_data_hub.errors import InputError
from work_data_hub.infrastructure.enrichment import company_ids
from work_data_hub.infrastructure.enrichment.mapping_repository import CompanyMappingRepository
from work_data_hub.infrastructure.enrichment.queue.repository import QueueRepository
from work_data_hub.infrastructure.enrichment.temp_ids import temp_id_mask

__all__ = ["RemapStatistics", "known_ids", "remap_temp_ids"]


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
    resolved = known_ids(repository, distinct) if distinct else {}
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


def known_ids(repository: QueueRepository, temp_ids: list[str]) -> dict[str, str]:
    """``temp_id → company id`` for the temporary ids whose name is now known (see the
    module doc for the order of preference)."""
    requests = repository.request_names(temp_ids)
    if not requests:
        return {}
    mappings = CompanyMappingRepository(repository.connection).best_name_ids(
        {request.normalized_name for request in requests.values()}
    )
    found: dict[str, str] = {}
    for temp_id, request in requests.items():
        company_id = mappings.get(request.normalized_name) or company_ids.valid_company_id(
            request.resolved_company_id
        )
        if company_id is not None:
            found[temp_id] = company_id
    return found
