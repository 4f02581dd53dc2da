"""Tables of ``webhooks`` (SQLAlchemy Core); created by migration ``0005_trade``.

``wh_subscriptions``: an organisation's endpoints (url, the HMAC secret, the event types it takes).
``wh_events``: the durable outbox; an event is written in the same transaction as what caused it and
``dispatched`` once the worker has made one ``wh_deliveries`` row per matching subscription.
``wh_deliveries``: one event to one endpoint (pending -> delivered | failed, attempts, next try).
``wh_attempts``: the delivery log, one row per HTTP attempt (status code or error, duration).
Times are BigInteger milliseconds since the epoch (UTC).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Index, Integer, MetaData, String, Table, Text

metadata = MetaData()

ID = String(64)

subscriptions = Table(
    "wh_subscriptions", metadata,
    Column("sub_id", ID, primary_key=True),
    Column("org_id", ID, nullable=False),
    Column("url", String(2048), nullable=False),
    Column("secret", String(128), nullable=False),  # the HMAC key: kept (it signs every delivery), shown once
    Column("event_types", Text, nullable=False),  # comma-separated
    Column("description", String(200)),
    Column("active", Boolean, nullable=False),
    Column("created_ms", BigInteger, nullable=False),
)
Index("ix_wh_subscriptions_org", subscriptions.c.org_id)

events = Table(
    "wh_events", metadata,
    Column("event_id", ID, primary_key=True),
    Column("org_id", ID, nullable=False),
    Column("event_type", String(40), nullable=False),
    Column("payload_json", Text, nullable=False),
    Column("created_ms", BigInteger, nullable=False),
    Column("dispatched", Boolean, nullable=False),
)
Index("ix_wh_events_pending", events.c.dispatched, events.c.created_ms)

deliveries = Table(
    "wh_deliveries", metadata,
    Column("delivery_id", ID, primary_key=True),
    Column("sub_id", ID, nullable=False),
    Column("event_id", ID, nullable=False),
    Column("org_id", ID, nullable=False),
    Column("status", String(12), nullable=False),  # pending | delivered | failed
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_ms", BigInteger),
    Column("last_status_code", Integer), Column("last_error", Text),
    Column("created_ms", BigInteger, nullable=False), Column("finished_ms", BigInteger),
)
Index("ix_wh_deliveries_due", deliveries.c.status, deliveries.c.next_attempt_ms)
Index("ix_wh_deliveries_sub", deliveries.c.sub_id, deliveries.c.created_ms)

attempts = Table(
    "wh_attempts", metadata,
    Column("delivery_id", ID, primary_key=True), Column("attempt", Integer, primary_key=True),
    Column("sub_id", ID, nullable=False), Column("org_id", ID, nullable=False),
    Column("started_ms", BigInteger, nullable=False), Column("duration_ms", Integer, nullable=False),
    Column("status_code", Integer), Column("error", Text),
)
Index("ix_wh_attempts_sub", attempts.c.sub_id, attempts.c.started_ms)
