"""Reading a review file (written by ``export unknown``) back: which rows to import.

Pure: a frame in, a frame out. The reviewer fills ``company_id`` or leaves it blank; rows
left blank are ignored, and ``accept_above`` fills them with their first suggestion when
it scores above the threshold, so that the caller can list what it took.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import pandas as pd

from work_data_hub.errors import InputError

__all__ = [
    "ID_COLUMN",
    "SUGGESTIONS_PER_NAME",
    "AcceptedRow",
    "prepare_reviewed",
    "suggestion_columns",
]

SUGGESTIONS_PER_NAME: Final = 3
#: The column the reviewer fills (the import reads it).
ID_COLUMN: Final = "company_id"
_SUGGESTION_FIELDS: Final = ("id", "name", "source", "score")


def suggestion_columns(rank: int) -> tuple[str, ...]:
    """The columns of the ``rank``-th suggestion (1-based): id, name, source, score."""
    return tuple(f"suggestion_{rank}_{field}" for field in _SUGGESTION_FIELDS)


@dataclass(frozen=True, kw_only=True)
class AcceptedRow:
    """A blank ``company_id`` filled with the first suggestion, above the threshold."""

    line: int
    company_name: str
    company_id: str
    score: float


def _blank(value: Any) -> bool:
    return value is None or bool(pd.isna(value)) or not str(value).strip()


def prepare_reviewed(
    frame: pd.DataFrame, *, accept_above: float | None = None, first_line: int = 2
) -> tuple[pd.DataFrame, list[AcceptedRow]]:
    """The rows of a review file to import, and those ``accept_above`` filled.

    A frame without the review file's ``temporary_id`` column is returned as it is (a
    plain reviewed file: every row must carry an id). Otherwise rows with a blank
    ``company_id`` are dropped, unless their first suggestion scores above
    ``accept_above``, which then fills it. The frame keeps its index, so errors still
    name the file's lines.
    """
    if "temporary_id" not in frame.columns or ID_COLUMN not in frame.columns:
        if accept_above is not None:
            raise InputError("--accept-above needs a file written by 'export unknown'")
        return frame, []
    frame = frame.copy()
    accepted: list[AcceptedRow] = []
    blank = frame[ID_COLUMN].map(_blank).astype(bool)
    if accept_above is not None:
        id_column, _name, _source, score_column = suggestion_columns(1)
        if id_column not in frame.columns or score_column not in frame.columns:
            raise InputError("the file has no suggestion columns to accept")
        scores = pd.to_numeric(frame[score_column], errors="coerce")
        take = blank & (scores > accept_above) & ~frame[id_column].map(_blank).astype(bool)
        for index in frame.index[take]:
            company_id = str(frame.at[index, id_column]).strip()
            frame.at[index, ID_COLUMN] = company_id
            accepted.append(
                AcceptedRow(
                    line=first_line + int(index),
                    company_name=str(frame.at[index, "company_name"]).strip(),
                    company_id=company_id,
                    score=float(scores[index]),
                )
            )
        blank &= ~take
    return frame[~blank], accepted
