"""Persistence: SQLAlchemy Core tables, the ``Store`` adapter, and Alembic migrations shipped in
the package. SQLite by default, PostgreSQL by URL; amounts stored exactly on both."""
