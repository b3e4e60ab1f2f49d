"""Value types of the EQC registry, shared by the client, the parser and their callers.

They live with the EQC layer so that it never imports the enrichment package above it.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CompanyDetails", "CompanyInfo", "EqcCandidate"]


@dataclass(frozen=True, kw_only=True, slots=True)
class EqcCandidate:
    """One entry of a search answer: kept for review even when it settles nothing."""

    company_id: str
    full_name: str
    match_type: str
    confidence: float

    def to_dict(self) -> dict[str, str | float]:
        return {
            "company_id": self.company_id,
            "full_name": self.full_name,
            "match_type": self.match_type,
            "confidence": self.confidence,
        }


@dataclass(frozen=True, kw_only=True)
class CompanyInfo:
    """A company found in the EQC registry."""

    company_id: str
    official_name: str
    unified_credit_code: str | None = None
    confidence: float = 1.0
    match_type: str = "全称精确匹配"
    former_names: tuple[str, ...] = ()
    #: The search answer's best entries (this company among them), best first.
    candidates: tuple[EqcCandidate, ...] = ()


@dataclass(frozen=True, kw_only=True)
class CompanyDetails:
    """What a detail answer (``findDepart``'s ``businessInfodto``) says about a company.

    Field names follow the real registry (spec section 3); every field is optional.
    """

    company_id: str
    official_name: str | None = None
    former_names: tuple[str, ...] = ()
    legal_person_name: str | None = None
    registered_capital: str | None = None
    registered_date: str | None = None
    registered_status: str | None = None
    province: str | None = None
    organization_code: str | None = None
    company_en_name: str | None = None
    unified_credit_code: str | None = None
