"""Storage: SQLModel tables and the SQLite/PostgreSQL store that moves bytes and indexed columns."""
