"""WorkDataHub company enrichment: canonical company IDs for enterprise-annuity data."""

__all__ = ["__version__"]

__version__ = "0.1.0"
