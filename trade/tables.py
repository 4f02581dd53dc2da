"""Tables of ``trade`` (SQLAlchemy Core); created by migration ``0005_trade``.

Interface note (the statistics service and other readers rely on these names):

* Every row carries ``org_id`` (the tenant that sent it); every key is unique per organisation only.
* Times are BigInteger milliseconds since the epoch, UTC (``*_ms``); money and weights are Float
  (double): aggregates only. The exact record as sent (decimals, text) is kept as JSON in
  ``trd_record_versions``.
* ``trd_enterprises`` (org_id, credit_code) name_zh, name_en, role (ecommerce | platform | logistics |
  warehouse | payment), city, country.
* ``trd_orders`` (org_id, order_no) enterprise_code, platform_code, customs_mode ('9610' | '9710' |
  '9810' | '1210'), destination_country (ISO alpha-2), currency (ISO 4217), ordered_ms, buyer_name,
  consignee_name, freight, goods_value (Σ lines.value), net_weight_kg (None when a line has none),
  line_count.
* ``trd_order_lines`` (org_id, order_no, line_no) hs_code (6-10 digits), hs_chapter (its first two
  digits), description, quantity, unit, value (in the order's currency), currency, net_weight_kg.
* ``trd_payments`` (org_id, payment_no) order_no, payment_firm_code, payer_name, amount, currency, paid_ms.
* ``trd_waybills`` (org_id, logistics_no) order_no, carrier, carrier_code, parcels, gross_weight_kg,
  consignee_name, destination_country, channel (postal | express | freight), transport_mode (air | rail |
  sea | road), shipment_id (an ``iot_shipments`` id or None), shipped_ms.
* ``trd_stock_movements`` (org_id, movement_no) 9810 stock at overseas warehouses: enterprise_code,
  warehouse_id, warehouse_country, kind (inbound | sales_out), moved_ms, hs_code, hs_chapter, description,
  quantity, unit, value, currency, order_no, shipment_id.
* Each record table has ``version`` (1, 2, ...), ``digest`` (sha256 of the record's canonical JSON),
  ``created_ms`` and ``updated_ms``; it holds the current version. ``trd_record_versions`` (org_id, kind,
  record_key, version) keeps every version's JSON (``kind``: enterprises | orders | payments | waybills |
  stock_movements).
* ``trd_checks`` (org_id, order_no) the three-document check of a 9610 order: status (matched | mismatch |
  incomplete), mismatches_json, missing_json, ordered_ms, checked_ms.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Float, Index, Integer, MetaData, String, Table, Text

metadata = MetaData()

ID = String(64)
CODE = String(18)
NAME = String(200)


def _versioning() -> list[Column]:
    return [Column("version", Integer, nullable=False), Column("digest", String(64), nullable=False),
            Column("created_ms", BigInteger, nullable=False), Column("updated_ms", BigInteger, nullable=False)]


enterprises = Table(
    "trd_enterprises", metadata,
    Column("org_id", ID, primary_key=True), Column("credit_code", CODE, primary_key=True),
    Column("name_zh", NAME, nullable=False), Column("name_en", NAME), Column("role", String(16), nullable=False),
    Column("city", NAME, nullable=False), Column("country", String(2), nullable=False),
    *_versioning(),
)

orders = Table(
    "trd_orders", metadata,
    Column("org_id", ID, primary_key=True), Column("order_no", ID, primary_key=True),
    Column("enterprise_code", CODE, nullable=False), Column("platform_code", CODE),
    Column("customs_mode", String(4), nullable=False), Column("destination_country", String(2), nullable=False),
    Column("currency", String(3), nullable=False), Column("ordered_ms", BigInteger, nullable=False),
    Column("buyer_name", NAME), Column("consignee_name", NAME),
    Column("freight", Float, nullable=False), Column("goods_value", Float, nullable=False),
    Column("net_weight_kg", Float), Column("line_count", Integer, nullable=False),
    *_versioning(),
)
Index("ix_trd_orders_time", orders.c.org_id, orders.c.ordered_ms)

order_lines = Table(
    "trd_order_lines", metadata,
    Column("org_id", ID, primary_key=True), Column("order_no", ID, primary_key=True),
    Column("line_no", Integer, primary_key=True),
    Column("hs_code", String(10), nullable=False), Column("hs_chapter", String(2), nullable=False),
    Column("description", NAME, nullable=False), Column("quantity", Float, nullable=False),
    Column("unit", String(16), nullable=False), Column("value", Float, nullable=False),
    Column("currency", String(3), nullable=False), Column("net_weight_kg", Float),
)

payments = Table(
    "trd_payments", metadata,
    Column("org_id", ID, primary_key=True), Column("payment_no", ID, primary_key=True),
    Column("order_no", ID, nullable=False), Column("payment_firm_code", CODE), Column("payer_name", NAME),
    Column("amount", Float, nullable=False), Column("currency", String(3), nullable=False),
    Column("paid_ms", BigInteger, nullable=False),
    *_versioning(),
)
Index("ix_trd_payments_order", payments.c.org_id, payments.c.order_no)

waybills = Table(
    "trd_waybills", metadata,
    Column("org_id", ID, primary_key=True), Column("logistics_no", ID, primary_key=True),
    Column("order_no", ID, nullable=False), Column("carrier", NAME, nullable=False), Column("carrier_code", CODE),
    Column("parcels", Integer, nullable=False), Column("gross_weight_kg", Float, nullable=False),
    Column("consignee_name", NAME), Column("destination_country", String(2), nullable=False),
    Column("channel", String(8), nullable=False), Column("transport_mode", String(8), nullable=False),
    Column("shipment_id", ID), Column("shipped_ms", BigInteger),
    *_versioning(),
)
Index("ix_trd_waybills_order", waybills.c.org_id, waybills.c.order_no)
Index("ix_trd_waybills_shipment", waybills.c.shipment_id)

stock_movements = Table(
    "trd_stock_movements", metadata,
    Column("org_id", ID, primary_key=True), Column("movement_no", ID, primary_key=True),
    Column("enterprise_code", CODE, nullable=False), Column("warehouse_id", ID, nullable=False),
    Column("warehouse_country", String(2), nullable=False), Column("kind", String(16), nullable=False),
    Column("moved_ms", BigInteger, nullable=False),
    Column("hs_code", String(10), nullable=False), Column("hs_chapter", String(2), nullable=False),
    Column("description", NAME), Column("quantity", Float, nullable=False), Column("unit", String(16), nullable=False),
    Column("value", Float, nullable=False), Column("currency", String(3), nullable=False),
    Column("order_no", ID), Column("shipment_id", ID),
    *_versioning(),
)
Index("ix_trd_stock_time", stock_movements.c.org_id, stock_movements.c.moved_ms)

record_versions = Table(
    "trd_record_versions", metadata,
    Column("org_id", ID, primary_key=True), Column("kind", String(16), primary_key=True),
    Column("record_key", ID, primary_key=True), Column("version", Integer, primary_key=True),
    Column("digest", String(64), nullable=False), Column("record_json", Text, nullable=False),
    Column("stored_ms", BigInteger, nullable=False),
)

checks = Table(
    "trd_checks", metadata,
    Column("org_id", ID, primary_key=True), Column("order_no", ID, primary_key=True),
    Column("status", String(12), nullable=False),  # matched | mismatch | incomplete
    Column("mismatches_json", Text, nullable=False), Column("missing_json", Text, nullable=False),
    Column("ordered_ms", BigInteger, nullable=False), Column("checked_ms", BigInteger, nullable=False),
)
Index("ix_trd_checks_status", checks.c.org_id, checks.c.status, checks.c.ordered_ms)

RECORD_TABLES = {"enterprises": enterprises, "orders": orders, "payments": payments, "waybills": waybills,
                 "stock_movements": stock_movements}
"""The current-version table of each record kind (keys as :data:`trade.records.RECORD_MODELS`)."""
