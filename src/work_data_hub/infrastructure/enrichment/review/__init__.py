"""Review help: likely companies for names that are still unknown (pure, no I/O)."""
