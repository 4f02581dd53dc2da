"""accounts: organisations, users, API keys, device credentials; org_id of shipments and devices

accounts/tables.py. iot_shipments.org_id and iot_devices.org_id are nullable: rows stored before are
visible to operators only until `cbec orgs adopt ORG` gives them an organisation.

Revision ID: 0003_accounts
Revises: 0002_jobs
Create Date: 2026-11-30 18:00:00
"""
from alembic import op
import sqlalchemy as sa

revision = "0003_accounts"
down_revision = "0002_jobs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "acc_orgs",
        sa.Column("org_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("org_id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "acc_users",
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("org_id", sa.String(length=64), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("disabled_ms", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(["org_id"], ["acc_orgs.org_id"]),
        sa.PrimaryKeyConstraint("user_id"),
        sa.UniqueConstraint("email"),
    )
    with op.batch_alter_table("acc_users", schema=None) as batch_op:
        batch_op.create_index("ix_acc_users_org", ["org_id"], unique=False)
    op.create_table(
        "acc_api_keys",
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.Column("org_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=True),
        sa.Column("last_used_ms", sa.BigInteger(), nullable=True),
        sa.Column("expires_ms", sa.BigInteger(), nullable=True),
        sa.Column("revoked_ms", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(["org_id"], ["acc_orgs.org_id"]),
        sa.PrimaryKeyConstraint("key_id"),
    )
    with op.batch_alter_table("acc_api_keys", schema=None) as batch_op:
        batch_op.create_index("ix_acc_api_keys_org", ["org_id"], unique=False)
    op.create_table(
        "acc_device_credentials",
        sa.Column("device_id", sa.String(length=64), nullable=False),
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.Column("org_id", sa.String(length=64), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["acc_orgs.org_id"]),
        sa.PrimaryKeyConstraint("device_id"),
        sa.UniqueConstraint("key_id"),
    )
    op.create_table(
        "acc_counters",
        sa.Column("name", sa.String(length=48), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    with op.batch_alter_table("iot_devices", schema=None) as batch_op:
        batch_op.add_column(sa.Column("org_id", sa.String(length=64), nullable=True))
        batch_op.create_index("ix_iot_devices_org", ["org_id"], unique=False)
    with op.batch_alter_table("iot_shipments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("org_id", sa.String(length=64), nullable=True))
        batch_op.create_index("ix_iot_shipments_org", ["org_id", "created_ms"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("iot_shipments", schema=None) as batch_op:
        batch_op.drop_index("ix_iot_shipments_org")
        batch_op.drop_column("org_id")
    with op.batch_alter_table("iot_devices", schema=None) as batch_op:
        batch_op.drop_index("ix_iot_devices_org")
        batch_op.drop_column("org_id")
    op.drop_table("acc_counters")
    op.drop_table("acc_device_credentials")
    with op.batch_alter_table("acc_api_keys", schema=None) as batch_op:
        batch_op.drop_index("ix_acc_api_keys_org")
    op.drop_table("acc_api_keys")
    with op.batch_alter_table("acc_users", schema=None) as batch_op:
        batch_op.drop_index("ix_acc_users_org")
    op.drop_table("acc_users")
    op.drop_table("acc_orgs")
