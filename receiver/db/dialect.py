"""`INSERT ... ON CONFLICT` for the two supported databases (same SQL shape on both)."""

from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite


def upsert(table: Table, dialect_name: str) -> Any:
    """An INSERT that supports `.on_conflict_do_update(...)` and `.excluded` on this dialect."""
    if dialect_name == "postgresql":
        return postgresql.insert(table)
    if dialect_name == "sqlite":
        return sqlite.insert(table)
    raise ValueError(f"unsupported database dialect {dialect_name!r}; use SQLite or PostgreSQL")
