"""Per-row provenance of a resolve run (``ResolutionStrategy.explain``): which tier settled
each row, and for DB-cache and EQC hits the mapping's source and confidence.

Kept as small integer codes and floats per row and turned into categorical columns at the
end, so explaining a run costs a few numpy assignments per tier — no object per row.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from work_data_hub.infrastructure.db import tables
from work_data_hub.infrastructure.enrichment.resolve.explain import explain_columns
from work_data_hub.infrastructure.enrichment.resolve.keys import Mask, Objects, found
from work_data_hub.infrastructure.enrichment.resolve.tiers import PROVENANCE_LABELS, Hits

__all__ = ["Details", "Provenance"]

#: Source and confidence of a stored mapping, per ``(alias, match type)``.
Details = dict[tuple[str, str], tuple[str, float]]

_LABEL_CODE = {label: code for code, label in enumerate(PROVENANCE_LABELS)}
_TIER_DTYPE = pd.CategoricalDtype(list(PROVENANCE_LABELS))
_SOURCE_LABELS: tuple[str, ...] = tuple(source.value for source in tables.MappingSource)
_SOURCE_CODE = {label: code for code, label in enumerate(_SOURCE_LABELS)}
_SOURCE_DTYPE = pd.CategoricalDtype(list(_SOURCE_LABELS))
_EQC = tables.MappingSource.EQC.value


class Provenance:
    """Tier code (``-1`` = none), source code and confidence (NaN = none) per row."""

    def __init__(self, n_rows: int) -> None:
        self.tiers = np.full(n_rows, -1, dtype=np.int8)
        self.sources = np.full(n_rows, -1, dtype=np.int8)
        self.confidences = np.full(n_rows, np.nan, dtype=np.float64)

    def mark(self, rows: Mask, label: str) -> None:
        """``label`` (one of :data:`PROVENANCE_LABELS`) settled ``rows``."""
        self.tiers[rows] = _LABEL_CODE[label]

    def cache_hit(self, hit: Hits, details: Details) -> None:
        """Source and confidence of the stored mappings behind a DB-cache ``hit``."""
        match_type = hit.label.removeprefix("db:")
        sources = np.full(len(hit.column.keys), -1, dtype=np.int8)
        confidences = np.full(len(hit.column.keys), np.nan)
        used = hit.column.used(hit.rows)
        for index, alias in zip(used.tolist(), hit.column.keys[used].tolist(), strict=True):
            detail = details.get((alias, match_type))
            if detail is not None:
                sources[index] = _SOURCE_CODE.get(detail[0], -1)
                confidences[index] = detail[1]
        self._spread(hit, sources, confidences)

    def eqc_hit(self, hit: Hits, confidence: dict[str, float]) -> None:
        """Source ``eqc`` and the answer's confidence for the rows of an EQC ``hit``."""
        sources = np.full(len(hit.per_key), -1, dtype=np.int8)
        sources[found(hit.per_key)] = _SOURCE_CODE[_EQC]
        names = hit.column.keys.tolist()
        confidences = np.asarray([confidence.get(n, np.nan) for n in names], dtype=np.float64)
        self._spread(hit, sources, confidences)

    def _spread(self, hit: Hits, sources: Any, confidences: Objects | Any) -> None:
        """Per-key codes and confidences spread over the hit's rows (integer takes)."""
        rows = hit.rows
        if not rows.any():
            return
        codes = hit.column.codes[rows]
        self.sources[rows] = np.append(np.asarray(sources, dtype=np.int8), -1)[codes]
        per_key = np.append(np.asarray(confidences, dtype=np.float64), np.nan)
        self.confidences[rows] = per_key[codes]

    def columns(self, output_column: str) -> dict[str, Any]:
        """The provenance columns: a categorical tier, a categorical source, a float."""
        tier_col, source_col, confidence_col = explain_columns(output_column)
        return {
            tier_col: pd.Categorical.from_codes(self.tiers, dtype=_TIER_DTYPE),
            source_col: pd.Categorical.from_codes(self.sources, dtype=_SOURCE_DTYPE),
            confidence_col: self.confidences,
        }
