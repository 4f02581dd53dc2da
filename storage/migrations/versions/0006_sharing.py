"""shared-warehouse offers, bookings, stock movements, audit trail, profiles and partners

sharing/tables.py (issue 19).

Revision ID: 0006_sharing
Revises: 0005_trade
Create Date: 2026-11-30 18:45:00
"""
from alembic import op
import sqlalchemy as sa

revision = "0006_sharing"
down_revision = "0005_trade"
branch_labels = None
depends_on = None

ID = sa.String(length=64)


def upgrade() -> None:
    op.create_table(
        "sh_profiles",
        sa.Column("org_id", ID, nullable=False),
        sa.Column("city", sa.String(length=64), nullable=False),
        sa.Column("updated_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("org_id"),
    )
    op.create_table(
        "sh_partners",
        sa.Column("operator_org_id", ID, nullable=False),
        sa.Column("partner_org_id", ID, nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("operator_org_id", "partner_org_id"),
    )
    op.create_table(
        "sh_offers",
        sa.Column("offer_id", ID, nullable=False),
        sa.Column("org_id", ID, nullable=False),
        sa.Column("warehouse", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("storage_unit", sa.String(length=8), nullable=False),
        sa.Column("storage_capacity", sa.Float(), nullable=False),
        sa.Column("inbound_m3_per_day", sa.Float(), nullable=False),
        sa.Column("start_day", sa.Date(), nullable=False),
        sa.Column("end_day", sa.Date(), nullable=False),
        sa.Column("price_storage", sa.Float(), nullable=False),
        sa.Column("price_inbound", sa.Float(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("cargo_classes", sa.Text(), nullable=False),
        sa.Column("customs_modes", sa.Text(), nullable=False),
        sa.Column("who_may_book", sa.String(length=16), nullable=False),
        sa.Column("allowed_orgs", sa.Text(), nullable=False),
        sa.Column("notice_days", sa.Integer(), nullable=False),
        sa.Column("cancel_fee_share", sa.Float(), nullable=False),
        sa.Column("settle_on", sa.String(length=8), nullable=False),
        sa.Column("booked_share", sa.Float(), nullable=False),
        sa.Column("hold_hours", sa.Integer(), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("updated_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("offer_id"),
    )
    op.create_index("ix_sh_offers_org", "sh_offers", ["org_id"])
    op.create_index("ix_sh_offers_wh", "sh_offers", ["warehouse", "status"])
    op.create_table(
        "sh_bookings",
        sa.Column("booking_id", ID, nullable=False),
        sa.Column("org_id", ID, nullable=False),
        sa.Column("offer_id", ID, nullable=False),
        sa.Column("operator_org_id", ID, nullable=False),
        sa.Column("warehouse", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("quantity", sa.Float(), nullable=False),
        sa.Column("start_day", sa.Date(), nullable=False),
        sa.Column("end_day", sa.Date(), nullable=False),
        sa.Column("cargo_class", sa.String(length=32), nullable=False),
        sa.Column("customs_mode", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("expires_ms", sa.BigInteger(), nullable=True),
        sa.Column("fee", sa.Float(), nullable=False),
        sa.Column("request_key", sa.String(length=128), nullable=True),
        sa.Column("created_by", ID, nullable=True),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("updated_ms", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["offer_id"], ["sh_offers.offer_id"]),
        sa.PrimaryKeyConstraint("booking_id"),
        sa.UniqueConstraint("org_id", "request_key", name="uq_sh_bookings_request"),
    )
    op.create_index("ix_sh_bookings_org", "sh_bookings", ["org_id", "created_ms"])
    op.create_index("ix_sh_bookings_operator", "sh_bookings", ["operator_org_id", "created_ms"])
    op.create_index("ix_sh_bookings_offer", "sh_bookings", ["offer_id", "status"])
    op.create_table(
        "sh_movements",
        sa.Column("movement_id", ID, nullable=False),
        sa.Column("org_id", ID, nullable=False),
        sa.Column("warehouse", sa.String(length=64), nullable=False),
        sa.Column("offer_id", ID, nullable=True),
        sa.Column("booking_id", ID, nullable=True),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("direction", sa.String(length=4), nullable=False),
        sa.Column("m3", sa.Float(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("ref", sa.String(length=128), nullable=False),
        sa.Column("recorded_by", ID, nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["offer_id"], ["sh_offers.offer_id"]),
        sa.ForeignKeyConstraint(["booking_id"], ["sh_bookings.booking_id"]),
        sa.PrimaryKeyConstraint("movement_id"),
        sa.UniqueConstraint("org_id", "source", "ref", name="uq_sh_movements_ref"),
    )
    op.create_index("ix_sh_movements_wh", "sh_movements", ["warehouse", "day"])
    op.create_index("ix_sh_movements_org", "sh_movements", ["org_id", "day"])
    op.create_table(
        "sh_audit",
        sa.Column("audit_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("at_ms", sa.BigInteger(), nullable=False),
        sa.Column("actor_org", ID, nullable=True),
        sa.Column("actor", sa.String(length=100), nullable=True),
        sa.Column("subject", sa.String(length=16), nullable=False),
        sa.Column("subject_id", ID, nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("owner_org", ID, nullable=True),
        sa.Column("operator_org", ID, nullable=True),
        sa.PrimaryKeyConstraint("audit_id"),
    )
    op.create_index("ix_sh_audit_subject", "sh_audit", ["subject", "subject_id"])


def downgrade() -> None:
    op.drop_index("ix_sh_audit_subject", table_name="sh_audit")
    op.drop_table("sh_audit")
    op.drop_index("ix_sh_movements_org", table_name="sh_movements")
    op.drop_index("ix_sh_movements_wh", table_name="sh_movements")
    op.drop_table("sh_movements")
    op.drop_index("ix_sh_bookings_offer", table_name="sh_bookings")
    op.drop_index("ix_sh_bookings_operator", table_name="sh_bookings")
    op.drop_index("ix_sh_bookings_org", table_name="sh_bookings")
    op.drop_table("sh_bookings")
    op.drop_index("ix_sh_offers_wh", table_name="sh_offers")
    op.drop_index("ix_sh_offers_org", table_name="sh_offers")
    op.drop_table("sh_offers")
    op.drop_table("sh_partners")
    op.drop_table("sh_profiles")
