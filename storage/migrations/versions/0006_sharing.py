"""shared-warehouse offers, bookings, settlements

Revision ID: 0006_sharing
Revises: 0005_trade
Create Date: 2026-11-30 18:45:00
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

revision = "0006_sharing"
down_revision = "0005_trade"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
