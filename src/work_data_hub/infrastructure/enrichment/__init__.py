"""Company enrichment: normalizer, overrides, repositories, resolver, workers, remap."""
