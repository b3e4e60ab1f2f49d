"""Likely companies for unknown names: the closest names already mapped, and what EQC said.

A name that ended with a temporary id is often in the mapping cache under a spelling the
normalizer rightly keeps apart: a branch (``…有限公司北京分公司``), the region moved into
brackets or left out, another legal form. :class:`AliasIndex` holds the mapped aliases taken
apart by :func:`~.name_parts.split_names` and answers, for each unknown name, the closest
aliases with their company ids, scored by a company-name-aware similarity:

* the name is a branch and its parent is mapped → :data:`PARENT_SCORE`;
* otherwise the stems (brand and trade) are compared with rapidfuzz's normalized Indel
  similarity, and the score is lowered when both names carry different regions (another
  company of the same brand, most likely), or different legal forms.

Fast on large caches: the aliases are grouped by pairs of characters among the first three of
their stem (blocking: one typo leaves one pair intact), and each block is compared
with all unknown names of the same block in one vectorized ``rapidfuzz.process.cdist``
call, whose best few columns per row are then scored as above. Pure: values in, values out.

:func:`merge_suggestions` joins these with the candidates EQC gave for the name (kept with
the request) into one short list per name, best first, one entry per company.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]
from rapidfuzz import fuzz, process

from work_data_hub.infrastructure.enrichment.review import name_parts

__all__ = [
    "DEFAULT_LIMIT",
    "DEFAULT_MIN_SCORE",
    "FORM_PENALTY",
    "PARENT_SCORE",
    "REGION_PENALTY",
    "AliasIndex",
    "Suggestion",
    "merge_suggestions",
]

#: Suggestions kept per name.
DEFAULT_LIMIT = 3
#: Suggestions scoring below this are dropped (0..1).
DEFAULT_MIN_SCORE = 0.6
#: Score of a mapped parent company for a branch name.
PARENT_SCORE = 0.97
#: Taken off when both names name a region and the regions differ.
REGION_PENALTY = 0.25
#: Taken off when one name names a region and the other does not.
MISSING_REGION_PENALTY = 0.03
#: Taken off when both names carry a legal form and the forms differ.
FORM_PENALTY = 0.05
#: Best columns per row of a cdist block that are scored in full.
_CANDIDATES_PER_BLOCK: Final = 8
#: Cells of one cdist result matrix (uint8): bounds the memory of a block, about 32 MB.
_MAX_MATRIX_CELLS: Final = 32_000_000

#: Blocks of at least this many cells are compared on every core.
_THREADED_CELLS: Final = 1_000_000

_Indexes = npt.NDArray[np.int64]


@dataclass(frozen=True, kw_only=True, slots=True)
class Suggestion:
    """A likely company for a name: its id, the name it is known by, where from, how sure."""

    company_id: str
    name: str
    source: str
    score: float


class AliasIndex:
    """Mapped aliases (normalized names) with their company ids, ready to be matched.

    ``sources`` say where each mapping came from (``manual``, ``eqc``…); a suggestion's
    source reads ``cache:<source>``.
    """

    def __init__(
        self,
        aliases: Sequence[str],
        company_ids: Sequence[str],
        sources: Sequence[str],
        *,
        focus: Sequence[str] | None = None,
    ) -> None:
        """Index the aliases; with ``focus`` (the normalized names that will be asked
        about), only those that can share a block with one of them are kept: a cheap
        filter that keeps an export of a hundred names from taking a million aliases apart.
        """
        if not len(aliases) == len(company_ids) == len(sources):
            raise ValueError("aliases, company_ids and sources must have the same length")
        text = pa.array(aliases, type=pa.string())
        ids = np.asarray(company_ids, dtype=object)
        source_array = np.asarray(sources, dtype=object)
        if focus is not None:
            keep = np.flatnonzero(_may_share_a_block(text, focus))
            text = text.take(pa.array(keep))
            ids, source_array = ids[keep], source_array[keep]
        self._parts = name_parts.split_names(text)
        self._ids = ids
        self._sources = source_array
        self._names = text
        self._blocks = [_blocks(self._parts.stems, pair) for pair in _KEY_PAIRS]

    def __len__(self) -> int:
        return len(self._ids)

    def suggest(
        self,
        names: Sequence[str],
        *,
        limit: int = DEFAULT_LIMIT,
        min_score: float = DEFAULT_MIN_SCORE,
    ) -> list[list[Suggestion]]:
        """Up to ``limit`` suggestions per normalized name (best first, one per company)."""
        if limit < 1:
            raise ValueError("limit must be at least 1")
        queries = name_parts.split_names(names)
        found: list[dict[int, float]] = [{} for _ in range(len(queries))]
        # A branch whose parent is mapped (one mapping of that alias; the others come
        # through the stem comparison below, one point lower).
        parents = pc.index_in(pa.array(queries.parent, type=pa.string()), value_set=self._names)
        for row, position in enumerate(parents.to_pylist()):
            if position is not None and queries.parent[row]:
                found[row][position] = PARENT_SCORE
        for pair, blocks in zip(_KEY_PAIRS, self._blocks, strict=True):
            query_blocks = _blocks(queries.stems, pair)
            for key, rows in query_blocks.items():
                columns = blocks.get(key)
                if columns is not None:
                    self._match_block(queries, rows, columns, min_score, found)
        return [
            _top(
                (
                    Suggestion(
                        company_id=str(self._ids[position]),
                        name=str(self._parts.name[position]),
                        source=f"cache:{self._sources[position]}",
                        score=score,
                    )
                    for position, score in hits.items()
                ),
                limit,
                min_score,
            )
            for hits in found
        ]

    def _match_block(
        self,
        queries: name_parts.NameParts,
        rows: _Indexes,
        columns: _Indexes,
        min_score: float,
        found: list[dict[int, float]],
    ) -> None:
        choices = self._parts.stem[columns]
        # Stems this far apart cannot reach min_score even before penalties.
        cutoff = max(0, int(min_score * 100) - 1)
        step = max(1, _MAX_MATRIX_CELLS // max(1, len(columns)))
        keep = min(_CANDIDATES_PER_BLOCK, len(columns))
        for start in range(0, len(rows), step):
            part = rows[start : start + step]
            matrix = process.cdist(
                queries.stem[part],
                choices,
                scorer=fuzz.ratio,
                dtype=np.uint8,
                # Threads only pay for themselves on big blocks.
                workers=-1 if len(part) * len(columns) >= _THREADED_CELLS else 1,
                score_cutoff=cutoff,
            )
            best = np.argpartition(matrix, len(columns) - keep, axis=1)[:, -keep:]
            for line, row in enumerate(part):
                hits = found[row]
                for column in best[line]:
                    similarity = int(matrix[line, column])
                    if similarity == 0:
                        continue
                    position = int(columns[column])
                    score = self._score(queries, int(row), position, similarity)
                    if score > hits.get(position, 0.0):
                        hits[position] = score

    def _score(
        self, queries: name_parts.NameParts, row: int, position: int, similarity: int
    ) -> float:
        parts = self._parts
        if queries.name[row] == parts.name[position]:
            return 1.0
        score = similarity / 100.0
        region, other_region = queries.region[row], parts.region[position]
        if region and other_region and region != other_region:
            score -= REGION_PENALTY
        elif bool(region) != bool(other_region):
            score -= MISSING_REGION_PENALTY
        form, other_form = queries.form[row], parts.form[position]
        if form and other_form and form != other_form:
            score -= FORM_PENALTY
        if queries.parent[row]:  # a branch: its parent is a close relative, not the name
            score = min(score, PARENT_SCORE - 0.01)
        return round(max(0.0, min(score, 0.99)), 3)


#: Blocking keys: pairs of stem positions. One substitution among the first three
#: characters leaves at least one pair intact, so a typo cannot hide a company.
_KEY_PAIRS: Final = ((0, 1), (0, 2), (1, 2))


def _blocks(stems: pa.Array, pair: tuple[int, int]) -> dict[str, _Indexes]:
    """Positions grouped by the stem's characters at ``pair`` (stems too short: none)."""
    first, second = pair
    keys = pc.binary_join_element_wise(
        pc.utf8_slice_codeunits(stems, first, first + 1),
        pc.utf8_slice_codeunits(stems, second, second + 1),
        "",
    )
    valid = pc.greater(pc.utf8_length(stems), second).to_numpy(zero_copy_only=False)
    positions = np.flatnonzero(valid)
    if not len(positions):
        return {}
    encoded = pc.dictionary_encode(keys.take(pa.array(positions)))
    codes = encoded.indices.to_numpy(zero_copy_only=False)
    order = np.argsort(codes, kind="stable")
    bounds = np.cumsum(np.bincount(codes, minlength=len(encoded.dictionary)))[:-1]
    groups = np.split(positions[order].astype(np.int64), bounds)
    return dict(zip(encoded.dictionary.to_pylist(), groups, strict=True))


