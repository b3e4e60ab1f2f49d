"""Client for the EQC company registry: HTTP, parsing, rate limits."""
