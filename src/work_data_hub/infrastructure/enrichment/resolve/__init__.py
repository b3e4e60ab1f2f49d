"""Resolving a frame: key columns, one step per tier, YAML overrides, the EQC provider."""
