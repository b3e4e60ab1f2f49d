"""Database layer: engine factory, table definitions and Alembic migrations."""
