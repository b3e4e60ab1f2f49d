"""The one rule a company id passes before anything stores or stamps it.

Every entry that brings an id in — YAML overrides, ``mappings import``, the backflow of the
existing column, EQC answers cached by the resolver and the workers — calls
:func:`check_company_id`. An id, once written downstream, is trusted and stamped on every
later row of its name, so a malformed value must be refused where it enters (YAML and
import name the file and line) or skipped and counted (backflow, EQC), never learned.

Rules, in order (the first one broken is the reason given):

* spreadsheets turn integer id columns with gaps into floats: an integral number (``int``,
  ``12345.0``, ``Decimal('12345')``, numpy scalars, or text such as ``"12345.0"``) becomes
  its digits; a fractional number (``3.5``) is refused;
* surrounding whitespace is trimmed; then blank, a placeholder (``N``, ``NA``, ``N/A``,
  ``NONE``, ``NULL``, ``NAN``, any case) or the exclusion marker ``__EMPTY__`` means "no id";
* no whitespace or control character inside, at most :data:`MAX_COMPANY_ID_LENGTH`
  characters, no leading ``=``, ``+``, ``-`` or ``@`` (a spreadsheet formula) nor ``'`` (the
  escape a formula-safe file puts before one);
* not shaped like a temporary id (``IN`` + 16 Base32 characters): those are ours.

Pure: values in, values out. The verdicts on text are remembered (a bounded memo): a
monthly file repeats the same few hundred thousand ids in every chunk, and a verdict is a
function of the text alone, so remembering it cannot change one.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from itertools import compress, repeat
from numbers import Integral, Real
from operator import attrgetter, is_

from work_data_hub.infrastructure.enrichment import temp_ids, types

__all__ = [
    "MAX_COMPANY_ID_LENGTH",
    "PLACEHOLDER_IDS",
    "IdCheck",
    "IdProblem",
    "check_company_id",
    "valid_company_id",
    "valid_company_ids",
    "valid_id_mapping",
]

#: The ``canonical_id`` column holds 64 characters.
MAX_COMPANY_ID_LENGTH = 64
#: Company ids that mean "no id" (compared upper-case, after trimming).
PLACEHOLDER_IDS = frozenset({"N", "NA", "N/A", "NONE", "NULL", "NAN"})

# A leading apostrophe is how a spreadsheet-safe file escapes a formula: not an id either.
_FORMULA_PREFIXES = ("=", "+", "-", "@", "'")
_MISSING_TEXTS = frozenset({"<NA>", "NaT"})
_INTEGRAL_TEXT = re.compile(r"[0-9]+\.0+")
_FRACTIONAL_TEXT = re.compile(r"[0-9]+\.[0-9]+")
# Whitespace of any kind and control / format / separator characters.
_BAD_CHARACTER = re.compile(r"[\s\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028\u2029\ufeff]")


class IdProblem(StrEnum):
    """Why a value is not a company id; the text reads after "company id ..."."""

    MISSING = "is empty or a placeholder"
    NOT_TEXT = "is not text or a number"
    FRACTIONAL = "is a fractional number"
    WHITESPACE = "holds whitespace or a control character"
    TOO_LONG = f"is longer than {MAX_COMPANY_ID_LENGTH} characters"
    FORMULA = "starts with =, +, -, @ or '"
    TEMPORARY = "is a temporary id"


@dataclass(frozen=True, slots=True)
class IdCheck:
    """The outcome of :func:`check_company_id`: the clean id, or the problem."""

    company_id: str | None
    problem: IdProblem | None

    @property
    def ok(self) -> bool:
        return self.problem is None


#: Verdicts remembered per exact ``str``; emptied when full (a few tens of MB at most).
MEMO_ENTRIES = 262_144
_verdicts: dict[str, IdCheck] = {}
_company_id_of = attrgetter("company_id")


def _as_text(value: object) -> str | IdProblem:
    if isinstance(value, str):
        text = value.strip()
        if _INTEGRAL_TEXT.fullmatch(text):
            return text.partition(".")[0]
        if _FRACTIONAL_TEXT.fullmatch(text):
            return IdProblem.FRACTIONAL
        return text
    if value is None or isinstance(value, bool):
        return IdProblem.MISSING if value is None else IdProblem.NOT_TEXT
    if isinstance(value, Integral):
        return str(int(value))
    if isinstance(value, Decimal | Real):
        number = float(value)
        if math.isnan(number):
            return IdProblem.MISSING
        if not math.isfinite(number) or not number.is_integer():
            return IdProblem.FRACTIONAL
        return str(int(value)) if isinstance(value, Decimal) else str(int(number))
    # pandas' NA and NaT are missing values; any other object is not an id.
    return IdProblem.MISSING if str(value) in _MISSING_TEXTS else IdProblem.NOT_TEXT


def check_company_id(value: object) -> IdCheck:
    """The clean id of ``value`` or why it is not one (see the module rules)."""
    # Only plain str is remembered: a str subclass may redefine equality and hashing.
    if type(value) is not str:
        return _check(value)
    verdict = _verdicts.get(value)
    if verdict is None:
        if len(_verdicts) >= MEMO_ENTRIES:
            _verdicts.clear()
        verdict = _verdicts[value] = _check(value)
    return verdict


def _check(value: object) -> IdCheck:
    text = _as_text(value)
    if isinstance(text, IdProblem):
        return IdCheck(None, text)
    if not text or text.upper() in PLACEHOLDER_IDS or text == types.EXCLUDED_MARKER:
        return IdCheck(None, IdProblem.MISSING)
    if _BAD_CHARACTER.search(text):
        return IdCheck(None, IdProblem.WHITESPACE)
    if len(text) > MAX_COMPANY_ID_LENGTH:
        return IdCheck(None, IdProblem.TOO_LONG)
    if text.startswith(_FORMULA_PREFIXES):
        return IdCheck(None, IdProblem.FORMULA)
    if temp_ids.is_temp_id(text):
        return IdCheck(None, IdProblem.TEMPORARY)
    return IdCheck(text, None)


def valid_company_id(value: object) -> str | None:
    """The clean id of ``value``, or None when it fails :func:`check_company_id`."""
    return check_company_id(value).company_id


def valid_company_ids(values: Iterable[object]) -> list[str | None]:
    """:func:`valid_company_id` of each value, in order (one call for a column of ids).

    Plain text is looked up in the verdict memo at C speed (``map``, no Python frame per
    id): a file run asks about the same stored ids chunk after chunk."""
    listed = values if isinstance(values, list) else list(values)
    if set(map(type, listed)) - {str}:
        return [check_company_id(value).company_id for value in listed]
    verdicts: list[IdCheck | None] = list(map(_verdicts.get, listed))
    for index in compress(range(len(listed)), map(is_, verdicts, repeat(None))):
        verdicts[index] = check_company_id(listed[index])
    return list(map(_company_id_of, verdicts))


def valid_id_mapping(ids: Mapping[str, object]) -> Mapping[str, str]:
    """``ids`` (key → id) keeping only the ids that pass the rule, cleaned; ``ids`` itself
    when every id is clean already (the usual case for ids read back from the database)."""
    raw = list(ids.values())
    cleaned = valid_company_ids(raw)
    if cleaned == raw:
        return ids  # type: ignore[return-value]  # equal to their clean ids: all str
    return {key: cid for key, cid in zip(ids, cleaned, strict=True) if cid is not None}
