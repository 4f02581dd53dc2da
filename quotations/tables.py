"""Tables of ``quotations`` (SQLAlchemy Core); created by its Alembic migration in ``storage/migrations/versions``."""

from __future__ import annotations

from sqlalchemy import MetaData

metadata = MetaData()
