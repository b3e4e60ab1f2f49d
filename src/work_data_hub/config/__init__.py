"""Configuration entry points kept at the original implementation's import paths."""
