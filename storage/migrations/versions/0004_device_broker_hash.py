"""device credentials: the key's Mosquitto password-file hash, kept beside its SHA-256

``acc_device_credentials.broker_hash`` (PBKDF2-SHA512, ``$7$...`` as ``mosquitto_passwd`` writes), computed
when a device key is issued: ``cbec mqtt sync`` writes it into Mosquitto's password file, which needs
either the clear key or this hash. Nullable: keys issued before have none and must be rotated
(``cbec devices credentials DEVICE``) before they can log in to Mosquitto; HTTP and the embedded broker
check the SHA-256 and accept them.

Revision ID: 0004_device_broker_hash
Revises: 0003_accounts
Create Date: 2026-12-02 10:00:00
"""
from alembic import op
import sqlalchemy as sa

revision = "0004_device_broker_hash"
down_revision = "0003_accounts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("acc_device_credentials", schema=None) as batch_op:
        batch_op.add_column(sa.Column("broker_hash", sa.String(length=160), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("acc_device_credentials", schema=None) as batch_op:
        batch_op.drop_column("broker_hash")
