"""The job records table (SQLAlchemy Core). Schema changes go through Alembic (storage/migrations,
revision ``0002_jobs``).

Times are BigInteger milliseconds since the epoch (UTC), as in the ingest tables. ``params``,
``result`` and ``error`` are JSON text (portable between SQLite and PostgreSQL; non-finite numbers
are stored as null).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

STATUSES = ("queued", "running", "succeeded", "failed", "cancelled")
ACTIVE = ("queued", "running")
FINISHED = ("succeeded", "failed", "cancelled")

jobs = Table(
    "jobs", metadata,
    Column("id", String(64), primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("owner", String(64)),  # the organisation (tenant) that submitted it; NULL: anonymous
    Column("status", String(16), nullable=False),  # queued | running | succeeded | failed | cancelled
    Column("progress", Float, nullable=False, default=0.0),
    Column("message", Text, nullable=False, default=""),
    Column("params", Text, nullable=False),  # JSON: everything needed to run it again, anywhere
    Column("result", Text),  # JSON, once succeeded
    Column("error", Text),  # JSON problem (title, status, detail, field), once failed or cancelled
    Column("created_ms", BigInteger, nullable=False),
    Column("started_ms", BigInteger),
    Column("finished_ms", BigInteger),
    Column("heartbeat_ms", BigInteger),
    Column("attempts", Integer, nullable=False, default=0),  # runs started (a stopped worker's run counts)
    Column("cancel_requested", Boolean, nullable=False, default=False),
    Column("worker", String(200)),  # who runs it now: "host:pid/thread" or "host:pid dask-address"
    Column("engine", String(16), nullable=False, default="local"),  # local (in-process workers) | dask
    Column("engine_ref", String(128)),  # dask: the id of the scheduler it was submitted to
    Index("ix_jobs_owner_created", "owner", "created_ms"),
    Index("ix_jobs_status_created", "status", "created_ms"),
)
