"""job records (filled in by the durable-jobs work)

Revision ID: 0002_jobs
Revises: 0001_iot_ingest
Create Date: 2026-11-30 17:05:00
"""

revision = "0002_jobs"
down_revision = "0001_iot_ingest"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
