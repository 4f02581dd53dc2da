"""Alembic environment: runs on the connection handed over by iot_ingest.db.upgrade (or a URL)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from iot_ingest.db import VERSION_TABLE
from iot_ingest.tables import metadata

config = context.config
target_metadata = metadata


def run() -> None:
    conn = config.attributes.get("connection")
    if conn is not None:
        context.configure(connection=conn, target_metadata=target_metadata, version_table=VERSION_TABLE,
                          render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    from iot_ingest.db import normalise_url
    from optimizer.settings import get_settings

    engine = create_engine(normalise_url(config.get_main_option("sqlalchemy.url") or get_settings().database_url))
    with engine.begin() as conn:
        context.configure(connection=conn, target_metadata=target_metadata, version_table=VERSION_TABLE,
                          render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()


run()
