"""The service's database: SQLite by default, PostgreSQL in production (SQLAlchemy 2, psycopg 3).

One Alembic history (``storage/migrations``) holds every package's tables (ingest, jobs, accounts);
migrations are an explicit step (:func:`storage.db.open_db` with ``migrate=True``, ``cbec db upgrade``).
Imports nothing of ours but the settings and errors: every package that stores records reads it.
"""
