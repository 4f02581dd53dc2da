"""transport space bookings

``qt_space_bookings``: an organisation's booking of the departures of one option of a saved quote; its
space is held on each departure (``quotations.space``) until cancelled.

Revision ID: 0008_space_bookings
Revises: 0007_quotations
Create Date: 2026-11-30 22:00:00
"""
from alembic import op
import sqlalchemy as sa

revision = "0008_space_bookings"
down_revision = "0007_quotations"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "qt_space_bookings",
        sa.Column("booking_id", sa.String(length=64), primary_key=True),
        sa.Column("org_id", sa.String(length=64), nullable=False),
        sa.Column("quote_id", sa.String(length=64), nullable=False),
        sa.Column("option_id", sa.String(length=1000), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("request_key", sa.String(length=64), nullable=True),
        sa.Column("holds", sa.Text(), nullable=False),
        sa.Column("first_departure_ms", sa.BigInteger(), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=True),
        sa.Column("cancelled_ms", sa.BigInteger(), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.UniqueConstraint("org_id", "request_key", name="uq_qt_space_bookings_key"),
    )
    op.create_index("ix_qt_space_bookings_org", "qt_space_bookings", ["org_id", "created_ms"])
    op.create_index("ix_qt_space_bookings_status", "qt_space_bookings", ["status"])


def downgrade() -> None:
    op.drop_index("ix_qt_space_bookings_status", table_name="qt_space_bookings")
    op.drop_index("ix_qt_space_bookings_org", table_name="qt_space_bookings")
    op.drop_table("qt_space_bookings")
