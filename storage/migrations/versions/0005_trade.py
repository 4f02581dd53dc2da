"""trade and webhooks: exchange records (enterprises, orders and goods lines, payments, waybills, 9810 stock
movements), their version history, the three-document checks; webhook subscriptions, outbox, deliveries, log

trade/tables.py and webhooks/tables.py (issue 18). Generated from those tables with Alembic's autogenerate
renderer, then kept as written.

Revision ID: 0005_trade
Revises: 0004_device_broker_hash
Create Date: 2026-11-30 18:45:00
"""
from alembic import op
import sqlalchemy as sa

revision = "0005_trade"
down_revision = "0004_device_broker_hash"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('wh_attempts',
    sa.Column('delivery_id', sa.String(length=64), nullable=False),
    sa.Column('attempt', sa.Integer(), nullable=False),
    sa.Column('sub_id', sa.String(length=64), nullable=False),
    sa.Column('org_id', sa.String(length=64), nullable=False),
    sa.Column('started_ms', sa.BigInteger(), nullable=False),
    sa.Column('duration_ms', sa.Integer(), nullable=False),
    sa.Column('status_code', sa.Integer(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('delivery_id', 'attempt')
    )
    with op.batch_alter_table('wh_attempts', schema=None) as batch_op:
        batch_op.create_index('ix_wh_attempts_sub', ['sub_id', 'started_ms'], unique=False)

    op.create_table('wh_deliveries',
    sa.Column('delivery_id', sa.String(length=64), nullable=False),
    sa.Column('sub_id', sa.String(length=64), nullable=False),
    sa.Column('event_id', sa.String(length=64), nullable=False),
    sa.Column('org_id', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_ms', sa.BigInteger(), nullable=True),
    sa.Column('last_status_code', sa.Integer(), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_ms', sa.BigInteger(), nullable=False),
    sa.Column('finished_ms', sa.BigInteger(), nullable=True),
    sa.PrimaryKeyConstraint('delivery_id')
    )
    with op.batch_alter_table('wh_deliveries', schema=None) as batch_op:
        batch_op.create_index('ix_wh_deliveries_due', ['status', 'next_attempt_ms'], unique=False)
        batch_op.create_index('ix_wh_deliveries_sub', ['sub_id', 'created_ms'], unique=False)

    op.create_table('wh_events',
    sa.Column('event_id', sa.String(length=64), nullable=False),
    sa.Column('org_id', sa.String(length=64), nullable=False),
    sa.Column('event_type', sa.String(length=40), nullable=False),
    sa.Column('payload_json', sa.Text(), nullable=False),
    sa.Column('created_ms', sa.BigInteger(), nullable=False),
    sa.Column('dispatched', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('event_id')
    )
    with op.batch_alter_table('wh_events', schema=None) as batch_op:
        batch_op.create_index('ix_wh_events_pending', ['dispatched', 'created_ms'], unique=False)

    op.create_table('wh_subscriptions',
    sa.Column('sub_id', sa.String(length=64), nullable=False),
    sa.Column('org_id', sa.String(length=64), nullable=False),
    sa.Column('url', sa.String(length=2048), nullable=False),
    sa.Column('secret', sa.String(length=128), nullable=False),
    sa.Column('event_types', sa.Text(), nullable=False),
    sa.Column('description', sa.String(length=200), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_ms', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('sub_id')
    )
    with op.batch_alter_table('wh_subscriptions', schema=None) as batch_op:
        batch_op.create_index('ix_wh_subscriptions_org', ['org_id'], unique=False)

    op.create_table('trd_checks',
    sa.Column('org_id', sa.String(length=64), nullable=False),
    sa.Column('order_no', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('mismatches_json', sa.Text(), nullable=False),
    sa.Column('missing_json', sa.Text(), nullable=False),
    sa.Column('ordered_ms', sa.BigInteger(), nullable=False),
    sa.Column('checked_ms', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('org_id', 'order_no')
    )
    with op.batch_alter_table('trd_checks', schema=None) as batch_op:
        batch_op.create_index('ix_trd_checks_status', ['org_id', 'status', 'ordered_ms'], unique=False)

    op.create_table('trd_enterprises',
    sa.Column('org_id', sa.String(length=64), nullable=False),
    sa.Column('credit_code', sa.String(length=18), nullable=False),
    sa.Column('name_zh', sa.String(length=200), nullable=False),
    sa.Column('name_en', sa.String(length=200), nullable=True),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('city', sa.String(length=200), nullable=False),
    sa.Column('country', sa.String(length=2), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('created_ms', sa.BigInteger(), nullable=False),
    sa.Column('updated_ms', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('org_id', 'credit_code')
    )
    op.create_table('trd_order_lines',
    sa.Column('org_id', sa.String(length=64), nullable=False),
    sa.Column('order_no', sa.String(length=64), nullable=False),
    sa.Column('line_no', sa.Integer(), nullable=False),
    sa.Column('hs_code', sa.String(length=10), nullable=False),
    sa.Column('hs_chapter', sa.String(length=2), nullable=False),
    sa.Column('description', sa.String(length=200), nullable=False),
    sa.Column('quantity', sa.Float(), nullable=False),
    sa.Column('unit', sa.String(length=16), nullable=False),
    sa.Column('value', sa.Float(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('net_weight_kg', sa.Float(), nullable=True),
    sa.PrimaryKeyConstraint('org_id', 'order_no', 'line_no')
    )
    op.create_table('trd_orders',
    sa.Column('org_id', sa.String(length=64), nullable=False),
    sa.Column('order_no', sa.String(length=64), nullable=False),
    sa.Column('enterprise_code', sa.String(length=18), nullable=False),
    sa.Column('platform_code', sa.String(length=18), nullable=True),
    sa.Column('customs_mode', sa.String(length=4), nullable=False),
    sa.Column('destination_country', sa.String(length=2), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('ordered_ms', sa.BigInteger(), nullable=False),
    sa.Column('buyer_name', sa.String(length=200), nullable=True),
    sa.Column('consignee_name', sa.String(length=200), nullable=True),
    sa.Column('freight', sa.Float(), nullable=False),
    sa.Column('goods_value', sa.Float(), nullable=False),
    sa.Column('net_weight_kg', sa.Float(), nullable=True),
    sa.Column('line_count', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('created_ms', sa.BigInteger(), nullable=False),
    sa.Column('updated_ms', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('org_id', 'order_no')
    )
    with op.batch_alter_table('trd_orders', schema=None) as batch_op:
        batch_op.create_index('ix_trd_orders_time', ['org_id', 'ordered_ms'], unique=False)

    op.create_table('trd_payments',
    sa.Column('org_id', sa.String(length=64), nullable=False),
    sa.Column('payment_no', sa.String(length=64), nullable=False),
    sa.Column('order_no', sa.String(length=64), nullable=False),
    sa.Column('payment_firm_code', sa.String(length=18), nullable=True),
    sa.Column('payer_name', sa.String(length=200), nullable=True),
    sa.Column('amount', sa.Float(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('paid_ms', sa.BigInteger(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('created_ms', sa.BigInteger(), nullable=False),
    sa.Column('updated_ms', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('org_id', 'payment_no')
    )
    with op.batch_alter_table('trd_payments', schema=None) as batch_op:
        batch_op.create_index('ix_trd_payments_order', ['org_id', 'order_no'], unique=False)

    op.create_table('trd_record_versions',
    sa.Column('org_id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('record_key', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('record_json', sa.Text(), nullable=False),
    sa.Column('stored_ms', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('org_id', 'kind', 'record_key', 'version')
    )
    op.create_table('trd_stock_movements',
    sa.Column('org_id', sa.String(length=64), nullable=False),
    sa.Column('movement_no', sa.String(length=64), nullable=False),
    sa.Column('enterprise_code', sa.String(length=18), nullable=False),
    sa.Column('warehouse_id', sa.String(length=64), nullable=False),
    sa.Column('warehouse_country', sa.String(length=2), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('moved_ms', sa.BigInteger(), nullable=False),
    sa.Column('hs_code', sa.String(length=10), nullable=False),
    sa.Column('hs_chapter', sa.String(length=2), nullable=False),
    sa.Column('description', sa.String(length=200), nullable=True),
    sa.Column('quantity', sa.Float(), nullable=False),
    sa.Column('unit', sa.String(length=16), nullable=False),
    sa.Column('value', sa.Float(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('order_no', sa.String(length=64), nullable=True),
    sa.Column('shipment_id', sa.String(length=64), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('created_ms', sa.BigInteger(), nullable=False),
    sa.Column('updated_ms', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('org_id', 'movement_no')
    )
    with op.batch_alter_table('trd_stock_movements', schema=None) as batch_op:
        batch_op.create_index('ix_trd_stock_time', ['org_id', 'moved_ms'], unique=False)

    op.create_table('trd_waybills',
    sa.Column('org_id', sa.String(length=64), nullable=False),
    sa.Column('logistics_no', sa.String(length=64), nullable=False),
    sa.Column('order_no', sa.String(length=64), nullable=False),
    sa.Column('carrier', sa.String(length=200), nullable=False),
    sa.Column('carrier_code', sa.String(length=18), nullable=True),
    sa.Column('parcels', sa.Integer(), nullable=False),
    sa.Column('gross_weight_kg', sa.Float(), nullable=False),
    sa.Column('consignee_name', sa.String(length=200), nullable=True),
    sa.Column('destination_country', sa.String(length=2), nullable=False),
    sa.Column('channel', sa.String(length=8), nullable=False),
    sa.Column('transport_mode', sa.String(length=8), nullable=False),
    sa.Column('shipment_id', sa.String(length=64), nullable=True),
    sa.Column('shipped_ms', sa.BigInteger(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('created_ms', sa.BigInteger(), nullable=False),
    sa.Column('updated_ms', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('org_id', 'logistics_no')
    )
    with op.batch_alter_table('trd_waybills', schema=None) as batch_op:
        batch_op.create_index('ix_trd_waybills_order', ['org_id', 'order_no'], unique=False)
        batch_op.create_index('ix_trd_waybills_shipment', ['shipment_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('trd_waybills', schema=None) as batch_op:
        batch_op.drop_index('ix_trd_waybills_shipment')
        batch_op.drop_index('ix_trd_waybills_order')

    op.drop_table('trd_waybills')
    with op.batch_alter_table('trd_stock_movements', schema=None) as batch_op:
        batch_op.drop_index('ix_trd_stock_time')

    op.drop_table('trd_stock_movements')
    op.drop_table('trd_record_versions')
    with op.batch_alter_table('trd_payments', schema=None) as batch_op:
        batch_op.drop_index('ix_trd_payments_order')

    op.drop_table('trd_payments')
    with op.batch_alter_table('trd_orders', schema=None) as batch_op:
        batch_op.drop_index('ix_trd_orders_time')

    op.drop_table('trd_orders')
    op.drop_table('trd_order_lines')
    op.drop_table('trd_enterprises')
    with op.batch_alter_table('trd_checks', schema=None) as batch_op:
        batch_op.drop_index('ix_trd_checks_status')

    op.drop_table('trd_checks')

    with op.batch_alter_table('wh_subscriptions', schema=None) as batch_op:
        batch_op.drop_index('ix_wh_subscriptions_org')

    op.drop_table('wh_subscriptions')
    with op.batch_alter_table('wh_events', schema=None) as batch_op:
        batch_op.drop_index('ix_wh_events_pending')

    op.drop_table('wh_events')
    with op.batch_alter_table('wh_deliveries', schema=None) as batch_op:
        batch_op.drop_index('ix_wh_deliveries_sub')
        batch_op.drop_index('ix_wh_deliveries_due')

    op.drop_table('wh_deliveries')
    with op.batch_alter_table('wh_attempts', schema=None) as batch_op:
        batch_op.drop_index('ix_wh_attempts_sub')

    op.drop_table('wh_attempts')
