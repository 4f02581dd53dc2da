"""saved quotes and rate sheets

Revision ID: 0007_quotations
Revises: 0006_sharing
Create Date: 2026-11-30 18:45:00
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

revision = "0007_quotations"
down_revision = "0006_sharing"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
