"""Alembic environment: runs on the connection handed over by storage.db.upgrade (or a URL)."""

from __future__ import annotations

import importlib

from alembic import context
from sqlalchemy import create_engine

from storage.db import VERSION_TABLE

config = context.config
# every package's tables, for `alembic revision --autogenerate`; imported by name because storage sits
# below the packages that own the tables (the layers contract in pyproject.toml)
TABLE_MODULES = ("iot_ingest.tables", "jobs.tables", "accounts.tables", "webhooks.tables", "trade.tables", "sharing.tables",
                 "quotations.tables")
target_metadata = [importlib.import_module(name).metadata for name in TABLE_MODULES]


def run() -> None:
    conn = config.attributes.get("connection")
    if conn is not None:
        context.configure(connection=conn, target_metadata=target_metadata, version_table=VERSION_TABLE,
                          render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    from storage.db import normalise_url
    from optimizer.settings import get_settings

    engine = create_engine(normalise_url(config.get_main_option("sqlalchemy.url") or get_settings().database_url))
    with engine.begin() as conn:
        context.configure(connection=conn, target_metadata=target_metadata, version_table=VERSION_TABLE,
                          render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()


run()