def _may_share_a_block(aliases: pa.Array, names: Sequence[str]) -> npt.NDArray[np.bool_]:
    """Whether each alias holds, in order, the two characters of some blocking key of
    ``names``: a stem is a subsequence of its name, so no alias that shares a block with
    one of them is left out."""
    stems = name_parts.split_names(list(names)).stem
    patterns = {
        f"{re.escape(stem[first])}.*{re.escape(stem[second])}"
        for stem in stems
        for first, second in _KEY_PAIRS
        if len(stem) > second
    }
    if not patterns:
        return np.zeros(len(aliases), dtype=bool)
    hits = pc.match_substring_regex(aliases, "|".join(sorted(patterns)))
    return np.asarray(pc.fill_null(hits, False).to_numpy(zero_copy_only=False), dtype=bool)


def _top(candidates: Iterable[Suggestion], limit: int, min_score: float) -> list[Suggestion]:
    """Best first, one per company (its best), at least ``min_score``, at most ``limit``."""
    best: dict[str, Suggestion] = {}
    for candidate in candidates:
        if candidate.score < min_score:
            continue
        held = best.get(candidate.company_id)
        if held is None or (candidate.score, held.name) > (held.score, candidate.name):
            best[candidate.company_id] = candidate
    ordered = sorted(best.values(), key=lambda s: (-s.score, s.company_id))
    return ordered[:limit]


def merge_suggestions(
    *groups: Iterable[Suggestion], limit: int = DEFAULT_LIMIT, min_score: float = 0.0
) -> list[Suggestion]:
    """One list from several sources (EQC candidates, cache matches): best per company first."""
    return _top((s for group in groups for s in group), limit, min_score)
