"""The state of one resolve run: the ids settled so far, the rows still open, the counts and
(with ``explain``) the per-row provenance — what every tier of the resolver updates."""

from __future__ import annotations

import numpy as np
import pandas as pd

from work_data_hub.infrastructure.enrichment.resolve import tiers
from work_data_hub.infrastructure.enrichment.resolve.provenance import Provenance
from work_data_hub.infrastructure.enrichment.types import (
    YAML_LEVELS,
    ResolutionStatistics,
    ResolutionStrategy,
)

__all__ = ["Run"]


class Run:
    """The state of one ``resolve_batch`` call: ids so far and the rows still open.

    Ids are kept as codes into a table of distinct ids (``-1`` = none), so settling a
    tier touches integers per row and strings only per distinct id.
    """

    def __init__(self, keys: tiers.FrameKeys, strategy: ResolutionStrategy) -> None:
        self.keys = keys
        self.strategy = strategy
        self.id_codes = np.full(keys.n_rows, -1, dtype=np.intp)
        self.id_table: dict[str, int] = {}
        self.open = np.ones(keys.n_rows, dtype=bool)
        self.stats = ResolutionStatistics(
            total_rows=keys.n_rows,
            yaml_hits=dict.fromkeys(YAML_LEVELS, 0),
            backflow_stats={"inserted": 0, "skipped": 0, "conflicts": 0, "withheld": 0},
            db_cache_hits_by_type=dict.fromkeys(tiers.CACHE_MATCH_TYPES, 0),
        )
        # Kept only when asked for (``explain``).
        self.provenance = Provenance(keys.n_rows) if strategy.explain else None

    def settle(self, *hits: tiers.Hits) -> tiers.Mask:
        """Take the ids of ``hits`` for rows still open; returns the rows settled."""
        settled = np.zeros(self.keys.n_rows, dtype=bool)
        for hit in hits:
            rows = hit.rows & self.open
            codes = np.full(len(hit.per_key) + 1, -1, dtype=np.intp)  # last slot: no key
            present = np.flatnonzero(tiers.found(hit.per_key))
            if len(present):
                table = self.id_table
                # ``len(table)`` is read before each insert: new ids number on.
                codes[present] = [
                    table.setdefault(company_id, len(table))
                    for company_id in map(str, hit.per_key[present].tolist())
                ]
            self.id_codes[rows] = codes[hit.column.codes[rows]]
            self.open &= ~rows
            settled |= rows
            if self.provenance is not None and hit.label:
                self.provenance.mark(rows, hit.label)
        return settled

    def output(self) -> pd.api.extensions.ExtensionArray:
        """The ids as a pandas ``string`` array, ``<NA>`` where none."""
        table = pd.array(np.asarray(list(self.id_table), dtype=object), dtype="string")
        return table.take(self.id_codes, allow_fill=True)
