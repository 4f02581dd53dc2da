"""Table definitions (SQLAlchemy Core). Schema changes go through Alembic (storage/migrations).

Times are BigInteger milliseconds since the epoch (UTC). ``readings`` is keyed by
(device_id, ts_ms, seq): the idempotency key, so a redelivered message can never add a row.
Shipments and devices carry their organisation (``org_id``, migration 0003); every read of the API
is scoped by it (``org=`` of the registry, milestones and status functions).
"""

from __future__ import annotations

from sqlalchemy import (BigInteger, Boolean, Column, Float, Index, Integer, LargeBinary, MetaData, String, Table,
                        Text, UniqueConstraint)

from iot_ingest.reading import MEASUREMENTS

metadata = MetaData()

ID = String(64)
_COLUMN_TYPES = {float: Float, int: Integer, bool: Boolean}


def _measurements() -> list[Column]:
    """One nullable column per measurement of :class:`~iot_ingest.reading.Reading` (readings,
    quarantine, device state). A new measurement needs a migration adding its column to the three."""
    return [Column(m.name, _COLUMN_TYPES[m.type]) for m in MEASUREMENTS]


devices = Table(
    "iot_devices", metadata,
    Column("device_id", ID, primary_key=True),
    Column("kind", String(16), nullable=False),  # tracker | sensor
    Column("shipment_id", ID), Column("warehouse_id", ID),
    Column("temp_min", Float), Column("temp_max", Float),
    Column("excursion_minutes", Float, nullable=False), Column("hysteresis_c", Float, nullable=False),
    Column("door_open_max_minutes", Float, nullable=False), Column("expected_interval_s", Float, nullable=False),
    Column("created_ms", BigInteger, nullable=False),
    Column("org_id", ID),  # the tenant (accounts.tables.orgs); None: stored before accounts, operators only
)
Index("ix_iot_devices_org", devices.c.org_id)

shipments = Table(
    "iot_shipments", metadata,
    Column("shipment_id", ID, primary_key=True),
    Column("origin", ID, nullable=False), Column("destination", ID, nullable=False),
    Column("status", String(32), nullable=False),
    Column("option_json", Text, nullable=False),  # optimizer.network.serialize.option_to_dict of the chosen option
    Column("milestones_json", Text, nullable=False),
    Column("eta_p50_ms", BigInteger), Column("eta_p90_ms", BigInteger),
    Column("last_seen_ms", BigInteger),
    Column("created_ms", BigInteger, nullable=False), Column("updated_ms", BigInteger, nullable=False),
    Column("org_id", ID),  # the tenant; readings, events and alerts are reached through their shipment/device
)
Index("ix_iot_shipments_org", shipments.c.org_id, shipments.c.created_ms)

readings = Table(
    "iot_readings", metadata,
    Column("device_id", ID, primary_key=True), Column("ts_ms", BigInteger, primary_key=True),
    Column("seq", BigInteger, primary_key=True),
    Column("kind", String(16), nullable=False), Column("fmt", String(24), nullable=False),
    Column("received_ms", BigInteger, nullable=False), Column("late", Boolean, nullable=False),
    *_measurements(),
    Column("shipment_id", ID), Column("warehouse_id", ID),
)

quarantine = Table(
    "iot_quarantine", metadata,
    Column("device_id", ID, primary_key=True), Column("ts_ms", BigInteger, primary_key=True),
    Column("seq", BigInteger, primary_key=True),
    Column("kind", String(16), nullable=False), Column("fmt", String(24), nullable=False),
    Column("received_ms", BigInteger, nullable=False), Column("topic", Text, nullable=False),
    *_measurements(), Column("warehouse_hint", ID),
)

dead_letters = Table(
    "iot_dead_letters", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("digest", String(64), nullable=False, unique=True),  # sha256(topic, payload): redeliveries collapse
    Column("topic", Text, nullable=False), Column("payload", LargeBinary, nullable=False),
    Column("reason", Text, nullable=False), Column("received_ms", BigInteger, nullable=False),
)

device_state = Table(
    "iot_device_state", metadata,
    Column("device_id", ID, primary_key=True),
    Column("last_ts_ms", BigInteger, nullable=False), Column("last_seq", BigInteger, nullable=False),
    Column("last_received_ms", BigInteger, nullable=False),
    *_measurements(),
    Column("fences", Text, nullable=False),  # comma-separated node ids the device is inside
    Column("extra_json", Text, nullable=False),  # handler state (excursion timers, open alerts, ...)
)

events = Table(
    "iot_events", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("device_id", ID, nullable=False), Column("shipment_id", ID), Column("warehouse_id", ID),
    Column("ts_ms", BigInteger, nullable=False),
    Column("kind", String(32), nullable=False),  # arrival | departure
    Column("node_id", ID, nullable=False), Column("node_kind", String(32), nullable=False),
    Column("lat", Float), Column("lon", Float),
    UniqueConstraint("device_id", "ts_ms", "kind", "node_id", name="uq_iot_events_key"),
)
Index("ix_iot_events_shipment", events.c.shipment_id, events.c.ts_ms)

alerts = Table(
    "iot_alerts", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("device_id", ID, nullable=False), Column("shipment_id", ID), Column("warehouse_id", ID),
    Column("kind", String(32), nullable=False),  # temperature_high|temperature_low|door_open|silent|border_dwell
    Column("started_ms", BigInteger, nullable=False), Column("raised_ms", BigInteger, nullable=False),
    Column("ended_ms", BigInteger), Column("value", Float), Column("detail", Text, nullable=False),
    UniqueConstraint("device_id", "kind", "started_ms", name="uq_iot_alerts_key"),
)

counters = Table(
    "iot_counters", metadata,
    Column("name", String(48), primary_key=True), Column("value", BigInteger, nullable=False),
)

readings_hourly = Table(
    "iot_readings_hourly", metadata,
    Column("device_id", ID, primary_key=True), Column("bucket_ms", BigInteger, primary_key=True),
    Column("n", Integer, nullable=False),
    Column("lat", Float), Column("lon", Float),
    Column("temp_min", Float), Column("temp_max", Float), Column("temp_avg", Float), Column("humidity_avg", Float),
)
