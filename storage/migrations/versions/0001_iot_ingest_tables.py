"""iot ingest tables

Revision ID: 0001_iot_ingest
Revises: 
Create Date: 2026-11-27 21:29:30.706967
"""
from alembic import op
import sqlalchemy as sa


revision = '0001_iot_ingest'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('iot_alerts',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('device_id', sa.String(length=64), nullable=False),
    sa.Column('shipment_id', sa.String(length=64), nullable=True),
    sa.Column('warehouse_id', sa.String(length=64), nullable=True),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('started_ms', sa.BigInteger(), nullable=False),
    sa.Column('raised_ms', sa.BigInteger(), nullable=False),
    sa.Column('ended_ms', sa.BigInteger(), nullable=True),
    sa.Column('value', sa.Float(), nullable=True),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('device_id', 'kind', 'started_ms', name='uq_iot_alerts_key')
    )
    op.create_table('iot_counters',
    sa.Column('name', sa.String(length=48), nullable=False),
    sa.Column('value', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )
    op.create_table('iot_dead_letters',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('topic', sa.Text(), nullable=False),
    sa.Column('payload', sa.LargeBinary(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('received_ms', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('digest')
    )
    op.create_table('iot_device_state',
    sa.Column('device_id', sa.String(length=64), nullable=False),
    sa.Column('last_ts_ms', sa.BigInteger(), nullable=False),
    sa.Column('last_seq', sa.BigInteger(), nullable=False),
    sa.Column('last_received_ms', sa.BigInteger(), nullable=False),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.Column('lon', sa.Float(), nullable=True),
    sa.Column('speed_kmh', sa.Float(), nullable=True),
    sa.Column('heading', sa.Float(), nullable=True),
    sa.Column('accuracy_m', sa.Float(), nullable=True),
    sa.Column('battery_pct', sa.Float(), nullable=True),
    sa.Column('temperature_c', sa.Float(), nullable=True),
    sa.Column('humidity_pct', sa.Float(), nullable=True),
    sa.Column('door_open', sa.Boolean(), nullable=True),
    sa.Column('occupied_positions', sa.Integer(), nullable=True),
    sa.Column('fences', sa.Text(), nullable=False),
    sa.Column('extra_json', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('device_id')
    )
    op.create_table('iot_devices',
    sa.Column('device_id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('shipment_id', sa.String(length=64), nullable=True),
    sa.Column('warehouse_id', sa.String(length=64), nullable=True),
    sa.Column('temp_min', sa.Float(), nullable=True),
    sa.Column('temp_max', sa.Float(), nullable=True),
    sa.Column('excursion_minutes', sa.Float(), nullable=False),
    sa.Column('hysteresis_c', sa.Float(), nullable=False),
    sa.Column('door_open_max_minutes', sa.Float(), nullable=False),
    sa.Column('expected_interval_s', sa.Float(), nullable=False),
    sa.Column('created_ms', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('device_id')
    )
    op.create_table('iot_events',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('device_id', sa.String(length=64), nullable=False),
    sa.Column('shipment_id', sa.String(length=64), nullable=True),
    sa.Column('warehouse_id', sa.String(length=64), nullable=True),
    sa.Column('ts_ms', sa.BigInteger(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('node_id', sa.String(length=64), nullable=False),
    sa.Column('node_kind', sa.String(length=32), nullable=False),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.Column('lon', sa.Float(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('device_id', 'ts_ms', 'kind', 'node_id', name='uq_iot_events_key')
    )
    with op.batch_alter_table('iot_events', schema=None) as batch_op:
        batch_op.create_index('ix_iot_events_shipment', ['shipment_id', 'ts_ms'], unique=False)

    op.create_table('iot_quarantine',
    sa.Column('device_id', sa.String(length=64), nullable=False),
    sa.Column('ts_ms', sa.BigInteger(), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('fmt', sa.String(length=24), nullable=False),
    sa.Column('received_ms', sa.BigInteger(), nullable=False),
    sa.Column('topic', sa.Text(), nullable=False),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.Column('lon', sa.Float(), nullable=True),
    sa.Column('speed_kmh', sa.Float(), nullable=True),
    sa.Column('heading', sa.Float(), nullable=True),
    sa.Column('accuracy_m', sa.Float(), nullable=True),
    sa.Column('battery_pct', sa.Float(), nullable=True),
    sa.Column('temperature_c', sa.Float(), nullable=True),
    sa.Column('humidity_pct', sa.Float(), nullable=True),
    sa.Column('door_open', sa.Boolean(), nullable=True),
    sa.Column('occupied_positions', sa.Integer(), nullable=True),
    sa.Column('warehouse_hint', sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint('device_id', 'ts_ms', 'seq')
    )
    op.create_table('iot_readings',
    sa.Column('device_id', sa.String(length=64), nullable=False),
    sa.Column('ts_ms', sa.BigInteger(), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('fmt', sa.String(length=24), nullable=False),
    sa.Column('received_ms', sa.BigInteger(), nullable=False),
    sa.Column('late', sa.Boolean(), nullable=False),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.Column('lon', sa.Float(), nullable=True),
    sa.Column('speed_kmh', sa.Float(), nullable=True),
    sa.Column('heading', sa.Float(), nullable=True),
    sa.Column('accuracy_m', sa.Float(), nullable=True),
    sa.Column('battery_pct', sa.Float(), nullable=True),
    sa.Column('temperature_c', sa.Float(), nullable=True),
    sa.Column('humidity_pct', sa.Float(), nullable=True),
    sa.Column('door_open', sa.Boolean(), nullable=True),
    sa.Column('occupied_positions', sa.Integer(), nullable=True),
    sa.Column('shipment_id', sa.String(length=64), nullable=True),
    sa.Column('warehouse_id', sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint('device_id', 'ts_ms', 'seq')
    )
    op.create_table('iot_readings_hourly',
    sa.Column('device_id', sa.String(length=64), nullable=False),
    sa.Column('bucket_ms', sa.BigInteger(), nullable=False),
    sa.Column('n', sa.Integer(), nullable=False),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.Column('lon', sa.Float(), nullable=True),
    sa.Column('temp_min', sa.Float(), nullable=True),
    sa.Column('temp_max', sa.Float(), nullable=True),
    sa.Column('temp_avg', sa.Float(), nullable=True),
    sa.Column('humidity_avg', sa.Float(), nullable=True),
    sa.PrimaryKeyConstraint('device_id', 'bucket_ms')
    )
    op.create_table('iot_shipments',
    sa.Column('shipment_id', sa.String(length=64), nullable=False),
    sa.Column('origin', sa.String(length=64), nullable=False),
    sa.Column('destination', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('option_json', sa.Text(), nullable=False),
    sa.Column('milestones_json', sa.Text(), nullable=False),
    sa.Column('eta_p50_ms', sa.BigInteger(), nullable=True),
    sa.Column('eta_p90_ms', sa.BigInteger(), nullable=True),
    sa.Column('last_seen_ms', sa.BigInteger(), nullable=True),
    sa.Column('created_ms', sa.BigInteger(), nullable=False),
    sa.Column('updated_ms', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('shipment_id')
    )


def downgrade() -> None:
    op.drop_table('iot_shipments')
    op.drop_table('iot_readings_hourly')
    op.drop_table('iot_readings')
    op.drop_table('iot_quarantine')
    with op.batch_alter_table('iot_events', schema=None) as batch_op:
        batch_op.drop_index('ix_iot_events_shipment')

    op.drop_table('iot_events')
    op.drop_table('iot_devices')
    op.drop_table('iot_device_state')
    op.drop_table('iot_dead_letters')
    op.drop_table('iot_counters')
    op.drop_table('iot_alerts')
