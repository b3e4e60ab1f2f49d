"""Rows too long to resolve: a key over ``strategy.max_name_length`` characters.

Such a row never reaches a tier — no cache query, no backflow, no EQC call, no enqueue —
because one over-long key would fail its whole chunk's statement on PostgreSQL and costs
memory out of proportion everywhere else. It keeps its values and gets no id.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow.compute as pc  # type: ignore[import-untyped]

from work_data_hub.infrastructure.enrichment.resolve import spelling_index
from work_data_hub.infrastructure.enrichment.types import ResolutionStrategy

__all__ = ["KEY_COLUMN_FIELDS", "too_long_rows"]

#: The strategy fields naming the columns whose length is limited.
KEY_COLUMN_FIELDS = (
    "customer_name_column",
    "account_name_column",
    "plan_code_column",
    "account_number_column",
    "company_id_column",
)


def too_long_rows(df: pd.DataFrame, strategy: ResolutionStrategy) -> np.ndarray[Any, Any]:
    """Rows whose name or key columns hold text longer than ``strategy.max_name_length``."""
    limit = strategy.max_name_length
    mask = np.zeros(len(df), dtype=bool)
    for name in KEY_COLUMN_FIELDS:
        column = getattr(strategy, name)
        if column not in df.columns:
            continue
        values = df[column]
        if not isinstance(values, pd.Series):  # duplicate columns: build_frame_keys refuses
            continue
        if _arrow_within(values, limit):
            continue
        if values.dtype == object or pd.api.types.is_string_dtype(values.dtype):
            try:
                lengths = values.str.len()
            except AttributeError:  # no text in the column
                continue
            mask |= (lengths > limit).fillna(False).to_numpy(dtype=bool)
    return mask


def _arrow_within(values: pd.Series, limit: int) -> bool:
    """Whether an Arrow-backed text column (what the readers give) has no cell longer than
    ``limit``: one length pass and a maximum in Arrow, no per-row Series."""
    text = spelling_index.arrow_chunks(values)
    if text is None:
        return False
    longest = pc.max(pc.utf8_length(text)).as_py()
    return longest is None or longest <= limit
