"""Storage: engines for SQLite and PostgreSQL, the single writer, schema and migrations."""

from huitong.db.database import Database, open_database

__all__ = ["Database", "open_database"]
