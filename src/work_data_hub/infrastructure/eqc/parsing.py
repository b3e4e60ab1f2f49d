"""EQC JSON → :class:`CompanyInfo`: pure functions, no HTTP.

Search answers carry a match quality in ``type``; its confidence is fixed by the
contract (spec section 3) and may be overridden per match type (a YAML file read by the
caller). Detail answers (``businessInfodto``) add former names — the real registry sends
``company_former_name``, one string of names separated by ``,`` ``，`` ``、`` or ``;`` —
and the fields of :class:`CompanyDetails`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from work_data_hub.infrastructure.eqc.types import CompanyDetails, CompanyInfo, EqcCandidate

__all__ = [
    "CACHE_MIN_CONFIDENCE",
    "DEFAULT_CONFIDENCE",
    "MATCH_CONFIDENCE",
    "MATCH_EXACT",
    "MATCH_FUZZY",
    "MATCH_PINYIN",
    "MAX_CANDIDATES",
    "best_hit",
    "candidates_from_json",
    "company_details",
    "company_info",
    "confidence_for",
    "former_names",
    "search_candidates",
    "search_hits",
]

MATCH_EXACT = "全称精确匹配"
MATCH_FUZZY = "模糊匹配"
MATCH_PINYIN = "拼音"
#: Confidence per EQC match type (spec section 3).
MATCH_CONFIDENCE: Mapping[str, float] = {MATCH_EXACT: 1.00, MATCH_FUZZY: 0.80, MATCH_PINYIN: 0.60}
#: Confidence of any other match type.
DEFAULT_CONFIDENCE = 0.70
#: A hit below this confidence settles nothing: neither cached nor taken as the id.
CACHE_MIN_CONFIDENCE = 0.60
#: Entries of a search answer kept with a request, for review.
MAX_CANDIDATES = 5

_FORMER_NAME_KEYS = (
    "company_former_name",
    "former_names",
    "formerNames",
    "former_name",
    "historyNames",
    "oldNames",
)
_SEPARATORS = re.compile(r"[;；、,，\n]+")


def confidence_for(match_type: object, overrides: Mapping[str, float] | None = None) -> float:
    """The confidence of a search hit of ``match_type`` (``overrides`` win)."""
    key = match_type.strip() if isinstance(match_type, str) else ""
    if overrides and key in overrides:
        return float(overrides[key])
    return MATCH_CONFIDENCE.get(key, DEFAULT_CONFIDENCE)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def search_hits(payload: object) -> list[dict[str, Any]]:
    """The usable entries of a search answer's ``list`` (with an id and a full name)."""
    if not isinstance(payload, Mapping):
        return []
    rows = payload.get("list")
    if not isinstance(rows, list):
        return []
    return [
        row
        for row in rows
        if isinstance(row, dict)
        and _text(row.get("companyId"))
        and _text(row.get("companyFullName"))
    ]


def best_hit(
    hits: Sequence[Mapping[str, Any]], overrides: Mapping[str, float] | None = None
) -> Mapping[str, Any] | None:
    """The hit with the highest confidence; the server's order breaks ties."""
    best: Mapping[str, Any] | None = None
    best_confidence = -1.0
    for hit in hits:
        confidence = confidence_for(hit.get("type"), overrides)
        if confidence > best_confidence:
            best, best_confidence = hit, confidence
    return best


def search_candidates(
    hits: Sequence[Mapping[str, Any]],
    overrides: Mapping[str, float] | None = None,
    limit: int = MAX_CANDIDATES,
) -> tuple[EqcCandidate, ...]:
    """The best ``limit`` entries of a search answer, by confidence (the server's order
    breaks ties), one per company id."""
    found: dict[str, EqcCandidate] = {}
    for hit in hits:
        company_id = _text(hit.get("companyId"))
        full_name = _text(hit.get("companyFullName"))
        if company_id is None or full_name is None or company_id in found:
            continue
        match_type = _text(hit.get("type")) or ""
        found[company_id] = EqcCandidate(
            company_id=company_id,
            full_name=full_name,
            match_type=match_type,
            confidence=confidence_for(match_type, overrides),
        )
    ranked = sorted(found.values(), key=lambda c: -c.confidence)  # stable: ties keep order
    return tuple(ranked[: max(0, limit)])


def candidates_from_json(value: object) -> tuple[EqcCandidate, ...]:
    """Candidates as stored (a list of ``EqcCandidate.to_dict()``); unusable entries skipped."""
    if not isinstance(value, list):
        return ()
    out: list[EqcCandidate] = []
    for item in value:
        if not isinstance(item, Mapping):
            continue
        company_id, full_name = _text(item.get("company_id")), _text(item.get("full_name"))
        confidence = item.get("confidence")
        if company_id is None or full_name is None or isinstance(confidence, bool):
            continue
        if not isinstance(confidence, int | float):
            continue
        out.append(
            EqcCandidate(
                company_id=company_id,
                full_name=full_name,
                match_type=_text(item.get("match_type")) or "",
                confidence=float(confidence),
            )
        )
    return tuple(out)


def former_names(detail: object) -> tuple[str, ...]:
    """Former names from a ``businessInfodto`` mapping, de-duplicated, in order."""
    if not isinstance(detail, Mapping):
        return ()
    found: list[str] = []
    for key in _FORMER_NAME_KEYS:
        value = detail.get(key)
        if isinstance(value, str):
            items: list[Any] = _SEPARATORS.split(value)
        elif isinstance(value, list | tuple):
            items = list(value)
        else:
            continue
        for item in items:
            text = _text(item.get("name") if isinstance(item, Mapping) else item)
            if text and text not in found:
                found.append(text)
    return tuple(found)


def company_info(
    hit: Mapping[str, Any],
    detail: object = None,
    overrides: Mapping[str, float] | None = None,
    candidates: tuple[EqcCandidate, ...] = (),
) -> CompanyInfo:
    """A :class:`CompanyInfo` from a search hit and, optionally, its detail answer."""
    company_id = _text(hit.get("companyId"))
    official_name = _text(hit.get("companyFullName"))
    if company_id is None or official_name is None:
        raise ValueError("search hit lacks companyId or companyFullName")
    match_type = _text(hit.get("type")) or ""
    code = _text(hit.get("unite_code"))
    if code is None and isinstance(detail, Mapping):
        code = _text(detail.get("unite_code"))
    former = tuple(name for name in former_names(detail) if name != official_name)
    return CompanyInfo(
        company_id=company_id,
        official_name=official_name,
        unified_credit_code=code,
        confidence=confidence_for(match_type, overrides),
        match_type=match_type,
        former_names=former,
        candidates=candidates,
    )


def company_details(company_id: str, detail: object) -> CompanyDetails:
    """A :class:`CompanyDetails` from a ``businessInfodto`` mapping (anything else: only
    the id). Blank fields become ``None``."""
    if not isinstance(detail, Mapping):
        return CompanyDetails(company_id=company_id)
    official_name = _text(detail.get("companyFullName"))
    return CompanyDetails(
        company_id=company_id,
        official_name=official_name,
        former_names=tuple(name for name in former_names(detail) if name != official_name),
        legal_person_name=_text(detail.get("legal_person_name")),
        # "registerCaptial" is the registry's own spelling.
        registered_capital=_text(detail.get("registerCaptial")),
        registered_date=_text(detail.get("registered_date")),
        registered_status=_text(detail.get("registered_status")),
        province=_text(detail.get("province")),
        organization_code=_text(detail.get("organization_code")),
        company_en_name=_text(detail.get("company_en_name")),
        unified_credit_code=_text(detail.get("unite_code")),
    )
