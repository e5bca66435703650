"""Database: tables, engine, schema version checks and Alembic migrations."""
