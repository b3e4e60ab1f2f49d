"""Value types of the EQC registry, shared by the client, the parser and their callers.

They live with the EQC layer so that it never imports the enrichment package above it.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CompanyInfo"]


@dataclass(frozen=True, kw_only=True)
class CompanyInfo:
    """A company found in the EQC registry."""

    company_id: str
    official_name: str
    unified_credit_code: str | None = None
    confidence: float = 1.0
    match_type: str = "全称精确匹配"
    former_names: tuple[str, ...] = ()
