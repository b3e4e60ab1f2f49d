"""The enrichment queue: its statements, operator services, retry policy, workers, remap."""
