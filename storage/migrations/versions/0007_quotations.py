"""saved quotes and rate sheets

``qt_quotes``: organisations' quotes as answered (prices frozen) with their validity;
``qt_rate_sheets``: organisations' own rate sheets, one row per uploaded version.

Revision ID: 0007_quotations
Revises: 0006_sharing
Create Date: 2026-11-30 18:45:00
"""
from alembic import op
import sqlalchemy as sa

revision = "0007_quotations"
down_revision = "0006_sharing"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "qt_quotes",
        sa.Column("quote_id", sa.String(length=64), primary_key=True),
        sa.Column("org_id", sa.String(length=64), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("valid_until_ms", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
    )
    op.create_index("ix_qt_quotes_org", "qt_quotes", ["org_id", "created_ms"])
    op.create_table(
        "qt_rate_sheets",
        sa.Column("sheet_id", sa.String(length=64), primary_key=True),
        sa.Column("org_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("currencies", sa.String(length=64), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=False),
        sa.Column("line_count", sa.Integer(), nullable=False),
        sa.Column("lines", sa.Text(), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=True),
        sa.Column("retired_ms", sa.BigInteger(), nullable=True),
        sa.UniqueConstraint("org_id", "name", "version", name="uq_qt_rate_sheets_version"),
    )
    op.create_index("ix_qt_rate_sheets_org", "qt_rate_sheets", ["org_id", "status"])


def downgrade() -> None:
    op.drop_index("ix_qt_rate_sheets_org", table_name="qt_rate_sheets")
    op.drop_table("qt_rate_sheets")
    op.drop_index("ix_qt_quotes_org", table_name="qt_quotes")
    op.drop_table("qt_quotes")
