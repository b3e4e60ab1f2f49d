"""Dagster definitions for the enrichment queue (optional extra ``[dagster]``).

Nothing else in the package imports this module; ``dagster`` is only needed here.
"""

from __future__ import annotations

from work_data_hub.orchestration.definitions import defs

__all__ = ["defs"]
