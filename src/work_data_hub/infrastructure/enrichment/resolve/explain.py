"""The names of the columns ``ResolutionStrategy.explain`` adds to a resolved frame.

Apart from :mod:`provenance` (which fills them, with numpy and pandas) so that
``company_id_resolver`` can re-export :func:`explain_columns` without loading either.
"""

from __future__ import annotations

__all__ = ["explain_columns"]


def explain_columns(output_column: str) -> tuple[str, str, str]:
    """The provenance columns ``explain`` adds: tier, mapping source, mapping confidence."""
    return (f"{output_column}_tier", f"{output_column}_source", f"{output_column}_confidence")
