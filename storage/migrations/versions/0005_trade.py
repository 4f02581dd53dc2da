"""trade and webhooks tables

Revision ID: 0005_trade
Revises: 0004_device_broker_hash
Create Date: 2026-11-30 18:45:00
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

revision = "0005_trade"
down_revision = "0004_device_broker_hash"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
