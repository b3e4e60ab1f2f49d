"""Corrections of stored mappings for operators: delete, history, and the audit of learned
plan and account mappings against data files.

Each function takes the engine and runs in its own transaction (the CLI calls them); the
statements are the repositories'. Every deletion is recorded in the mapping history.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa

from work_data_hub.errors import InputError
from work_data_hub.infrastructure.db import tables
from work_data_hub.infrastructure.enrichment import normalizer
from work_data_hub.infrastructure.enrichment.mapping_corrections import (
    DEFAULT_HISTORY_LIMIT,
    HistoryEntry,
    MappingCorrections,
)
from work_data_hub.infrastructure.enrichment.mapping_repository import CompanyMappingRepository
from work_data_hub.infrastructure.enrichment.queue.repository import QueueRepository
from work_data_hub.infrastructure.enrichment.resolve import tiers
from work_data_hub.infrastructure.enrichment.types import MatchResult, ResolutionStrategy
from work_data_hub.io import frames
from work_data_hub.utils import clock

__all__ = [
    "AuditFinding",
    "alias_key",
    "audit_files",
    "delete_mappings",
    "mapping_history",
]

_MT = tables.MatchType
_AUDITED = (_MT.PLAN.value, _MT.ACCOUNT.value)
_BACKFLOW = tables.MappingSource.PIPELINE_BACKFLOW.value
_NAME_KEYED = frozenset({_MT.MANUAL.value, _MT.NAME.value, _MT.EQC.value})


def alias_key(match_type: str, alias: str) -> str:
    """``alias`` as stored for ``match_type``: codes trimmed, names normalized, hardcode
    keys ``plan|normalized name``. Raises ``InputError`` for an unknown match type or an
    alias with no key."""
    if match_type not in {m.value for m in _MT}:
        raise InputError(f"unknown match type {match_type!r}")
    if match_type in (_MT.PLAN, _MT.ACCOUNT):
        key = alias.strip()
    elif match_type == _MT.HARDCODE:
        plan, sep, name = alias.partition(tiers.HARDCODE_SEPARATOR)
        name_key = normalizer.normalize_for_temp_id(name)
        key = f"{plan.strip()}{sep}{name_key}" if sep and plan.strip() and name_key else ""
    else:
        key = normalizer.normalize_for_temp_id(alias)
    if not key:
        raise InputError(f"alias has no {match_type} key")
    return key


def delete_mappings(
    engine: sa.Engine,
    *,
    keys: Sequence[tuple[str, str]] | None = None,
    source: str | None = None,
    match_type: str | None = None,
    dry_run: bool = False,
) -> list[MatchResult]:
    """Delete (or, with ``dry_run``, list) mappings by key or filter, recording each.

    A deleted mapping keyed by a name (``manual``, ``name``, ``eqc``) also reopens the
    queue request it answered, so remap stops applying its id and the name is looked up
    (or reviewed) again.
    """
    with engine.begin() as conn:
        deleted = MappingCorrections(conn).delete(
            keys=keys, source=source, match_type=match_type, dry_run=dry_run
        )
        answered = {m.alias_name: m.canonical_id for m in deleted if m.match_type in _NAME_KEYED}
        if answered and not dry_run:
            QueueRepository(conn).reopen_requests(answered, clock.utcnow())
        return deleted


def mapping_history(
    engine: sa.Engine, *, alias_name: str | None = None, limit: int = DEFAULT_HISTORY_LIMIT
) -> list[HistoryEntry]:
    """Recorded replacements and deletions, newest first."""
    with engine.connect() as conn:
        return MappingCorrections(conn).history(alias_name=alias_name, limit=limit)


@dataclass(frozen=True, kw_only=True)
class AuditFinding:
    """A stored plan or account mapping the files contradict (rows of several companies
    under its key); ``removed`` with ``--fix`` when the backflow had learned it."""

    alias_name: str
    match_type: str
    canonical_id: str
    source: str
    rows: int
    removed: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "alias_name": self.alias_name,
            "match_type": self.match_type,
            "canonical_id": self.canonical_id,
            "source": self.source,
            "rows": self.rows,
            "removed": self.removed,
        }


def _shared_counts(
    paths: Iterable[Path], strategy: ResolutionStrategy
) -> dict[str, dict[str, int]]:
    """Per audited match type, the keys the files show shared, with their row counts."""
    wanted = [
        strategy.customer_name_column,
        strategy.plan_code_column,
        strategy.account_number_column,
        strategy.company_id_column,
        strategy.plan_type_column,
    ]
    parts = []
    for path in paths:
        frame = frames.read_frame(path)
        if strategy.customer_name_column not in frame.columns:
            raise InputError(f"{path.name}: missing column {strategy.customer_name_column!r}")
        parts.append(frame[[c for c in wanted if c in frame.columns]])
    data = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    keys = tiers.build_frame_keys(data, strategy)
    shared: dict[str, dict[str, int]] = {}
    for match_type in _AUDITED:
        column = keys.column_for(match_type)
        flags = tiers.shared_keys(keys, column, plan=match_type == _MT.PLAN)
        counts = np.bincount(column.codes[column.codes >= 0], minlength=len(column.keys))
        shared[match_type] = {
            str(alias): int(count)
            for alias, count in zip(
                column.keys[flags].tolist(), counts[flags].tolist(), strict=True
            )
        }
    return shared


def audit_files(
    engine: sa.Engine,
    paths: Sequence[Path],
    *,
    fix: bool = False,
    strategy: ResolutionStrategy | None = None,
) -> list[AuditFinding]:
    """Stored plan / account mappings that ``paths`` contradict; with ``fix``, those the
    backflow learned (``pipeline_backflow``) are deleted, with a record. Reviewed
    (``manual``/``internal``) mappings are only listed: a person decides about them."""
    if not paths:
        raise InputError("give at least one file to audit")
    shared = _shared_counts(paths, strategy or ResolutionStrategy())
    wanted = [(alias, kind) for kind, aliases in shared.items() for alias in aliases]
    if not wanted:
        return []
    with engine.begin() as conn:
        stored = CompanyMappingRepository(conn).lookup_batch(wanted)
        to_remove = [(m.alias_name, m.match_type) for m in stored if m.source == _BACKFLOW]
        removed: set[tuple[str, str]] = set()
        if fix and to_remove:
            deleted = MappingCorrections(conn).delete(keys=to_remove, source=_BACKFLOW)
            removed = {(m.alias_name, m.match_type) for m in deleted}
    findings = [
        AuditFinding(
            alias_name=m.alias_name,
            match_type=m.match_type,
            canonical_id=m.canonical_id,
            source=m.source,
            rows=shared[m.match_type][m.alias_name],
            removed=(m.alias_name, m.match_type) in removed,
        )
        for m in stored
    ]
    findings.sort(key=lambda f: (-f.rows, f.match_type, f.alias_name))
    return findings
