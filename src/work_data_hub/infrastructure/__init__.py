"""Infrastructure: database, enrichment services, the EQC client."""
