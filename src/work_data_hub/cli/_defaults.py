"""Option defaults and choices the command signatures need when the CLI starts.

Typer reads them while building ``--help``; importing their home modules (the frame I/O,
the queue worker, the table definitions) would pull pandas and SQLAlchemy into every
command, ``--help`` included. Each value is a copy of its source's, and
``tests/unit/cli/test_start_up.py`` keeps each equal to that source.
"""

from __future__ import annotations

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_CHUNK_ROWS",
    "DEFAULT_MAX_NAME_LENGTH",
    "MAPPING_SOURCES",
    "MATCH_TYPES",
]

#: ``work_data_hub.io.frames.DEFAULT_CHUNK_ROWS``.
DEFAULT_CHUNK_ROWS = 200_000
#: ``work_data_hub.infrastructure.enrichment.types.DEFAULT_MAX_NAME_LENGTH``.
DEFAULT_MAX_NAME_LENGTH = 500
#: ``work_data_hub.infrastructure.enrichment.queue.worker.DEFAULT_BATCH_SIZE``.
DEFAULT_BATCH_SIZE = 50
#: The values of ``work_data_hub.infrastructure.db.tables.MatchType``, in its order.
MATCH_TYPES = ("manual", "plan", "account", "hardcode", "name", "account_name", "eqc")
#: The values of ``work_data_hub.infrastructure.db.tables.MappingSource``, in its order.
MAPPING_SOURCES = ("internal", "eqc", "pipeline_backflow", "manual")
